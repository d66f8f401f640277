/* mm_syscalls: mmap, munmap, mprotect, brk, madvise and mremap, their results and errnos.
 *
 * Runs natively and under emu with the same output (tests/test_mman.py compares them),
 * so it prints no addresses: only errnos, and facts such as "the hint was used".
 * Whether the kernel can read or write a page is probed with system calls that touch
 * user memory (uname writes, rt_sigprocmask reads) and fail with EFAULT otherwise.
 */
#include "rt.h"

#define EPERM    1
#define EBADF    9
#define ENOMEM  12
#define EACCES  13
#define EFAULT  14
#define EEXIST  17
#define EINVAL  22

#define PAGE 4096UL
#define SYS_uname          63
#define SYS_rt_sigprocmask 14
#define SIG_BLOCK 0
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static long err(void *p) { return (long)p; }
static int failed(void *p) { return (unsigned long)p > -4096UL; }

/* Can the kernel write (uname) or read (rt_sigprocmask's new set) user memory at p? */
static int kernel_can_write(void *p)
{
    return syscall6(SYS_uname, (long)p, 0, 0, 0, 0, 0) == 0;
}
static int kernel_can_read(void *p)
{
    return syscall6(SYS_rt_sigprocmask, SIG_BLOCK, (long)p, 0, 8, 0, 0) == 0;
}

static int all_bytes(const unsigned char *p, unsigned char v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* A fresh anonymous read-write mapping; every test starts from one. */
static unsigned char *anon(size_t len)
{
    void *p = sys_mmap(0, len, RW, ANON, -1, 0);
    if (failed(p)) {
        rt_printf("Bail out! mmap failed: %ld\n", err(p));
        sys_exit(2);
    }
    return p;
}

static void test_mmap(void)
{
    unsigned char *p = anon(3 * PAGE);
    int local;
    ok(((unsigned long)p & (PAGE - 1)) == 0, "mmap: page-aligned");
    ok(all_bytes(p, 0, 3 * PAGE), "mmap: anonymous memory is zero-filled");
    memset(p, 0x5a, 3 * PAGE);
    ok(all_bytes(p, 0x5a, 3 * PAGE), "mmap: writes read back");
    ok((unsigned long)p < (unsigned long)&local && (unsigned long)p > (unsigned long)sys_brk(0),
       "mmap: placed between the heap and the stack");

    ok(err(sys_mmap(0, 0, RW, ANON, -1, 0)) == -EINVAL, "mmap: length 0 is EINVAL");
    ok(err(sys_mmap(0, PAGE, RW, MAP_ANONYMOUS, -1, 0)) == -EINVAL, "mmap: neither private nor shared is EINVAL");
    ok(err(sys_mmap(0, PAGE, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0)) == -EINVAL,
       "mmap: anonymous MAP_SHARED_VALIDATE is EINVAL (got %ld)",
       err(sys_mmap(0, PAGE, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0)));
    ok(err(sys_mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0)) == -EINVAL,
       "mmap: shared MAP_GROWSDOWN is EINVAL");
    ok(err(sys_mmap(0, PAGE, RW, ANON, -1, 123)) == -EINVAL, "mmap: unaligned offset is EINVAL");
    ok(err(sys_mmap(p + 1, PAGE, RW, ANON | MAP_FIXED, -1, 0)) == -EINVAL, "mmap: unaligned MAP_FIXED address is EINVAL");
    ok(err(sys_mmap(0, -1UL, RW, ANON, -1, 0)) == -ENOMEM, "mmap: length that rounds up to 0 is ENOMEM");
    ok(err(sys_mmap(0, 1UL << 47, RW, ANON, -1, 0)) == -ENOMEM, "mmap: length beyond the address space is ENOMEM");
    ok(err(sys_mmap((void *)0x7ffffffe0000UL, 0x40000, RW, ANON | MAP_FIXED, -1, 0)) == -ENOMEM,
       "mmap: MAP_FIXED past the top of user space is ENOMEM");
    ok(err(sys_mmap(0, PAGE, RW, MAP_PRIVATE, -1, 0)) == -EBADF, "mmap: file mapping of fd -1 is EBADF");
    ok(err(sys_mmap(0, PAGE, RW, MAP_PRIVATE, 999, 0)) == -EBADF, "mmap: file mapping of a closed fd is EBADF");
    void *q = sys_mmap(0, PAGE, 0x10 | RW, ANON, -1, 0);
    ok(!failed(q), "mmap: unknown prot bits are ignored (got %ld)", failed(q) ? err(q) : 0L);
    if (!failed(q))
        sys_munmap(q, PAGE);

    ok(err(sys_mmap(p + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)) == -EEXIST,
       "mmap: MAP_FIXED_NOREPLACE over a mapping is EEXIST");
    ok(err(sys_mmap(p + PAGE, PAGE, RW, MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)) == -EEXIST,
       "mmap: EEXIST comes before the MAP_TYPE check");
    ok(sys_mmap(p + PAGE, PAGE, RW, ANON | MAP_FIXED, -1, 0) == p + PAGE, "mmap: MAP_FIXED replaces a page");
    ok(all_bytes(p + PAGE, 0, PAGE), "mmap: the replaced page is fresh (zero)");
    ok(all_bytes(p, 0x5a, PAGE) && all_bytes(p + 2 * PAGE, 0x5a, PAGE), "mmap: its neighbours keep their data");

    ok(sys_munmap(p, 3 * PAGE) == 0, "munmap: the whole mapping");
    ok(sys_mmap(p + PAGE, PAGE, RW, ANON, -1, 0) == p + PAGE, "mmap: a free hint is used");
    void *r = sys_mmap(p + PAGE, PAGE, RW, ANON, -1, 0);
    ok(!failed(r) && r != p + PAGE, "mmap: a taken hint is not (another place is found)");
    sys_munmap(r, PAGE);
    ok(sys_mmap(p + PAGE + 7, PAGE, RW, ANON, -1, 0) != p + PAGE + 7, "mmap: an unaligned hint is rounded");
    sys_munmap(p, 3 * PAGE);

    unsigned char *pop = sys_mmap(0, 2 * PAGE, RW, ANON | MAP_POPULATE, -1, 0);
    ok(!failed(pop) && all_bytes(pop, 0, 2 * PAGE), "mmap: MAP_POPULATE gives zeroed memory");
    sys_munmap(pop, 2 * PAGE);
}

static void test_munmap(void)
{
    unsigned char *p = anon(3 * PAGE);
    ok(sys_munmap(p + 1, PAGE) == -EINVAL, "munmap: unaligned address is EINVAL");
    ok(sys_munmap(p, 0) == -EINVAL, "munmap: length 0 is EINVAL");
    ok(sys_munmap(p, -PAGE) == -EINVAL, "munmap: huge length is EINVAL");
    ok(sys_munmap((void *)(1UL << 47), PAGE) == -EINVAL, "munmap: address beyond user space is EINVAL");
    ok(sys_munmap(p + PAGE, PAGE) == 0, "munmap: the middle page (splits the mapping)");
    ok(sys_munmap(p + PAGE, PAGE) == 0, "munmap: an unmapped range is not an error");
    ok(sys_mmap(p + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == p + PAGE,
       "munmap: the hole can be mapped again with MAP_FIXED_NOREPLACE");
    ok(err(sys_mmap(p, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)) == -EEXIST
       && err(sys_mmap(p + 2 * PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)) == -EEXIST,
       "munmap: the pages either side are still mapped");
    ok(sys_munmap(p, 3 * PAGE) == 0, "munmap: across several mappings");
    ok(sys_mmap(p, 3 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == p, "munmap: all of it is free again");
    sys_munmap(p, 3 * PAGE);
}

static void test_mprotect(void)
{
    unsigned char *p = anon(4 * PAGE);
    ok(sys_mprotect(p + 1, PAGE, PROT_READ) == -EINVAL, "mprotect: unaligned address is EINVAL");
    ok(sys_mprotect(p, 0, PROT_READ) == 0, "mprotect: length 0 is 0");
    ok(sys_mprotect(p, PAGE, 0x10) == -EINVAL, "mprotect: unknown prot bit is EINVAL");
    ok(sys_mprotect(p, PAGE, PROT_READ | PROT_SEM) == 0 && sys_mprotect(p, PAGE, RW) == 0,
       "mprotect: PROT_SEM is accepted");
    ok(sys_mprotect(p, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP) == -EINVAL,
       "mprotect: GROWSDOWN and GROWSUP together are EINVAL");
    ok(sys_mprotect(p, PAGE, PROT_READ | PROT_GROWSDOWN) == -EINVAL,
       "mprotect: PROT_GROWSDOWN on a mapping that does not grow is EINVAL");
    ok(sys_mprotect(p, -PAGE, PROT_READ) == -ENOMEM, "mprotect: a range that wraps is ENOMEM");
    ok(sys_munmap(p + 2 * PAGE, PAGE) == 0, "mprotect: (a hole in the third page)");
    ok(sys_mprotect(p + 2 * PAGE, PAGE, PROT_READ) == -ENOMEM, "mprotect: an unmapped range is ENOMEM");
    ok(sys_mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ) == -ENOMEM, "mprotect: a range starting in a hole is ENOMEM");

    ok(kernel_can_write(p), "mprotect: the kernel can write a read-write page");
    p[2048] = 0x42;
    p[PAGE + 2048] = 0x43;
    ok(sys_mprotect(p, 2 * PAGE, PROT_READ) == 0, "mprotect: read-only");
    ok(!kernel_can_write(p + PAGE) && kernel_can_read(p + PAGE), "mprotect: then a write is EFAULT, a read works");
    ok(sys_mprotect(p + PAGE, PAGE, RW) == 0, "mprotect: the second page writable again (split)");
    ok(kernel_can_write(p + PAGE) && !kernel_can_write(p), "mprotect: only that page is writable");
    ok(sys_mprotect(p, PAGE, PROT_NONE) == 0, "mprotect: PROT_NONE");
    ok(!kernel_can_read(p), "mprotect: a PROT_NONE page cannot be read");
    ok(sys_mprotect(p, PAGE, PROT_WRITE) == 0 && kernel_can_read(p), "mprotect: PROT_WRITE alone is readable (x86)");
    ok(sys_mprotect(p, 4 * PAGE, PROT_NONE) == -ENOMEM, "mprotect: across a hole is ENOMEM");
    ok(!kernel_can_read(p + PAGE), "mprotect: ... after changing the part before the hole");
    ok(kernel_can_read(p + 3 * PAGE), "mprotect: ... and not the part after it");
    ok(sys_mprotect(p, 2 * PAGE, RW) == 0 && p[2048] == 0x42 && p[PAGE + 2048] == 0x43, "mprotect: data survives protection changes");
    sys_munmap(p, 4 * PAGE);
}

static void test_brk(void)
{
    unsigned char *start = (unsigned char *)sys_brk(0);
    ok(((unsigned long)start & (PAGE - 1)) == 0, "brk: the initial break is page-aligned");
    ok(sys_brk(start + 10000) == (long)(start + 10000), "brk: grows to exactly the asked value");
    ok(all_bytes(start, 0, 10000), "brk: new heap memory is zero");
    memset(start, 0x11, 10000);
    ok(sys_brk(0) == (long)(start + 10000), "brk(0) returns the current break");
    ok(sys_brk(start + 5000) == (long)(start + 5000), "brk: shrinks");
    ok(sys_brk(start - 100 * PAGE) == (long)(start + 5000), "brk: below the start fails (returns the old break)");
    ok(sys_brk(start + 3 * PAGE) == (long)(start + 3 * PAGE), "brk: grows again");
    ok(all_bytes(start + 2 * PAGE, 0, PAGE), "brk: a page freed by shrinking comes back zeroed");
    ok(all_bytes(start, 0x11, 5000), "brk: the kept part keeps its data");

    unsigned char *block = start + 16 * PAGE;
    ok(sys_mmap(block, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == block, "brk: (a mapping above the heap)");
    ok(sys_brk(block + PAGE) == (long)(start + 3 * PAGE), "brk: cannot grow over a mapping");
    ok(sys_brk(block - PAGE + 1) == (long)(start + 3 * PAGE), "brk: nor into the page below it");
    ok(sys_brk(block - PAGE) == (long)(block - PAGE), "brk: up to a page below it works");
    sys_munmap(block, PAGE);
    ok(sys_brk(start) == (long)start, "brk: back to the start");
}

static void test_madvise(void)
{
    unsigned char *p = anon(4 * PAGE);
    memset(p, 0x77, 4 * PAGE);
    ok(sys_madvise(p + 1, PAGE, MADV_DONTNEED) == -EINVAL, "madvise: unaligned address is EINVAL");
    ok(sys_madvise(p, PAGE, 999) == -EINVAL, "madvise: unknown advice is EINVAL");
    ok(sys_madvise(p, 0, MADV_DONTNEED) == 0, "madvise: length 0 is 0");
    ok(sys_madvise(p, -1UL, MADV_DONTNEED) == -EINVAL, "madvise: length that rounds to 0 is EINVAL");
    ok(sys_madvise(p, PAGE, MADV_WILLNEED) == 0 && p[0] == 0x77, "madvise: MADV_WILLNEED keeps the data");
    ok(sys_madvise(p, PAGE, MADV_DONTNEED) == 0, "madvise: MADV_DONTNEED");
    ok(all_bytes(p, 0, PAGE) && all_bytes(p + PAGE, 0x77, 3 * PAGE),
       "madvise: the page reads as zeros, the others keep their data");
    ok(sys_munmap(p + 2 * PAGE, PAGE) == 0, "madvise: (a hole in the third page)");
    ok(sys_madvise(p + 2 * PAGE, PAGE, MADV_DONTNEED) == -ENOMEM, "madvise: an unmapped range is ENOMEM");
    ok(sys_madvise(p + PAGE, 3 * PAGE, MADV_DONTNEED) == -ENOMEM, "madvise: a range with a hole is ENOMEM");
    ok(all_bytes(p + PAGE, 0, PAGE) && all_bytes(p + 3 * PAGE, 0, PAGE),
       "madvise: ... but the mapped parts were zapped");
    ok(sys_madvise(p, PAGE, MADV_REMOVE) == -EINVAL, "madvise: MADV_REMOVE of private memory is EINVAL");
    sys_munmap(p, 4 * PAGE);
}

/* volatile: a byte loop, not SSE (emu does not yet keep XMM registers across a page fault). */
static void fill(unsigned char *p, size_t n)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = (unsigned char)(i * 7 + i / PAGE);
}

static int filled(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + i / PAGE))
            return 0;
    return 1;
}

static void test_mremap(void)
{
    unsigned char *p = anon(4 * PAGE);
    fill(p, 4 * PAGE);
    ok(sys_munmap(p + PAGE, 3 * PAGE) == 0, "mremap: (one page with three free pages above it)");
    ok(sys_mremap(p, PAGE, 3 * PAGE, 0, 0) == p, "mremap: grows in place");
    ok(filled(p, PAGE) && all_bytes(p + PAGE, 0, 2 * PAGE), "mremap: old data kept, the new part zero");
    fill(p, 3 * PAGE);
    unsigned char *wall = sys_mmap(p + 3 * PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
    ok(wall == p + 3 * PAGE, "mremap: (a mapping just above)");
    ok(err(sys_mremap(p, 3 * PAGE, 5 * PAGE, 0, 0)) == -ENOMEM, "mremap: cannot grow in place over it: ENOMEM");
    ok(err(sys_mremap(p + PAGE, PAGE, 3 * PAGE, 0, 0)) == -ENOMEM, "mremap: growing a range short of the end is ENOMEM");
    unsigned char *q = sys_mremap(p, 3 * PAGE, 5 * PAGE, MREMAP_MAYMOVE, 0);
    ok(!failed(q) && q != p, "mremap: MREMAP_MAYMOVE moves it");
    ok(!failed(q) && filled(q, 3 * PAGE) && all_bytes(q + 3 * PAGE, 0, 2 * PAGE), "mremap: the moved data is intact");
    ok(sys_mmap(p, 3 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == p, "mremap: the old place is unmapped");
    sys_munmap(p, 4 * PAGE);

    ok(sys_mremap(q, 5 * PAGE, 2 * PAGE, 0, 0) == q, "mremap: shrinks in place");
    ok(filled(q, 2 * PAGE), "mremap: the kept part keeps its data");
    ok(sys_mmap(q + 2 * PAGE, 3 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == q + 2 * PAGE,
       "mremap: the tail is unmapped");
    sys_munmap(q + 2 * PAGE, 3 * PAGE);
    ok(sys_mremap(q, 2 * PAGE, 2 * PAGE, 0, 0) == q, "mremap: same size is a no-op");

    ok(err(sys_mremap(q + 1, PAGE, PAGE, 0, 0)) == -EINVAL, "mremap: unaligned address is EINVAL");
    ok(err(sys_mremap(q, PAGE, 0, MREMAP_MAYMOVE, 0)) == -EINVAL, "mremap: new length 0 is EINVAL");
    ok(err(sys_mremap(q, PAGE, PAGE, 8, 0)) == -EINVAL, "mremap: unknown flag is EINVAL");
    ok(err(sys_mremap(q, PAGE, PAGE, MREMAP_FIXED, q + 8 * PAGE)) == -EINVAL, "mremap: MREMAP_FIXED without MAYMOVE is EINVAL");
    ok(err(sys_mremap(q, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)) == -EINVAL,
       "mremap: MREMAP_DONTUNMAP with a new size is EINVAL");
    ok(err(sys_mremap(q + 2 * PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0)) == -EFAULT, "mremap: unmapped address is EFAULT");
    ok(err(sys_mremap(q, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE, 0)) == -EFAULT, "mremap: a range past the mapping is EFAULT");
    ok(err(sys_mremap(q, 0, PAGE, MREMAP_MAYMOVE, 0)) == -EINVAL, "mremap: old length 0 of private memory is EINVAL");
    ok(err(sys_mremap(q, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q + PAGE)) == -EINVAL,
       "mremap: MREMAP_FIXED onto an overlapping range is EINVAL");
    ok(err(sys_mremap(q, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q + PAGE + 1)) == -EINVAL,
       "mremap: unaligned MREMAP_FIXED target is EINVAL");

    unsigned char *target = anon(4 * PAGE);
    ok(sys_mremap(q, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target + PAGE) == target + PAGE,
       "mremap: MREMAP_FIXED moves onto a given address (replacing what was there)");
    ok(filled(target + PAGE, 2 * PAGE) && all_bytes(target, 0, PAGE), "mremap: ... with the data");
    ok(sys_mmap(q, 2 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == q, "mremap: ... leaving the old place unmapped");
    sys_munmap(q, 2 * PAGE);

    unsigned char *d = sys_mremap(target + PAGE, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
    ok(!failed(d) && filled(d, PAGE), "mremap: MREMAP_DONTUNMAP moves the data (got %ld)", failed(d) ? err(d) : 0L);
    ok(err(sys_mmap(target + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)) == -EEXIST
       && all_bytes(target + PAGE, 0, PAGE), "mremap: ... and keeps the old range mapped, empty");
    if (!failed(d))
        sys_munmap(d, PAGE);
    sys_munmap(target, 4 * PAGE);
}

int main(void)
{
    test_mmap();
    test_munmap();
    test_mprotect();
    test_brk();
    test_madvise();
    test_mremap();
    return done_testing();
}
