/* mm_fork: copy-on-write and MAP_SHARED anonymous memory across fork.
 *
 * Whatever order the two processes run in, copy-on-write means the child sees the
 * memory as it was at fork time, and each side's later writes stay its own; a
 * MAP_SHARED page is one page for both. The child reports through its exit status
 * (one bit per check), so only the parent prints. Same output natively and under emu.
 */
#include "rt.h"

#define PAGE 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define MADV_WIPEONFORK 18

static unsigned char *map(int flags)
{
    unsigned char *p = sys_mmap(0, 2 * PAGE, RW, flags, -1, 0);
    if ((unsigned long)p > -4096UL) {
        rt_printf("Bail out! mmap: %ld\n", (long)p);
        sys_exit(2);
    }
    return p;
}

static int wait_child(int pid)
{
    int status = 0;
    if (sys_wait4(pid, &status, 0, 0) != pid)
        return -1;
    return (status & 0x7f) ? -1 : (status >> 8) & 0xff;
}

int main(void)
{
    volatile unsigned char *priv = map(ANON);
    volatile unsigned char *shared = map(MAP_SHARED | MAP_ANONYMOUS);
    volatile unsigned char *ro = map(ANON);
    volatile unsigned char *wipe = map(ANON);
    int zero_fd = sys_open("/dev/zero", O_RDWR, 0);
    volatile unsigned char *zshared = sys_mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zero_fd, 0);
    ok(zero_fd >= 0 && zshared != MAP_FAILED, "mmap: MAP_SHARED of /dev/zero");
    volatile unsigned char *heap = (unsigned char *)sys_brk(0);
    ok(sys_brk((void *)(heap + PAGE)) == (long)(heap + PAGE), "brk: one page of heap");
    priv[0] = 'A';
    priv[100] = 'A';
    shared[0] = 1;                 /* shared[PAGE] is first touched after the fork */
    ro[0] = 'R';
    ok(sys_mprotect((void *)ro, 2 * PAGE, PROT_READ) == 0, "mprotect: a read-only page before fork");
    wipe[0] = 'W';
    ok(sys_madvise((void *)wipe, 2 * PAGE, MADV_WIPEONFORK) == 0, "madvise: MADV_WIPEONFORK");
    heap[0] = 'H';

    long pid = sys_fork();
    if (pid == 0) {
        int bad = 0;
        if (priv[0] != 'A' || priv[100] != 'A')
            bad |= 1;
        priv[0] = 'C';             /* copy-on-write: the parent keeps 'A' */
        if (priv[0] != 'C')
            bad |= 2;
        shared[0] = 2;
        shared[PAGE] = 3;
        zshared[PAGE] = 5;        /* first touched by the child: must still be shared */
        if (wipe[0] != 0)
            bad |= 4;
        if (heap[0] != 'H')
            bad |= 8;
        heap[0] = 'c';
        if (ro[0] != 'R')
            bad |= 16;
        sys_exit(bad);
    }
    ok(pid > 0, "fork");
    priv[100] = 'P';               /* the child must still see 'A', whenever it runs */
    ok(sys_mprotect((void *)ro, PAGE, RW) == 0, "mprotect: the shared read-only page writable in the parent");
    ro[0] = 'p';                   /* must not reach the child's copy */
    int bad = wait_child(pid);
    ok(bad >= 0, "the child exited normally");
    ok(bad >= 0 && !(bad & 1), "child: sees the memory as it was at fork time");
    ok(bad >= 0 && !(bad & 2), "child: its write took effect");
    ok(bad >= 0 && !(bad & 4), "child: MADV_WIPEONFORK memory is zero in the child");
    ok(bad >= 0 && !(bad & 8), "child: sees the heap");
    ok(bad >= 0 && !(bad & 16), "child: its read-only page is unaffected by the parent's write");
    ok(priv[0] == 'A' && priv[100] == 'P', "parent: the child's write did not reach it (copy-on-write)");
    ok(heap[0] == 'H', "parent: nor did the child's heap write");
    ok(shared[0] == 2, "parent: sees the child's write to a MAP_SHARED page");
    ok(shared[PAGE] == 3, "parent: ... also to a page first touched by the child");
    ok(zshared[PAGE] == 5, "parent: sees the child's write to shared /dev/zero memory");
    ok(wipe[0] == 'W', "parent: keeps its MADV_WIPEONFORK data");
    ok(ro[0] == 'p', "parent: its own write to the formerly read-only page");
    return done_testing();
}
