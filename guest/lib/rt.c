/* rt.c: tiny freestanding runtime for guests: raw Linux syscalls, strings, printf, TAP. */
#include "rt.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type)   __builtin_va_arg(ap, type)
#define va_end(ap)         __builtin_va_end(ap)

/* ---- syscalls ---------------------------------------------------------- */

/* The kernel takes arguments in rdi rsi rdx r10 r8 r9 and clobbers rcx, r11. */
long syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8  __asm__("r8")  = a5;
    register long r9  __asm__("r9")  = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

long sys_read(int fd, void *buf, size_t len)   { return syscall6(SYS_read, fd, (long)buf, len, 0, 0, 0); }
long sys_write(int fd, const void *buf, size_t len)
{
    return syscall6(SYS_write, fd, (long)buf, len, 0, 0, 0);
}
long sys_open(const char *path, int flags, int mode)
{
    return syscall6(SYS_open, (long)path, flags, mode, 0, 0, 0);
}
long sys_close(int fd) { return syscall6(SYS_close, fd, 0, 0, 0, 0, 0); }

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return (void *)syscall6(SYS_mmap, (long)addr, len, prot, flags, fd, off);
}
long sys_munmap(void *addr, size_t len) { return syscall6(SYS_munmap, (long)addr, len, 0, 0, 0, 0); }
long sys_mprotect(void *addr, size_t len, int prot)
{
    return syscall6(SYS_mprotect, (long)addr, len, prot, 0, 0, 0);
}

long sys_rt_sigaction(int sig, const void *act, void *oldact, size_t sigsetsize)
{
    return syscall6(SYS_rt_sigaction, sig, (long)act, (long)oldact, sigsetsize, 0, 0);
}
long sys_rt_sigreturn(void) { return syscall6(SYS_rt_sigreturn, 0, 0, 0, 0, 0, 0); }

long sys_getpid(void) { return syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0); }
long sys_fork(void)   { return syscall6(SYS_fork, 0, 0, 0, 0, 0, 0); }
long sys_execve(const char *path, char *const argv[], char *const envp[])
{
    return syscall6(SYS_execve, (long)path, (long)argv, (long)envp, 0, 0, 0);
}
long sys_wait4(int pid, int *status, int options, void *rusage)
{
    return syscall6(SYS_wait4, pid, (long)status, options, (long)rusage, 0, 0);
}
long sys_kill(int pid, int sig) { return syscall6(SYS_kill, pid, sig, 0, 0, 0, 0); }

void sys_exit(int status)
{
    for (;;)
        syscall6(SYS_exit, status, 0, 0, 0, 0, 0);
}
void sys_exit_group(int status)
{
    for (;;)
        syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

/* ---- strings and memory ------------------------------------------------ */

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

/* ---- formatted output -------------------------------------------------- */

/* An output buffer: filled by one printf call, written with one write(). */
struct out {
    char buf[512];
    size_t len;              /* bytes waiting in buf */
    size_t total;            /* bytes produced by this call */
};

static void out_flush(struct out *o)
{
    if (o->len)
        sys_write(1, o->buf, o->len);
    o->len = 0;
}

static void out_char(struct out *o, char c)
{
    if (o->len == sizeof o->buf)
        out_flush(o);            /* only very long lines need a second write */
    o->buf[o->len++] = c;
    o->total++;
}

static void out_str(struct out *o, const char *s)
{
    while (*s)
        out_char(o, *s++);
}

static void out_unsigned(struct out *o, unsigned long v, unsigned base)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        out_char(o, digits[--n]);
}

static void out_signed(struct out *o, long v)
{
    if (v < 0) {
        out_char(o, '-');
        out_unsigned(o, -(unsigned long)v, 10);
    } else {
        out_unsigned(o, v, 10);
    }
}

static void out_vformat(struct out *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(o, *fmt);
            continue;
        }
        int is_long = 0;
        if (*++fmt == 'l') {
            is_long = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            out_str(o, s ? s : "(null)");
            break;
        }
        case 'd':
            out_signed(o, is_long ? va_arg(ap, long) : va_arg(ap, int));
            break;
        case 'u':
            out_unsigned(o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
            break;
        case 'x':
            out_unsigned(o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
            break;
        case 'p':
            out_str(o, "0x");
            out_unsigned(o, (unsigned long)va_arg(ap, void *), 16);
            break;
        case 'c':
            out_char(o, (char)va_arg(ap, int));
            break;
        case '%':
            out_char(o, '%');
            break;
        case '\0':               /* stray '%' at the end of the format */
            return;
        default:                 /* unknown conversion: print it as-is */
            out_char(o, '%');
            out_char(o, *fmt);
            break;
        }
    }
}

int rt_printf(const char *fmt, ...)
{
    struct out o;
    o.len = o.total = 0;
    va_list ap;
    va_start(ap, fmt);
    out_vformat(&o, fmt, ap);
    va_end(ap);
    out_flush(&o);
    return (int)o.total;
}

void print(const char *s)
{
    rt_printf("%s\n", s);
}

/* ---- TAP --------------------------------------------------------------- */

static int tests_run, tests_failed;

int ok(int cond, const char *fmt, ...)
{
    struct out o;
    o.len = o.total = 0;
    va_list ap;
    tests_run++;
    if (!cond) {
        tests_failed++;
        out_str(&o, "not ");
    }
    out_str(&o, "ok ");
    out_unsigned(&o, tests_run, 10);
    out_str(&o, " - ");
    va_start(ap, fmt);
    out_vformat(&o, fmt, ap);
    va_end(ap);
    out_char(&o, '\n');
    out_flush(&o);
    return cond;
}

int done_testing(void)
{
    rt_printf("1..%d\n", tests_run);
    return tests_failed ? 1 : 0;
}

/* ---- files (used by the guest/fs_*.c programs) -------------------------- */

long sys_openat(int dirfd, const char *path, int flags, int mode)
{
    return syscall6(SYS_openat, dirfd, (long)path, flags, mode, 0, 0);
}
long sys_stat(const char *path, struct stat *st)  { return syscall6(SYS_stat, (long)path, (long)st, 0, 0, 0, 0); }
long sys_lstat(const char *path, struct stat *st) { return syscall6(SYS_lstat, (long)path, (long)st, 0, 0, 0, 0); }
long sys_fstat(int fd, struct stat *st)           { return syscall6(SYS_fstat, fd, (long)st, 0, 0, 0, 0); }
long sys_newfstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    return syscall6(SYS_newfstatat, dirfd, (long)path, (long)st, flags, 0, 0);
}
long sys_lseek(int fd, long offset, int whence) { return syscall6(SYS_lseek, fd, offset, whence, 0, 0, 0); }
long sys_ioctl(int fd, unsigned long request, void *arg)
{
    return syscall6(SYS_ioctl, fd, (long)request, (long)arg, 0, 0, 0);
}
long sys_pread64(int fd, void *buf, size_t len, long offset)
{
    return syscall6(SYS_pread64, fd, (long)buf, len, offset, 0, 0);
}
long sys_pwrite64(int fd, const void *buf, size_t len, long offset)
{
    return syscall6(SYS_pwrite64, fd, (long)buf, len, offset, 0, 0);
}
long sys_readv(int fd, const struct iovec *iov, int iovcnt)  { return syscall6(SYS_readv, fd, (long)iov, iovcnt, 0, 0, 0); }
long sys_writev(int fd, const struct iovec *iov, int iovcnt) { return syscall6(SYS_writev, fd, (long)iov, iovcnt, 0, 0, 0); }
long sys_access(const char *path, int mode) { return syscall6(SYS_access, (long)path, mode, 0, 0, 0, 0); }
long sys_pipe(int *fds)                   { return syscall6(SYS_pipe, (long)fds, 0, 0, 0, 0, 0); }
long sys_pipe2(int *fds, int flags)       { return syscall6(SYS_pipe2, (long)fds, flags, 0, 0, 0, 0); }
long sys_dup(int fd)                        { return syscall6(SYS_dup, fd, 0, 0, 0, 0, 0); }
long sys_dup2(int oldfd, int newfd)         { return syscall6(SYS_dup2, oldfd, newfd, 0, 0, 0, 0); }
long sys_dup3(int oldfd, int newfd, int flags) { return syscall6(SYS_dup3, oldfd, newfd, flags, 0, 0, 0); }
long sys_fcntl(int fd, int cmd, long arg)   { return syscall6(SYS_fcntl, fd, cmd, arg, 0, 0, 0); }
long sys_getcwd(char *buf, size_t size)     { return syscall6(SYS_getcwd, (long)buf, size, 0, 0, 0, 0); }
long sys_readlink(const char *path, char *buf, size_t size)
{
    return syscall6(SYS_readlink, (long)path, (long)buf, size, 0, 0, 0);
}

/* ---- memory (used by the guest/mm_*.c programs) ------------------------- */

long sys_brk(void *brk) { return syscall6(SYS_brk, (long)brk, 0, 0, 0, 0, 0); }
void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
    return (void *)syscall6(SYS_mremap, (long)old, old_len, new_len, flags, (long)new_addr, 0);
}
long sys_madvise(void *addr, size_t len, int advice)
{
    return syscall6(SYS_madvise, (long)addr, len, advice, 0, 0, 0);
}

/* The value of one "Name:   N" line of /proc/meminfo, or -1. */
long rt_meminfo(const char *name)
{
    static char text[8192];
    int fd = sys_open("/proc/meminfo", O_RDONLY, 0);
    long n = 0, got;
    while (n < (long)sizeof text - 1 && (got = sys_read(fd, text + n, sizeof text - 1 - n)) > 0)
        n += got;
    sys_close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    size_t len = strlen(name);
    for (char *line = text; *line; ) {
        if (memcmp(line, name, len) == 0 && line[len] == ':') {
            char *p = line + len + 1;
            while (*p == ' ')
                p++;
            long value = 0;
            while (*p >= '0' && *p <= '9')
                value = value * 10 + (*p++ - '0');
            return value;
        }
        while (*line && *line != '\n')
            line++;
        if (*line)
            line++;
    }
    return -1;
}
