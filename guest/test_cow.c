/* test_cow: a private huge mapping of /dev/page-huge, step by step, with the pool counters.
 *
 * Each step says what it does and checks HugePages_Free in /proc/meminfo against what the
 * device must do: reads go through the shared huge zero page (nothing allocated), the first
 * write allocates, fork shares pages copy-on-write, a child's write copies, mprotect
 * write-protects, munmap gives the pages back. Exits 0 only if every check held.
 */
#include "rt.h"

#define HPAGE (2UL << 20)
#define WIFSIGNALED(s) (((s) & 0x7f) != 0 && ((s) & 0x7f) != 0x7f)
#define WTERMSIG(s) ((s) & 0x7f)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)

#define meminfo rt_meminfo

static long free_pages(void) { return meminfo("HugePages_Free"); }

static void step(int n, const char *what) { rt_printf("\nstep %d: %s\n", n, what); }

static int expect_free(long expected, const char *why)
{
    long now = free_pages();
    return ok(now == expected, "HugePages_Free = %ld (expected %ld: %s)", now, expected, why);
}

int main(void)
{
    long total = meminfo("HugePages_Total"), start = free_pages();
    rt_printf("test_cow: /dev/page-huge, a private huge mapping, copy-on-write\n");
    rt_printf("pool at start: HugePages_Total %ld, HugePages_Free %ld, Hugepagesize %ld kB\n",
              total, start, meminfo("Hugepagesize"));
    if (total < 2) {
        rt_printf("not ok - the pool needs at least 2 huge pages (emu run --hugepages N)\n");
        return 1;
    }

    step(1, "open /dev/page-huge and mmap two huge pages, private and writable");
    int fd = sys_open("/dev/page-huge", O_RDWR, 0);
    ok(fd >= 0, "open(\"/dev/page-huge\") = %d", fd);
    volatile char *p = sys_mmap(0, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ok(p != MAP_FAILED && ((unsigned long)p & (HPAGE - 1)) == 0, "mmap gives a 2 MiB-aligned address");
    expect_free(start, "mmap itself allocates nothing (no reservation in 2007)");

    step(2, "read both pages: they map the huge zero page, read-only");
    ok(p[0] == 0 && p[HPAGE + 12345] == 0, "the pages read as zeros");
    expect_free(start, "reads are served by the shared zero page");

    step(3, "first write to page 0: a page is allocated and cleared, then mapped writable");
    p[0] = 'A';
    p[4096] = 'B';
    ok(p[0] == 'A' && p[1] == 0 && p[4096] == 'B', "the write took, the rest of the page is zero");
    expect_free(start - 1, "one page taken from the pool");

    step(4, "fork: parent and child share page 0, write-protected on both sides");
    int to_parent[2], to_child[2];
    sys_pipe(to_parent);
    sys_pipe(to_child);
    long pid = sys_fork();
    if (pid == 0) {
        char report[2];
        report[0] = (char)(p[0] == 'A' && p[4096] == 'B');        /* sees the parent's data */
        long before = free_pages();
        p[0] = 'C';                                               /* copy-on-write in the child */
        long after = free_pages();
        report[1] = (char)(before == start - 1 && after == start - 2 && p[0] == 'C' && p[4096] == 'B');
        sys_write(to_parent[1], report, 2);
        char go;
        sys_read(to_child[0], &go, 1);                            /* wait while the parent looks */
        sys_exit(0);
    }
    char report[2] = {0, 0};
    sys_read(to_parent[0], report, 2);
    ok(report[0], "the child sees the parent's page (shared, not copied)");

    step(5, "the child writes page 0: it gets its own copy");
    ok(report[1], "child: HugePages_Free went from %ld to %ld, and its copy holds its write",
       start - 1, start - 2);
    ok(p[0] == 'A', "the parent still sees its own data (%c)", p[0]);
    expect_free(start - 2, "two pages in use: the parent's and the child's copy");

    step(6, "the child exits: its copy goes back to the pool");
    sys_write(to_child[1], "g", 1);
    int status = -1;
    sys_wait4(pid, &status, 0, 0);
    ok(status == 0, "the child exited normally");
    expect_free(start - 1, "the child's page was freed");
    p[0] = 'D';
    expect_free(start - 1, "the parent writes in place: its page is no longer shared");

    step(7, "mprotect(PROT_READ), then a write in a child: SIGSEGV");
    ok(sys_mprotect((void *)p, 2 * HPAGE, PROT_READ) == 0, "mprotect read-only");
    pid = sys_fork();
    if (pid == 0) {
        p[0] = 'E';
        sys_exit(0);
    }
    sys_wait4(pid, &status, 0, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "the child was killed by SIGSEGV (status %d)", status);
    ok(p[0] == 'D', "the page is unchanged");
    ok(sys_munmap((void *)p, 4096) == -22, "munmap of 4 KiB inside a huge page is EINVAL");

    step(8, "munmap: the pages go back to the pool");
    ok(sys_munmap((void *)p, 2 * HPAGE) == 0, "munmap");
    expect_free(start, "back where we started");
    sys_close(fd);
    return done_testing();
}
