/* libc/thread_edges: the corners of threads and clone that glibc's pthreads do not show.

   - The leader exits first (the raw exit system call) while another thread runs on: the
     process lives until its last thread is gone, its parent cannot reap it before, and
     the status is the last thread's (Linux 5.19 and later; before, the leader's).
   - exit_group from a thread: every thread ends, with that status.
   - execve in a thread that is not the leader: the other threads die and the new program
     has the process's pid.
   - vfork: the parent waits until the child exits, and sees what the child wrote (they
     share memory until then).
   - A clone child with no exit signal is a "clone" child: only __WCLONE or __WALL wait
     for it.
   - clone3's argument checks.
   - Priority-inheritance mutexes (FUTEX_LOCK_PI, UNLOCK_PI, TRYLOCK_PI) under contention,
     and their errors; sched_getaffinity and sched_setaffinity.
   - Robust mutexes: a thread, or a process, that dies holding one; the next locker (one
     already waiting, too) gets EOWNERDEAD (the kernel walks the dead thread's robust list).
   - The working directory: threads share it (CLONE_FS), a fork child has its own.
   - execve makes the exit signal SIGCHLD again; close() in one thread leaves a read
     blocked in another working; a PI lock handed over keeps FUTEX_WAITERS; tgkill to
     a main thread that has exited while others run is 0.
   Everything printed is the same natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap_ms(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static int go_on[2];                        /* the parent says when the thread may exit */

static void *outliving(void *arg)
{
    char byte;
    read(go_on[0], &byte, 1);
    syscall(SYS_exit, 9);                   /* the last thread: the process ends now, with 9 */
    return NULL;
}

static void *group_exiter(void *arg)
{
    nap_ms(10);
    syscall(SYS_exit_group, 6);
    return NULL;
}

static void *sleeper(void *arg)
{
    for (;;)
        pause();
    return NULL;
}

static char *self_path;
static char pid_text[16];

static void *execer(void *arg)
{
    char *args[] = {self_path, "check-pid", pid_text, NULL};
    execv("/proc/self/exe", args);
    return NULL;
}

/* A child process whose main thread waits in pause() while a sleeping thread and one
   running `body` exist; its wait status. */
static int in_a_child_with_threads(void *(*body)(void *))
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        snprintf(pid_text, sizeof pid_text, "%d", getpid());
        pthread_t t, s;
        pthread_create(&s, NULL, sleeper, NULL);
        pthread_create(&t, NULL, body, NULL);
        for (;;)
            pause();
    }
    int status;
    waitpid(child, &status, 0);
    return status;
}

static pthread_mutex_t pi_lock;
static long pi_counter;

static void *pi_adder(void *arg)
{
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&pi_lock);
        long seen = pi_counter;
        if (i % 7 == 0)
            sched_yield();                  /* hold the lock while others try for it */
        pi_counter = seen + 1;
        pthread_mutex_unlock(&pi_lock);
    }
    return NULL;
}

static long futex_pi(uint32_t *word, int op)
{
    errno = 0;
    return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
}

static uint32_t held_word;
static volatile int held, release;

static void *pi_holder(void *arg)
{
    futex_pi(&held_word, FUTEX_LOCK_PI);
    held = 1;
    while (!release)
        sched_yield();
    futex_pi(&held_word, FUTEX_UNLOCK_PI);
    return NULL;
}

static pthread_mutex_t robust;
static volatile int robust_held;

static void *die_holding(void *arg)
{
    pthread_mutex_lock(&robust);
    robust_held = 1;
    nap_ms(20);                             /* main is waiting for it by now */
    return NULL;                            /* exits without unlocking */
}

static void *go_to_dev(void *arg)
{
    return (void *)(long)chdir("/dev");
}

static int pipe_ends[2];

static void *blocked_reader(void *arg)
{
    char buf[8] = {0};
    long n = read(pipe_ends[0], buf, sizeof buf - 1);
    printf("the reader, blocked before the close: read %ld \"%s\"\n", n, buf);
    return NULL;
}

static uint32_t pi_word;
static volatile int pi_waiting;

static void *pi_waiter(void *arg)
{
    pi_waiting = 1;
    long r = syscall(SYS_futex, &pi_word, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
    printf("LOCK_PI after a hand-over: %ld, the word is my tid %s, FUTEX_WAITERS %s\n", r,
           (pi_word & FUTEX_TID_MASK) == (uint32_t)gettid() ? "yes" : "no", pi_word & FUTEX_WAITERS ? "set" : "clear");
    syscall(SYS_futex, &pi_word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
    return NULL;
}

static pid_t main_pid;

static void *after_main_exits(void *arg)
{
    nap_ms(20);
    long r = syscall(SYS_tgkill, main_pid, main_pid, 0);
    printf("tgkill(pid, pid, 0) after the main thread exited: %ld; kill(pid, 0): %d\n", r, kill(main_pid, 0));
    fflush(stdout);
    syscall(SYS_exit_group, 0);
    return NULL;
}

/* A child process: its main thread exits, another asks about it. */
static int leader_exits(void)
{
    main_pid = getpid();
    pthread_t t;
    pthread_create(&t, NULL, after_main_exits, NULL);
    syscall(SYS_exit, 0);
    return 1;
}

static int clone_child(void)
{
    _exit(4);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exit-7") == 0)
        return 7;                           /* (its fd 3+ to the parent closes as it exits) */
    if (argc > 1 && strcmp(argv[1], "leader-exits") == 0)
        return leader_exits();
    if (argc > 2 && strcmp(argv[1], "check-pid") == 0) {
        printf("after execve in a thread: the pid is the process's: %s, one thread left: %s\n",
               getpid() == atoi(argv[2]) ? "yes" : "no", gettid() == getpid() ? "yes" : "no");
        return 0;
    }
    self_path = argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0);
    int status;

    pipe(go_on);
    pid_t child = fork();
    if (child == 0) {
        pthread_t t;
        pthread_create(&t, NULL, outliving, NULL);
        syscall(SYS_exit, 5);               /* the leader goes first */
    }
    nap_ms(20);
    pid_t early = waitpid(child, &status, WNOHANG);
    printf("the leader exited, a thread runs on: waitpid WNOHANG gives %d\n", early);
    write(go_on[1], "x", 1);
    waitpid(child, &status, 0);
    printf("once the last thread exits: status %d (the last thread's)\n", WEXITSTATUS(status));

    status = in_a_child_with_threads(group_exiter);
    printf("exit_group(6) in a thread: exited %s, status %d\n", WIFEXITED(status) ? "yes" : "no", WEXITSTATUS(status));

    status = in_a_child_with_threads(execer);
    printf("the exec'd process exited with %d\n", WEXITSTATUS(status));

    volatile int shared = 0;
    child = vfork();
    if (child == 0) {
        shared = 1;                         /* the parent's memory: vfork shares it */
        _exit(8);
    }
    printf("vfork: the parent ran after the child, and saw its write: %s\n", shared == 1 ? "yes" : "no");
    waitpid(child, &status, 0);
    printf("vfork child's status: %d\n", WEXITSTATUS(status));

    child = syscall(SYS_clone, 0, 0, NULL, NULL, 0);   /* no exit signal */
    if (child == 0)
        clone_child();
    nap_ms(20);
    errno = 0;
    pid_t r = waitpid(child, &status, 0);
    printf("waitpid on a child with no exit signal: %d %s\n", r, strerrorname_np(errno));
    r = waitpid(child, &status, __WCLONE);
    printf("with __WCLONE: %s, status %d\n", r == child ? "reaped" : "WRONG", WEXITSTATUS(status));

    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_THREAD;
    errno = 0;
    long c = syscall(SYS_clone3, &args, sizeof args);
    printf("clone3 CLONE_THREAD without CLONE_SIGHAND: %ld %s\n", c, strerrorname_np(errno));
    memset(&args, 0, sizeof args);
    args.exit_signal = 65;
    errno = 0;
    c = syscall(SYS_clone3, &args, sizeof args);
    printf("clone3 exit_signal 65: %ld %s\n", c, strerrorname_np(errno));
    errno = 0;
    c = syscall(SYS_clone3, &args, 32);
    printf("clone3 with a 32-byte struct: %ld %s\n", c, strerrorname_np(errno));
    memset(&args, 0, sizeof args);
    args.stack_size = 4096;
    errno = 0;
    c = syscall(SYS_clone3, &args, sizeof args);
    printf("clone3 with a stack size but no stack: %ld %s\n", c, strerrorname_np(errno));
    char big[sizeof args + 8];
    memset(big, 0, sizeof big);
    big[sizeof args] = 1;
    errno = 0;
    c = syscall(SYS_clone3, big, sizeof big);
    printf("clone3 with unknown non-zero fields past the struct: %ld %s\n", c, strerrorname_np(errno));
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    c = syscall(SYS_clone3, &args, sizeof args);
    if (c == 0)
        _exit(2);
    waitpid(c, &status, 0);
    printf("clone3 as fork: status %d\n", WEXITSTATUS(status));

    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    int err = pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    err = err ? err : pthread_mutex_init(&pi_lock, &attr);
    pthread_t adders[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&adders[i], NULL, pi_adder, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(adders[i], NULL);
    printf("PTHREAD_PRIO_INHERIT mutex: init %d, 3 threads x 300 under it: %ld\n", err, pi_counter);
    uint32_t word = 0;
    long ret = futex_pi(&word, FUTEX_LOCK_PI);
    printf("FUTEX_LOCK_PI on 0: %ld, the word is my tid: %s\n", ret, word == (uint32_t)gettid() ? "yes" : "no");
    ret = futex_pi(&word, FUTEX_LOCK_PI);
    printf("again: %ld %s\n", ret, strerrorname_np(errno));
    ret = futex_pi(&word, FUTEX_UNLOCK_PI);
    printf("FUTEX_UNLOCK_PI: %ld, word %u\n", ret, word);
    ret = futex_pi(&word, FUTEX_UNLOCK_PI);
    printf("FUTEX_UNLOCK_PI of a free word: %ld %s\n", ret, strerrorname_np(errno));
    pthread_t holder;
    pthread_create(&holder, NULL, pi_holder, NULL);
    while (!held)
        sched_yield();
    ret = futex_pi(&held_word, FUTEX_TRYLOCK_PI);
    printf("FUTEX_TRYLOCK_PI of a word another thread holds: %ld %s\n", ret, strerrorname_np(errno));
    release = 1;
    pthread_join(holder, NULL);
    word = FUTEX_TID_MASK;
    ret = futex_pi(&word, FUTEX_LOCK_PI);
    printf("FUTEX_LOCK_PI with a dead owner: %ld %s\n", ret, strerrorname_np(errno));

    pthread_mutexattr_t robust_attr;
    pthread_mutexattr_init(&robust_attr);
    pthread_mutexattr_setrobust(&robust_attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &robust_attr);
    pthread_t dier;
    pthread_create(&dier, NULL, die_holding, NULL);
    while (!robust_held)
        sched_yield();
    err = pthread_mutex_lock(&robust);      /* waits: the owner dies meanwhile */
    printf("robust mutex, waiting while its owner thread exits: %s", strerrorname_np(err));
    int consistent = pthread_mutex_consistent(&robust);
    printf("; consistent %d, unlock %d\n", consistent, pthread_mutex_unlock(&robust));
    pthread_join(dier, NULL);
    pthread_mutex_t *shared_lock = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_setpshared(&robust_attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(shared_lock, &robust_attr);
    child = fork();
    if (child == 0) {
        pthread_mutex_lock(shared_lock);
        _exit(0);
    }
    waitpid(child, &status, 0);
    err = pthread_mutex_lock(shared_lock);
    printf("process-shared robust mutex after its owner process exited: %s\n", strerrorname_np(err));
    errno = 0;
    ret = syscall(SYS_set_robust_list, NULL, 23);
    printf("set_robust_list with a wrong size: %ld %s\n", ret, strerrorname_np(errno));

    pthread_t mover;
    void *moved;
    pthread_create(&mover, NULL, go_to_dev, NULL);
    pthread_join(mover, &moved);
    char cwd[64] = "";
    getcwd(cwd, sizeof cwd);
    printf("a thread's chdir(\"/dev\") gives %ld; main's cwd is now %s\n", (long)moved, cwd);
    child = fork();
    if (child == 0)
        _exit(chdir("/proc"));
    waitpid(child, &status, 0);
    getcwd(cwd, sizeof cwd);
    printf("a fork child's chdir(\"/proc\") gives %d; ours stays %s\n", WEXITSTATUS(status), cwd);
    chdir("/");

    fflush(stdout);
    int exited[2];
    pipe(exited);
    child = syscall(SYS_clone, SIGUSR1, 0, NULL, NULL, 0);     /* exit signal SIGUSR1 */
    if (child == 0) {
        close(exited[0]);
        execl("/proc/self/exe", "thread_edges", "exit-7", (char *)NULL);
        _exit(99);
    }
    signal(SIGUSR1, SIG_IGN);
    close(exited[1]);
    char eof;
    read(exited[0], &eof, 1);               /* EOF: the child ran execve and is exiting */
    close(exited[0]);
    errno = 0;
    long reaped = waitpid(child, &status, 0);     /* no __WCLONE: execve made it SIGCHLD */
    printf("a clone child with exit signal SIGUSR1 that ran execve: waitpid %s, status %d\n",
           reaped == child ? "reaped it" : strerrorname_np(errno), WEXITSTATUS(status));

    pipe(pipe_ends);
    pthread_t reader;
    pthread_create(&reader, NULL, blocked_reader, NULL);
    nap_ms(20);
    close(pipe_ends[0]);                    /* the blocked read still holds the file */
    long wrote = write(pipe_ends[1], "hi", 2);
    pthread_join(reader, NULL);             /* (it prints first: one order, natively too) */
    printf("write after close() of the read end in another thread: %ld\n", wrote);
    close(pipe_ends[1]);

    pi_word = gettid();                     /* held by main */
    pthread_t pi_thread;
    pthread_create(&pi_thread, NULL, pi_waiter, NULL);
    while (!pi_waiting)
        sched_yield();
    nap_ms(20);
    syscall(SYS_futex, &pi_word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
    pthread_join(pi_thread, NULL);

    fflush(stdout);
    child = fork();
    if (child == 0) {
        execl("/proc/self/exe", "thread_edges", "leader-exits", (char *)NULL);
        _exit(99);
    }
    waitpid(child, &status, 0);

    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    ret = sched_getaffinity(0, sizeof cpus, &cpus);
    printf("sched_getaffinity: %s, CPU 0 in it: %s\n", ret == 0 ? "ok" : "failed", CPU_ISSET(0, &cpus) ? "yes" : "no");
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    printf("sched_setaffinity to CPU 0: %d\n", sched_setaffinity(0, sizeof cpus, &cpus));
    errno = 0;
    ret = syscall(SYS_sched_getaffinity, 0, 4, &cpus);
    printf("sched_getaffinity with 4 bytes: %ld %s\n", ret, strerrorname_np(errno));
    return 0;
}
