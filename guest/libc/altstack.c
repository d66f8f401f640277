/* libc/altstack: sigaltstack. A SIGSEGV handler with SA_ONSTACK runs on the alternate
   stack, even when the fault is that the program's own stack is unusable; the frame's
   uc_stack records it; sigaltstack's errors are Linux's. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static char alt[16384] __attribute__((aligned(16)));
static sigjmp_buf recover;
static volatile int on_alt, uc_stack_ok, query_onstack, change_refused;

static void handler(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    char here;
    stack_t now;
    (void)sig; (void)info;
    on_alt = &here > alt && &here < alt + sizeof alt;
    uc_stack_ok = uc->uc_stack.ss_sp == alt && uc->uc_stack.ss_size == sizeof alt && uc->uc_stack.ss_flags == 0;
    query_onstack = sigaltstack(NULL, &now) == 0 && now.ss_flags == SS_ONSTACK;
    now.ss_flags = SS_DISABLE;
    change_refused = sigaltstack(&now, NULL) == -1 && errno == EPERM;
    siglongjmp(recover, 1);
}

static int error_of(const stack_t *ss)
{
    errno = 0;
    return sigaltstack(ss, NULL) == 0 ? 0 : errno;
}

int main(void)
{
    stack_t old, ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    printf("at start: %s\n", sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE ? "SS_DISABLE" : "WRONG");
    stack_t tiny = {.ss_sp = alt, .ss_size = 1024, .ss_flags = 0};
    stack_t bad = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0x40};
    printf("a 1 KiB stack: %s\n", error_of(&tiny) == ENOMEM ? "ENOMEM" : "WRONG");
    printf("unknown flags: %s\n", error_of(&bad) == EINVAL ? "EINVAL" : "WRONG");
    printf("set: %s\n", sigaltstack(&ss, &old) == 0 && old.ss_flags == SS_DISABLE ? "ok, the old one was disabled" : "WRONG");

    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = handler;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &act, NULL);

    volatile char *volatile unmapped = (char *)16;
    if (sigsetjmp(recover, 1) == 0)
        *unmapped = 1;
    printf("a fault: on the alternate stack %s, uc_stack %s, sigaltstack says SS_ONSTACK %s\n",
           on_alt ? "yes" : "no", uc_stack_ok ? "right" : "WRONG", query_onstack ? "yes" : "no");
    printf("changing it while on it: %s\n", change_refused ? "EPERM" : "WRONG");

    on_alt = 0;
    if (sigsetjmp(recover, 1) == 0)       /* no usable stack at all: only the alternate one */
        asm volatile("mov %%rsp, %%rbx\n\tmov $16, %%rsp\n\tpush %%rax\n\tmov %%rbx, %%rsp" : : : "rbx", "memory");
    printf("a fault with rsp = 16: the handler ran on the alternate stack: %s\n", on_alt ? "yes" : "no");

    stack_t after;
    sigaltstack(NULL, &after);
    printf("after the handlers: %s\n", after.ss_sp == alt && after.ss_flags == 0 ? "still set, not in use" : "WRONG");
    ss.ss_flags = SS_DISABLE;
    printf("disable: %s\n", sigaltstack(&ss, NULL) == 0 && sigaltstack(NULL, &after) == 0 &&
           after.ss_flags == SS_DISABLE ? "SS_DISABLE" : "WRONG");
    return 0;
}
