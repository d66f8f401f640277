/* libc/edge_sock_sigpipe: EPIPE on a datagram socket raises no SIGPIPE.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
int main(void)
{
    int s[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s);
    close(s[1]);
    R("seqpacket send to closed peer (default SIGPIPE)", send(s[0], "x", 1, 0));
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    shutdown(s[0], SHUT_WR);
    R("dgram send after own SHUT_WR (default SIGPIPE)", send(s[0], "x", 1, 0));
    return 0;
}
