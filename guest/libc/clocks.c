/* libc/clocks: time, gettimeofday, clock_gettime/getres, nanosleep (and a sleep cut short
   by a signal), clock_nanosleep with an absolute time; Linux's errors. Prints only what
   is the same on every run. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static void on_usr1(int sig) { (void)sig; }

int main(void)
{
    struct timespec t0, t1, res;
    struct timeval tv;
    time_t now = time(NULL);
    gettimeofday(&tv, NULL);
    clock_gettime(CLOCK_REALTIME, &t0);
    printf("time, gettimeofday and CLOCK_REALTIME agree: %s\n",
           now > 1700000000 && tv.tv_sec - now <= 1 && t0.tv_sec - now <= 1 && tv.tv_usec < 1000000 ? "yes" : "no");
    printf("clock_getres(CLOCK_MONOTONIC): %ld ns\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 ? res.tv_nsec : -1L);
    errno = 0;
    printf("clock_gettime(a bad clock): %s\n", clock_gettime(12345, &t0) == -1 && errno == EINVAL ? "EINVAL" : "WRONG");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec nap = {0, 50 * 1000 * 1000};
    int slept = nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("nanosleep 50 ms: %d, at least 50 ms passed: %s\n", slept, ns(t1) - ns(t0) >= 50000000 ? "yes" : "no");
    struct timespec bad = {0, 1000000000};
    errno = 0;
    printf("nanosleep with tv_nsec = 1e9: %s\n", nanosleep(&bad, NULL) == -1 && errno == EINVAL ? "EINVAL" : "WRONG");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec until = {t0.tv_sec, t0.tv_nsec + 30000000};
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    int abs = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("clock_nanosleep to an absolute time: %d, reached: %s\n", abs, ns(t1) >= ns(until) ? "yes" : "no");

    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_usr1;
    act.sa_flags = SA_RESTART;              /* nanosleep is not restarted even so */
    sigaction(SIGUSR1, &act, NULL);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        struct timespec wait = {0, 100 * 1000 * 1000};
        nanosleep(&wait, NULL);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    struct timespec long_nap = {5, 0}, left = {0, 0};
    errno = 0;
    int cut = nanosleep(&long_nap, &left);
    printf("a 5 s nanosleep cut short by SIGUSR1: %s, time left between 4 and 5 s: %s\n",
           cut == -1 && errno == EINTR ? "EINTR" : "WRONG", left.tv_sec == 4 ? "yes" : "no");
    waitpid(child, NULL, 0);

    child = fork();                         /* a sleeper wakes on time while its parent spins */
    if (child == 0) {
        struct timespec wait = {0, 20 * 1000 * 1000};
        nanosleep(&wait, NULL);
        _exit(5);
    }
    int status = 0;
    while (waitpid(child, &status, WNOHANG) == 0)
        ;
    printf("a sleeping child woke while its parent spun: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 5 ? "yes" : "no");
    return 0;
}
