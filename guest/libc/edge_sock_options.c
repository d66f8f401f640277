/* libc/edge_sock_options: socket options (SO_PASSCRED, SO_REUSEADDR, SO_RCVTIMEO, SO_PEERCRED,
   buffer sizes and lengths), SCM_CREDENTIALS and other control messages, sendto with an
   address on a pair, FIONREAD, and a recv that SO_RCVTIMEO ends. The same natively. */
#include "edges.h"
#include <sys/un.h>
#include <time.h>
#include <sys/un.h>
static void rcv(int sock, int len, int flags)
{
    char data[64] = {0};
    struct iovec iov = {data, len};
    union { struct cmsghdr a; char buf[CMSG_SPACE(sizeof(int) * 4)]; } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    int r = recvmsg(sock, &msg, flags | MSG_DONTWAIT);
    int nfd = 0;
    if (msg.msg_controllen) { struct cmsghdr *c = CMSG_FIRSTHDR(&msg); nfd = (c->cmsg_len - CMSG_LEN(0)) / 4; }
    printf("recvmsg(%d,%#x) = %d '%.*s' fds %d %s\n", len, flags, r, r > 0 ? r : 0, data, nfd, r < 0 ? strerrorname_np(errno) : "");
}
int main(void)
{
    int s[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pipe(p);
    send(s[0], "ab", 2, 0);
    send_fds(s[0], &p[0], 1, "cd", 2);
    send(s[0], "ef", 2, 0);
    send_fds(s[0], &p[0], 1, "gh", 2);
    send_fds(s[0], &p[0], 1, "ij", 2);
    rcv(s[1], 10, MSG_PEEK);
    rcv(s[1], 10, 0);
    rcv(s[1], 10, 0);
    rcv(s[1], 10, 0);
    rcv(s[1], 10, 0);
    /* SCM_CREDENTIALS */
    struct ucred cr = {getpid(), getuid(), getgid()};
    char buf[CMSG_SPACE(sizeof cr)];
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof cr);
    memcpy(CMSG_DATA(c), &cr, sizeof cr);
    R("sendmsg SCM_CREDENTIALS", sendmsg(s[0], &m, 0));
    c->cmsg_level = 6 /* SOL_TCP */;
    R("sendmsg cmsg of another level", sendmsg(s[0], &m, 0));
    int on = 1;
    R("setsockopt SO_PASSCRED", setsockopt(s[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
    R("setsockopt SO_REUSEADDR", setsockopt(s[1], SOL_SOCKET, SO_REUSEADDR, &on, sizeof on));
    R("setsockopt SO_RCVTIMEO", setsockopt(s[1], SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){0, 100000}, sizeof(struct timeval)));
    struct ucred pc; socklen_t l = sizeof pc;
    R("getsockopt SO_PEERCRED", getsockopt(s[1], SOL_SOCKET, SO_PEERCRED, &pc, &l));
    R("getsockopt SO_RCVBUF len 8", ({int v[2]; socklen_t l2 = 8; long r = getsockopt(s[1], SOL_SOCKET, SO_RCVBUF, v, &l2); printf("len %u\n", l2); r;}));
    R("getsockopt SO_RCVBUF len 2", ({int v[2]; socklen_t l2 = 2; long r = getsockopt(s[1], SOL_SOCKET, SO_RCVBUF, v, &l2); printf("len %u\n", l2); r;}));
    R("recv 0 bytes stream", recv(s[1], buf, 0, MSG_DONTWAIT));
    int d[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    R("sendto with address on dgram pair", sendto(d[0], "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/nonexist"}, sizeof(struct sockaddr_un)));
    R("sendto stream with address", sendto(s[0], "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/nonexist"}, sizeof(struct sockaddr_un)));
    R("recv on dgram with MSG_WAITALL dontwait", recv(d[1], buf, 1, MSG_DONTWAIT|MSG_WAITALL));
    R("send MSG_OOB on stream", send(s[0], "x", 1, MSG_OOB));
    R("send MSG_MORE on dgram", send(d[0], "x", 1, MSG_MORE));
    R("fstat socket", ({struct stat st; fstat(d[0], &st); st.st_mode;}));
    R("lseek socket", lseek(d[0], 0, SEEK_CUR));
    R("FIONREAD socket", ({int v = -1; long r = ioctl(d[1], FIONREAD, &v); printf("fionread %d\n", v); r;}));
    int t[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, t);
    struct timeval limit = {0, 50000};
    setsockopt(t[1], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    R("recv with SO_RCVTIMEO 50 ms on an empty stream", recv(t[1], buf, 1, 0));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("waited at least 50 ms: %s\n", (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 50 ? "yes" : "no");
    return 0;
}
