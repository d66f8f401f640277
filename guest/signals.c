/* signals: rt_sigaction handlers with SA_SIGINFO, si_addr/si_code, sigprocmask, SIGCHLD, rt_sigreturn. */
#include "rt.h"

#define SIGUSR1 10
#define SA_SIGINFO 0x4
#define SA_RESTORER 0x04000000
#define SA_RESETHAND 0x80000000
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define REG_RIP 16                     /* index of rip in uc_mcontext.gregs */

struct kernel_sigaction {
    void (*handler)(int, void *, void *);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

struct siginfo {
    int si_signo, si_errno, si_code, pad;
    union {
        void *addr;
        struct { int pid, uid, status; } child;
    };
};

struct ucontext {
    unsigned long flags;
    void *link;
    unsigned long stack[3];
    unsigned long gregs[23];           /* r8..r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags csgsfs err trapno oldmask cr2 */
};

void restorer(void);
asm(".text\n restorer: mov $15, %eax\n syscall\n");

static volatile int usr1_count, segv_code, chld_pid, chld_status;
static volatile void *segv_addr;

static void on_usr1(int sig, void *info, void *uc) { (void)info; (void)uc; if (sig == SIGUSR1) usr1_count++; }

static void on_segv(int sig, void *info, void *ucv)
{
    struct siginfo *si = info;
    struct ucontext *uc = ucv;
    (void)sig;
    segv_addr = si->addr;
    segv_code = si->si_code;
    uc->gregs[REG_RIP] += 3;           /* skip the 3-byte `movb $1, (%rax)` that faulted */
}

static void on_chld(int sig, void *info, void *uc)
{
    struct siginfo *si = info;
    (void)sig; (void)uc;
    chld_pid = si->child.pid;
    chld_status = si->child.status;
}

static long handle(int sig, void (*fn)(int, void *, void *), unsigned long flags)
{
    struct kernel_sigaction act = {fn, SA_SIGINFO | SA_RESTORER | flags, restorer, 0};
    return sys_rt_sigaction(sig, &act, 0, 8);
}

static long sigprocmask(int how, unsigned long set)
{
    return syscall6(14, how, (long)&set, 0, 8, 0, 0);
}

int main(void)
{
    ok(handle(SIGUSR1, on_usr1, 0) == 0, "rt_sigaction installs a SIGUSR1 handler");
    sys_kill(sys_getpid(), SIGUSR1);
    ok(usr1_count == 1, "kill(self, SIGUSR1) runs the handler before kill returns");

    sigprocmask(SIG_BLOCK, 1UL << (SIGUSR1 - 1));
    sys_kill(sys_getpid(), SIGUSR1);
    ok(usr1_count == 1, "a blocked signal stays pending");
    sigprocmask(SIG_UNBLOCK, 1UL << (SIGUSR1 - 1));
    ok(usr1_count == 2, "unblocking delivers it");

    ok(handle(SIGSEGV, on_segv, 0) == 0, "rt_sigaction installs a SIGSEGV handler");
    volatile char *bad = (volatile char *)0x1234;
    asm volatile("movb $1, (%0)" : : "r"(bad) : "memory");
    ok(segv_addr == (void *)0x1234, "si_addr is the exact faulting address");
    ok(segv_code == SEGV_MAPERR, "si_code is SEGV_MAPERR for an unmapped address");

    static const char ro = 0;
    bad = (volatile char *)&ro;
    asm volatile("movb $1, (%0)" : : "r"(bad) : "memory");
    ok(segv_addr == &ro && segv_code == SEGV_ACCERR, "a write to .rodata is SEGV_ACCERR at its address");

    ok(handle(SIGCHLD, on_chld, 0) == 0, "rt_sigaction installs a SIGCHLD handler");
    long pid = sys_fork();
    if (pid == 0)
        sys_exit(9);
    int status;
    sys_wait4(pid, &status, 0, 0);
    ok(chld_pid == pid && chld_status == 9, "SIGCHLD carries the child's pid and exit status");

    ok(handle(SIGUSR1, on_usr1, SA_RESETHAND) == 0, "SA_RESETHAND handler installed");
    sys_kill(sys_getpid(), SIGUSR1);
    struct kernel_sigaction old;
    sys_rt_sigaction(SIGUSR1, 0, &old, 8);
    ok(usr1_count == 3 && old.handler == 0, "SA_RESETHAND: handled once, then the action is SIG_DFL");

    ok(sys_rt_sigaction(SIGKILL, &old, 0, 8) == -22, "a handler for SIGKILL is -EINVAL");
    ok(sys_rt_sigaction(SIGUSR1, 0, 0, 4) == -22, "a sigsetsize other than 8 is -EINVAL");
    return done_testing();
}
