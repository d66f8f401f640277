/* libc/segv: a SIGSEGV handler (SA_SIGINFO) reports si_addr and si_code, then siglongjmps out. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf recover;
static volatile void *fault_addr;
static volatile int fault_code;

static void handler(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig; (void)ucontext;
    fault_addr = info->si_addr;
    fault_code = info->si_code;
    siglongjmp(recover, 1);
}

int main(void)
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = handler;
    act.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &act, NULL);

    volatile char *bad = (volatile char *)0xdead000;
    if (sigsetjmp(recover, 1) == 0)
        *bad = 1;
    printf("unmapped write: si_addr %s, si_code %s\n", fault_addr == bad ? "exact" : "WRONG",
           fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");

    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(recover, 1) == 0)
        page[123] = 1;
    printf("read-only write: si_addr %s, si_code %s\n", fault_addr == page + 123 ? "exact" : "WRONG",
           fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");

    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    page[123] = 1;
    printf("after mprotect: the write works (%d)\n", page[123]);
    return 0;
}
