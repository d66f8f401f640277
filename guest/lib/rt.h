/* rt.h: tiny freestanding runtime for guests: raw Linux syscalls, strings, printf, TAP. */
#ifndef RT_H
#define RT_H

typedef unsigned long size_t;
typedef long ssize_t;

/* Linux x86-64 syscall numbers. */
#define SYS_read          0
#define SYS_write         1
#define SYS_open          2
#define SYS_close         3
#define SYS_mmap          9
#define SYS_mprotect     10
#define SYS_munmap       11
#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_getpid       39
#define SYS_fork         57
#define SYS_exit         60
#define SYS_wait4        61
#define SYS_kill         62
#define SYS_exit_group  231

/* mmap / mprotect flags. */
#define PROT_NONE      0
#define PROT_READ      1
#define PROT_WRITE     2
#define PROT_EXEC      4
#define MAP_SHARED     0x01
#define MAP_PRIVATE    0x02
#define MAP_FIXED      0x10
#define MAP_ANONYMOUS  0x20
#define MAP_FAILED     ((void *)-1)

/* open flags. */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR   2
#define O_CREAT  0100

/* Signals. */
#define SIGILL   4
#define SIGABRT  6
#define SIGFPE   8
#define SIGKILL  9
#define SIGSEGV 11
#define SIGTERM 15
#define SIGCHLD 17

/* All wrappers return the raw kernel result: >= 0 on success, -errno on error. */
long syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
long sys_read(int fd, void *buf, size_t len);
long sys_write(int fd, const void *buf, size_t len);
long sys_open(const char *path, int flags, int mode);
long sys_close(int fd);
void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
long sys_munmap(void *addr, size_t len);
long sys_mprotect(void *addr, size_t len, int prot);
long sys_rt_sigaction(int sig, const void *act, void *oldact, size_t sigsetsize);
long sys_rt_sigreturn(void);
long sys_getpid(void);
long sys_fork(void);
long sys_wait4(int pid, int *status, int options, void *rusage);
long sys_kill(int pid, int sig);
__attribute__((noreturn)) void sys_exit(int status);
__attribute__((noreturn)) void sys_exit_group(int status);

/* Strings and memory (real symbols: gcc may emit calls to these). */
size_t strlen(const char *s);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Output to fd 1. print() writes s followed by a newline, like puts. */
void print(const char *s);
/* %s %d %u %x %c %p %% and l-forms %ld %lu %lx; one write() per call. */
__attribute__((format(printf, 1, 2))) int rt_printf(const char *fmt, ...);

/* TAP: ok() prints "ok N - msg" or "not ok N - msg" and returns cond;
   done_testing() prints "1..N" and returns 0 if every check passed, else 1. */
__attribute__((format(printf, 2, 3))) int ok(int cond, const char *fmt, ...);
int done_testing(void);

#endif
