/* libc/sigcontext_trap: what a signal frame's sigcontext says of the fault behind it.
   Linux fills err, trapno and cr2 from the task's last fault (thread.error_code,
   trap_nr, cr2: do_trap, send_sigtrap, set_signal_archinfo), so a signal sent later
   by kill() shows the stale values of the fault before it; a #PF on a kernel address
   has the P bit set in err. The output must be the same natively and under emu. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/wait.h>

static sigjmp_buf back;

static void handler(int sig, siginfo_t *info, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  %-8s si_code %d err %#llx trapno %lld cr2 %#llx\n", sigabbrev_np(sig), info->si_code,
           (unsigned long long)g[REG_ERR], (long long)g[REG_TRAPNO], (unsigned long long)g[REG_CR2]);
    fflush(stdout);
    if (sig != SIGUSR1)
        siglongjmp(back, 1);
}

#define PROBE(name, stmt) do { printf("%s\n", name); if (!sigsetjmp(back, 1)) { stmt; } } while (0)

int main(void)
{
    struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_NODEFER};
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGUSR1};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, 0);
    PROBE("kill before any fault", kill(getpid(), SIGUSR1));
    volatile int *volatile low = (int *)0x10;
    PROBE("write to 0x10", *low = 1);
    low = (int *)0x20;
    PROBE("read of 0x20", (void)*low);
    PROBE("kill after a #PF (stale values)", kill(getpid(), SIGUSR1));
    PROBE("read of a kernel address", (void)*(volatile long *)0xffffffff81000000UL);
    PROBE("write to a kernel address", *(volatile long *)0xffff888000000000UL = 1);
    PROBE("jump to 0x1000", ((void (*)(void))0x1000)());
    PROBE("int $8", asm volatile("int $8"));
    PROBE("int $0x2e", asm volatile("int $0x2e"));
    PROBE("kill after a #GP (cr2 stays)", kill(getpid(), SIGUSR1));
    PROBE("int3", asm volatile("int3"));
    PROBE("ud2", asm volatile("ud2"));
    PROBE("divide by zero", asm volatile("xor %%ecx, %%ecx; mov $1, %%eax; cltd; idiv %%ecx" ::: "eax", "ecx", "edx"));
    PROBE("hlt", asm volatile("hlt"));
    printf("fork child inherits them:\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGUSR1);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    return 0;
}
