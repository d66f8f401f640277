/* hugetlb_fork: MAP_HUGETLB across fork: copy-on-write, a full pool, and shared mappings.
 *
 * A forked child gets the parent's huge pages copy-on-write but none of its
 * reservations (Linux: hugetlb_dup_vma_private). With the pool full (Free == Rsvd), a
 * child's copy cannot be made: SIGBUS for the child, the parent keeps its page. The
 * reservation owner that cannot copy takes the page back from the child instead
 * (unmap_ref_private), and the child is killed (SIGBUS) when it touches it again; a
 * MAP_NORESERVE mapper owns no reservation and gets SIGBUS itself. MAP_SHARED huge
 * anonymous memory is one object for parent and child.
 *
 * Needs an unused pool of at least 6 huge pages (emu run --hugepages 8, or natively
 * vm.nr_hugepages = 8). Prints counters only relative to the start.
 */
#include "rt.h"

#define HPAGE (2UL << 20)
#define MAP_NORESERVE 0x4000
#define MAP_HUGETLB 0x40000
#define HUGE_ANON (MAP_ANONYMOUS | MAP_HUGETLB)
#define RW (PROT_READ | PROT_WRITE)
#define SIGBUS 7
#define WIFSIGNALED(s) (((s) & 0x7f) != 0 && ((s) & 0x7f) != 0x7f)
#define WTERMSIG(s) ((s) & 0x7f)

#define meminfo rt_meminfo

static long free0, rsvd0;

static long dfree(void) { return meminfo("HugePages_Free") - free0; }
static long drsvd(void) { return meminfo("HugePages_Rsvd") - rsvd0; }

static int expect(long df, long dr, const char *why)
{
    long f = dfree(), r = drsvd();
    return ok(f == df && r == dr, "Free %ld Rsvd %ld (expected %ld %ld): %s", f, r, df, dr, why);
}

static void step(int n, const char *what) { rt_printf("# step %d: %s\n", n, what); }

static int killed_by(int status, int sig) { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }

static int wait_for(long pid)
{
    int status = -1;
    sys_wait4(pid, &status, 0, 0);
    return status;
}

static void put(int fd, char c) { sys_write(fd, &c, 1); }

static char get(int fd)
{
    char c = 0;
    return sys_read(fd, &c, 1) == 1 ? c : 0;
}

static int pointer_ok(void *p) { return p != MAP_FAILED && ((unsigned long)p & (HPAGE - 1)) == 0; }

/* Map reserved pages until no page is left over after all reservations (Free == Rsvd). */
static void *fill_pool(long *pages)
{
    *pages = meminfo("HugePages_Free") - meminfo("HugePages_Rsvd");
    if (*pages <= 0)
        return 0;
    return sys_mmap(0, *pages * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
}

int main(void)
{
    long total = meminfo("HugePages_Total");
    free0 = meminfo("HugePages_Free");
    rsvd0 = meminfo("HugePages_Rsvd");
    print("# hugetlb_fork: MAP_HUGETLB and fork");
    if (total < 6 || free0 != total || rsvd0 != 0) {
        print("Bail out! needs an unused pool of at least 6 huge pages");
        return 1;
    }
    int up[2], down[2];

    step(1, "a private mapping of 2 pages, written by the parent");
    volatile char *p = sys_mmap(0, 2 * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)p), "mmap 2 huge pages, private");
    p[0] = 'P';
    p[HPAGE] = 'Q';
    expect(-2, 0, "both pages faulted from the reservation");

    step(2, "fork: the child reads the parent's data, and its write makes a copy");
    sys_pipe(up);
    sys_pipe(down);
    long pid = sys_fork();
    if (pid == 0) {
        put(up[1], p[0] == 'P' && p[HPAGE] == 'Q');
        long before = dfree(), rbefore = drsvd();
        p[0] = 'C';
        put(up[1], before == -2 && dfree() == -3 && drsvd() == rbefore && p[0] == 'C' && p[HPAGE] == 'Q');
        get(down[0]);
        sys_exit(0);
    }
    ok(get(up[0]) == 1, "the child sees the parent's pages");
    ok(get(up[0]) == 1, "the child's write took a free page (no reservation: Rsvd unchanged)");
    ok(p[0] == 'P', "the parent still sees its own data");
    expect(-3, 0, "the parent's two pages and the child's copy");
    put(down[1], 'g');
    ok(wait_for(pid) == 0, "the child exited");
    expect(-2, 0, "the child's copy went back");
    p[0] = 'p';
    expect(-2, 0, "the parent's write reuses its page (no longer shared)");

    step(3, "fill the pool: Free == Rsvd");
    long filled;
    void *fill = fill_pool(&filled);
    ok(filled > 0 && pointer_ok(fill), "reserved every page left over");
    ok(dfree() - drsvd() == -free0, "nothing left over after reservations");

    step(4, "the child writes a shared page with the pool full: SIGBUS for the child");
    pid = sys_fork();
    if (pid == 0) {
        p[0] = 'X';
        sys_exit(0);
    }
    int status = wait_for(pid);
    ok(killed_by(status, SIGBUS), "the child was killed by SIGBUS (signal %d)", WTERMSIG(status));
    ok(p[0] == 'p' && p[HPAGE] == 'Q', "the parent's pages keep their data");
    p[0] = 'q';
    ok(p[0] == 'q' && dfree() == -2, "the parent writes its page in place");

    step(5, "the owner writes a page it shares with a child, pool full: the child loses it");
    pid = sys_fork();
    if (pid == 0) {
        put(up[1], 'r');
        get(down[0]);
        put(up[1], p[0]);                /* still mapped in the child */
        (void)p[HPAGE];                  /* taken back by the owner: SIGBUS */
        put(up[1], 'z');
        sys_exit(0);
    }
    ok(get(up[0]) == 'r', "the child is ready");
    long f_before = dfree();
    p[HPAGE] = 'R';
    ok(p[HPAGE] == 'R', "the parent's write succeeds");
    ok(dfree() == f_before, "no page allocated: the parent kept its page (unmap_ref_private)");
    put(down[1], 'g');
    ok(get(up[0]) == 'q', "the child still reads the page it was not asked to give back");
    status = wait_for(pid);
    ok(killed_by(status, SIGBUS), "the child touching the taken page: SIGBUS (signal %d)", WTERMSIG(status));
    ok(p[0] == 'q' && p[HPAGE] == 'R', "the parent's data is intact");
    ok(sys_munmap(fill, filled * HPAGE) == 0, "munmap the filler");
    expect(-2, 0, "its reservations went back");

    step(6, "a MAP_NORESERVE mapper owns no reservation: it gets SIGBUS itself");
    int done[2];
    sys_pipe(done);
    long q = sys_fork();
    if (q == 0) {
        sys_close(done[0]);
        volatile char *n = sys_mmap(0, HPAGE, RW, MAP_PRIVATE | MAP_NORESERVE | HUGE_ANON, -1, 0);
        n[0] = 'N';
        int hold[2];
        sys_pipe(hold);
        long r = sys_fork();
        if (r == 0) {                    /* shares n's page; waits until its parent is gone */
            sys_close(hold[1]);
            get(hold[0]);
            sys_exit(0);
        }
        sys_close(hold[0]);
        sys_close(done[1]);              /* the grandchild holds the last write end */
        long pages;
        fill_pool(&pages);
        n[0] = 'M';                      /* no reservation, no copy: SIGBUS */
        sys_exit(0);
    }
    sys_close(done[1]);
    status = wait_for(q);
    ok(killed_by(status, SIGBUS), "the MAP_NORESERVE mapper was killed by SIGBUS (signal %d)", WTERMSIG(status));
    ok(get(done[0]) == 0, "its child has exited too");
    sys_close(done[0]);
    expect(-2, 0, "their pages and reservations went back");

    step(7, "MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB: one object for parent and child");
    volatile char *s = sys_mmap(0, 2 * HPAGE, RW, MAP_SHARED | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)s), "mmap 2 huge pages, shared");
    expect(-2, +2, "both pages reserved");
    pid = sys_fork();
    if (pid == 0) {
        s[0] = 'S';
        put(up[1], s[HPAGE + 1] == 0);
        sys_exit(0);
    }
    ok(get(up[0]) == 1, "the child reads zeros in page 1");
    ok(wait_for(pid) == 0, "the child exited");
    ok(s[0] == 'S', "the parent sees the child's write");
    expect(-4, 0, "the child's two faults consumed both reservations; its exit freed nothing");
    s[HPAGE] = 'T';
    expect(-4, 0, "the parent's accesses find the object's pages");
    pid = sys_fork();
    if (pid == 0) {
        get(down[0]);
        put(up[1], s[0] == 'S' && s[HPAGE] == 'T');
        sys_exit(0);
    }
    ok(sys_munmap((void *)s, 2 * HPAGE) == 0, "the parent unmaps while the child still maps it");
    expect(-4, 0, "the pages stay while the child maps them");
    put(down[1], 'g');
    ok(get(up[0]) == 1, "the child still sees both pages");
    ok(wait_for(pid) == 0, "the child exited");
    expect(-2, 0, "the last user gone: the pages went back");

    step(8, "MAP_SHARED|MAP_NORESERVE: no reservation, faults take free pages");
    s = sys_mmap(0, 2 * HPAGE, RW, MAP_SHARED | MAP_NORESERVE | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)s), "mmap 2 huge pages, shared, MAP_NORESERVE");
    expect(-2, 0, "nothing reserved");
    ok(s[HPAGE] == 0, "a read fault");
    expect(-3, 0, "allocates a cleared page");
    ok(sys_munmap((void *)s, 2 * HPAGE) == 0, "munmap");
    expect(-2, 0, "the page went back");

    ok(sys_munmap((void *)p, 2 * HPAGE) == 0, "munmap the private mapping");
    expect(0, 0, "back where we started");
    return done_testing();
}
