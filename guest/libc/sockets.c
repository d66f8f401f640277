/* libc/sockets: socketpair(AF_UNIX) of each type. A stream between a parent and its
   child, shutdown and EOF, EPIPE and SIGPIPE (and MSG_NOSIGNAL), message boundaries
   and MSG_TRUNC for datagrams and seqpackets, MSG_PEEK, MSG_DONTWAIT, file descriptors
   passed with SCM_RIGHTS, socket options and names, poll, and the errors. The same
   natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void result(const char *what, long r)
{
    printf("%-50s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

static volatile int pipes;

static void on_sigpipe(int sig)
{
    pipes++;
}

static int send_fd(int sock, int fd)
{
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &msg, 0);
}

static int receive_fd(int sock)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    if (recvmsg(sock, &msg, 0) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS)
        return -2;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, on_sigpipe);
    int s[2];
    result("socketpair(AF_UNIX, SOCK_STREAM)", socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    struct stat info;
    fstat(s[0], &info);
    printf("fstat: a socket %s\n", S_ISSOCK(info.st_mode) ? "yes" : "no");
    pid_t child = fork();
    if (child == 0) {
        close(s[0]);
        char buf[64] = {0};
        int n = read(s[1], buf, sizeof buf - 1);
        char reply[80];
        int m = snprintf(reply, sizeof reply, "child got %d bytes: %s", n, buf);
        write(s[1], reply, m);
        _exit(0);
    }
    close(s[1]);
    write(s[0], "hello", 5);
    char buf[128] = {0};
    int n = read(s[0], buf, sizeof buf - 1);
    printf("parent read %d: %s\n", n, buf);
    result("read after the child closed its end (EOF)", read(s[0], buf, sizeof buf));
    result("write to it (EPIPE)", write(s[0], "x", 1));
    result("send with MSG_NOSIGNAL", send(s[0], "x", 1, MSG_NOSIGNAL));
    printf("SIGPIPEs: %d\n", pipes);
    waitpid(child, NULL, 0);
    close(s[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    send(s[0], "abc", 3, 0);
    send(s[0], "def", 3, 0);
    n = recv(s[1], buf, 4, MSG_PEEK);
    printf("stream MSG_PEEK 4: %.*s\n", n, buf);
    n = recv(s[1], buf, sizeof buf, 0);
    printf("stream recv: %.*s (two sends, one read)\n", n, buf);
    result("recv with MSG_DONTWAIT on an empty stream", recv(s[1], buf, 1, MSG_DONTWAIT));
    struct pollfd p = {s[1], POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("poll before shutdown: %#x\n", p.revents);
    result("shutdown(s[0], SHUT_WR)", shutdown(s[0], SHUT_WR));
    poll(&p, 1, 0);
    printf("poll of the other end after it: %#x\n", p.revents);
    result("recv on the other end (EOF)", recv(s[1], buf, 1, 0));
    result("send on the shut end", send(s[0], "x", 1, MSG_NOSIGNAL));
    result("send the other way still works", send(s[1], "y", 1, 0));
    result("shutdown with how 7", shutdown(s[0], 7));
    close(s[0]);
    close(s[1]);

    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    send(d[0], "one", 3, 0);
    send(d[0], "second message", 14, 0);
    n = recv(d[1], buf, sizeof buf, 0);
    printf("datagram 1: %.*s\n", n, buf);
    struct iovec iov = {buf, 6};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(d[1], &msg, 0);
    printf("datagram 2 into 6 bytes: %d \"%.*s\", MSG_TRUNC %s\n", n, n, buf, msg.msg_flags & MSG_TRUNC ? "set" : "clear");
    send(d[0], "third", 5, 0);
    n = recv(d[1], buf, 2, MSG_TRUNC);
    printf("recv(MSG_TRUNC) of 5 into 2: returns %d\n", n);
    close(d[1]);
    result("datagram to a closed peer", send(d[0], "x", 1, 0));
    close(d[0]);

    int q[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q);
    send(q[0], "packet", 6, 0);
    n = recv(q[1], buf, 3, 0);
    printf("seqpacket of 6 into 3: %d, the rest is gone: ", n);
    result("recv again (empty, non-blocking)", recv(q[1], buf, sizeof buf, MSG_DONTWAIT));
    close(q[0]);
    result("seqpacket recv after the peer closed (EOF)", recv(q[1], buf, sizeof buf, 0));
    close(q[1]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    int pp[2];
    pipe(pp);
    write(pp[1], "through a passed fd", 19);
    result("sendmsg with SCM_RIGHTS (a pipe's read end)", send_fd(s[0], pp[0]));
    close(pp[0]);
    int got = receive_fd(s[1]);
    printf("received an fd: %s; the lowest free number (the closed original's): %s\n", got >= 0 ? "yes" : "no",
           got == pp[0] ? "yes" : "no");
    n = read(got, buf, sizeof buf);
    printf("read from it: %.*s\n", n, buf);

    int big[2];                              /* 1 MiB through a stream: the writer waits for room */
    socketpair(AF_UNIX, SOCK_STREAM, 0, big);
    if (fork() == 0) {
        static char chunk[65536];
        for (int i = 0; i < 16; i++)
            write(big[0], chunk, sizeof chunk);
        _exit(0);
    }
    close(big[0]);
    long total = 0;
    static char sink[100000];
    while ((n = read(big[1], sink, sizeof sink)) > 0)
        total += n;
    wait(NULL);
    printf("1 MiB sent by a child in 64 KiB writes: received %ld bytes\n", total);

    int value = 0;
    socklen_t length = sizeof value;
    getsockopt(s[0], SOL_SOCKET, SO_TYPE, &value, &length);
    printf("SO_TYPE %d (length %u)", value, length);
    getsockopt(s[0], SOL_SOCKET, SO_DOMAIN, &value, &length);
    printf(", SO_DOMAIN %d", value);
    getsockopt(s[0], SOL_SOCKET, SO_ERROR, &value, &length);
    printf(", SO_ERROR %d\n", value);
    value = 4096;
    setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &value, sizeof value);
    getsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &value, &length);
    printf("SO_SNDBUF set to 4096 reads back %d\n", value);
    result("getsockopt of an unknown option", getsockopt(s[0], SOL_SOCKET, 999, &value, &length));
    struct sockaddr_storage address;
    socklen_t address_length = sizeof address;
    getsockname(s[0], (struct sockaddr *)&address, &address_length);
    printf("getsockname: length %u, family %d\n", address_length, address.ss_family);

    result("socketpair(AF_INET)", socketpair(AF_INET, SOCK_STREAM, 0, s));
    result("socketpair of type 7", socketpair(AF_UNIX, 7, 0, s));
    result("socketpair with protocol 5", socketpair(AF_UNIX, SOCK_STREAM, 5, s));
    int *volatile nowhere = (int *)8;
    result("socketpair with a bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, nowhere));
    result("send on a pipe", send(pp[1], "x", 1, 0));
    result("recv on a closed fd", recv(99, buf, 1, 0));
    return 0;
}
