/* libc/alarm: alarm, setitimer/getitimer (ITIMER_REAL) and pause: SIGALRM comes on time to
   a spinning process, interrupts a blocking read and a pause, repeats with an interval,
   and kills by default. Prints only what is the same on every run. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

int main(void)
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_alarm;                 /* no SA_RESTART: a blocking read gets EINTR */
    sigaction(SIGALRM, &act, NULL);

    printf("alarm(5) with none set: %u\n", alarm(5));
    printf("alarm(0) then says what was left: %u\n", alarm(0));

    struct itimerval once = {{0, 0}, {0, 30000}}, now;
    setitimer(ITIMER_REAL, &once, NULL);
    while (!alarms)
        ;
    printf("a 30 ms timer interrupts a spinning loop: %d SIGALRM\n", alarms);

    int fds[2];
    pipe(fds);
    struct itimerval soon = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    char byte;
    errno = 0;
    ssize_t got = read(fds[0], &byte, 1);
    printf("a read of an empty pipe, cut by a 50 ms timer: %zd, %s\n", got, errno == EINTR ? "EINTR" : "WRONG");

    struct itimerval repeat = {{0, 20000}, {0, 20000}};
    alarms = 0;
    setitimer(ITIMER_REAL, &repeat, NULL);
    getitimer(ITIMER_REAL, &now);
    printf("getitimer: interval %ld us, armed: %s\n", (long)now.it_interval.tv_usec,
           now.it_value.tv_sec == 0 && now.it_value.tv_usec > 0 ? "yes" : "no");
    while (alarms < 3)
        pause();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &now);
    printf("a 20 ms interval timer, pause() woken by each tick: %s; disarmed\n", alarms >= 3 ? "3 ticks" : "WRONG");
    errno = 0;
    printf("ITIMER_REAL only: setitimer(42) %s\n", setitimer(42, &off, NULL) == -1 && errno == EINVAL ? "EINVAL" : "WRONG");

    pid_t child = fork();
    if (child == 0) {
        signal(SIGALRM, SIG_DFL);
        setitimer(ITIMER_REAL, &soon, NULL);
        for (;;)
            ;
    }
    int status;
    waitpid(child, &status, 0);
    printf("SIGALRM's default action: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "killed" : "WRONG");
    return 0;
}
