/* proc_fork: fork, wait4 statuses, copy-on-write isolation over generations, kill, orphans. */
#include "rt.h"

#define WNOHANG 1
#define ECHILD 10
#define SIGUSR1 10
#define WIFEXITED(s) (((s) & 0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((signed char)(((s) & 0x7f) + 1) >> 1) > 0)
#define WTERMSIG(s) ((s) & 0x7f)

static long counter = 100;                 /* .data: shared copy-on-write after fork */
static char pages[16 * 4096];              /* .bss: several pages touched on both sides */

static long sys_getppid(void) { return syscall6(110, 0, 0, 0, 0, 0, 0); }
static long sys_sched_yield(void) { return syscall6(24, 0, 0, 0, 0, 0, 0); }

static int wait_status(long pid)
{
    int status = -1;
    long got = sys_wait4(pid, &status, 0, 0);
    return got == pid ? status : -1000;
}

int main(void)
{
    long parent = sys_getpid();
    for (int i = 0; i < 16; i++)
        pages[i * 4096] = 'p';

    /* 1. The child sees the parent's memory, writes its own copy; the parent's is unchanged. */
    long pid = sys_fork();
    if (pid == 0) {
        int ok_all = counter == 100 && pages[0] == 'p' && sys_getppid() == parent;
        counter = 7;
        for (int i = 0; i < 16; i++)
            pages[i * 4096] = 'c';
        sys_exit(ok_all && counter == 7 && pages[15 * 4096] == 'c' ? 42 : 1);
    }
    ok(pid > 0, "fork returns the child's pid to the parent");
    int status = wait_status(pid);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 42, "child saw the parent's memory and exited 42");
    int same = counter == 100;
    for (int i = 0; i < 16; i++)
        same &= pages[i * 4096] == 'p';
    ok(same, "the child's writes did not reach the parent (copy-on-write)");

    /* 2. The parent writes after fork: the child must still see the old values. */
    pid = sys_fork();
    if (pid == 0) {
        for (int i = 0; i < 50; i++)
            sys_sched_yield();
        sys_exit(counter == 100 && pages[4096] == 'p' ? 0 : 1);
    }
    counter = 5;
    pages[4096] = 'P';
    status = wait_status(pid);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the parent's writes did not reach the child");
    counter = 100;
    pages[4096] = 'p';

    /* 3. Three generations, each writing its own value. */
    pid = sys_fork();
    if (pid == 0) {
        counter = 1;
        long grandchild = sys_fork();
        if (grandchild == 0) {
            counter = 2;
            long great = sys_fork();
            if (great == 0) {
                counter = 3;
                sys_exit((int)counter);
            }
            int s = wait_status(great);
            sys_exit(WEXITSTATUS(s) == 3 && counter == 2 ? 2 : 99);
        }
        int s = wait_status(grandchild);
        sys_exit(WEXITSTATUS(s) == 2 && counter == 1 ? 1 : 99);
    }
    status = wait_status(pid);
    ok(WEXITSTATUS(status) == 1 && counter == 100, "three generations each keep their own copy");

    /* 4. A child killed by a fault: WIFSIGNALED, WTERMSIG == SIGSEGV. */
    pid = sys_fork();
    if (pid == 0) {
        volatile long bad = 16;
        *(volatile int *)bad = 1;
        sys_exit(0);
    }
    status = wait_status(pid);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "a child's segfault shows as WTERMSIG = SIGSEGV");

    /* 5. kill() of a busy child: it must be preempted for the parent to run at all. */
    pid = sys_fork();
    if (pid == 0)
        for (;;)
            asm volatile("");
    sys_sched_yield();
    ok(sys_kill(pid, SIGTERM) == 0, "kill(child, SIGTERM) succeeds");
    status = wait_status(pid);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "the spinning child died of SIGTERM");

    /* 6. wait4 errors and WNOHANG. */
    int dummy;
    ok(sys_wait4(-1, &dummy, 0, 0) == -ECHILD, "wait4 with no children is -ECHILD");
    pid = sys_fork();
    if (pid == 0) {
        for (int i = 0; i < 20; i++)
            sys_sched_yield();
        sys_exit(3);
    }
    ok(sys_wait4(pid, &dummy, WNOHANG, 0) == 0, "WNOHANG on a running child returns 0");
    status = wait_status(pid);
    ok(WEXITSTATUS(status) == 3, "then wait4 reaps it with status 3");
    ok(sys_kill(pid, 0) == -3, "kill(reaped pid, 0) is -ESRCH");

    /* 7. An orphan is re-parented away from its dead parent. */
    pid = sys_fork();
    if (pid == 0) {
        long middle = sys_getpid();
        long orphan = sys_fork();
        if (orphan == 0) {
            while (sys_getppid() == middle)
                sys_sched_yield();
            sys_exit(0);
        }
        sys_exit(0);
    }
    status = wait_status(pid);
    ok(WIFEXITED(status), "the orphan's parent exited (the orphan now has a new parent)");
    return done_testing();
}
