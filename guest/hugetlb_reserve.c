/* hugetlb_reserve: MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB reservations, step by step.
 *
 * Linux's current rules (Documentation/mm/hugetlbfs_reserv.rst): mmap reserves every huge
 * page of a private mapping (HugePages_Rsvd), a fault consumes a reservation (Free and
 * Rsvd both drop), munmap returns pages and unused reservations. A mapping the pool
 * cannot promise is ENOMEM; MAP_NORESERVE promises nothing and its faults take what is
 * left over after all reservations, or SIGBUS. The length is rounded up to 2 MiB.
 *
 * Needs a pool of at least 4 huge pages nobody else uses (emu run --hugepages 8, or
 * natively vm.nr_hugepages = 8). Prints counters only relative to the start, so the
 * output is the same natively and under emu.
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
#define EINVAL 22
#define ENOMEM 12
#define EOPNOTSUPP 95
#define MAP_NONBLOCK 0x10000
#define MAP_HUGE_SHIFT 26
#define SIGSEGV_ 11

#define meminfo rt_meminfo

static long free0, rsvd0;

/* Check Free and Rsvd against the start: "free -1 rsvd +1" style, same on every host. */
static int expect(long dfree, long drsvd, const char *why)
{
    long f = meminfo("HugePages_Free") - free0, r = meminfo("HugePages_Rsvd") - rsvd0;
    return ok(f == dfree && r == drsvd, "Free %ld Rsvd %ld (expected %ld %ld): %s",
              f, r, dfree, drsvd, why);
}

static void step(int n, const char *what) { rt_printf("# step %d: %s\n", n, what); }

static int is_zero(volatile char *p, size_t len)
{
    volatile long *q = (volatile long *)p;
    for (size_t i = 0; i < len / sizeof(long); i += 512 / sizeof(long))   /* one long per 512 bytes */
        if (q[i])
            return 0;
    return q[len / sizeof(long) - 1] == 0;
}

/* Touch `p` in a child: the child's exit status (or signal) as wait4 reports it. */
static int touch_in_child(volatile char *p, int write)
{
    long pid = sys_fork();
    if (pid == 0) {
        if (write)
            *p = 'c';
        else
            (void)*p;
        sys_exit(0);
    }
    int status = -1;
    sys_wait4(pid, &status, 0, 0);
    return status;
}

static int pointer_ok(void *p) { return p != MAP_FAILED && ((unsigned long)p & (HPAGE - 1)) == 0; }

int main(void)
{
    long total = meminfo("HugePages_Total");
    free0 = meminfo("HugePages_Free");
    rsvd0 = meminfo("HugePages_Rsvd");
    print("# hugetlb_reserve: private MAP_HUGETLB reservations");
    if (total < 4 || free0 != total || rsvd0 != 0) {
        print("Bail out! needs an unused pool of at least 4 huge pages");
        return 1;
    }
    long room = free0 - rsvd0;

    step(1, "mmap 3 MiB private: rounded up to 2 huge pages, both reserved");
    volatile char *p = sys_mmap(0, 3UL << 20, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)p), "mmap gives a 2 MiB-aligned address");
    expect(0, +2, "mmap reserves 2 pages and allocates none");

    step(2, "read page 0: a page is allocated (no zero page) and cleared");
    ok(is_zero(p, HPAGE), "page 0 reads as zeros");
    expect(-1, +1, "the read consumed one reservation");

    step(3, "write page 1 (beyond the 3 MiB asked for, inside the rounded length)");
    p[HPAGE + 5] = 'x';
    ok(p[HPAGE + 5] == 'x' && p[HPAGE + 4] == 0 && p[2 * HPAGE - 1] == 0, "the write took, the rest is zero");
    expect(-2, 0, "the second reservation consumed");
    p[0] = 'a';
    ok(p[0] == 'a', "a write to the page read before");
    expect(-2, 0, "reuses the page in place");

    step(4, "munmap corners");
    ok(sys_munmap((void *)p, 4096) == -EINVAL, "munmap of 4 KiB at the start is EINVAL");
    ok(sys_munmap((void *)(p + 4096), 4096) == -EINVAL, "munmap of 4 KiB inside is EINVAL");
    ok(sys_munmap((void *)(p + HPAGE), HPAGE) == 0, "munmap of the second huge page");
    expect(-1, 0, "its page went back");
    ok(sys_munmap((void *)p, HPAGE) == 0, "munmap of the first");
    expect(0, 0, "back where we started");

    step(5, "a reservation bigger than the pool can promise is ENOMEM");
    void *big = sys_mmap(0, (room + 1) * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(big == (void *)-ENOMEM, "mmap of free+1 pages is ENOMEM (%ld)", (long)big);
    expect(0, 0, "nothing reserved");
    big = sys_mmap(0, room * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(pointer_ok(big), "mmap of exactly the free pages succeeds");
    expect(0, room, "every free page reserved");
    void *more = sys_mmap(0, HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(more == (void *)-ENOMEM, "one more reserved page is ENOMEM");
    volatile char *nr = sys_mmap(0, HPAGE, RW, MAP_PRIVATE | MAP_NORESERVE | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)nr), "MAP_NORESERVE of one page succeeds");
    int status = touch_in_child(nr, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
       "its fault finds no unreserved page: SIGBUS (signal %d)", WTERMSIG(status));
    expect(0, room, "reservations untouched by the failed fault");
    ok(sys_munmap((void *)nr, HPAGE) == 0 && sys_munmap(big, room * HPAGE) == 0, "munmap both");
    expect(0, 0, "reservations returned");

    step(6, "MAP_NORESERVE of free+1 pages: no reservation, faults take free pages");
    volatile char *n = sys_mmap(0, (room + 1) * HPAGE, RW, MAP_PRIVATE | MAP_NORESERVE | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)n), "mmap MAP_NORESERVE of free+1 pages succeeds");
    expect(0, 0, "Rsvd unchanged");
    n[0] = 1;
    expect(-1, 0, "a write fault takes a free page");
    ok(n[HPAGE] == 0, "a read of the next page");
    expect(-2, 0, "a read fault takes a free page too");
    for (long i = 2; i < room; i++)
        n[i * HPAGE] = (char)i;
    expect(-room, 0, "every free page in use");
    status = touch_in_child(n + room * HPAGE, 1);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS, "the last page: SIGBUS (signal %d)", WTERMSIG(status));
    ok(n[0] == 1 && n[(room - 1) * HPAGE] == (char)(room - 1), "the faulted pages keep their data");
    ok(sys_munmap((void *)n, (room + 1) * HPAGE) == 0, "munmap");
    expect(0, 0, "all pages back");

    step(7, "refusals");
    int fd = sys_open("/dev/zero", O_RDWR, 0);
    void *f = sys_mmap(0, HPAGE, RW, MAP_PRIVATE | MAP_HUGETLB, fd, 0);
    ok(f == (void *)-EINVAL, "MAP_HUGETLB of /dev/zero (not hugetlbfs) is EINVAL (%ld)", (long)f);
    sys_close(fd);
    ok(sys_mmap(0, 0, RW, MAP_PRIVATE | HUGE_ANON, -1, 0) == (void *)-EINVAL, "length 0 is EINVAL");
    void *a = sys_mmap(0, 2 * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(pointer_ok(a), "mmap 2 huge pages");
    void *fx = sys_mmap((char *)a + 4096, HPAGE, RW, MAP_PRIVATE | MAP_FIXED | HUGE_ANON, -1, 0);
    ok(fx == (void *)-EINVAL, "MAP_FIXED at an unaligned address is EINVAL (%ld)", (long)fx);
    expect(0, +2, "the refused mmap kept the existing mapping's reservations");
    fx = sys_mmap((char *)a + HPAGE, HPAGE, RW, MAP_PRIVATE | MAP_FIXED | HUGE_ANON, -1, 0);
    ok(fx == (char *)a + HPAGE, "MAP_FIXED over the second page, aligned");
    expect(0, +2, "the replaced page's reservation went back, the new one was taken");
    ok(sys_munmap(a, 2 * HPAGE) == 0, "munmap");
    expect(0, 0, "back where we started");
    ok(sys_mmap(0, HPAGE, RW, MAP_PRIVATE | HUGE_ANON | (20 << MAP_HUGE_SHIFT), -1, 0) == (void *)-EINVAL,
       "MAP_HUGE_1MB: no such huge page size, EINVAL");
    ok(sys_mmap(0, HPAGE, RW, MAP_PRIVATE | HUGE_ANON | MAP_GROWSDOWN, -1, 0) == (void *)-EINVAL,
       "MAP_GROWSDOWN is EINVAL");
    ok(sys_mmap(0, HPAGE, RW, MAP_SHARED_VALIDATE | HUGE_ANON | 0x80000, -1, 0) == (void *)-EOPNOTSUPP,
       "MAP_SHARED_VALIDATE with MAP_SYNC is EOPNOTSUPP");
    expect(0, 0, "nothing reserved by the refusals");

    step(8, "placement, MAP_FIXED replacing, MAP_POPULATE, MAP_SHARED_VALIDATE");
    a = sys_mmap(0, 3 * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    sys_munmap(a, 3 * HPAGE);
    void *h = sys_mmap((char *)a + 4096, HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(h == (char *)a + HPAGE, "an unaligned hint is rounded up to 2 MiB and used");
    sys_munmap(h, HPAGE);
    a = sys_mmap(0, (room / 2) * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    void *other = sys_mmap(0, (room - room / 2) * HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(pointer_ok(a) && pointer_ok(other), "two mappings reserve the whole pool");
    sys_munmap(other, (room - room / 2) * HPAGE);
    ((volatile char *)a)[0] = 'o';
    expect(-1, room / 2 - 1, "one faulted");
    fx = sys_mmap(a, room * HPAGE, RW, MAP_PRIVATE | MAP_FIXED | HUGE_ANON, -1, 0);
    ok(fx == a, "MAP_FIXED of the whole pool over it: the old reservations are returned first");
    expect(0, room, "the old page freed, the whole pool reserved anew");
    ok(((volatile char *)a)[0] == 0, "the new mapping reads zeros");
    expect(-1, room - 1, "the read consumed one of the new reservations");
    other = sys_mmap(0, HPAGE, RW, MAP_PRIVATE | HUGE_ANON, -1, 0);
    ok(other == (void *)-ENOMEM, "the pool is fully promised");
    fx = sys_mmap(a, (room + 1) * HPAGE, RW, MAP_PRIVATE | MAP_FIXED | HUGE_ANON, -1, 0);
    ok(fx == (void *)-ENOMEM, "MAP_FIXED bigger than the pool: ENOMEM");
    expect(0, 0, "and the mapping it replaced is gone, with its page and reservations");
    status = touch_in_child(a, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV_, "a child touching it: SIGSEGV (signal %d)",
       WTERMSIG(status));
    ok(sys_munmap(a, room * HPAGE) == 0, "munmap of the gap is fine");
    a = sys_mmap(0, 2 * HPAGE, RW, MAP_PRIVATE | HUGE_ANON | MAP_POPULATE, -1, 0);
    expect(-2, 0, "MAP_POPULATE faults both pages in, from the reservation");
    ok(is_zero(a, 2 * HPAGE), "cleared");
    sys_munmap(a, 2 * HPAGE);
    a = sys_mmap(0, 2 * HPAGE, PROT_READ, MAP_PRIVATE | HUGE_ANON | MAP_POPULATE | MAP_NONBLOCK, -1, 0);
    expect(0, +2, "MAP_POPULATE|MAP_NONBLOCK populates nothing");
    sys_munmap(a, 2 * HPAGE);
    volatile char *v = sys_mmap(0, HPAGE, RW, MAP_SHARED_VALIDATE | HUGE_ANON, -1, 0);
    ok(pointer_ok((void *)v), "MAP_SHARED_VALIDATE works like MAP_SHARED");
    expect(0, +1, "one page reserved");
    v[0] = 1;
    expect(-1, 0, "and consumed");
    sys_munmap((void *)v, HPAGE);
    expect(0, 0, "back where we started");
    return done_testing();
}
