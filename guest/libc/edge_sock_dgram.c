/* libc/edge_sock_dgram: datagram and seqpacket shutdown, EPIPE without SIGPIPE, ENOTCONN after ECONNREFUSED.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
static volatile int pipes;
static void onpipe(int s) { pipes++; }
int main(void)
{
    signal(SIGPIPE, onpipe);
    int s[2]; char buf[16];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    R("dgram shutdown WR", shutdown(s[0], SHUT_WR));
    R("dgram send after SHUT_WR", send(s[0], "x", 1, 0));
    printf("pipes %d\n", pipes);
    R("dgram peer send to shut socket", send(s[1], "y", 1, 0));
    R("dgram recv on shut WR socket", recv(s[0], buf, 1, MSG_DONTWAIT));
    R("dgram shutdown RD", shutdown(s[0], SHUT_RD));
    R("dgram recv after SHUT_RD (queue empty)", recv(s[0], buf, 1, MSG_DONTWAIT));
    R("dgram peer send after SHUT_RD", send(s[1], "y", 1, 0));
    R("dgram recv after SHUT_RD", recv(s[0], buf, 1, MSG_DONTWAIT));
    close(s[0]); close(s[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    send(s[1], "abc", 3, 0);
    R("stream shutdown RD with data queued", shutdown(s[0], SHUT_RD));
    R("stream recv", recv(s[0], buf, 16, MSG_DONTWAIT));
    R("stream recv again", recv(s[0], buf, 16, MSG_DONTWAIT));
    R("peer send", send(s[1], "d", 1, 0));
    printf("pipes %d\n", pipes);
    close(s[0]); close(s[1]);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s);
    R("seq shutdown WR", shutdown(s[0], SHUT_WR));
    R("seq peer recv (EOF)", recv(s[1], buf, 1, MSG_DONTWAIT));
    R("seq send on shut", send(s[0], "x", 1, 0));
    printf("pipes %d\n", pipes);
    R("seq send 0 bytes", send(s[1], "", 0, 0));
    R("seq recv 0-byte message", recv(s[0], buf, 16, MSG_DONTWAIT));
    R("seq recv again", recv(s[0], buf, 16, MSG_DONTWAIT));
    /* A datagram socket shut for reading: -EAGAIN if it may not wait, else 0 at once
       (__skb_wait_for_more_packets returns before sleeping); its poll says POLLIN. */
    close(s[0]); close(s[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    R("dgram shutdown RD", shutdown(s[0], SHUT_RD));
    printf("dgram shut RD revents %#x\n", pollrev(s[0], POLLIN | POLLOUT));
    R("dgram recv DONTWAIT after SHUT_RD", recv(s[0], buf, 16, MSG_DONTWAIT));
    R("dgram blocking recv after SHUT_RD", recv(s[0], buf, 16, 0));
    R("dgram blocking read after SHUT_RD", read(s[0], buf, 16));
    R("peer send to it", send(s[1], "q", 1, 0));
    R("dgram blocking recv with a message", recv(s[0], buf, 16, 0));
    return 0;
}
