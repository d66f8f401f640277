/* libc/poll: poll and select on pipes: nothing ready (a timeout), data to read, room to
   write, the other end gone (POLLHUP, POLLERR), a bad fd (POLLNVAL, EBADF), a child's
   write waking a waiting parent, and select as a sleep. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ms_since(struct timespec t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

int main(void)
{
    int p[2];
    pipe(p);
    struct pollfd both[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    int n = poll(both, 2, 0);
    printf("an empty pipe: poll says %d ready, read end %#x, write end %#x\n", n, both[0].revents, both[1].revents);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd in = {p[0], POLLIN, 0};
    n = poll(&in, 1, 30);
    printf("poll with a 30 ms timeout and nothing to read: %d, waited >= 30 ms: %s\n", n, ms_since(t0) >= 30 ? "yes" : "no");

    write(p[1], "x", 1);
    n = poll(&in, 1, -1);
    printf("one byte written: poll says %d, revents %#x\n", n, in.revents);

    struct pollfd bad[2] = {{99, POLLIN, 0}, {-1, POLLIN, 0}};
    n = poll(bad, 2, 0);
    printf("fd 99 and fd -1: poll says %d, revents %#x and %#x\n", n, bad[0].revents, bad[1].revents);

    fd_set rd, wr;
    FD_ZERO(&rd); FD_ZERO(&wr);
    FD_SET(p[0], &rd); FD_SET(p[1], &wr);
    struct timeval tv = {0, 0};
    n = select(p[1] + 1, &rd, &wr, NULL, &tv);
    printf("select: %d ready, read end %s, write end %s\n", n, FD_ISSET(p[0], &rd) ? "set" : "clear",
           FD_ISSET(p[1], &wr) ? "set" : "clear");
    /* select looks only at fds inside the fd table (fdtable.max_fds). A table starts with
       room for 64 fds and grows to 128 when fd 99 is opened; it never shrinks, but a fork
       child's table is just big enough for the fds open in it. */
    dup2(1, 99);
    close(99);
    FD_ZERO(&rd); FD_SET(99, &rd);
    errno = 0;
    printf("select on the closed fd 99 in a table of 128: %s\n",
           select(100, &rd, NULL, NULL, &tv) == -1 && errno == EBADF ? "EBADF" : "WRONG");
    fflush(stdout);
    if (fork() == 0) {
        FD_ZERO(&rd); FD_SET(99, &rd);
        n = select(100, &rd, NULL, NULL, &tv);
        printf("the same in a fork child's table of 64: %d, fd 99's bit left %s\n", n, FD_ISSET(99, &rd) ? "set" : "clear");
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);

    struct timeval nap = {0, 20000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = select(0, NULL, NULL, NULL, &nap);
    printf("select with no fds as a 20 ms sleep: %d, waited >= 20 ms: %s, time left %ld us\n",
           n, ms_since(t0) >= 20 ? "yes" : "no", (long)nap.tv_usec);

    int q[2];
    pipe(q);
    pid_t child = fork();
    if (child == 0) {
        struct timespec wait = {0, 20000000};
        nanosleep(&wait, NULL);
        write(q[1], "y", 1);
        _exit(0);
    }
    close(q[1]);
    struct pollfd from_child = {q[0], POLLIN, 0};
    n = poll(&from_child, 1, 5000);
    printf("a child's write wakes a poll: %d, %s\n", n, from_child.revents & POLLIN ? "POLLIN" : "WRONG");
    /* (POLLHUP too if the child has exited by then: natively that is a race) */
    waitpid(child, NULL, 0);
    char c;
    read(q[0], &c, 1);
    n = poll(&from_child, 1, 1000);
    printf("the writer gone: %d, revents %#x\n", n, from_child.revents);

    close(p[0]);
    struct pollfd out = {p[1], POLLOUT, 0};
    n = poll(&out, 1, 0);
    printf("the reader gone: %d, revents %#x\n", n, out.revents);
    return 0;
}
