/* libc/threads: POSIX threads (glibc's pthread_create is clone with CLONE_VM, CLONE_FILES,
   CLONE_SIGHAND, CLONE_THREAD, CLONE_SETTLS, CLONE_PARENT_SETTID and CLONE_CHILD_CLEARTID).

   Shared memory and a mutex, thread-local storage (each thread's FS base), pthread_join
   (woken by the kernel's CLONE_CHILD_CLEARTID futex wake), a condition variable, getpid
   and gettid, signals aimed at one thread (pthread_kill) and at the process (kill: taken
   by the one thread that does not block it), a shared fd table, fork from a thread,
   posix_spawn (CLONE_VM | CLONE_VFORK), a fault in a thread killing the whole process,
   exit() in a thread ending the process with its status, and clone's EINVAL cases.
   Everything printed is the same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long mine = 100;              /* one copy per thread (TLS through FS) */
static pid_t tids[THREADS];

static void *adder(void *arg)
{
    long id = (long)arg;
    tids[id] = gettid();
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        mine++;
        if (i % 500 == 0)
            sched_yield();
    }
    return (void *)(mine + id);               /* 100 + ROUNDS + id: its own TLS copy */
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn, volleys;

static void *ponger(void *arg)
{
    pthread_mutex_lock(&lock);
    while (volleys < 10) {
        while (turn != 1)
            pthread_cond_wait(&cond, &lock);
        volleys++;
        turn = 0;
        pthread_cond_signal(&cond);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static volatile pid_t handled_in;

static void on_usr1(int sig)
{
    handled_in = gettid();
}

static pid_t waiter_tid;
static volatile int waiter_ready;

static void *usr1_taker(void *arg)
{
    waiter_tid = gettid();
    sigset_t set;
    sigemptyset(&set);
    pthread_sigmask(SIG_SETMASK, &set, NULL);    /* this thread takes SIGUSR1 */
    waiter_ready = 1;
    while (!handled_in)
        sched_yield();
    return NULL;
}

static int opened_fd = -1;

static void *opener(void *arg)
{
    opened_fd = open("/dev/null", O_WRONLY);
    return NULL;
}

static void *forker(void *arg)
{
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0)
        _exit(getppid() == parent ? 7 : 1);
    int status;
    waitpid(child, &status, 0);
    return (void *)(long)(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void *faulter(void *arg)
{
    volatile int *volatile nowhere = (int *)8;
    *nowhere = 1;
    return NULL;
}

static void *exiter(void *arg)
{
    exit(42);
}

static void *sleeper(void *arg)
{
    for (;;)
        pause();
    return NULL;
}

static int run_in_child(void *(*body)(void *))
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pthread_t t, s;
        pthread_create(&s, NULL, sleeper, NULL);
        pthread_create(&t, NULL, body, NULL);
        pthread_join(t, NULL);
        _exit(99);                              /* not reached: the thread ends the process */
    }
    int status;
    waitpid(child, &status, 0);
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1) {                             /* posix_spawn's program */
        printf("spawned with %s\n", argv[1]);
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, adder, (void *)i);
    int own_results = 1;
    for (long i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(t[i], &result);
        own_results &= (long)result == 100 + ROUNDS + i;
    }
    int distinct = 1;
    for (int i = 0; i < THREADS; i++)
        distinct &= tids[i] != getpid() && tids[i] > 0 && (i == 0 || tids[i] != tids[i - 1]);
    printf("%d threads x %d rounds under a mutex: counter %ld\n", THREADS, ROUNDS, counter);
    printf("each thread had its own TLS copy: %s; main's is still %ld\n", own_results ? "yes" : "no", mine);
    printf("gettid differs from getpid in threads, and between them: %s\n", distinct ? "yes" : "no");
    printf("gettid == getpid in the main thread: %s\n", gettid() == getpid() ? "yes" : "no");

    pthread_t p;
    pthread_create(&p, NULL, ponger, NULL);
    pthread_mutex_lock(&lock);
    while (volleys < 10) {
        turn = 1;
        pthread_cond_signal(&cond);
        while (turn != 0)
            pthread_cond_wait(&cond, &lock);
    }
    pthread_mutex_unlock(&lock);
    pthread_join(p, NULL);
    printf("condition variable ping-pong: %d volleys\n", volleys);

    /* A process-directed signal goes to a thread that does not block it. */
    signal(SIGUSR1, on_usr1);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pthread_t w;
    pthread_create(&w, NULL, usr1_taker, NULL);
    while (!waiter_ready)
        sched_yield();
    kill(getpid(), SIGUSR1);
    pthread_join(w, NULL);
    printf("kill(getpid(), SIGUSR1) with main blocking it: handled by the other thread: %s\n",
           handled_in == waiter_tid ? "yes" : "no");
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);

    /* A thread-directed one runs in that thread. */
    handled_in = 0;
    pthread_kill(pthread_self(), SIGUSR1);
    printf("pthread_kill(self): handled in the main thread: %s\n", handled_in == getpid() ? "yes" : "no");
    errno = 0;
    long r = syscall(SYS_tgkill, getpid(), 999999, SIGUSR1);
    printf("tgkill to no such thread: %ld %s\n", r, strerrorname_np(errno));

    /* The fd table is shared: a file a thread opens is the main thread's too. */
    pthread_t o;
    pthread_create(&o, NULL, opener, NULL);
    pthread_join(o, NULL);
    int fd = opened_fd;
    printf("a thread's open() fd works in main: %s\n", write(fd, "x", 1) == 1 ? "yes" : "no");
    close(fd);

    pthread_t f;
    void *forked;
    pthread_create(&f, NULL, forker, NULL);
    pthread_join(f, &forked);
    printf("fork in a thread: the child's getppid is the process, exit status %ld\n", (long)forked);

    pid_t spawned;
    char *args[] = {"/proc/self/exe", "an argument", NULL};
    fflush(stdout);
    int err = posix_spawn(&spawned, "/proc/self/exe", NULL, NULL, args, NULL);
    int status = 0;
    waitpid(spawned, &status, 0);
    printf("posix_spawn: error %d, exit status %d\n", err, WEXITSTATUS(status));

    status = run_in_child(faulter);
    printf("a fault in one thread kills the process: %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "WRONG");
    status = run_in_child(exiter);
    printf("exit(42) in one thread ends the process: %s %d\n", WIFEXITED(status) ? "exited" : "WRONG",
           WEXITSTATUS(status));

    char stack[256];
    errno = 0;
    r = syscall(SYS_clone, CLONE_THREAD | CLONE_VM, stack + sizeof stack, NULL, NULL, 0);
    printf("clone(CLONE_THREAD without CLONE_SIGHAND): %ld %s\n", r, strerrorname_np(errno));
    errno = 0;
    r = syscall(SYS_clone, CLONE_SIGHAND, stack + sizeof stack, NULL, NULL, 0);
    printf("clone(CLONE_SIGHAND without CLONE_VM): %ld %s\n", r, strerrorname_np(errno));
    return 0;
}
