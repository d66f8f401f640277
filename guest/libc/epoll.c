/* libc/epoll: epoll and eventfd. Level-triggered, edge-triggered and one-shot entries
   on pipes and eventfds, a wait that blocks until another thread writes, a timeout,
   nested epoll, an entry that goes with its file's last close, eventfd's counter and
   semaphore mode, and the errors of epoll_ctl, epoll_wait and eventfd. Everything
   printed is the same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static void result(const char *what, long r)
{
    printf("%-52s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
    errno = 0;
}

static int wait_events(int ep, int timeout, const char *what)
{
    struct epoll_event got[8];
    int n = epoll_wait(ep, got, 8, timeout);
    printf("%-40s %d:", what, n);
    for (int i = 0; i < n; i++)
        printf(" [data %lu events %#x]", (unsigned long)got[i].data.u64, got[i].events);
    printf("\n");
    return n;
}

static int late_fd;

static void *write_later(void *arg)
{
    struct timespec nap = {0, 30000000};
    nanosleep(&nap, NULL);
    write(late_fd, "z", 1);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int p[2], q[2];
    pipe(p);
    pipe(q);
    struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
    result("ADD read end of p, level-triggered", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    result("ADD it again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    ev = (struct epoll_event){EPOLLIN | EPOLLET, {.u64 = 2}};
    result("ADD read end of q, edge-triggered", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
    wait_events(ep, 0, "nothing written, timeout 0");
    write(p[1], "a", 1);
    write(q[1], "b", 1);
    wait_events(ep, 0, "one byte in each");
    wait_events(ep, 0, "again: only the level-triggered one");
    write(q[1], "c", 1);
    wait_events(ep, 0, "a new write to q: q again");
    char buf[8];
    read(p[0], buf, sizeof buf);
    wait_events(ep, 0, "p drained");
    ev = (struct epoll_event){EPOLLOUT | EPOLLONESHOT, {.u64 = 3}};
    result("ADD write end of p, one-shot", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
    wait_events(ep, 0, "writable");
    wait_events(ep, 0, "one-shot: not again");
    result("MOD re-arms it", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
    wait_events(ep, 0, "after MOD");
    result("DEL write end of p", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    result("DEL it again", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    result("MOD a file not in the set", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));

    late_fd = p[1];
    pthread_t t;
    pthread_create(&t, NULL, write_later, NULL);
    wait_events(ep, 2000, "blocks until a thread writes p");
    pthread_join(t, NULL);
    read(p[0], buf, sizeof buf);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait_events(ep, 30, "timeout 30 ms");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("waited at least 30 ms: %s\n", ms >= 30 ? "yes" : "no");

    close(q[1]);
    wait_events(ep, 0, "q's writer closed (HUP, a new event)");
    int dup_q = dup(q[0]);
    close(q[0]);
    write(p[1], "d", 1);
    wait_events(ep, 0, "q's fd closed but dup'd: entry stays");
    close(dup_q);
    wait_events(ep, 0, "q closed for good: entry gone");

    int efd = eventfd(5, EFD_NONBLOCK);
    uint64_t value = 0;
    ev = (struct epoll_event){EPOLLIN | EPOLLOUT, {.u64 = 4}};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    read(p[0], buf, sizeof buf);
    wait_events(ep, 0, "eventfd with 5 in it");
    result("read eventfd", read(efd, &value, 8));
    printf("  value %lu\n", (unsigned long)value);
    result("read it empty (non-blocking)", read(efd, &value, 8));
    result("read with 4 bytes", read(efd, &value, 4));
    value = 3;
    result("write 3", write(efd, &value, 8));
    uint64_t two_values[2] = {4, 0};
    result("write 4 with a 16-byte count", write(efd, two_values, 16));
    result("read", read(efd, &value, 8));
    printf("  value %lu\n", (unsigned long)value);
    value = UINT64_MAX;
    result("write 2^64-1", write(efd, &value, 8));
    value = UINT64_MAX - 1;
    result("write 2^64-2 (fits)", write(efd, &value, 8));
    value = 1;
    result("write 1 more (would overflow, non-blocking)", write(efd, &value, 8));
    wait_events(ep, 0, "eventfd full: readable, not writable");
    int sem = eventfd(2, EFD_SEMAPHORE);
    read(sem, &value, 8);
    printf("semaphore eventfd read: %lu", (unsigned long)value);
    read(sem, &value, 8);
    printf(", %lu\n", (unsigned long)value);
    result("eventfd with bad flags", eventfd(0, 0x40));

    int inner = epoll_create1(0);
    ev = (struct epoll_event){EPOLLIN, {.u64 = 9}};
    epoll_ctl(inner, EPOLL_CTL_ADD, sem, &ev);
    int outer = epoll_create1(0);
    ev = (struct epoll_event){EPOLLIN, {.u64 = 10}};
    result("ADD an epoll to another", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));
    wait_events(outer, 0, "the inner one is empty");
    value = 1;
    write(sem, &value, 8);
    wait_events(outer, 0, "its eventfd counts 1: the outer sees it");
    result("ADD outer to inner (a loop)", epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev));
    result("ADD an epoll to itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));

    int file = open("/proc/self/exe", O_RDONLY);
    result("ADD a regular file", epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev));
    int null = open("/dev/null", O_RDONLY);
    result("ADD /dev/null", epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev));
    result("ADD to something that is not an epoll", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
    result("ADD a closed fd", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev));
    result("an unknown op", epoll_ctl(ep, 7, p[1], &ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    result("EPOLLEXCLUSIVE with EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
    result("ADD with a bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (void *)8));
    struct epoll_event got[1];
    result("epoll_wait with maxevents 0", epoll_wait(ep, got, 0, 0));
    result("epoll_wait on a pipe", epoll_wait(p[0], got, 1, 0));
    result("epoll_create(0)", epoll_create(0));
    result("epoll_create1 with bad flags", epoll_create1(1));
    return 0;
}
