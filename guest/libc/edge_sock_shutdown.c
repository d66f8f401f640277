/* libc/edge_sock_shutdown: zero-length sends, ECONNRESET for a peer that closed with data unread, poll masks after shutdown and close.
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int s[2]; char buf[64];
    /* 1: zero-length send on a stream */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    R("send 0 bytes on stream", send(s[0], "", 0, 0));
    printf("poll s1 %#x\n", pollrev(s[1], POLLIN|POLLOUT));
    R("recv DONTWAIT after empty send", recv(s[1], buf, sizeof buf, MSG_DONTWAIT));
    close(s[0]); close(s[1]);
    /* 2: close with unread data -> ECONNRESET */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    write(s[0], "x", 1);
    close(s[1]);
    printf("poll s0 after peer closed with unread data %#x\n", pollrev(s[0], 0xffff));
    int err = 0; socklen_t l = sizeof err;
    R("read s0", read(s[0], buf, sizeof buf));
    R("read s0 again", read(s[0], buf, sizeof buf));
    R("write s0", write(s[0], "y", 1));
    getsockopt(s[0], SOL_SOCKET, SO_ERROR, &err, &l); printf("SO_ERROR %d\n", err);
    close(s[0]);
    /* 2b: seqpacket */
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s);
    write(s[0], "x", 1);
    close(s[1]);
    printf("seqpacket poll s0 after peer closed with unread data %#x\n", pollrev(s[0], 0xffff));
    R("seq read s0", read(s[0], buf, sizeof buf));
    R("seq read s0 again", read(s[0], buf, sizeof buf));
    close(s[0]);
    /* 3: poll masks after shutdown / close */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    printf("stream fresh %#x\n", pollrev(s[0], 0xffff));
    shutdown(s[0], SHUT_WR);
    printf("stream after own SHUT_WR %#x peer %#x\n", pollrev(s[0], 0xffff), pollrev(s[1], 0xffff));
    shutdown(s[0], SHUT_RD);
    printf("stream after own SHUT_RDWR %#x peer %#x\n", pollrev(s[0], 0xffff), pollrev(s[1], 0xffff));
    close(s[0]);
    printf("stream after peer close %#x\n", pollrev(s[1], 0xffff));
    close(s[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    printf("dgram fresh %#x\n", pollrev(s[0], 0xffff));
    close(s[1]);
    printf("dgram after peer close %#x\n", pollrev(s[0], 0xffff));
    R("dgram send 1", send(s[0], "a", 1, 0));
    printf("dgram after failed send %#x\n", pollrev(s[0], 0xffff));
    R("dgram send 2", send(s[0], "a", 1, 0));
    struct sockaddr_storage a; socklen_t al = sizeof a;
    R("getpeername", getpeername(s[0], (void*)&a, &al));
    close(s[0]);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s);
    printf("seq fresh %#x\n", pollrev(s[0], 0xffff));
    close(s[1]);
    printf("seq after peer close %#x\n", pollrev(s[0], 0xffff));
    R("seq send", send(s[0], "a", 1, 0));
    close(s[0]);
    /* 4: recvfrom/recvmsg name length */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    send(s[0], "a", 1, 0);
    al = sizeof a; memset(&a, 0x55, sizeof a);
    R("dgram recvfrom", recvfrom(s[1], buf, 10, 0, (void*)&a, &al));
    printf("addrlen %u family %d\n", al, a.ss_family);
    close(s[0]); close(s[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    send(s[0], "a", 1, 0);
    al = sizeof a; memset(&a, 0x55, sizeof a);
    R("stream recvfrom", recvfrom(s[1], buf, 10, 0, (void*)&a, &al));
    printf("addrlen %u family %d\n", al, a.ss_family);
    send(s[0], "a", 1, 0);
    struct iovec iov = {buf, 10};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_namelen = 77};
    R("stream recvmsg no name", recvmsg(s[1], &m, 0));
    printf("namelen %u controllen %zu flags %#x\n", m.msg_namelen, m.msg_controllen, m.msg_flags);
    return 0;
}
