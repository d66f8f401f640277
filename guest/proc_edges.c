/* proc_edges: the corners of processes and signals that once went wrong under emu.
 * A writer killed by SIGPIPE while blocked stays dead; wait4(-1) finds any child;
 * sigreturn cannot raise IOPL and `out` in ring 3 is SIGSEGV; a real-time signal kills
 * with its own number; a blocked read is -EINTR without SA_RESTART and restarted with it. */
#include "rt.h"

#define SA_SIGINFO 0x4
#define SA_RESTORER 0x04000000
#define SA_RESTART 0x10000000
#define SIGUSR1 10
#define SIGPIPE 13
#define EINTR 4
#define WTERMSIG(s) ((s) & 0x7f)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)

struct kact { void (*handler)(int, void *, void *); unsigned long flags; void (*restorer)(void); unsigned long mask; };
void restorer(void);
asm(".text\n restorer: mov $15, %eax\n syscall\n");

static char big[70000];
static volatile int handled;

static void raise_iopl(int sig, void *info, void *ucv)
{
    (void)sig; (void)info;
    unsigned long *gregs = (unsigned long *)((char *)ucv + 40);
    gregs[17] |= 0x3000;                      /* eflags in the frame: IOPL = 3 */
}

static void note(int sig, void *info, void *uc) { (void)sig; (void)info; (void)uc; handled++; }

static int child_status(long pid)
{
    int status = -1;
    return sys_wait4(pid, &status, 0, 0) == pid ? status : -1;
}

static long sys_sched_yield(void) { return syscall6(24, 0, 0, 0, 0, 0, 0); }

/* A child blocks in read() on an empty pipe; the parent signals it; read's result is the exit code. */
static int interrupted_read(unsigned long flags)
{
    int fds[2], ready[2];
    sys_pipe(fds);
    sys_pipe(ready);
    long pid = sys_fork();
    if (pid == 0) {
        struct kact act = {note, SA_SIGINFO | SA_RESTORER | flags, restorer, 0};
        sys_rt_sigaction(SIGUSR1, &act, 0, 8);
        char c;
        sys_write(ready[1], "r", 1);          /* the handler is in place */
        long n = sys_read(fds[0], &c, 1);
        sys_exit(n == 1 && c == 'x' ? 100 + handled : n == -EINTR ? 50 + handled : 1);
    }
    char r;
    sys_read(ready[0], &r, 1);                /* natively, with two CPUs, the child runs on */
    for (int i = 0; i < 50; i++)
        sys_sched_yield();                    /* let the child block in read */
    sys_kill(pid, SIGUSR1);
    for (int i = 0; i < 50; i++)
        sys_sched_yield();
    sys_write(fds[1], "x", 1);
    return WEXITSTATUS(child_status(pid));
}

int main(void)
{
    int fds[2];
    sys_pipe(fds);
    long pid = sys_fork();
    if (pid == 0) {
        sys_close(fds[0]);
        sys_write(fds[1], big, sizeof big);   /* 64 KiB fit, then it blocks */
        sys_exit(4);                          /* never reached: SIGPIPE kills it */
    }
    sys_close(fds[1]);
    for (int i = 0; i < 50; i++)
        sys_sched_yield();
    sys_close(fds[0]);                        /* the last reader goes: the blocked writer dies */
    int status = child_status(pid);
    ok(WTERMSIG(status) == SIGPIPE, "a writer blocked on a full pipe dies of SIGPIPE when the reader goes");

    pid = sys_fork();
    if (pid == 0)
        sys_exit(5);
    status = -1;
    ok(sys_wait4(-1, &status, 0, 0) == pid && WEXITSTATUS(status) == 5, "wait4(-1) reaps any child");

    pid = sys_fork();
    if (pid == 0) {
        struct kact act = {raise_iopl, SA_SIGINFO | SA_RESTORER, restorer, 0};
        sys_rt_sigaction(SIGUSR1, &act, 0, 8);
        sys_kill(sys_getpid(), SIGUSR1);
        unsigned long flags;
        asm volatile("pushf; pop %0" : "=r"(flags));
        if (flags & 0x3000)
            sys_exit(2);
        asm volatile("mov $0, %%al; out %%al, $0x80" ::: "al");
        sys_exit(3);
    }
    status = child_status(pid);
    ok(WTERMSIG(status) == SIGSEGV, "sigreturn cannot raise IOPL, and `out` in ring 3 is SIGSEGV");

    pid = sys_fork();
    if (pid == 0) {
        sys_kill(sys_getpid(), 40);
        sys_exit(0);
    }
    ok(WTERMSIG(child_status(pid)) == 40, "real-time signal 40 kills with WTERMSIG 40");

    ok(interrupted_read(0) == 51, "a handled signal interrupts a blocked read: -EINTR");
    ok(interrupted_read(SA_RESTART) == 101, "with SA_RESTART the read is restarted and completes");
    return done_testing();
}
