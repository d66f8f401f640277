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
#define SYS_execve       59
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
long sys_execve(const char *path, char *const argv[], char *const envp[]);
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
long rt_meminfo(const char *name);         /* a /proc/meminfo value, e.g. "HugePages_Free" */

/* ---- files (used by the guest/fs_*.c programs) ---- */
#define SYS_stat          4
#define SYS_fstat         5
#define SYS_lstat         6
#define SYS_lseek         8
#define SYS_ioctl        16
#define SYS_pread64      17
#define SYS_pwrite64     18
#define SYS_readv        19
#define SYS_writev       20
#define SYS_access       21
#define SYS_pipe         22
#define SYS_dup          32
#define SYS_dup2         33
#define SYS_fcntl        72
#define SYS_getcwd       79
#define SYS_readlink     89
#define SYS_openat      257
#define SYS_newfstatat  262
#define SYS_dup3        292
#define SYS_pipe2       293

#define O_EXCL       0200
#define O_TRUNC      01000
#define O_APPEND     02000
#define O_NONBLOCK   04000
#define O_LARGEFILE  0100000
#define O_DIRECTORY  0200000
#define O_NOFOLLOW   0400000
#define O_CLOEXEC    02000000
#define AT_FDCWD     (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_EMPTY_PATH 0x1000
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4
#define TCGETS     0x5401
#define TIOCGWINSZ 0x5413
#define FIONREAD   0x541B
#define SIGPIPE 13
#define S_IFMT   0170000
#define S_IFIFO  0010000
#define S_IFCHR  0020000
#define S_IFDIR  0040000
#define S_IFREG  0100000
#define S_IFLNK  0120000

/* struct stat of x86-64 Linux (144 bytes). */
struct stat {
    unsigned long st_dev, st_ino, st_nlink;
    unsigned int st_mode, st_uid, st_gid;
    int __pad0;
    unsigned long st_rdev;
    long st_size, st_blksize, st_blocks;
    long st_atime_sec, st_atime_nsec, st_mtime_sec, st_mtime_nsec, st_ctime_sec, st_ctime_nsec;
    long __unused[3];
};
struct iovec { void *iov_base; size_t iov_len; };

long sys_openat(int dirfd, const char *path, int flags, int mode);
long sys_stat(const char *path, struct stat *st);
long sys_lstat(const char *path, struct stat *st);
long sys_fstat(int fd, struct stat *st);
long sys_newfstatat(int dirfd, const char *path, struct stat *st, int flags);
long sys_lseek(int fd, long offset, int whence);
long sys_ioctl(int fd, unsigned long request, void *arg);
long sys_pread64(int fd, void *buf, size_t len, long offset);
long sys_pwrite64(int fd, const void *buf, size_t len, long offset);
long sys_readv(int fd, const struct iovec *iov, int iovcnt);
long sys_writev(int fd, const struct iovec *iov, int iovcnt);
long sys_access(const char *path, int mode);
long sys_pipe(int *fds);
long sys_pipe2(int *fds, int flags);
long sys_dup(int fd);
long sys_dup2(int oldfd, int newfd);
long sys_dup3(int oldfd, int newfd, int flags);
long sys_fcntl(int fd, int cmd, long arg);
long sys_getcwd(char *buf, size_t size);
long sys_readlink(const char *path, char *buf, size_t size);

/* ---- memory (used by the guest/mm_*.c programs) ---- */
#define SYS_brk          12
#define SYS_mremap       25
#define SYS_madvise      28
#define MAP_SHARED_VALIDATE  0x03
#define MAP_GROWSDOWN        0x0100
#define MAP_POPULATE         0x8000
#define MAP_FIXED_NOREPLACE  0x100000
#define PROT_SEM             0x8
#define PROT_GROWSDOWN       0x01000000
#define PROT_GROWSUP         0x02000000
#define MREMAP_MAYMOVE   1
#define MREMAP_FIXED     2
#define MREMAP_DONTUNMAP 4
#define MADV_NORMAL      0
#define MADV_WILLNEED    3
#define MADV_DONTNEED    4
#define MADV_FREE        8
#define MADV_REMOVE      9

long sys_brk(void *brk);
void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
long sys_madvise(void *addr, size_t len, int advice);

#endif
