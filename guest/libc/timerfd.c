/* libc/timerfd: timers as files. A one-shot timer that a blocking read waits for, a
   periodic one whose read counts the expirations missed, gettime, an absolute time
   already past, a re-arm that drops the count, poll and epoll that wait on a timer with
   no other timeout, and timerfd's errors. The same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void result(const char *what, long r)
{
    printf("%-46s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

static long ms_since(struct timespec t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
}

static struct itimerspec after_ms(long value, long interval)
{
    struct itimerspec spec = {{interval / 1000, interval % 1000 * 1000000}, {value / 1000, value % 1000 * 1000000}};
    return spec;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t count = 0;
    int quick = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    result("read of a disarmed non-blocking timerfd", read(quick, &count, 8));
    struct itimerspec spec, old;
    timerfd_gettime(quick, &spec);
    printf("gettime disarmed: value %ld.%09ld interval %ld\n", (long)spec.it_value.tv_sec, spec.it_value.tv_nsec,
           (long)spec.it_interval.tv_sec);

    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    spec = after_ms(30, 0);
    timerfd_settime(fd, 0, &spec, NULL);
    result("blocking read of a 30 ms one-shot", read(fd, &count, 8));
    printf("  %lu expiration, after at least 30 ms: %s\n", (unsigned long)count, ms_since(t0) >= 30 ? "yes" : "no");

    spec = after_ms(10, 10);
    timerfd_settime(fd, 0, &spec, NULL);
    struct timespec nap = {0, 65000000};
    nanosleep(&nap, NULL);
    read(fd, &count, 8);
    printf("10 ms periodic, read after 65 ms: at least 5 expirations: %s\n", count >= 5 ? "yes" : "no");
    spec = after_ms(1000, 250);
    timerfd_settime(fd, 0, &spec, &old);
    printf("re-armed: the old setting's interval %ld ms\n", old.it_interval.tv_nsec / 1000000);
    timerfd_gettime(fd, &spec);
    long left = spec.it_value.tv_sec * 1000 + spec.it_value.tv_nsec / 1000000;
    printf("gettime: interval %ld ms, value between 500 and 1000 ms: %s\n", spec.it_interval.tv_nsec / 1000000,
           left > 500 && left <= 1000 ? "yes" : "no");     /* (a busy host may stall us a little) */

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int wall = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    spec = (struct itimerspec){{0, 0}, {now.tv_sec - 5, 0}};
    timerfd_settime(wall, TFD_TIMER_ABSTIME, &spec, NULL);
    result("absolute time 5 s ago: read", read(wall, &count, 8));
    printf("  %lu expiration\n", (unsigned long)count);
    spec = after_ms(1, 0);
    timerfd_settime(wall, 0, &spec, NULL);
    nanosleep(&nap, NULL);
    spec = after_ms(0, 0);
    timerfd_settime(wall, 0, &spec, NULL);
    result("expired, then disarmed before the read", read(wall, &count, 8));

    spec = after_ms(25, 0);
    timerfd_settime(fd, 0, &spec, NULL);
    struct pollfd in = {fd, POLLIN, 0};
    result("poll with no timeout on a 25 ms timer", poll(&in, 1, -1));
    read(fd, &count, 8);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 7}}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    spec = after_ms(25, 0);
    timerfd_settime(fd, 0, &spec, NULL);
    result("epoll_wait with no timeout on it", epoll_wait(ep, &got, 1, -1));
    printf("  data %lu\n", (unsigned long)got.data.u64);

    result("timerfd_create(CLOCK_PROCESS_CPUTIME_ID)", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    result("timerfd_create with bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
    int p[2];
    pipe(p);
    result("timerfd_settime on a pipe", timerfd_settime(p[0], 0, &spec, NULL));
    result("timerfd_settime on a closed fd", timerfd_settime(99, 0, &spec, NULL));
    spec.it_value.tv_nsec = 1000000000;
    result("timerfd_settime with tv_nsec 1e9", timerfd_settime(fd, 0, &spec, NULL));
    result("timerfd_settime with flag 4", timerfd_settime(fd, 4, &spec, NULL));
    uint32_t small;
    result("read of 4 bytes", read(quick, &small, 4));
    return 0;
}
