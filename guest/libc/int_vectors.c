/* libc/int_vectors: what ring 3 gets from `int $N` for all 256 vectors, and from int3,
 * icebp, into, TF single-step, in/out/ins/outs, cli, hlt and sysenter.
 *
 * For each probe, a SA_SIGINFO handler records the signal, si_code, si_addr and the rip
 * of the signal frame, then siglongjmps out; the line printed says where si_addr and the
 * rip point: `insn` (the probed instruction), `next` (the one after it), 0, or an offset.
 * Traps that leave the rip after the instruction are also resumed by returning from the
 * handler (int3, TF), as a debugger inside the program would.
 * The output is compared with a native run (tests/test_gates.py). `int_vectors raw N`
 * runs `int $N` with no handler installed.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

/* 256 probes of 8 bytes: mov $0xffff, %eax; int $N (cd NN, never gas's cc for 3); ret.
   eax = 0xffff: for a gate that runs a 32-bit system call (int $0x80), an invalid one. */
#define PROBE_SIZE 8
#define PROBE_INSN 5
asm(".text\n.balign 8\n.globl int_probes\nint_probes:\n"
    ".set n, 0\n.rept 256\n"
    "mov $0xffff, %eax\n.byte 0xcd, n\nret\n"
    ".set n, n+1\n.endr\n");
extern char int_probes[];

/* Other instructions, between `xor %ecx, %ecx` and `mov $1, %ecx; ret`: a signal frame's
   rcx of 1 would mean the CPU went on past the faulting instruction. */
struct probe { const char *name; char *entry; int offset, length; };   /* insn at entry + offset */
#define INSN_PROBE(label, bytes) \
    asm(".text\n.globl " label "\n" label ":\nxor %ecx, %ecx\n" bytes "\nmov $1, %ecx\nret\n")
INSN_PROBE("p_int3", ".byte 0xcc");
INSN_PROBE("p_icebp", ".byte 0xf1");
INSN_PROBE("p_into", ".byte 0xce");
INSN_PROBE("p_in_imm", "in $0x60, %al");
INSN_PROBE("p_in_dx", "mov $0x60, %edx\nin %dx, %al");
INSN_PROBE("p_out_imm", "out %al, $0x80");
INSN_PROBE("p_insb", "mov $0x60, %edx\nlea -64(%rsp), %rdi\ninsb");
INSN_PROBE("p_outsb", "mov $0x80, %edx\nlea -64(%rsp), %rsi\noutsb");
INSN_PROBE("p_cli", "cli");
INSN_PROBE("p_hlt", "hlt");
INSN_PROBE("p_sysenter", "sysenter");
INSN_PROBE("p_ud2", "ud2");
INSN_PROBE("p_div", "div %ecx");                /* by zero: #DE, a contributory fault */
extern char p_int3[], p_icebp[], p_into[], p_in_imm[], p_in_dx[], p_out_imm[], p_insb[], p_outsb[],
    p_cli[], p_hlt[], p_sysenter[], p_ud2[], p_div[];

static sigjmp_buf recover;
static volatile int got_sig, got_code, resume, handler_runs;
static volatile uintptr_t got_addr, got_rip, got_rcx;

static void handler(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    got_sig = sig;
    got_code = info->si_code;
    got_addr = (uintptr_t)info->si_addr;
    got_rip = uc->uc_mcontext.gregs[REG_RIP];
    got_rcx = uc->uc_mcontext.gregs[REG_RCX];
    handler_runs++;
    if (resume) {                       /* a trap: go on after it, single-stepping no more */
        uc->uc_mcontext.gregs[REG_EFL] &= ~0x100;
        return;
    }
    siglongjmp(recover, 1);
}

static const char *where(uintptr_t value, uintptr_t insn, int length, char *buf)
{
    if (value == 0)
        return "0";
    if (value == insn)
        return "insn";
    if (value == insn + length)
        return "next";
    snprintf(buf, 32, "insn%+ld", (long)(value - insn));
    return buf;
}

static int insn_probe;                  /* the probe is one of INSN_PROBE's */

static void report(const char *name, uintptr_t insn, int length, long rax)
{
    char a[32], r[32];
    if (!got_sig) {
        printf("%s: no signal, rax %ld\n", name, rax);
        return;
    }
    printf("%s: %s si_code %d si_addr %s rip %s%s\n", name, sigabbrev_np(got_sig), got_code,
           where(got_addr, insn, length, a), where(got_rip, insn, length, r),
           insn_probe && got_rcx == 1 ? ", ran past it" : "");
}

/* Run the code at `entry` (a probe ending in ret); its instruction of interest is at `insn`. */
static void probe(const char *name, char *entry, uintptr_t insn, int length)
{
    long rax = 0;
    got_sig = 0;
    resume = 0;
    if (sigsetjmp(recover, 1) == 0)
        rax = ((long (*)(void))entry)();
    report(name, insn, length, rax);
}

static void tf_probe(void)
{
    uintptr_t after_nop;
    got_sig = 0;
    resume = 1;
    handler_runs = 0;
    asm volatile("pushf\n orq $0x100, (%%rsp)\n popf\n nop\n 1: lea 1b(%%rip), %0\n"
                 : "=r"(after_nop) : : "cc", "memory");
    printf("TF after popf; nop: %s si_code %d si_addr %s rip %s, handler ran %d time(s), continued\n",
           got_sig ? sigabbrev_np(got_sig) : "none", got_code, got_addr == after_nop ? "next" : "other",
           got_rip == after_nop ? "next" : "other", handler_runs);
}

/* TF across a system call: on Linux, SYSCALL clears TF and the return to user mode sets it
   again, so the instruction after the syscall runs before the next trap. */
extern char l_syscall[], l_after_syscall[], l_after_nop[];
static volatile int traps;
static volatile uintptr_t trap_rips[3];

static void trace_handler(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    (void)sig; (void)info;
    trap_rips[traps++] = uc->uc_mcontext.gregs[REG_RIP];
    if (traps == 3)
        uc->uc_mcontext.gregs[REG_EFL] &= ~0x100;
}

static void tf_syscall_probe(void)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = trace_handler;
    act.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &act, &old);
    traps = 0;
    asm volatile("pushf\n orq $0x100, (%%rsp)\n popf\n mov $39, %%eax\n"
                 ".globl l_syscall\nl_syscall: syscall\n.globl l_after_syscall\nl_after_syscall: nop\n"
                 ".globl l_after_nop\nl_after_nop: nop\n nop\n" ::: "rax", "rcx", "r11", "memory", "cc");
    sigaction(SIGTRAP, &old, NULL);
    printf("TF over a syscall (getpid): traps");
    for (int i = 0; i < traps; i++)
        printf(" %s", trap_rips[i] == (uintptr_t)l_syscall ? "before-syscall"
                      : trap_rips[i] == (uintptr_t)l_after_syscall ? "after-syscall"
                      : trap_rips[i] == (uintptr_t)l_after_nop ? "after-nop" : "later");
    printf("\n");
}

static void int3_resume_probe(void)
{
    got_sig = 0;
    resume = 1;
    handler_runs = 0;
    long rax = ((long (*)(void))p_int3)();
    (void)rax;
    printf("int3 with a returning handler: %s, rip %s, handler ran %d time(s), continued\n",
           got_sig ? sigabbrev_np(got_sig) : "none", got_rip == (uintptr_t)p_int3 + 3 ? "next" : "other",
           handler_runs);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "raw") == 0) {     /* `int $N` with no handler: the default action */
        int n = atoi(argv[2]) & 255;
        printf("int $%#x at %p\n", n, (void *)(int_probes + n * PROBE_SIZE + PROBE_INSN));
        ((long (*)(void))(int_probes + n * PROBE_SIZE))();
        printf("int $%#x returned\n", n);
        return 0;
    }
    static const int signals[] = {SIGSEGV, SIGTRAP, SIGILL, SIGFPE, SIGBUS, SIGSYS};
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = handler;
    act.sa_flags = SA_SIGINFO | SA_NODEFER;
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &act, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const struct probe others[] = {
        {"div by 0", p_div, 2, 2}, {"div by 0 again", p_div, 2, 2},     /* a second #DE is no #DF */
        {"int3", p_int3, 2, 1}, {"icebp", p_icebp, 2, 1}, {"into", p_into, 2, 1},
        {"in al, 0x60", p_in_imm, 2, 2}, {"in al, dx", p_in_dx, 7, 1}, {"out 0x80, al", p_out_imm, 2, 2},
        {"insb", p_insb, 12, 1}, {"outsb", p_outsb, 12, 1}, {"cli", p_cli, 2, 1}, {"hlt", p_hlt, 2, 1},
        {"sysenter", p_sysenter, 2, 2}, {"ud2", p_ud2, 2, 2},
    };
    insn_probe = 1;
    for (unsigned i = 0; i < sizeof others / sizeof others[0]; i++)
        probe(others[i].name, others[i].entry, (uintptr_t)others[i].entry + others[i].offset, others[i].length);
    insn_probe = 0;
    int3_resume_probe();
    tf_probe();
    tf_syscall_probe();
    for (int n = 0; n < 256; n++) {
        char name[16];
        snprintf(name, sizeof name, "int $%#x", n);
        char *entry = int_probes + n * PROBE_SIZE;
        probe(name, entry, (uintptr_t)entry + PROBE_INSN, 2);
    }
    return 0;
}
