"""The system-call table: Linux x86-64 numbers to Python handlers, written out explicitly.

A `syscall` instruction reaches `Kernel.on_syscall` (Unicorn intercepts it), which looks
the number up in SYSCALLS. A number without a handler returns -ENOSYS, and
`--trace syscall` names it. Handlers take (kernel, proc, a0..a5) and return the value
for rax: a result, or a negative errno.
"""

from .fs import af_unix, eventpoll, vfs as fs, fsops, poll
from .tasks import clock, exec as exec_calls, futex, proc_calls, signals
from .mm import mman

# Linux x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl), for names in traces.
SYSCALL_NAMES = {
    0: "read", 1: "write", 2: "open", 3: "close", 4: "stat", 5: "fstat", 6: "lstat", 7: "poll",
    8: "lseek", 9: "mmap", 10: "mprotect", 11: "munmap", 12: "brk", 13: "rt_sigaction",
    14: "rt_sigprocmask", 15: "rt_sigreturn", 16: "ioctl", 17: "pread64", 18: "pwrite64",
    19: "readv", 20: "writev", 21: "access", 22: "pipe", 23: "select", 24: "sched_yield", 34: "pause", 35: "nanosleep",
    36: "getitimer", 37: "alarm", 38: "setitimer",
    25: "mremap", 28: "madvise", 32: "dup", 33: "dup2", 39: "getpid", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 48: "shutdown", 51: "getsockname", 52: "getpeername", 53: "socketpair", 54: "setsockopt", 55: "getsockopt", 56: "clone", 57: "fork", 58: "vfork",
    59: "execve", 60: "exit", 61: "wait4", 247: "waitid", 62: "kill", 63: "uname", 72: "fcntl", 74: "fsync", 75: "fdatasync", 76: "truncate", 77: "ftruncate", 82: "rename", 83: "mkdir", 84: "rmdir", 86: "link", 87: "unlink", 88: "symlink", 90: "chmod", 91: "fchmod", 95: "umask", 79: "getcwd", 80: "chdir", 81: "fchdir", 89: "readlink",
    96: "gettimeofday", 97: "getrlimit", 98: "getrusage", 99: "sysinfo", 100: "times", 160: "setrlimit", 102: "getuid", 104: "getgid", 107: "geteuid", 108: "getegid",
    110: "getppid", 127: "rt_sigpending", 128: "rt_sigtimedwait", 130: "rt_sigsuspend", 131: "sigaltstack", 157: "prctl", 158: "arch_prctl", 186: "gettid", 202: "futex", 217: "getdents64", 213: "epoll_create", 218: "set_tid_address",
    228: "clock_gettime", 229: "clock_getres", 230: "clock_nanosleep", 201: "time", 200: "tkill", 203: "sched_setaffinity", 204: "sched_getaffinity", 309: "getcpu", 231: "exit_group", 232: "epoll_wait", 233: "epoll_ctl", 234: "tgkill", 257: "openat", 258: "mkdirat", 263: "unlinkat", 264: "renameat", 265: "linkat", 266: "symlinkat", 268: "fchmodat", 280: "utimensat", 316: "renameat2", 262: "newfstatat", 267: "readlinkat",
    269: "faccessat", 273: "set_robust_list", 274: "get_robust_list", 281: "epoll_pwait", 282: "signalfd", 283: "timerfd_create", 286: "timerfd_settime", 287: "timerfd_gettime", 284: "eventfd", 290: "eventfd2", 289: "signalfd4", 291: "epoll_create1", 292: "dup3",
    270: "pselect6", 271: "ppoll", 293: "pipe2", 302: "prlimit64", 318: "getrandom", 334: "rseq", 435: "clone3", 441: "epoll_pwait2",
}

BASE_SYSCALLS = {}

# The whole table, one explicit dict per subsystem (grep for a number to find its handler).
SYSCALLS = {**BASE_SYSCALLS, **fs.SYSCALLS, **fsops.SYSCALLS, **mman.SYSCALLS, **proc_calls.SYSCALLS, **signals.SYSCALLS,
            **exec_calls.SYSCALLS, **clock.SYSCALLS,
            **poll.SYSCALLS, **eventpoll.SYSCALLS, **af_unix.SYSCALLS, **futex.SYSCALLS}
