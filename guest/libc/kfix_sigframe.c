/* libc/kfix_sigframe: a signal frame that cannot be written, and rt_sigreturn with a
   garbage frame. Linux (get_sigframe, force_sigsegv, restore_sigcontext) kills with
   SIGSEGV, or runs a SIGSEGV handler that can still run; each case runs in a forked
   child and the parent prints how it ended, so the output is the same natively. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static void say(const char *text)
{
    write(1, text, strlen(text));
}

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    char line[80];
    snprintf(line, sizeof line, "  handler: signal %d, si_code %#x\n", sig, info->si_code);
    say(line);
    _exit(40 + sig % 20);
}

static void handle(int sig, int flags)
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = on_signal;
    act.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &act, NULL);
}

static void set_altstack(void *sp, size_t size)
{
    stack_t ss = {.ss_sp = sp, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL))
        say("  sigaltstack failed\n");
}

static void usable_altstack(void)
{
    set_altstack(mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 1 << 16);
}

/* rsp = 64, then an instruction that faults: no stack to push a frame on. */
static void ud2_with_rsp(uint64_t rsp)
{
    __asm__ volatile("mov %0, %%rsp\n\tud2" : : "r"(rsp) : "memory");
}

static void sigreturn_with_rsp(uint64_t rsp)
{
    __asm__ volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall" : : "r"(rsp) : "memory", "rax", "rcx", "r11");
}

/* -- the cases ------------------------------------------------------------------- */

static void wrapping_altstack(void)
{
    set_altstack((void *)0xfffffffffffff000ul, 0x10000);
    handle(SIGUSR1, SA_ONSTACK);
    raise(SIGUSR1);
    say("  returned from raise\n");
}

static void altstack_in_kernel_half(void)
{
    set_altstack((void *)0xffff800000000000ul, 0x10000);
    handle(SIGUSR1, SA_ONSTACK);
    raise(SIGUSR1);
}

static void altstack_non_canonical(void)
{
    set_altstack((void *)0x0000800000000000ul, 0x10000);
    handle(SIGUSR1, SA_ONSTACK);
    raise(SIGUSR1);
}

static void sigill_rsp_64(void)
{
    handle(SIGILL, 0);
    ud2_with_rsp(64);
}

static void sigill_rsp_64_segv_on_altstack(void)
{
    usable_altstack();
    handle(SIGILL, 0);
    handle(SIGSEGV, SA_ONSTACK);
    ud2_with_rsp(64);
}

static void sigill_rsp_64_segv_same_stack(void)
{
    handle(SIGILL, 0);
    handle(SIGSEGV, 0);
    ud2_with_rsp(64);
}

static void sigill_rsp_64_segv_blocked(void)
{
    usable_altstack();
    handle(SIGILL, 0);
    handle(SIGSEGV, SA_ONSTACK);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigprocmask(SIG_BLOCK, &set, NULL);
    ud2_with_rsp(64);
}

static void sigill_rsp_64_segv_ignored(void)
{
    handle(SIGILL, 0);
    signal(SIGSEGV, SIG_IGN);
    ud2_with_rsp(64);
}

static void usr1_rsp_top(void)
{
    /* a signal delivered on the way back from a syscall, rsp at the bottom of the
       address space: the frame would wrap below zero */
    handle(SIGUSR1, 0);
    __asm__ volatile("mov $8, %%rsp\n\tmov %0, %%eax\n\tmov %1, %%edi\n\tmov %2, %%esi\n\tsyscall\n\tud2"
                     : : "r"(SYS_kill), "r"(getpid()), "r"(SIGUSR1) : "memory", "rax", "rcx", "r11", "rdi", "rsi");
}

static void nested_altstack_overflow(void)
{
    /* already on the alternate stack, 700 bytes above its bottom: the red zone is still
       on it (so no new entry at its top), the frame is not, and Linux will not write it
       below the alternate stack even though that memory is mapped */
    char *area = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    set_altstack(area + (1 << 19), 1 << 15);
    handle(SIGILL, SA_ONSTACK);
    ud2_with_rsp((uint64_t)area + (1 << 19) + 700);
}

static void sigreturn_unmapped(void) { sigreturn_with_rsp(0x1000); }
static void sigreturn_non_canonical(void) { sigreturn_with_rsp(0x8000000000000000ul); }
static void sigreturn_kernel_half(void) { sigreturn_with_rsp(0xffffffffff600000ul); }
static void sigreturn_near_top(void) { sigreturn_with_rsp(0x00007ffffffffff8ul); }

static void sigreturn_junk(void)
{
    static uint64_t junk[256];
    memset(junk, 0xff, sizeof junk);
    sigreturn_with_rsp((uint64_t)junk);
}

/* A frame made by the kernel, edited, then given back to rt_sigreturn. */
static volatile int edit_field;

static void capture(int sig, siginfo_t *info, void *ucv)
{
    (void)sig; (void)info;
    ucontext_t *uc = ucv;
    if (edit_field == 1)
        uc->uc_mcontext.gregs[REG_CSGSFS] = (uc->uc_mcontext.gregs[REG_CSGSFS] & ~0xffffl) | 0x2b;   /* cs: a data segment */
    if (edit_field == 2)
        uc->uc_mcontext.gregs[REG_CSGSFS] = (uc->uc_mcontext.gregs[REG_CSGSFS] & ~0xffffl) | 0x10;   /* cs: the kernel's */
    if (edit_field == 3)
        uc->uc_mcontext.gregs[REG_EFL] = 0xffffffffl & ~0x40100l;   /* every flag but TF and AC */
    if (edit_field == 4)
        uc->uc_mcontext.gregs[REG_RIP] = 0x8000000000000000l;       /* non-canonical rip */
    if (edit_field == 5)
        uc->uc_mcontext.fpregs = (void *)0x10;                     /* fpstate unmapped */
}

static void edited_frame(int field)
{
    edit_field = field;
    handle(SIGUSR1, 0);
    struct sigaction act;
    sigaction(SIGUSR1, NULL, &act);
    act.sa_sigaction = capture;
    sigaction(SIGUSR1, &act, NULL);
    raise(SIGUSR1);
    say("  resumed after sigreturn\n");
}

static void cs_data(void) { edited_frame(1); }
static void cs_kernel(void) { edited_frame(2); }
static void all_flags(void) { edited_frame(3); }
static void rip_non_canonical(void) { edited_frame(4); }
static void fpstate_unmapped(void) { edited_frame(5); }

static const struct { const char *name; void (*run)(void); } CASES[] = {
    {"altstack wraps past 2^64", wrapping_altstack},
    {"altstack in the kernel half", altstack_in_kernel_half},
    {"altstack non-canonical", altstack_non_canonical},
    {"SIGILL handler, rsp 64", sigill_rsp_64},
    {"SIGILL handler, rsp 64, SIGSEGV handler on altstack", sigill_rsp_64_segv_on_altstack},
    {"SIGILL handler, rsp 64, SIGSEGV handler on the same stack", sigill_rsp_64_segv_same_stack},
    {"SIGILL handler, rsp 64, SIGSEGV blocked", sigill_rsp_64_segv_blocked},
    {"SIGILL handler, rsp 64, SIGSEGV ignored", sigill_rsp_64_segv_ignored},
    {"SIGUSR1 handler, rsp 8 at a syscall", usr1_rsp_top},
    {"nested handlers overflow the altstack", nested_altstack_overflow},
    {"sigreturn, frame unmapped", sigreturn_unmapped},
    {"sigreturn, rsp non-canonical", sigreturn_non_canonical},
    {"sigreturn, rsp in the kernel half", sigreturn_kernel_half},
    {"sigreturn, frame past the top of user space", sigreturn_near_top},
    {"sigreturn, frame of 0xff bytes", sigreturn_junk},
    {"sigreturn, cs a data segment", cs_data},
    {"sigreturn, cs the kernel's", cs_kernel},
    {"sigreturn, all flags set", all_flags},
    {"sigreturn, rip non-canonical", rip_non_canonical},
    {"sigreturn, fpstate unmapped", fpstate_unmapped},
};

int main(int argc, char **argv)
{
    unsigned first = argc > 1 ? atoi(argv[1]) : 0, count = sizeof CASES / sizeof CASES[0];
    for (unsigned i = first; i < (argc > 1 ? first + 1 : count); i++) {
        printf("%s:\n", CASES[i].name);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            CASES[i].run();
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status))
            printf("  killed by signal %d\n", WTERMSIG(status));
        else
            printf("  exit %d\n", WEXITSTATUS(status));
    }
    return 0;
}
