/* fuzz_syscalls: random system calls with interesting arguments, for `make fuzz`.

       fuzz_syscalls.elf SEED START COUNT [CHUNK] [v]

   Issues calls START .. START+COUNT-1 of the sequence of SEED. Call I's number and
   arguments depend only on (SEED, I) and on the fds the chunk has opened, so one call
   can be replayed alone: `SEED I 1 1 v` prints it ("call I: nr(a1, ..., a6)") before
   issuing it, and its result after.

   A forked child issues each CHUNK of calls (damage stays in it: munmap of its own
   text, a fatal signal, a closed stdout); the parent waits, with a watchdog, and starts
   the next chunk after the call the child died in. A shared page holds the index of the
   call under way. At the end the parent prints one line:

       fuzz_syscalls: seed S calls N chunks C killed K hung H

   What is left out, so the fuzzer is not ended by its own calls: exit and exit_group;
   kill/tkill/tgkill reach only the caller itself or pids that do not exist, prlimit64
   only the caller; a new
   process or thread (fork, vfork, clone, clone3) exits at once, before touching memory;
   SIGALRM every 20 ms interrupts blocking calls (it is re-armed after calls that could
   disarm it), and what still blocks is killed by the parent's watchdog. */
#include "rt.h"

typedef unsigned long u64;

#define SCRATCH      ((char *)0x10000000UL)   /* the buffers calls get; the fuzzer never reads them */
#define SCRATCH_SIZE 0x10000UL
#define PATHS        (SCRATCH + SCRATCH_SIZE - 0x800)   /* N_PATHS strings of 64 bytes */
#define SHARED       ((volatile long *)0x0f000000UL)   /* parent and child: the call under way */
#define LOG_FD       100
#define SIGALRM      14
#define SA_RESTORER  0x04000000

static u64 mix(u64 x)   /* splitmix64's finalizer */
{
    x += 0x9e3779b97f4a7c15UL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
    return x ^ (x >> 31);
}

/* Every implemented number of emu's table but exit (60) and exit_group (231). */
static const short IMPLEMENTED[] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
    25, 28, 32, 33, 34, 35, 36, 37, 38, 39, 44, 45, 46, 47, 48, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 61, 62, 63, 72, 74, 75, 76, 77, 79, 80, 81, 82, 83, 84, 86, 87, 88, 89, 90, 91, 95, 96,
    97, 98, 99, 100, 102, 104, 107, 108, 110, 127, 128, 130, 131, 157, 158, 160, 186, 200, 201,
    202, 203, 204, 213, 217, 218, 228, 229, 230, 232, 233, 234, 247, 257, 258, 262, 263, 264,
    265, 266, 267, 268, 269, 270, 271, 273, 274, 280, 281, 282, 283, 284, 286, 287, 289, 290,
    291, 292, 293, 302, 309, 316, 318, 334, 435, 441,
};
#define N_IMPLEMENTED (sizeof IMPLEMENTED / sizeof IMPLEMENTED[0])

static const char *const PATH_POOL[] = {
    "/dev/null", "/dev/zero", "/dev/page-huge", "/proc/meminfo", "/proc/self/maps",
    "/proc/self/comm", "/", ".", "..", "", "/tmp", "/nonexistent/x", "/dev/null/x",
    "//proc//self/", "/proc/self/fd/0", "a", "/d", "/d/f", "l", "/d/../a",
};
#define N_PATHS (sizeof PATH_POOL / sizeof PATH_POOL[0])
_Static_assert(N_PATHS * 64 <= 0x800, "the path strings fit at PATHS");

static const u64 BAD_POINTERS[] = {
    1, 0xfff, 0x1000, 0xffff800000000000UL, 0xffffffffff600000UL, 0x8000000000000000UL,
    0x00007ffffffff000UL, 0x7fffffffffffUL, (u64)SCRATCH + SCRATCH_SIZE - 1, (u64)SCRATCH - 8,
    0xfffffffffffff000UL, 0x0000800000000000UL,
};
static const u64 HUGE_SIZES[] = {
    1UL << 31, 1UL << 32, 0x7fffffff, 0xffffffff, 1UL << 63, 1UL << 40, 0x7fffffffffffffffUL,
    0x80000000, 0xfffffffffffff000UL, 1UL << 47,
};
static const u64 SMALL_SIZES[] = { 1, 8, 16, 24, 64, 128, 4095, 4096, 4097, 8192, 0x10000, 0x200000 };

#define N(a) (sizeof (a) / sizeof (a)[0])

static int fds[16];
static unsigned n_fds;
static long self_pid, self_tid;
static int verbose;

static void remember_fd(long fd)
{
    if (fd >= 3 && fd < 4096)
        fds[n_fds++ % N(fds)] = (int)fd;
}

static u64 pick_fd(u64 w)
{
    unsigned known = n_fds < N(fds) ? n_fds : N(fds);
    if (known == 0 || w % 4 == 0)
        return w % 3;
    return fds[(w >> 2) % known];
}

/* An argument value from the pools, chosen by the 64-bit word w. */
static u64 pick_arg(u64 w)
{
    u64 v = w >> 8;
    switch (w % 16) {
    case 0:  return 0;
    case 1:  return (u64)-1;
    case 2:  return v % 17;
    case 3:
    case 4:  return pick_fd(v);
    case 5:  return (u64)SCRATCH + (v % SCRATCH_SIZE & ~7UL);
    case 6:  return (u64)SCRATCH + (v % 4) * 0x1000;
    case 7:  return (u64)PATHS + (v % N_PATHS) * 64;
    case 8:  return BAD_POINTERS[v % N(BAD_POINTERS)];
    case 9:  return HUGE_SIZES[v % N(HUGE_SIZES)];
    case 10: return 1UL << (v % 64);
    case 11: return v & ((1UL << (v % 32)) - 1);
    case 12: return mix(w);
    case 13: return SMALL_SIZES[v % N(SMALL_SIZES)];
    case 14: return v % 8 == 0 ? (u64)-100 : -(v % 101);
    default: return v % 66;
    }
}

/* fork, vfork, clone, clone3: the new task exits at once, before it touches memory
   (it may share the caller's stack). */
long spawn_call(long nr, long a1, long a2, long a3, long a4, long a5);
__asm__(".text\n"
        "spawn_call:\n"
        "  mov %rdi, %rax\n  mov %rsi, %rdi\n  mov %rdx, %rsi\n  mov %rcx, %rdx\n"
        "  mov %r8, %r10\n  mov %r9, %r8\n  xor %r9d, %r9d\n"
        "  syscall\n"
        "  test %rax, %rax\n  jnz 1f\n"
        "  mov $60, %eax\n  xor %edi, %edi\n  syscall\n"
        "1: ret\n");

void restorer(void);
__asm__(".text\n restorer: mov $15, %eax\n syscall\n");
static void on_alarm(int sig) { (void)sig; }

struct kernel_sigaction { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask; };
struct itimerval { long interval_sec, interval_usec, value_sec, value_usec; };

/* SIGALRM caught (without SA_RESTART, so blocking calls end with EINTR), unblocked, and
   the interval timer armed. */
static void arm_alarm(long usec)
{
    struct kernel_sigaction act = { on_alarm, SA_RESTORER, restorer, 0 };
    sys_rt_sigaction(SIGALRM, &act, 0, 8);
    unsigned long unblock = 1UL << (SIGALRM - 1);
    syscall6(14, 1 /* SIG_UNBLOCK */, (long)&unblock, 0, 8, 0, 0);
    struct itimerval it = { 0, usec, 0, usec };
    syscall6(38, 0 /* ITIMER_REAL */, (long)&it, 0, 0, 0, 0);
}

/* ---- output without rt_printf (the log fd is not fd 1) ---- */
static char line[256];
static unsigned line_len;
static void put_str(const char *s) { while (*s && line_len < sizeof line) line[line_len++] = *s++; }
static void put_num(u64 v, int hex)
{
    char digits[24];
    int n = 0;
    if (!hex && (long)v < 0) { put_str("-"); v = -v; }
    if (hex) put_str("0x");
    do { digits[n++] = "0123456789abcdef"[v % (hex ? 16 : 10)]; v /= hex ? 16 : 10; } while (v);
    while (n) { char c[2] = { digits[--n], 0 }; put_str(c); }
}
static void flush_line(int fd) { sys_write(fd, line, line_len); line_len = 0; }

static u64 parse(const char *s)
{
    u64 n = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (u64)(*s - '0');
    return n;
}

/* ---- one chunk, in the child ---- */

static void fill_scratch(u64 seed)
{
    u64 *words = (u64 *)SCRATCH;
    for (u64 i = 0; i < (SCRATCH_SIZE - 0x800) / 8; i++)
        words[i] = pick_arg(mix(seed ^ (i * 0x51ed27UL))) & ~(1UL << (SIGALRM - 1));
    for (unsigned i = 0; i < N_PATHS; i++)
        memcpy(PATHS + i * 64, PATH_POOL[i], strlen(PATH_POOL[i]) + 1);
}

static void open_some_fds(void)
{
    int pair[2];
    remember_fd(sys_open("/dev/null", O_RDWR, 0));
    remember_fd(sys_open("/proc/self/maps", O_RDONLY, 0));
    remember_fd(sys_open("/", O_RDONLY | O_DIRECTORY, 0));
    if (sys_pipe2(pair, O_NONBLOCK) == 0) { remember_fd(pair[0]); remember_fd(pair[1]); }
    if (syscall6(53, 1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0, (long)pair, 0, 0) == 0) {
        remember_fd(pair[0]); remember_fd(pair[1]);
    }
    if (syscall6(53, 1, 2 /* SOCK_DGRAM */, 0, (long)pair, 0, 0) == 0) {
        remember_fd(pair[0]); remember_fd(pair[1]);
    }
    remember_fd(syscall6(290, 1, 0, 0, 0, 0, 0));          /* eventfd2 */
    remember_fd(syscall6(291, 0, 0, 0, 0, 0, 0));          /* epoll_create1 */
    remember_fd(syscall6(283, 1 /* CLOCK_MONOTONIC */, 0, 0, 0, 0, 0));   /* timerfd_create */
}

/* Call number i of the sequence: its number and arguments. */
static long choose_call(u64 seed, u64 i, u64 a[6])
{
    u64 h = mix(seed * 0x100000001b3UL ^ mix(i));
    for (int k = 0; k < 6; k++)
        a[k] = pick_arg(mix(h + (u64)k + 1));
    u64 r = h % 100;
    long nr;
    if (r < 92)
        nr = IMPLEMENTED[(h >> 8) % N_IMPLEMENTED];
    else if (r < 97)
        nr = (long)((h >> 8) % 460);
    else
        nr = (long)BAD_POINTERS[(h >> 8) % N(BAD_POINTERS)] + (long)((h >> 16) % 3);
    if (nr == 60 || nr == 231)        /* exit, exit_group */
        nr = 39;
    if (nr == 15 && (h >> 20) % 8)    /* rt_sigreturn ends the chunk: rarely */
        nr = 186;
    if (nr == 62 || nr == 200)        /* kill, tkill: only the caller or nobody */
        a[0] = (h >> 24) % 2 ? (u64)(nr == 62 ? self_pid : self_tid) : 99999 + (h >> 25) % 3;
    if (nr == 302 && a[0] != 0)       /* prlimit64: the caller only (RLIMIT_CPU on process 1 kills the fuzzer) */
        a[0] = (u64)self_pid;
    if (nr == 234) {                  /* tgkill */
        a[0] = (u64)self_pid;
        a[1] = (h >> 24) % 2 ? (u64)self_tid : 99999;
    }
    return nr;
}

static void log_call(u64 i, long nr, const u64 a[6])
{
    put_str("call "); put_num(i, 0); put_str(": "); put_num((u64)nr, 0); put_str("(");
    for (int k = 0; k < 6; k++) { put_num(a[k], 1); put_str(k < 5 ? ", " : ")"); }
    flush_line(LOG_FD);
}

static long issue(long nr, const u64 a[6])
{
    if (nr == 56 || nr == 57 || nr == 58 || nr == 435)
        return spawn_call(nr, a[0], a[1], a[2], a[3], a[4]);
    return syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static void fuzz_chunk(u64 seed, u64 start, u64 end)
{
    if (verbose)
        sys_dup2(1, LOG_FD);
    long null = sys_open("/dev/null", O_RDWR, 0);
    sys_dup2(null, 1);
    sys_dup2(null, 2);
    sys_close(null);
    self_pid = sys_getpid();
    self_tid = syscall6(186, 0, 0, 0, 0, 0, 0);
    if (sys_mmap(SCRATCH, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != SCRATCH)
        sys_exit(3);
    fill_scratch(seed);
    open_some_fds();
    arm_alarm(20000);
    for (u64 i = start; i < end; i++) {
        u64 a[6];
        long nr = choose_call(seed, i, a);
        SHARED[0] = (long)i;
        if (verbose)
            log_call(i, nr, a);
        long result = issue(nr, a);
        if (verbose) {
            put_str("  = "); put_num((u64)result, 0); put_str("\n");
            flush_line(LOG_FD);
        }
        if (result >= 0 && result < 4096)
            remember_fd(result);
        if (nr == 13 || nr == 14 || nr == 37 || nr == 38 || nr == 15 || nr == 130)
            arm_alarm(20000);
    }
    SHARED[0] = (long)end - 1;
}

/* ---- the parent ---- */

int main(int argc, char **argv)
{
    if (argc < 4) {
        print("usage: fuzz_syscalls.elf SEED START COUNT [CHUNK] [v]");
        return 2;
    }
    u64 seed = parse(argv[1]), start = parse(argv[2]), count = parse(argv[3]);
    u64 chunk = argc > 4 ? parse(argv[4]) : 2000;
    verbose = argc > 5 && argv[5][0] == 'v';
    if (chunk == 0)
        chunk = 1;
    if (sys_mmap((void *)SHARED, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != (void *)SHARED)
        return 3;
    struct kernel_sigaction act = { on_alarm, SA_RESTORER, restorer, 0 };
    sys_rt_sigaction(SIGALRM, &act, 0, 8);
    u64 end = start + count, i = start, chunks = 0, killed = 0, hung = 0;
    while (i < end) {
        u64 stop = end - i > chunk ? i + chunk : end;
        SHARED[0] = (long)i - 1;
        chunks++;
        long pid = sys_fork();
        if (pid == 0) {
            fuzz_chunk(seed, i, stop);
            sys_exit_group(0);
        }
        if (pid < 0)
            return 4;
        struct itimerval watchdog = { 0, 0, 5, 0 };
        syscall6(38, 0, (long)&watchdog, 0, 0, 0, 0);
        int status = 0;
        if (sys_wait4((int)pid, &status, 0, 0) < 0) {
            hung++;
            sys_kill((int)pid, SIGKILL);
            sys_wait4((int)pid, &status, 0, 0);
        } else if ((status & 0x7f) != 0) {
            killed++;
        }
        struct itimerval off = { 0, 0, 0, 0 };
        syscall6(38, 0, (long)&off, 0, 0, 0, 0);
        while (sys_wait4(-1, 0, 1 /* WNOHANG */, 0) > 0)
            ;
        u64 next = (u64)(SHARED[0] + 1);
        i = next > i ? next : i + 1;
    }
    put_str("fuzz_syscalls: seed "); put_num(seed, 0);
    put_str(" calls "); put_num(end - start, 0);
    put_str(" chunks "); put_num(chunks, 0);
    put_str(" killed "); put_num(killed, 0);
    put_str(" hung "); put_num(hung, 0); put_str("\n");
    flush_line(1);
    return 0;
}
