/* libc/sigwait: waiting for signals. sigsuspend (the handler runs with the temporary
   mask, the caller's mask comes back after), sigwaitinfo and sigtimedwait (a blocked
   signal taken without its handler, by a thread that waits for it: the usual
   signal-handling thread), sigpending, and ppoll's temporary mask in force while its
   handler runs. Also: a blocked signal whose default is to be ignored stays pending (it
   may be waited for); ppoll that finds an fd ready runs no handler; sigwait in a thread
   that blocks a signal, while another thread does not, still gets it; sigsuspend in one
   thread gets the signal another thread sends. Everything printed is the same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sigset_t mask_in_handler;
static volatile int handled;

static void on_signal(int sig)
{
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    mask_in_handler = now;
    handled = sig;
}

static int blocked(int sig)
{
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    return sigismember(&now, sig);
}

static void *idle_thread(void *arg)
{
    for (;;)
        pause();
    return NULL;
}

static void *send_usr1_later(void *arg)
{
    struct timespec nap = {0, 30000000};
    nanosleep(&nap, NULL);
    kill(getpid(), SIGUSR1);
    return NULL;
}

static void *signal_thread(void *arg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    return (void *)(long)sig;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    sigset_t usr1, old, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    kill(getpid(), SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("SIGUSR1 blocked and sent: pending %s, not handled yet: %s\n",
           sigismember(&pending, SIGUSR1) ? "yes" : "no", handled ? "no" : "yes");
    sigset_t temporary;
    sigemptyset(&temporary);
    sigaddset(&temporary, SIGUSR2);                  /* the handler sees this one blocked */
    errno = 0;
    int r = sigsuspend(&temporary);
    printf("sigsuspend: %d %s, handled %s\n", r, strerrorname_np(errno), handled == SIGUSR1 ? "SIGUSR1" : "nothing");
    printf("in the handler: SIGUSR2 (temporary mask) blocked %s, SIGUSR1 (its own) blocked %s\n",
           sigismember((sigset_t *)&mask_in_handler, SIGUSR2) ? "yes" : "no",
           sigismember((sigset_t *)&mask_in_handler, SIGUSR1) ? "yes" : "no");
    printf("after sigsuspend: SIGUSR1 blocked again %s, SIGUSR2 blocked %s\n",
           blocked(SIGUSR1) ? "yes" : "no", blocked(SIGUSR2) ? "yes" : "no");

    /* A child sends SIGUSR1 while we wait in sigsuspend. */
    handled = 0;
    pid_t parent = getpid();
    if (fork() == 0) {
        struct timespec nap = {0, 20000000};
        nanosleep(&nap, NULL);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    sigsuspend(&none);
    wait(NULL);
    printf("sigsuspend woken by a signal from a child: %s\n", handled == SIGUSR1 ? "yes" : "no");

    /* sigtimedwait: a blocked signal is taken, not handled. */
    handled = 0;
    kill(getpid(), SIGUSR1);
    siginfo_t info;
    struct timespec zero = {0, 0}, short_wait = {0, 20000000};
    int sig = sigtimedwait(&usr1, &info, &zero);
    printf("sigtimedwait: got %d, si_pid is me %s, si_code %d, handler ran %s\n", sig,
           info.si_pid == getpid() ? "yes" : "no", info.si_code, handled ? "yes" : "no");
    errno = 0;
    sig = sigtimedwait(&usr1, &info, &short_wait);
    printf("sigtimedwait with nothing pending, 20 ms: %d %s\n", sig, strerrorname_np(errno));

    /* A thread that sigwaits for SIGUSR2 and SIGTERM, blocked in every thread. */
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR2);
    sigaddset(&both, SIGTERM);
    sigprocmask(SIG_BLOCK, &both, NULL);
    pthread_t t;
    pthread_create(&t, NULL, signal_thread, NULL);
    struct timespec nap = {0, 10000000};
    nanosleep(&nap, NULL);
    kill(getpid(), SIGTERM);                      /* default action: terminate, but it is waited for */
    void *got;
    pthread_join(t, &got);
    printf("sigwait in a thread took signal %ld; the process lives\n", (long)got);

    /* ppoll with a temporary mask that lets SIGUSR1 in: the handler sees that mask. */
    handled = 0;
    sigprocmask(SIG_SETMASK, &usr1, NULL);
    kill(getpid(), SIGUSR1);
    int p[2];
    pipe(p);
    struct pollfd in = {p[0], POLLIN, 0};
    sigset_t allow_usr1_block_usr2;
    sigemptyset(&allow_usr1_block_usr2);
    sigaddset(&allow_usr1_block_usr2, SIGUSR2);
    errno = 0;
    r = ppoll(&in, 1, NULL, &allow_usr1_block_usr2);
    printf("ppoll: %d %s, handler ran with ppoll's mask (SIGUSR2 blocked): %s, SIGUSR1 blocked after: %s\n",
           r, strerrorname_np(errno), sigismember((sigset_t *)&mask_in_handler, SIGUSR2) ? "yes" : "no",
           blocked(SIGUSR1) ? "yes" : "no");
    sigprocmask(SIG_SETMASK, &usr1, NULL);

    /* ppoll finding an fd ready returns the count; its mask goes back at once, so a
       pending signal it would let in is not delivered then. */
    handled = 0;
    kill(getpid(), SIGUSR1);
    write(p[1], "x", 1);
    r = ppoll(&in, 1, NULL, &none);
    printf("ppoll with an fd ready and SIGUSR1 pending: %d, handler ran %s\n", r, handled ? "yes" : "no");
    char byte;
    read(p[0], &byte, 1);
    struct timespec no_wait = {0, 0};
    errno = 0;
    r = ppoll(&in, 1, &no_wait, &none);
    printf("ppoll with timeout 0, nothing ready, SIGUSR1 let in: %d %s, handler ran %s\n", r,
           strerrorname_np(errno), handled ? "yes" : "no");

    /* Blocked signals whose default action is to be ignored stay pending. */
    sigset_t winch_chld;
    sigemptyset(&winch_chld);
    sigaddset(&winch_chld, SIGWINCH);
    sigaddset(&winch_chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &winch_chld, NULL);
    kill(getpid(), SIGWINCH);
    sigpending(&pending);
    printf("SIGWINCH blocked and sent: pending %s\n", sigismember(&pending, SIGWINCH) ? "yes" : "no");
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    struct timespec two = {2, 0};
    sig = sigtimedwait(&chld, &info, &two);
    printf("sigtimedwait for a blocked SIGCHLD: %d, si_pid is the child %s, si_status %d\n", sig,
           info.si_pid == child ? "yes" : "no", info.si_status);
    waitpid(child, NULL, 0);

    /* sigwait in main (SIGTERM blocked there) while another thread leaves it unblocked:
       the waiting thread takes it, and the process lives. */
    pthread_t idler;
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &term, NULL);
    pthread_create(&idler, NULL, idle_thread, NULL);   /* SIGTERM unblocked in it */
    pthread_sigmask(SIG_BLOCK, &term, NULL);
    if (fork() == 0) {
        struct timespec nap = {0, 30000000};
        nanosleep(&nap, NULL);
        kill(parent, SIGTERM);
        _exit(0);
    }
    sig = 0;
    sigwait(&term, &sig);
    printf("main's sigwait got %d although another thread does not block it\n", sig);

    /* sigsuspend in main; a worker sends the process SIGUSR1. */
    handled = 0;
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pthread_t sender;
    pthread_create(&sender, NULL, send_usr1_later, NULL);
    errno = 0;
    r = sigsuspend(&none);
    printf("sigsuspend in main, SIGUSR1 sent by a worker: %d %s, handled %s\n", r, strerrorname_np(errno),
           handled == SIGUSR1 ? "yes" : "no");
    pthread_join(sender, NULL);
    return 0;
}
