/* huge_device: /dev/page-huge's mmap rules, zero fill, patterns, children, mprotect, munmap, pipes. */
#include "rt.h"

#define HPAGE (2UL << 20)
#define EINVAL 22
#define WIFSIGNALED(s) (((s) & 0x7f) != 0 && ((s) & 0x7f) != 0x7f)
#define WTERMSIG(s) ((s) & 0x7f)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define MAP_FIXED_ 0x10
#define MADV_DONTFORK 10

static int dev;

static char *huge_map(void *hint, unsigned long len, int prot, int flags)
{
    return sys_mmap(hint, len, prot, flags, dev, 0);
}

static long err(void *p) { return (long)p < 0 && (long)p > -4096 ? (long)p : 0; }

static int wait_status(long pid)
{
    int status = -1;
    sys_wait4(pid, &status, 0, 0);
    return status;
}

int main(void)
{
    dev = sys_open("/dev/page-huge", O_RDWR, 0);
    ok(dev >= 0, "open /dev/page-huge");

    /* page_mmap's rules (the 2007 device) */
    ok(err(huge_map(0, HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED)) == -EINVAL, "MAP_SHARED is EINVAL");
    ok(err(sys_mmap(0, HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev, 4096)) == -EINVAL, "a non-zero offset is EINVAL");
    ok(err(huge_map(0, 3UL << 20, PROT_READ, MAP_PRIVATE)) == -EINVAL, "a length of 3 MiB (not a multiple of 2 MiB) is EINVAL");
    ok(err(huge_map(0, 1UL << 20, PROT_READ, MAP_PRIVATE)) == -EINVAL, "a length below 2 MiB is EINVAL");
    ok(err(huge_map((void *)0x40001000, HPAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_)) == -EINVAL,
       "MAP_FIXED at an unaligned address is EINVAL");
    char *hinted = huge_map((void *)0x600000000UL, HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    ok(hinted == (char *)0x600000000UL, "an aligned, free hint is honoured");
    char *any = huge_map(0, HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    ok(!err(any) && ((unsigned long)any & (HPAGE - 1)) == 0, "without a hint the address is 2 MiB aligned");
    sys_munmap(hinted, HPAGE);
    sys_munmap(any, HPAGE);

    /* zero fill: every 4 KiB of a fresh page, read (zero page) and after the first write */
    char *p = huge_map(0, 4 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    int zero = 1;
    for (unsigned long off = 0; off < HPAGE; off += 4096)
        zero &= p[off] == 0 && p[off + 4095] == 0;
    ok(zero, "a fresh page reads as zeros in every 4 KiB");
    p[HPAGE + 100] = 1;
    zero = 1;
    for (unsigned long off = 0; off < HPAGE; off += 4096)
        zero &= (off == 0 ? p[HPAGE + 100] == 1 : 1) && p[HPAGE + off + 4095] == 0 && (off ? p[HPAGE + off] == 0 : 1);
    ok(zero, "after the first write the page is zero everywhere else");

    /* patterns over several huge pages */
    for (unsigned long i = 0; i < 4 * HPAGE; i += 4096)
        *(unsigned long *)(p + i) = i * 2654435761UL;
    int same = 1;
    for (unsigned long i = 0; i < 4 * HPAGE; i += 4096)
        same &= *(unsigned long *)(p + i) == i * 2654435761UL;
    ok(same, "a pattern over 4 huge pages reads back");

    /* several children each write their own pattern */
    long pids[3];
    for (int c = 0; c < 3; c++) {
        pids[c] = sys_fork();
        if (pids[c] == 0) {
            for (unsigned long i = 0; i < 4 * HPAGE; i += 8192)
                *(unsigned long *)(p + i) = (unsigned long)c << 56 | i;
            int mine = 1;
            for (unsigned long i = 0; i < 4 * HPAGE; i += 8192)
                mine &= *(unsigned long *)(p + i) == ((unsigned long)c << 56 | i);
            sys_exit(mine ? 0 : 1);
        }
    }
    int children_ok = 1;
    for (int c = 0; c < 3; c++)
        children_ok &= wait_status(pids[c]) == 0;
    ok(children_ok, "3 children each see only their own pattern");
    same = 1;
    for (unsigned long i = 0; i < 4 * HPAGE; i += 4096)
        same &= *(unsigned long *)(p + i) == i * 2654435761UL;
    ok(same, "the parent's pattern is untouched");

    /* pipes: read() into and write() from huge pages (the kernel pins them) */
    int fds[2];
    sys_pipe(fds);
    ok(sys_write(fds[1], p + 4096, 4096) == 4096, "write() from a huge page");
    char *q = huge_map(0, HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    ok(sys_read(fds[0], q + 8192, 4096) == 4096, "read() into a never-touched huge page (the kernel faults it in for writing)");
    ok(memcmp(q + 8192, p + 4096, 4096) == 0 && q[0] == 0, "the data arrived, the rest is zero");
    sys_munmap(q, HPAGE);

    /* mprotect matrix */
    ok(sys_mprotect(p, HPAGE, PROT_READ) == 0, "mprotect one huge page read-only");
    long pid = sys_fork();
    if (pid == 0) {
        p[0] = 1;
        sys_exit(0);
    }
    ok(WTERMSIG(wait_status(pid)) == SIGSEGV, "writing it is SIGSEGV");
    pid = sys_fork();
    if (pid == 0)
        sys_exit(p[HPAGE] == (char)(HPAGE * 2654435761UL) ? 0 : 1);
    ok(WEXITSTATUS(wait_status(pid)) == 0, "the next page stays readable");
    ok(sys_mprotect(p, HPAGE, PROT_NONE) == 0, "mprotect PROT_NONE");
    pid = sys_fork();
    if (pid == 0)
        sys_exit(p[0]);
    ok(WTERMSIG(wait_status(pid)) == SIGSEGV, "reading it is SIGSEGV");
    ok(sys_mprotect(p, HPAGE, PROT_READ | PROT_WRITE) == 0, "mprotect back to read-write");
    p[0] = 42;
    ok(p[0] == 42 && p[4096] == (char)(4096 * 2654435761UL), "it is writable again, with its data");
    ok(sys_mprotect(p + 4096, 4096, PROT_READ) == -EINVAL, "mprotect of 4 KiB inside a huge page is EINVAL");

    /* partial munmap of a 3-page mapping */
    char *three = huge_map(0, 3 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    three[0] = three[HPAGE] = three[2 * HPAGE] = 7;
    ok(sys_munmap(three + HPAGE, 4096) == -EINVAL, "munmap of 4 KiB is EINVAL");
    ok(sys_munmap(three, 3UL << 20) == -EINVAL, "munmap of 3 MiB (ending inside a page) is EINVAL");
    ok(three[HPAGE] == 7, "and changed nothing");
    ok(sys_munmap(three + HPAGE, HPAGE) == 0, "munmap of the middle page");
    ok(three[0] == 7 && three[2 * HPAGE] == 7, "the outer pages keep their data");
    pid = sys_fork();
    if (pid == 0)
        sys_exit(three[HPAGE]);
    ok(WTERMSIG(wait_status(pid)) == SIGSEGV, "the middle is gone (SIGSEGV)");
    sys_munmap(three, 3 * HPAGE);
    sys_munmap(p, 4 * HPAGE);

    /* a read-only mapping stays read-only after a read; no 4 KiB splits by madvise or mremap */
    char *ro = huge_map(0, HPAGE, PROT_READ, MAP_PRIVATE);
    ok(ro[4096] == 0, "a PROT_READ mapping reads zeros");
    pid = sys_fork();
    if (pid == 0) {
        ro[0] = 1;
        sys_exit(0);
    }
    ok(WTERMSIG(wait_status(pid)) == SIGSEGV, "and writing it after the read is SIGSEGV");
    sys_munmap(ro, HPAGE);
    char *two = huge_map(0, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    two[HPAGE + 8192] = 'X';
    ok(sys_madvise(two, 4096, MADV_DONTFORK) == -EINVAL, "madvise(MADV_DONTFORK) of 4 KiB of a huge page is EINVAL");
    ok(sys_mremap(two, 2 * HPAGE, 3UL << 20, 0, 0) == two, "mremap 4 MiB -> 3 MiB keeps both huge pages (lengths round up)");
    ok(two[HPAGE + 8192] == 'X', "the second page keeps its data");
    sys_munmap(two, 2 * HPAGE);

    /* 64 map/write/unmap cycles */
    int cycles = 1;
    for (int i = 0; i < 64; i++) {
        char *c = huge_map(0, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
        c[0] = c[HPAGE] = (char)i;
        cycles &= c[0] == (char)i && c[HPAGE] == (char)i && sys_munmap(c, 2 * HPAGE) == 0;
    }
    ok(cycles, "64 map/write/unmap cycles");
    return done_testing();
}
