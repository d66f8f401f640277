/* libc/sock_cycle: sockets kept open only by files in flight. Each round makes a pair,
   sends each end over itself (so each end's peer queue holds the other... and itself),
   closes both: nothing can ever read them, and Linux's garbage collector frees them.
   3000 rounds must all work (without the collector kernel memory would run out), and a
   socket passed to a pair that stays open is still received. The same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long pass(int via, int fd)
{
    char c = 'x', control[CMSG_SPACE(sizeof fd)];
    struct iovec iov = {&c, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof fd);
    memcpy(CMSG_DATA(header), &fd, sizeof fd);
    return sendmsg(via, &msg, 0);
}

static int receive(int via)
{
    char c, control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&c, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    if (recvmsg(via, &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
    return fd;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int failures = 0;
    for (int round = 0; round < 3000; round++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
            printf("round %d: socketpair %s\n", round, strerrorname_np(errno));
            return 1;
        }
        failures += pass(sv[0], sv[0]) != 1;
        failures += pass(sv[1], sv[1]) != 1;
        failures += pass(sv[0], sv[1]) != 1;
        close(sv[0]);
        close(sv[1]);
    }
    printf("3000 rounds of closed cycles: %d failed sends\n", failures);
    int keep[2], other[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, keep);
    socketpair(AF_UNIX, SOCK_STREAM, 0, other);
    pass(keep[0], other[0]);             /* other[0] in flight to keep[1], which stays open */
    pass(other[0], other[0]);
    close(other[0]);
    close(other[1]);
    int got = receive(keep[1]);
    printf("the socket in flight to an open one: received %s\n", got >= 0 ? "yes" : "no");
    char c;
    printf("reading it, its peer closed with data unread: %s\n", recv(got, &c, 1, MSG_DONTWAIT) < 0 ? strerrorname_np(errno) : "yes");
    return 0;
}
