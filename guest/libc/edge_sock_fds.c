/* libc/edge_sock_fds: a zero-length recvmsg takes the passed fds (and they are passed once).
   A second reading of emu's kernel found each of these differing from Linux; the output
   must be the same natively and under emu. (Shared helpers: edges.h.) */
#include "edges.h"
static int recv1(int sock, int len)
{
    char data[64];
    struct iovec iov = {data, len};
    union { struct cmsghdr a; char buf[CMSG_SPACE(sizeof(int) * 4)]; } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    int r = recvmsg(sock, &msg, MSG_DONTWAIT);
    struct cmsghdr *c = msg.msg_controllen ? CMSG_FIRSTHDR(&msg) : NULL;
    int fd = -1;
    if (r >= 0 && c) memcpy(&fd, CMSG_DATA(c), 4);
    printf("recvmsg(len %d) = %d, fd %d\n", len, r, fd >= 0);
    return fd;
}
int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int s[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pipe(p);
    send_fds(s[0], &p[0], 1, "ab", 2);
    close(p[0]);                       /* the only reader is in flight */
    int a = recv1(s[1], 0);
    int b = recv1(s[1], 10);
    if (b >= 0) close(b);
    R("write to pipe while reader fd a is open", write(p[1], "x", 1));
    char c;
    R("read it from a", read(a, &c, 1));
    close(a);
    R("write after closing a", write(p[1], "x", 1));
    return 0;
}
