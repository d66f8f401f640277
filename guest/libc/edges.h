/* edges.h: helpers for the guest/libc/edge_*.c programs: print a result with its errno,
   poll one fd, pass fds with SCM_RIGHTS, show what an epoll reports now. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/time.h>
static inline void R(const char *what, long r)
{
    printf("%-55s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    fflush(stdout);
    errno = 0;
}
static inline int pollrev(int fd, int ev) { struct pollfd p = {fd, ev, 0}; poll(&p, 1, 0); return p.revents; }
static inline int send_fds(int sock, int *fds, int n, const void *data, int len)
{
    struct iovec iov = {(void *)data, len};
    char buf[CMSG_SPACE(sizeof(int) * 16)];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return sendmsg(sock, &msg, 0);
}
static inline int waitn(int ep, const char *what)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, 0);
    printf("%-50s n=%d", what, n);
    for (int i = 0; i < n; i++) printf(" [%lu %#x]", (unsigned long)ev[i].data.u64, ev[i].events);
    printf("\n");
    return n;
}
