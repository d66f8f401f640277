/* libc/rusage: CPU time and resource usage. getrusage (self, a thread, children),
   wait4's rusage, times(), and the CPU-time clocks. The figures differ from the host's,
   so only what must hold of them is printed: time passes while a task runs and not
   while it waits, page faults and the peak rss grow with touched pages, a wait is a
   voluntary switch, a reaped child's usage becomes the parent's children's. And the
   CPU-time interval timers: ITIMER_PROF and ITIMER_VIRTUAL fire as CPU time passes. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long ns_of(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static volatile unsigned long sink;

/* Spin until this thread has had `ns` of CPU time (not wall time: on a busy host a
   wall-clock spin may get much less CPU, and the checks below would fail natively). */
static void spin(long ns)
{
    long until = ns_of(CLOCK_THREAD_CPUTIME_ID) + ns;
    while (ns_of(CLOCK_THREAD_CPUTIME_ID) < until)
        for (int i = 0; i < 1000; i++)
            sink += i;
}

static void touch(int pages)
{
    char *p = mmap(NULL, pages * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < pages; i++)
        p[i * 4096L] = 1;
}

static const char *yes(int ok)
{
    return ok ? "yes" : "no";
}

static volatile int profs, vtalrms;

static void on_timer(int sig)
{
    if (sig == SIGPROF)
        profs++;
    else
        vtalrms++;
}

static long thread_spent;

static void *spinner(void *arg)
{
    long start = ns_of(CLOCK_THREAD_CPUTIME_ID);
    spin(60000000);
    thread_spent = ns_of(CLOCK_THREAD_CPUTIME_ID) - start;
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    long cpu0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    spin(50000000);
    touch(3000);
    long cpu1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    getrusage(RUSAGE_SELF, &after);
    printf("50 ms of CPU spinning: the process CPU clock advanced at least 50 ms: %s\n", yes(cpu1 - cpu0 >= 50000000));
    long utime = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000L + after.ru_utime.tv_usec -
                 before.ru_utime.tv_usec + (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000L +
                 after.ru_stime.tv_usec - before.ru_stime.tv_usec;
    printf("getrusage's user + system time grew by 40+ ms too: %s\n", yes(utime >= 40000));
    /* (Linux counts rss per CPU in batches, so 8 MiB of the 12; and the peak of the image
       before execve counts too, so only the level is checked, not the growth.) */
    printf("3000 pages touched: at least 3000 more minor faults %s, peak rss at least 8 MiB %s\n",
           yes(after.ru_minflt - before.ru_minflt >= 3000), yes(after.ru_maxrss >= 8192));

    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        struct timespec nap = {0, 20000000};
        nanosleep(&nap, NULL);
        write(p[1], "x", 1);
        touch(200);
        spin(20000000);
        _exit(0);
    }
    getrusage(RUSAGE_SELF, &before);
    char byte;
    read(p[0], &byte, 1);                     /* waits for the child: a voluntary switch */
    getrusage(RUSAGE_SELF, &after);
    printf("a blocking read: voluntary switches grew %s\n", yes(after.ru_nvcsw > before.ru_nvcsw));
    struct rusage of_child, children;
    int status;
    wait4(child, &status, 0, &of_child);
    printf("wait4's rusage of the child: 200+ faults %s, CPU time 10+ ms %s, maxrss > 0 %s\n",
           yes(of_child.ru_minflt >= 200), yes(of_child.ru_utime.tv_sec * 1000000L + of_child.ru_utime.tv_usec +
                                               of_child.ru_stime.tv_usec >= 10000), yes(of_child.ru_maxrss > 0));
    getrusage(RUSAGE_CHILDREN, &children);
    printf("RUSAGE_CHILDREN has it now: %s\n", yes(children.ru_minflt >= of_child.ru_minflt));

    long main0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    pthread_join(t, NULL);
    long main_spent = ns_of(CLOCK_THREAD_CPUTIME_ID) - main0;
    printf("a thread spun 60 ms of CPU: its thread clock 60+ ms %s; main's, waiting in join, less than half of it %s\n",
           yes(thread_spent >= 60000000), yes(main_spent < thread_spent / 2));
    struct rusage mine;
    getrusage(RUSAGE_THREAD, &mine);
    printf("RUSAGE_THREAD (main) under RUSAGE_SELF: %s\n",
           yes(mine.ru_utime.tv_sec * 1000000L + mine.ru_utime.tv_usec <=
               after.ru_utime.tv_sec * 1000000L + after.ru_utime.tv_usec + 200000));

    struct tms tms;
    clock_t now = times(&tms);
    printf("times(): ticks since boot > 0 %s, own CPU ticks > 0 %s, children's > 0 %s\n", yes(now > 0),
           yes(tms.tms_utime + tms.tms_stime > 0), yes(tms.tms_cutime + tms.tms_cstime > 0));
    signal(SIGPROF, on_timer);
    signal(SIGVTALRM, on_timer);
    struct itimerval every10 = {{0, 10000}, {0, 10000}}, left;
    long cpu_start = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    setitimer(ITIMER_PROF, &every10, NULL);
    getitimer(ITIMER_PROF, &left);
    printf("ITIMER_PROF armed: interval %ld us, value 10 ms and a 4 ms tick, give or take: %s\n",
           (long)left.it_interval.tv_usec,
           yes(left.it_value.tv_sec == 0 && left.it_value.tv_usec <= 14000 && left.it_value.tv_usec > 10000));
    while (profs < 5)
        for (int i = 0; i < 1000; i++)
            sink += i;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("5 SIGPROFs every 10 ms of CPU time: after at least 40 ms of it %s\n",
           yes(ns_of(CLOCK_PROCESS_CPUTIME_ID) - cpu_start >= 40000000));
    struct itimerval once = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_VIRTUAL, &once, NULL);
    while (!vtalrms)
        for (int i = 0; i < 1000; i++)
            sink += i;
    getitimer(ITIMER_VIRTUAL, &left);
    printf("a one-shot ITIMER_VIRTUAL: SIGVTALRM once, then disarmed %s\n",
           yes(vtalrms == 1 && left.it_value.tv_sec == 0 && left.it_value.tv_usec == 0));
    errno = 0;
    long r = syscall(SYS_getrusage, 42, &mine);
    printf("getrusage(42): %ld %s\n", r, strerrorname_np(errno));
    return 0;
}
