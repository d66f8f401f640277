"""Files: the per-process fd table, open file descriptions, pipes, path lookup, file syscalls.

The objects follow Linux's VFS (include/linux/fs.h, fs/file.c, fs/pipe.c):

    proc.files (FdTable)           fd -> FdEntry(file, cloexec)      per process
        FdEntry.file (OpenFile)    struct file: offset, status flags, refcount
                                   shared by dup()ed fds and by fork()

An `OpenFile` subclass implements what its kind of file can do: `read(kernel, proc,
count, sink)`, `write(kernel, proc, data)`, `lseek`, `ioctl`, `stat`, and optionally
`mmap(kernel, proc, vma)`. Devices and /proc files live in emu/kernel/fs/devices.py,
files of the host directory given with `--root` in emu/kernel/fs/hostfs.py.

A read hands its bytes to a `sink` that copies them to user memory (raising UserFault)
before the file commits (advances its offset or consumes pipe data). So a bad buffer
gives -EFAULT and loses nothing; Linux would return the count copied before the fault.
"""

import errno
import fcntl
import itertools
import os
import select
import signal
import stat as st
import struct
import time
from collections import deque
from dataclasses import dataclass

from ..arch.syscall import SyscallError
from ...hardware.paging import PAGE_SIZE
from ..mm.kmem import FD_SLOT_COST, FILE_COST, PIPE_BUFFER_COST, PIPE_COST, UNBOUNDED
from ..arch.uaccess import UserFault, copy_from_user, copy_to_user, put_user, user_path
from ..tasks.sched import Block

# open(2) flags (include/uapi/asm-generic/fcntl.h; x86-64 uses the generic values).
O_ACCMODE = 0o3
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DIRECT = 0o40000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_PATH = 0o10000000
FASYNC = 0o20000
O_LARGEFILE = 0o100000           # x86-64 open() always adds it (force_o_largefile)
# Flags that act at open time only; F_GETFL does not show them (do_dentry_open).
OPEN_ONLY_FLAGS = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC
# The flags an O_PATH open keeps (fs/open.c build_open_flags: O_PATH_FLAGS).
O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
# Status flags F_SETFL may change (fs/fcntl.c SETFL_MASK).
SETFL_MASK = O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME

# fcntl commands and fd flags.
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1

# *at() conventions.
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
AT_NO_AUTOMOUNT = 0x800
AT_STATX_SYNC_TYPE = 0x6000

SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
SEEK_MAX = 4                     # SEEK_HOLE
F_OK, X_OK, W_OK, R_OK = 0, 1, 2, 4


NAME_MAX = 255
MAXSYMLINKS = 40                 # fs/namei.c
NOFILE = 1024                    # RLIMIT_NOFILE's soft limit: fds are 0..1023
NR_OPEN_DEFAULT = 64             # the fd table's first size (BITS_PER_LONG); it grows on demand
IOV_MAX = 1024                   # UIO_MAXIOV
MAX_RW_COUNT = 0x7FFFF000        # INT_MAX & PAGE_MASK: the most one read/write moves
PIPE_BUF = 4096                  # writes up to this size are atomic (pipe(7))
DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12
# poll(2) event bits (include/uapi/asm-generic/poll.h).
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLWRNORM, POLLWRBAND = 0x40, 0x100, 0x200
DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
PIPE_CAPACITY = 65536            # 16 pages, Linux's default pipe size
PIPE_MAX_SIZE = 1048576          # /proc/sys/fs/pipe-max-size: F_SETPIPE_SZ's ceiling
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032

# ioctl requests (include/uapi/asm-generic/ioctls.h).
TCGETS = 0x5401
TIOCGWINSZ = 0x5413
FIONREAD = 0x541B
TERMIOS_SIZE = 36                # the kernel's struct termios: 4 flags, c_line, c_cc[19]
WINSIZE_SIZE = 8

SI_USER = 0                      # si_code of a signal sent by send_sig(..., 0)
PIPEFS_DEV = os.makedev(0, 14)   # an anonymous (unnamed) device number, as pipefs has

# struct stat on x86-64 (arch/x86/include/uapi/asm/stat.h), 144 bytes:
#   st_dev st_ino st_nlink | st_mode st_uid st_gid __pad0 | st_rdev st_size st_blksize
#   st_blocks | st_atime st_atime_nsec st_mtime st_mtime_nsec st_ctime st_ctime_nsec
#   | __unused[3]
STAT_FORMAT = struct.Struct("<QQQIIIiQqqqqqqqqq24x")
assert STAT_FORMAT.size == 144


@dataclass(frozen=True)
class Stat:
    """What fstat reports about a file; `pack()` gives the x86-64 struct stat."""
    mode: int
    size: int = 0
    dev: int = 0
    ino: int = 0
    nlink: int = 1
    uid: int = 0
    gid: int = 0
    rdev: int = 0
    blksize: int = 4096
    blocks: int = 0
    atime_ns: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0

    def pack(self) -> bytes:
        times = []
        for ns in (self.atime_ns, self.mtime_ns, self.ctime_ns):
            times += divmod(ns, 10**9)
        return STAT_FORMAT.pack(self.dev, self.ino, self.nlink, self.mode, self.uid, self.gid, 0,
                                self.rdev, self.size, self.blksize, self.blocks, *times)

    @classmethod
    def from_host(cls, s: os.stat_result) -> "Stat":
        return cls(s.st_mode, s.st_size, s.st_dev, s.st_ino, s.st_nlink, s.st_uid, s.st_gid,
                   s.st_rdev, s.st_blksize, s.st_blocks, s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns)


@dataclass(frozen=True)
class WouldBlock:
    """A file operation cannot go on now; `ready()` says when to retry (it must not touch
    user memory), and `wake_at()`, if given, when time alone may make it ready (a timerfd).
    `instead`, if not None, is what a blocking caller gets at once rather than waiting
    (a non-blocking one still gets -EAGAIN): a datagram socket shut for reading."""
    ready: object
    wake_at: object = None
    instead: int | None = None


_inodes = itertools.count(1001)


def next_ino() -> int:
    """A fresh inode number for a pipe or a /proc file (Linux's get_next_ino)."""
    return next(_inodes)


# ---- open file descriptions -------------------------------------------------------------

class OpenFile:
    """An open file description (Linux's struct file): flags, offset, a reference count.

    Subclasses override the operations their file supports; the defaults are Linux's
    answers for a file without that operation.
    """

    def __init__(self, flags: int, path: str = ""):
        self.flags = flags
        self.path = path
        self.offset = 0
        self.refcount = 0

    def get(self) -> "OpenFile":
        self.refcount += 1
        return self

    def put(self) -> None:
        """Drop one reference; the last one releases the file (Linux's fput)."""
        self.refcount -= 1
        if self.refcount == 0:
            self.release()

    def release(self) -> None:
        pass

    def readable(self) -> bool:
        return self.flags & O_ACCMODE in (O_RDONLY, O_RDWR)

    def writable(self) -> bool:
        return self.flags & O_ACCMODE in (O_WRONLY, O_RDWR)

    def read(self, kernel, proc, count: int, sink):
        """Give up to `count` bytes to `sink(data)`; return the count, -errno or WouldBlock."""
        return -errno.EINVAL

    def write(self, kernel, proc, data: bytes):
        """Take bytes from `data`; return how many, -errno or WouldBlock."""
        return -errno.EINVAL

    def lseek(self, offset: int, whence: int) -> int:
        return -errno.ESPIPE

    def ioctl(self, kernel, proc, request: int, arg: int) -> int:
        return -errno.ENOTTY

    def listing(self, kernel):
        """getdents64: [(name, inode, d_type)] of a directory, "." and ".." first; -ENOTDIR."""
        return -errno.ENOTDIR

    pollable = False              # it has a poll op (epoll takes only these: -EPERM otherwise)

    def poll(self) -> int:
        """POLL* bits for what a read or write would do now without waiting. A file that
        never waits (Linux's files without a poll op) is always ready (DEFAULT_POLLMASK)."""
        return DEFAULT_POLLMASK

    def poll_generation(self, events: int = ~0) -> int:
        """A count of the wake-ups that concern `events` (EPOLLET reports a file again only
        after one: data coming in wakes readers, room made wakes writers, as Linux's
        wake-up keys say)."""
        return 0

    def wake_time(self) -> float | None:
        """When the passing of time alone will change what poll() says (a timerfd's next
        expiry), on time.monotonic()'s clock; None if never."""
        return None

    def stat(self) -> Stat:
        raise NotImplementedError

    def readlink(self):
        return None

    def chmod(self, mode: int) -> int:
        """fchmod of a file that is not a host file: -EPERM unless it keeps a mode."""
        return -errno.EPERM


class SeekableFile(OpenFile):
    """A file with positions: reads and writes go through `pread`/`pwrite` at the offset."""

    def size(self) -> int:
        return 0

    def pread(self, offset: int, count: int):
        """Up to `count` bytes at `offset` (bytes), or -errno."""
        return -errno.EINVAL

    def pwrite(self, offset: int, data: bytes) -> int:
        return -errno.EINVAL

    def read(self, kernel, proc, count, sink):
        data = self.pread(self.offset, count)
        if isinstance(data, int):
            return data
        sink(data)
        self.offset += len(data)
        return len(data)

    def write(self, kernel, proc, data):
        if self.flags & O_APPEND:
            self.offset = self.size()
        done = self.pwrite(self.offset, data)
        if done > 0:
            self.offset += done
        return done

    def lseek(self, offset, whence):
        """generic_file_llseek: SEEK_SET/CUR/END; a negative result is -EINVAL."""
        base = {SEEK_SET: 0, SEEK_CUR: self.offset, SEEK_END: None}.get(whence, -1)
        if base == -1:
            return -errno.EINVAL       # simplification: no SEEK_DATA / SEEK_HOLE
        new = (self.size() if base is None else base) + offset
        if new < 0:
            return -errno.EINVAL
        if new >= 2**63:
            return -errno.EOVERFLOW
        self.offset = new
        return new


class HostStdin(OpenFile):
    """fd 0: the host's stdin (a blocking read of the host fd: the whole machine waits)."""
    pollable = True

    def __init__(self):
        super().__init__(O_RDONLY, "pipe:[stdin]")

    def wake_time(self):
        """Input may come at any time: a waiting poll or epoll looks again every 10 ms."""
        return time.monotonic() + 0.01

    def poll(self):
        try:
            readable, _, _ = select.select([0], [], [], 0)
        except (OSError, ValueError):
            return POLLERR
        return POLLIN | POLLRDNORM if readable else 0

    def read(self, kernel, proc, count, sink):
        try:
            data = os.read(0, min(count, 1 << 20))
        except OSError as err:
            return -err.errno
        sink(data)
        return len(data)

    def ioctl(self, kernel, proc, request, arg):
        return host_tty_ioctl(kernel, proc, 0, request, arg)

    def stat(self):
        return host_fd_stat(0)


class HostOutput(OpenFile):
    """fd 1 / fd 2: the host's stdout or stderr, through Kernel.host_write (closed pipe: SIGPIPE)."""
    pollable = True

    def __init__(self, kernel, stream: int):
        super().__init__(O_WRONLY, f"pipe:[std{'out' if stream == 1 else 'err'}]")
        self.kernel = kernel
        self.stream = stream

    def write(self, kernel, proc, data):
        return kernel.host_write(self.stream, data)

    def host_fd(self):
        try:
            return self.kernel.out[self.stream].fileno()
        except (AttributeError, OSError, ValueError):
            return None            # a stream without a host fd (a test's BytesIO)

    def ioctl(self, kernel, proc, request, arg):
        fd = self.host_fd()
        return -errno.ENOTTY if fd is None else host_tty_ioctl(kernel, proc, fd, request, arg)

    def stat(self):
        fd = self.host_fd()
        return Stat(st.S_IFIFO | 0o600, dev=PIPEFS_DEV) if fd is None else host_fd_stat(fd)


def host_fd_stat(fd: int) -> Stat:
    try:
        return Stat.from_host(os.fstat(fd))
    except OSError:
        return Stat(st.S_IFIFO | 0o600, dev=PIPEFS_DEV)


def host_tty_ioctl(kernel, proc, fd: int, request: int, arg: int) -> int:
    """TCGETS and TIOCGWINSZ on a host terminal: ask the host, copy its answer out.

    Both only read the terminal's state, so passing them through is safe; anything else,
    or any fd that is not a terminal, is -ENOTTY (what Linux says for a pipe or file).
    """
    if request not in (TCGETS, TIOCGWINSZ) or not os.isatty(fd):
        return -errno.ENOTTY
    size = TERMIOS_SIZE if request == TCGETS else WINSIZE_SIZE
    try:
        answer = fcntl.ioctl(fd, request, bytes(64))[:size]
    except OSError as err:
        return -err.errno
    return put_user(kernel, proc, arg, answer)


# ---- pipes ------------------------------------------------------------------------------

class Pipe:
    """The buffer both ends share (Linux's pipe_inode_info), with reader and writer counts.

    The data is a ring of at most `slots` (max_usage) pages, as Linux's pipe_buffers: a
    write first merges what is not a whole number of pages (its length % PAGE_SIZE)
    into the last page if that fits, then fills new pages, so a pipe of 16 slots takes
    64 writes of 1000 bytes (64000), not 65. Each page is charged to kernel memory when
    pipe_write allocates it and given back when a read empties it.
    """

    __slots__ = ("pages", "size", "readers", "writers", "ino", "mode", "in_changes", "out_changes",
                 "slots", "kmem")

    def __init__(self, kmem=UNBOUNDED):
        self.pages: deque[bytearray] = deque()   # the pipe_buffers in use, oldest first
        self.size = 0                            # bytes in them
        self.readers = 0
        self.writers = 0
        self.ino = next_ino()
        self.mode = 0o600
        self.in_changes = 0       # writes and the last writer's close: wake-ups for readers
        self.out_changes = 0      # reads and the last reader's close: wake-ups for writers
        self.slots = PIPE_CAPACITY // PAGE_SIZE
        self.kmem = kmem

    @property
    def capacity(self) -> int:
        """F_GETPIPE_SZ: the pipe's size in bytes."""
        return self.slots * PAGE_SIZE

    def full(self) -> bool:
        return len(self.pages) >= self.slots

    def can_merge(self, size: int) -> bool:
        """Whether pipe_write puts the odd part of a `size`-byte write in the last page."""
        odd = size % PAGE_SIZE
        return bool(odd and self.pages) and len(self.pages[-1]) + odd <= PAGE_SIZE

    def can_take(self, size: int) -> bool:
        """Whether a write of `size` bytes goes in at least in part now."""
        return not self.full() or self.can_merge(size)

    def put(self, data: bytes) -> int:
        """pipe_write's copy: the odd part merged into the last page, then whole pages
        while slots are free; stops early if kernel memory has no page. How many went."""
        taken = 0
        if self.can_merge(len(data)):
            taken = len(data) % PAGE_SIZE
            self.pages[-1] += data[:taken]
        while taken < len(data) and not self.full() and self.kmem.charge(PAGE_SIZE):
            self.pages.append(bytearray(data[taken:taken + PAGE_SIZE]))
            taken += len(self.pages[-1])
        self.size += taken
        return taken

    def peek(self, count: int) -> bytes:
        """The bytes a read of `count` would take, left in the pipe (the sink copies them
        to user memory before the read commits)."""
        out = bytearray()
        for page in self.pages:
            if len(out) >= count:
                break
            out += page[:count - len(out)]
        return bytes(out)

    def take(self, count: int) -> bytes:
        """pipe_read's copy: up to `count` bytes from the oldest pages, freeing the
        pages it empties."""
        out = bytearray()
        while self.pages and len(out) < count:
            page = self.pages[0]
            part = page[:count - len(out)]
            out += part
            if len(part) == len(page):
                self.pages.popleft()
                self.kmem.uncharge(PAGE_SIZE)
            else:
                del page[:len(part)]
        self.size -= len(out)
        return bytes(out)

    def stat(self) -> Stat:
        return Stat(st.S_IFIFO | self.mode, dev=PIPEFS_DEV, ino=self.ino)

    def resize(self, size: int) -> int:
        """F_SETPIPE_SZ (pipe_set_size): at least a page, a power of two of pages; over
        pipe-max-size is -EPERM (emu's guest has no CAP_SYS_RESOURCE, as root in a
        container); fewer slots than pages in use is -EBUSY. Returns the new size."""
        if size > 1 << 31:
            return -errno.EINVAL                  # round_pipe_size gives 0
        slots = 1 << (max(-(-size // PAGE_SIZE), 1) - 1).bit_length()
        if slots > self.slots and slots * PAGE_SIZE > PIPE_MAX_SIZE:
            return -errno.EPERM
        if slots < len(self.pages):
            return -errno.EBUSY
        if slots > self.slots and not self.kmem.charge((slots - self.slots) * PIPE_BUFFER_COST):
            return -errno.ENOMEM
        if slots < self.slots:
            self.kmem.uncharge((self.slots - slots) * PIPE_BUFFER_COST)
        self.slots = slots
        self.out_changes += 1
        return self.capacity

    def cost(self) -> int:
        """What the pipe's inode, info, buffer array and two files take from kernel memory."""
        return PIPE_COST + self.slots * PIPE_BUFFER_COST + 2 * FILE_COST

    def end_closed(self) -> None:
        """One end went; with both gone the pipe's memory goes back."""
        if self.readers == 0 and self.writers == 0:
            self.take(self.size)
            self.kmem.uncharge(self.cost())


class PipeEnd(OpenFile):
    """What both ends of a pipe have in common: the Pipe, its ioctl (FIONREAD) and stat."""
    pollable = True

    def poll_generation(self, events=~0):
        return (self.pipe.in_changes if events & (POLLIN | POLLRDNORM) else 0) + \
            (self.pipe.out_changes if events & (POLLOUT | POLLWRNORM) else 0)

    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(flags, f"pipe:[{pipe.ino}]")
        self.pipe = pipe

    def ioctl(self, kernel, proc, request, arg):
        if request == FIONREAD:
            return put_user(kernel, proc, arg, struct.pack("<i", self.pipe.size))
        return -errno.ENOTTY

    def stat(self):
        return self.pipe.stat()

    def chmod(self, mode):
        self.pipe.mode = mode
        return 0


class PipeReader(PipeEnd):
    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(pipe, O_RDONLY | flags)
        pipe.readers += 1

    def release(self):
        self.pipe.readers -= 1
        self.pipe.out_changes += 1
        self.pipe.end_closed()

    def read(self, kernel, proc, count, sink):
        """pipe_read: what is there, EOF (0) with no writers, else wait."""
        pipe = self.pipe
        if count == 0:
            return 0
        if pipe.size:
            was_full = pipe.full()
            sink(pipe.peek(count))
            data = pipe.take(count)
            if was_full:                          # pipe_read wakes writers only then
                pipe.out_changes += 1
            return len(data)
        if pipe.writers == 0:
            return 0
        return WouldBlock(lambda: bool(pipe.size) or pipe.writers == 0)

    def poll(self):
        """pipe_poll: data to read; POLLHUP once no writer is left."""
        return (POLLIN | POLLRDNORM if self.pipe.size else 0) | (POLLHUP if self.pipe.writers == 0 else 0)


class PipeWriter(PipeEnd):
    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(pipe, O_WRONLY | flags)
        pipe.writers += 1

    def release(self):
        self.pipe.writers -= 1
        self.pipe.in_changes += 1
        self.pipe.end_closed()

    def write(self, kernel, proc, data):
        """pipe_write: no readers is EPIPE and SIGPIPE; up to PIPE_BUF bytes go in at once or wait."""
        pipe = self.pipe
        if pipe.readers == 0:
            send_sigpipe(kernel, proc)
            return -errno.EPIPE
        if not pipe.can_take(len(data)):
            return WouldBlock(lambda: pipe.readers == 0 or pipe.can_take(len(data)))
        taken = pipe.put(data)
        if not taken:
            return -errno.ENOMEM                  # no page for it: pipe_write's alloc_page failed
        pipe.in_changes += 1
        return taken

    def poll(self):
        """pipe_poll: a free slot; POLLERR once no reader is left."""
        return ((POLLOUT | POLLWRNORM if not self.pipe.full() else 0)
                | (POLLERR if self.pipe.readers == 0 else 0))


def send_sigpipe(kernel, proc) -> None:
    """SIGPIPE to the writer, as pipe_write's send_sig(SIGPIPE, current, 0): si_code SI_USER.

    A kernel without signal delivery applies the default action: terminate.
    """
    if not hasattr(kernel, "send_signal"):
        kernel.exit_process(proc, signal.SIGPIPE)
        return
    from ..tasks.signals import SigInfo
    kernel.send_signal(proc, SigInfo(signal.SIGPIPE, code=SI_USER, pid=proc.tgid), thread=True)


# ---- the fd table -----------------------------------------------------------------------

def fdtable_size(nr: int) -> int:
    """alloc_fdtable's size for a table that must hold fd `nr`: whole KiBs of 8-byte
    pointers (128 fds), rounded up to a power of two of them."""
    kib = nr // 128 + 1
    return (1 << (kib - 1).bit_length()) * 128


@dataclass(slots=True)
class FdEntry:
    file: OpenFile
    cloexec: bool = False


BITS_PER_LONG = 64
FULL_WORD = (1 << BITS_PER_LONG) - 1


class FdTable:
    """One process's file descriptors (Linux's files_struct): fd -> (open file, close-on-exec).

    The lowest free fd is found as fs/file.c's find_next_fd does, in a few steps whatever
    the table holds: `open_fds` is a bitmap of 64-bit words, and `full_fds_bits` has bit
    w set while word w is full, so a search skips whole full words at once:

        open_fds       word 0 (fds 0..63)   word 1 (64..127)   word 2 ...
        full_fds_bits  bit 0: word 0 full   bit 1: word 1 full ...

    (full_fds_bits is one Python int, so finding its lowest zero bit is one C-level step.)
    """

    probes = 0                          # words looked at by find_next_fd, over all tables (for tests)

    def __init__(self, max_fds: int = NR_OPEN_DEFAULT, *, kmem=UNBOUNDED):
        self.entries: dict[int, FdEntry] = {}
        # The table's size (fdtable.max_fds). It never shrinks while the process lives, and
        # only fork looks at which fds are open. select(2) ignores fds at or past it, so a
        # guest can see it: select on an unopened fd 99 is EBADF in a table of 128 and
        # silently nothing in a fresh table of 64.
        self.max_fds = 0
        self.open_fds: list[int] = []
        self.full_fds_bits = 0
        self.kmem = kmem
        self.users = 1                  # the tasks sharing it (threads, CLONE_FILES)
        self.nofile = NOFILE            # RLIMIT_NOFILE's soft limit: fds go up to nofile - 1
        self.resize(max_fds, nofail=True)

    def resize(self, max_fds: int, *, nofail: bool = False) -> bool:
        """Grow the table to `max_fds` slots, charging its array to kernel memory; False
        if that is exhausted."""
        if not self.kmem.charge((max_fds - self.max_fds) * FD_SLOT_COST, nofail=nofail):
            return False
        self.open_fds.extend([0] * (max_fds // BITS_PER_LONG - len(self.open_fds)))
        self.max_fds = max_fds
        return True

    def expand(self, fd: int) -> int:
        """Make room for `fd` (expand_files -> alloc_fdtable): 1 KiB of pointers at least,
        then powers of two of that, so 64 grows to 128, 256, 512 ...; -ENOMEM if kernel
        memory is exhausted."""
        if fd >= self.max_fds and not self.resize(fdtable_size(fd)):
            return -errno.ENOMEM
        return 0

    def find_next_fd(self, start: int) -> int:
        """The lowest fd >= `start` not open (it may lie past the table)."""
        word = start // BITS_PER_LONG
        FdTable.probes += 1
        if word >= len(self.open_fds):
            return start
        free = ~self.open_fds[word] & FULL_WORD & ~((1 << start % BITS_PER_LONG) - 1)
        if free:
            return word * BITS_PER_LONG + (free & -free).bit_length() - 1
        FdTable.probes += 1
        not_full = ~self.full_fds_bits >> (word + 1)             # the words after `word` not full
        word += (not_full & -not_full).bit_length()
        if word >= len(self.open_fds):
            return word * BITS_PER_LONG
        free = ~self.open_fds[word] & FULL_WORD
        return word * BITS_PER_LONG + (free & -free).bit_length() - 1

    def set_open(self, fd: int) -> None:
        word = fd // BITS_PER_LONG
        self.open_fds[word] |= 1 << fd % BITS_PER_LONG
        if self.open_fds[word] == FULL_WORD:
            self.full_fds_bits |= 1 << word

    def clear_open(self, fd: int) -> None:
        word = fd // BITS_PER_LONG
        if self.open_fds[word] == FULL_WORD:
            self.full_fds_bits &= ~(1 << word)
        self.open_fds[word] &= ~(1 << fd % BITS_PER_LONG)

    @classmethod
    def standard(cls, kernel) -> "FdTable":
        """fds 0, 1, 2: the host's stdin, stdout and stderr."""
        table = cls(kmem=kernel.kmem)
        for fd, file in enumerate((HostStdin(), HostOutput(kernel, 1), HostOutput(kernel, 2))):
            table.install_at(fd, file)
        return table

    def get(self, fd: int) -> OpenFile | None:
        entry = self.entries.get(fd)
        return entry.file if entry else None

    def install(self, file: OpenFile, *, cloexec: bool = False, lowest: int = 0) -> int:
        """Put `file` at the lowest free fd >= `lowest` (POSIX); -EMFILE if none is left
        below RLIMIT_NOFILE, -ENOMEM if the table cannot grow."""
        fd = self.find_next_fd(lowest)
        if fd >= self.nofile:
            return -errno.EMFILE
        error = self.expand(fd)
        if error:
            return error
        self.entries[fd] = FdEntry(file.get(), cloexec)
        self.set_open(fd)
        return fd

    def install_at(self, fd: int, file: OpenFile, *, cloexec: bool = False) -> int:
        """Put `file` at `fd`, closing what was there (dup2's step); -ENOMEM if the table
        cannot grow to hold it."""
        error = self.expand(fd)
        if error:
            return error
        file.get()
        old = self.entries.get(fd)
        self.entries[fd] = FdEntry(file, cloexec)
        self.set_open(fd)
        if old:
            old.file.put()
        return fd

    def close(self, fd: int) -> int:
        entry = self.entries.pop(fd, None)
        if entry is None:
            return -errno.EBADF
        self.clear_open(fd)
        entry.file.put()
        return 0

    def fork(self) -> "FdTable":
        """The child's table (dup_fd): the same open files, one more reference each, in a
        table just big enough for the highest open fd (sane_fdtable_size), so a child may
        start with a smaller table than its parent's. (Its memory is charged even when
        kernel memory is short: it is no bigger than the parent's.)"""
        open_files = (max(self.entries) // 64 + 1) * 64 if self.entries else NR_OPEN_DEFAULT
        size = NR_OPEN_DEFAULT if open_files <= NR_OPEN_DEFAULT else fdtable_size(open_files - 1)
        child = FdTable(size, kmem=self.kmem)
        child.nofile = self.nofile
        for fd, entry in self.entries.items():
            child.entries[fd] = FdEntry(entry.file.get(), entry.cloexec)
        words = len(child.open_fds)
        child.open_fds = self.open_fds[:words]
        child.full_fds_bits = self.full_fds_bits & ((1 << words) - 1)
        return child

    def close_on_exec(self) -> None:
        """execve: close every fd marked FD_CLOEXEC."""
        for fd in [fd for fd, entry in self.entries.items() if entry.cloexec]:
            self.close(fd)

    def put(self) -> None:
        """A task that used this table exits; with the last one every file is closed and
        the table's memory goes back."""
        self.users -= 1
        if not self.users:
            self.close_all()
            self.kmem.uncharge(self.max_fds * FD_SLOT_COST)
            self.max_fds = 0

    def close_all(self) -> None:
        """Drop every reference (readers and writers of pipes go away)."""
        for fd in list(self.entries):
            self.close(fd)


# ---- user memory ------------------------------------------------------------------------

def user_iovecs(kernel, proc, iov: int, iovcnt: int):
    """The (base, length) pairs of a struct iovec array, or -EINVAL / -EFAULT (import_iovec)."""
    if not 0 <= iovcnt <= IOV_MAX:
        return -errno.EINVAL
    try:
        raw = copy_from_user(proc.mm, kernel.mmu, iov, 16 * iovcnt)
    except UserFault:
        return -errno.EFAULT
    vectors = list(struct.iter_unpack("<QQ", raw))
    total = 0
    for _, length in vectors:
        total += length
        if length >= 2**63 or total >= 2**63:
            return -errno.EINVAL
    return vectors


def scatter_sink(kernel, proc, vectors):
    """A read sink that spreads its bytes over user buffers (raises UserFault)."""
    def sink(data: bytes) -> None:
        done = 0
        for base, length in vectors:
            if done >= len(data):
                break
            piece = data[done:done + length]
            copy_to_user(proc.mm, kernel.mmu, base, piece)
            done += len(piece)
    return sink


def gather(kernel, proc, vectors) -> bytes:
    """The bytes of user buffers, concatenated (raises UserFault)."""
    return b"".join(copy_from_user(proc.mm, kernel.mmu, base, length) for base, length in vectors)


# ---- read and write, with waiting -------------------------------------------------------

def do_read(kernel, proc, file: OpenFile, count: int, sink):
    """Read into `sink`; a file that would block gives -EAGAIN (O_NONBLOCK) or a Block."""
    try:
        result = file.read(kernel, proc, min(count, MAX_RW_COUNT), sink)
    except UserFault:
        return -errno.EFAULT
    if not isinstance(result, WouldBlock):
        return result
    if file.flags & O_NONBLOCK:
        return -errno.EAGAIN
    if result.instead is not None:
        return result.instead
    return Block(result.ready, lambda: do_read(kernel, proc, file, count, sink), what=f"read {file.path}",
                 release=file.get().put, wake_at=result.wake_at)


def do_write(kernel, proc, file: OpenFile, data: bytes, done: int = 0):
    """Write all of `data` (blocking writes wait for room); O_NONBLOCK stops at what fits.

    The data was copied from user memory before the first attempt, so waiting never
    touches the writer's memory again.
    """
    while done < len(data):
        result = file.write(kernel, proc, data[done:])
        if isinstance(result, WouldBlock):
            if file.flags & O_NONBLOCK:
                return done or -errno.EAGAIN
            return Block(result.ready, lambda: do_write(kernel, proc, file, data, done),
                         what=f"write {file.path}", release=file.get().put)
        if result <= 0:
            return done or result
        done += result
    return done


def fd_file(proc, fd: int, *, raw: bool = False) -> OpenFile | None:
    """The file open at `fd`, or None. An O_PATH file only names a place: as Linux's
    fdget() it is None (EBADF) for every use but those that take it `raw` (fdget_raw:
    fstat, fchdir, a *at() dirfd, AT_EMPTY_PATH, dup, the fd flags of fcntl)."""
    files = proc.files
    file = files.get(fd) if files is not None else None
    if file is not None and file.flags & O_PATH and not raw:
        return None
    return file


# ---- path lookup ------------------------------------------------------------------------

@dataclass(frozen=True)
class Lookup:
    """Where a guest path leads: its canonical components and a device opener or None;
    for a host file, `dir` (the held HostDir of its parent) and `name` (its name there,
    "." for `dir` itself), the anchor every host call on it is relative to."""
    parts: tuple
    device: object = None
    dir: object = None
    name: str = "."

    @property
    def path(self) -> str:
        return "/" + "/".join(self.parts)


@dataclass(frozen=True)
class Place:
    """A directory relative paths start at (the working directory, a dirfd): its guest
    path as last known and, for a host directory, its held HostDir (None for emu's own
    directories and without --root)."""
    path: str = "/"
    dir: object = None


def lookup(kernel, path: str, *, follow: bool = True, base: Place | None = None):
    """Resolve a guest path to a Lookup or -errno, as namei does inside a chroot.

    The walk goes from held directory fds (the root's, `base`'s), one component at a
    time (HostRoot.child: fstatat without following, openat O_NOFOLLOW): `..` at the
    root stays at the root, and a symlink is read and resolved again from the root
    (absolute) or from its directory (relative); so nothing can leave the `--root`
    directory, and no stored path string is resolved again. Paths registered in
    kernel.devices (/dev/null, /proc/...) shadow the host; without --root they are the
    only files. `follow=False` leaves a final symlink as it is (lstat, readlink,
    O_NOFOLLOW).
    """
    devices, root = kernel.devices, kernel.root
    start = start_of(kernel, None if path.startswith("/") else base)
    if isinstance(start, int):
        return start
    done, here = start
    pending = path.split("/")
    must_be_dir = path.endswith("/")
    links, final = 0, None
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            if done:
                done.pop()
            here = climb(kernel, here, done)
            if isinstance(here, int):
                return here
            continue
        if len(os.fsencode(name)) > NAME_MAX:
            return -errno.ENAMETOOLONG
        last = not any(p not in ("", ".") for p in pending)
        guest = "/" + "/".join(done + [name])
        if devices.lookup(guest) is not None:
            if not last:
                return -errno.ENOTDIR
            done.append(name)
            final = (None, name)
            continue
        if devices.is_directory(guest):
            done.append(name)
            here = root_walk(root, done)
            continue
        if here is None:
            return -errno.ENOENT
        if last:
            step = root.readlink_at(here, name)
            if step == -errno.ENOENT:
                step = None          # a missing last name: open(O_CREAT) may make it
            if isinstance(step, int):
                return step
            if step is None or not (follow or must_be_dir):
                done.append(name)
                final = (here, name)
                continue
        else:
            step = root.child(here, name, tuple(done + [name]))
            if isinstance(step, int):
                return step
        if isinstance(step, str):    # a symlink to follow
            links += 1
            if links > MAXSYMLINKS:
                return -errno.ELOOP
            pending = step.split("/") + pending
            if step.startswith("/"):
                done, here = [], root.dir
            continue
        done.append(name)
        here = step
    device = devices.lookup("/" + "/".join(done))
    if must_be_dir and device is not None:
        return -errno.ENOTDIR
    where, name = final if final is not None else (here, ".")
    return Lookup(tuple(done), device, where if device is None else None, name)


def start_of(kernel, base: Place | None):
    """([guest path components], HostDir or None) a walk starts at. A removed directory
    still is one (`.` and `..` work, names in it are the host's -ENOENT); one no longer
    under the root is -ENOENT."""
    root = kernel.root
    if base is None or base.path == "/" and base.dir is None:
        return [], (root.dir if root is not None else None)
    if base.dir is None:
        parts = [p for p in base.path.split("/") if p]
        return parts, root_walk(root, parts)
    parts = root.guest_parts(base.dir)
    if parts is None:
        if os.fstat(base.dir.fd).st_nlink != 0:
            return -errno.ENOENT
        parts = base.dir.parts
    return list(parts), base.dir


def climb(kernel, here, done: list):
    """The directory a `..` step leads to (`done` already has its name removed)."""
    if here is None or not done:
        return root_walk(kernel.root, done)
    return kernel.root.parent(here, tuple(done))


def root_walk(root, parts):
    """The HostDir at guest path `parts` walked from the root without following links,
    or None (no --root, or no such host directory: emu's own /dev, /proc)."""
    if root is None:
        return None
    here = root.dir
    for i, name in enumerate(parts):
        here = root.child(here, name, tuple(parts[:i + 1]))
        if isinstance(here, (int, str)):
            return None              # missing, not a directory, or a symlink
    return here


def resolve_at(kernel, proc, dirfd: int, path_va: int, *, follow: bool = True, empty_ok: bool = False):
    """The path argument of an *at() call: (Lookup | None for an empty path, file of dirfd) or -errno."""
    path = user_path(kernel, proc, path_va, empty_ok=empty_ok)
    if isinstance(path, int):
        return path
    return resolve_path(kernel, proc, dirfd, path, follow=follow)


def resolve_path(kernel, proc, dirfd: int, path: str, *, follow: bool = True):
    """resolve_at for a path already read from user memory."""
    dirfile = None
    if dirfd != AT_FDCWD and not path.startswith("/"):
        dirfile = fd_file(proc, dirfd, raw=True)
        if dirfile is None:
            return -errno.EBADF
    if not path:
        return None, dirfile
    base = proc.fs.cwd                  # AT_FDCWD: relative to the working directory
    if dirfile is not None:
        if not st.S_ISDIR(dirfile.stat().mode):
            return -errno.ENOTDIR
        base = Place(dirfile.path, dirfile.dir)
    found = lookup(kernel, path, follow=follow, base=base)
    return found if isinstance(found, int) else (found, dirfile)


def open_lookup(kernel, proc, found: Lookup, flags: int, mode: int):
    """An OpenFile for a resolved path, or -errno."""
    if found.device is not None:
        if flags & O_CREAT and flags & O_EXCL:
            return -errno.EEXIST
        if flags & O_DIRECTORY:
            return -errno.ENOTDIR
        return found.device(kernel, proc, flags)
    if kernel.devices.is_directory(found.path) or found.dir is None:
        return virtual_directory(found.path, flags)
    return kernel.root.open(found.dir, found.name, found.parts, flags, mode)


class DirectoryFile(OpenFile):
    """An open directory: read is -EISDIR; the offset counts entries of `listing`, and
    lseek may set it (SEEK_SET: rewinddir, seekdir) or say it (SEEK_CUR: telldir).
    `dir` is the held host directory (hostfs.HostDirectory), None for emu's own."""
    dir = None

    def read(self, kernel, proc, count, sink):
        return -errno.EISDIR

    def lseek(self, offset, whence):
        if whence == os.SEEK_SET and offset >= 0:
            self.offset = offset
        elif whence != os.SEEK_CUR or offset:
            return -errno.EINVAL
        return self.offset


class VirtualDirectory(DirectoryFile):
    """/, /dev, /proc and /proc/self without a host root: directories you can only stat."""

    def __init__(self, path, flags):
        super().__init__(flags, path)

    def listing(self, kernel):
        """What registered files put in this directory (there is no host directory)."""
        ino = self.stat().ino
        return [(".", ino, DT_DIR), ("..", ino, DT_DIR)] + [
            (name, hash(self.path + "/" + name) & 0xFFFF, d_type)
            for name, d_type in sorted(kernel.devices.children(self.path).items())]

    def stat(self):
        return Stat(st.S_IFDIR | 0o555, nlink=2, ino=hash(self.path) & 0xFFFF)


def virtual_directory(path: str, flags: int):
    if flags & O_ACCMODE != O_RDONLY or flags & O_CREAT:
        return -errno.EISDIR
    return VirtualDirectory(path, flags)


def stat_path(kernel, proc, dirfd: int, path_va: int):
    """(Lookup, Stat) of an *at() path argument, following symlinks; or -errno."""
    resolved = resolve_at(kernel, proc, dirfd, path_va)
    if isinstance(resolved, int):
        return resolved
    found, _ = resolved
    info = stat_lookup(kernel, proc, found)
    return info if isinstance(info, int) else (found, info)


def stat_lookup(kernel, proc, found: Lookup):
    """A Stat for a resolved path, without opening a host file; or -errno."""
    if found.device is None and found.dir is not None and not kernel.devices.is_directory(found.path):
        return kernel.root.lstat(found.dir, found.name)
    file = open_lookup(kernel, proc, found, O_RDONLY | O_PATH, 0)
    if isinstance(file, int):
        return file
    file.get()
    try:
        return file.stat()
    finally:
        file.put()


# ---- system calls -----------------------------------------------------------------------

def sys_read(kernel, proc, fd, buf, count, *_):
    file = fd_file(proc, fd)
    if file is None or not file.readable():
        raise SyscallError(errno.EBADF)
    return do_read(kernel, proc, file, count, lambda data: copy_to_user(proc.mm, kernel.mmu, buf, data))


def sys_write(kernel, proc, fd, buf, count, *_):
    file = fd_file(proc, fd)
    if file is None or not file.writable():
        raise SyscallError(errno.EBADF)
    data = copy_from_user(proc.mm, kernel.mmu, buf, min(count, MAX_RW_COUNT))
    return do_write(kernel, proc, file, data)


def sys_readv(kernel, proc, fd, iov, iovcnt, *_):
    file = fd_file(proc, fd)
    if file is None or not file.readable():
        raise SyscallError(errno.EBADF)
    vectors = user_iovecs(kernel, proc, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    total = sum(length for _, length in vectors)
    return do_read(kernel, proc, file, total, scatter_sink(kernel, proc, vectors)) if total else 0


def sys_writev(kernel, proc, fd, iov, iovcnt, *_):
    file = fd_file(proc, fd)
    if file is None or not file.writable():
        raise SyscallError(errno.EBADF)
    vectors = user_iovecs(kernel, proc, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    data = gather(kernel, proc, vectors)
    return do_write(kernel, proc, file, data[:MAX_RW_COUNT])


def sys_pread64(kernel, proc, fd, buf, count, offset, *_):
    file = fd_file(proc, fd)
    if file is None or not file.readable():
        raise SyscallError(errno.EBADF)
    if not isinstance(file, SeekableFile):
        raise SyscallError(errno.ESPIPE)
    if offset >= 2**63:
        raise SyscallError(errno.EINVAL)
    data = file.pread(offset, min(count, MAX_RW_COUNT))
    if isinstance(data, int):
        return data
    return put_user(kernel, proc, buf, data) or len(data)


def sys_pwrite64(kernel, proc, fd, buf, count, offset, *_):
    file = fd_file(proc, fd)
    if file is None or not file.writable():
        raise SyscallError(errno.EBADF)
    if not isinstance(file, SeekableFile):
        raise SyscallError(errno.ESPIPE)
    if offset >= 2**63:
        raise SyscallError(errno.EINVAL)
    data = copy_from_user(proc.mm, kernel.mmu, buf, min(count, MAX_RW_COUNT))
    return file.pwrite(offset, data)


def sys_open(kernel, proc, path, flags, mode, *_):
    return sys_openat(kernel, proc, AT_FDCWD, path, flags, mode)


def sys_openat(kernel, proc, dirfd, path, flags, mode, *_):
    dirfd = signed32(dirfd)
    if flags & O_PATH:
        flags &= O_PATH_FLAGS
    # O_CREAT|O_EXCL never follows a last symlink: a link there is EEXIST (build_open_flags).
    exclusive = flags & O_CREAT and flags & O_EXCL
    resolved = resolve_at(kernel, proc, dirfd, path, follow=not (flags & O_NOFOLLOW or exclusive))
    if isinstance(resolved, int):
        return resolved
    found, _ = resolved
    file = open_lookup(kernel, proc, found, flags & ~O_CLOEXEC, mode & 0o7777 & ~proc.fs.umask)
    if isinstance(file, int):
        return file
    # What F_GETFL will show (an O_PATH file keeps O_PATH_FLAGS only, no O_LARGEFILE).
    file.flags = flags & ~OPEN_ONLY_FLAGS if flags & O_PATH else (flags & ~OPEN_ONLY_FLAGS) | O_LARGEFILE
    fd = proc.files.install(file, cloexec=bool(flags & O_CLOEXEC))
    if fd < 0:
        file.get()
        file.put()           # nobody holds it: release
    return fd


def sys_close(kernel, proc, fd, *_):
    return proc.files.close(fd)


def sys_fstat(kernel, proc, fd, buf, *_):
    file = fd_file(proc, fd, raw=True)
    if file is None:
        raise SyscallError(errno.EBADF)
    return put_user(kernel, proc, buf, file.stat().pack())


def sys_stat(kernel, proc, path, buf, *_):
    return sys_newfstatat(kernel, proc, AT_FDCWD, path, buf, 0)


def sys_lstat(kernel, proc, path, buf, *_):
    return sys_newfstatat(kernel, proc, AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW)


def sys_newfstatat(kernel, proc, dirfd, path, buf, flag, *_):
    """fstatat: AT_EMPTY_PATH with "" is fstat(dirfd) (what glibc's fstat calls)."""
    if flag & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE):
        raise SyscallError(errno.EINVAL)
    dirfd = signed32(dirfd)
    resolved = resolve_at(kernel, proc, dirfd, path, follow=not flag & AT_SYMLINK_NOFOLLOW,
                          empty_ok=bool(flag & AT_EMPTY_PATH))
    if isinstance(resolved, int):
        return resolved
    found, dirfile = resolved
    if found is None:
        result = dirfile.stat() if dirfile is not None else stat_lookup(kernel, proc, lookup(kernel, ".", base=proc.fs.cwd))
    else:
        result = stat_lookup(kernel, proc, found)
    if isinstance(result, int):
        return result
    return put_user(kernel, proc, buf, result.pack())


def sys_access(kernel, proc, path, mode, *_):
    return sys_faccessat(kernel, proc, AT_FDCWD, path, mode)


def sys_faccessat(kernel, proc, dirfd, path, mode, *_):
    """We run as root: only existence, EROFS for writes to the read-only root, and X_OK."""
    if mode & ~(R_OK | W_OK | X_OK):
        raise SyscallError(errno.EINVAL)
    resolved = stat_path(kernel, proc, signed32(dirfd), path)
    if isinstance(resolved, int):
        return resolved
    found, result = resolved
    if mode & W_OK and found.device is None and not st.S_ISCHR(result.mode):
        if kernel.root is None or not kernel.root.writable:
            raise SyscallError(errno.EROFS)
    if mode & X_OK and not st.S_ISDIR(result.mode) and not result.mode & 0o111:
        raise SyscallError(errno.EACCES)        # root may execute only what someone may execute
    return 0


def sys_lseek(kernel, proc, fd, offset, whence, *_):
    file = fd_file(proc, fd)
    if file is None:
        raise SyscallError(errno.EBADF)
    if whence & 0xFFFFFFFF > SEEK_MAX:
        raise SyscallError(errno.EINVAL)          # checked before the file's llseek (ksys_lseek)
    if offset >= 2**63:
        offset -= 2**64
    return file.lseek(offset, whence)


def sys_ioctl(kernel, proc, fd, request, arg, *_):
    file = fd_file(proc, fd)
    if file is None:
        raise SyscallError(errno.EBADF)
    return file.ioctl(kernel, proc, request & 0xFFFFFFFF, arg)


def sys_pipe(kernel, proc, fds, *_):
    return sys_pipe2(kernel, proc, fds, 0)


def sys_pipe2(kernel, proc, fds, flags, *_):
    """Two fds for a new pipe, written as int[2]; on -EFAULT both are closed again."""
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise SyscallError(errno.EINVAL)
    pipe = Pipe(kernel.kmem)
    if not kernel.kmem.charge(pipe.cost()):
        raise SyscallError(errno.ENFILE)                      # create_pipe_files: get_pipe_inode failed
    status = flags & O_NONBLOCK
    cloexec = bool(flags & O_CLOEXEC)
    ends = PipeReader(pipe, status), PipeWriter(pipe, status)
    reader = proc.files.install(ends[0], cloexec=cloexec)
    writer = proc.files.install(ends[1], cloexec=cloexec) if reader >= 0 else reader
    if writer < 0:
        if reader >= 0:
            proc.files.close(reader)
        else:
            ends[0].release()
        ends[1].release()                         # (never installed: the last end frees the pipe)
        return writer
    error = put_user(kernel, proc, fds, struct.pack("<ii", reader, writer))
    if error:
        proc.files.close(reader)
        proc.files.close(writer)
    return error


def sys_dup(kernel, proc, fd, *_):
    file = fd_file(proc, fd, raw=True)
    if file is None:
        raise SyscallError(errno.EBADF)
    return proc.files.install(file)


def sys_dup2(kernel, proc, oldfd, newfd, *_):
    file = fd_file(proc, oldfd, raw=True)
    if file is None:
        raise SyscallError(errno.EBADF)
    if oldfd == newfd:
        return newfd
    return sys_dup3(kernel, proc, oldfd, newfd, 0)


def sys_dup3(kernel, proc, oldfd, newfd, flags, *_):
    if flags & ~O_CLOEXEC:
        raise SyscallError(errno.EINVAL)
    if oldfd == newfd:
        raise SyscallError(errno.EINVAL)
    file = fd_file(proc, oldfd, raw=True)
    if file is None or not 0 <= newfd < proc.files.nofile:
        raise SyscallError(errno.EBADF)
    return proc.files.install_at(newfd, file, cloexec=bool(flags & O_CLOEXEC))


def sys_fcntl(kernel, proc, fd, cmd, arg, *_):
    files = proc.files
    entry = files.entries.get(fd) if files is not None else None
    if entry is None:
        raise SyscallError(errno.EBADF)
    if entry.file.flags & O_PATH and cmd not in (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL):
        raise SyscallError(errno.EBADF)                       # check_fcntl_cmd: what an O_PATH fd allows
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= files.nofile:
            raise SyscallError(errno.EINVAL)
        return files.install(entry.file, cloexec=cmd == F_DUPFD_CLOEXEC, lowest=arg)
    if cmd in (F_SETPIPE_SZ, F_GETPIPE_SZ):
        if not isinstance(entry.file, PipeEnd):
            raise SyscallError(errno.EBADF)                   # pipe_fcntl: get_pipe_info found no pipe
        pipe = entry.file.pipe
        return pipe.capacity if cmd == F_GETPIPE_SZ else pipe.resize(arg & 0xFFFFFFFF)
    if cmd == F_GETFD:
        return FD_CLOEXEC if entry.cloexec else 0
    if cmd == F_SETFD:
        entry.cloexec = bool(arg & FD_CLOEXEC)
        return 0
    if cmd == F_GETFL:
        return entry.file.flags
    if cmd == F_SETFL:
        file = entry.file
        file.flags = (file.flags & ~SETFL_MASK) | (arg & SETFL_MASK)
        return 0
    raise SyscallError(errno.EINVAL)          # simplification: no locks, owners, leases or seals


def sys_readlink(kernel, proc, path, buf, bufsiz, *_):
    return sys_readlinkat(kernel, proc, AT_FDCWD, path, buf, bufsiz)


def sys_readlinkat(kernel, proc, dirfd, path, buf, bufsiz, *_):
    """The target of a symlink, not NUL-terminated, cut to `bufsiz`; -EINVAL if not a link."""
    if signed32(bufsiz) <= 0:
        raise SyscallError(errno.EINVAL)
    resolved = resolve_at(kernel, proc, signed32(dirfd), path, follow=False)
    if isinstance(resolved, int):
        return resolved
    found, _ = resolved
    if found.device is not None:
        target = kernel.devices.readlink(found.path, kernel, proc)
    elif found.dir is not None and not kernel.devices.is_directory(found.path):
        target = kernel.root.readlink_at(found.dir, found.name)
    else:
        target = None
    if isinstance(target, int):
        return target
    if target is None:
        raise SyscallError(errno.EINVAL)
    data = os.fsencode(target)[:bufsiz]
    return put_user(kernel, proc, buf, data) or len(data)


DIRENT64 = struct.Struct("<QqHB")          # d_ino, d_off, d_reclen, d_type; then the name and a NUL


def sys_getdents64(kernel, proc, fd, dirp, count, *_):
    """The next entries of an open directory as struct linux_dirent64 records, each padded
    to 8 bytes. The file offset counts entries: d_off is the next one's index."""
    file = fd_file(proc, fd)
    if file is None:
        raise SyscallError(errno.EBADF)
    entries = file.listing(kernel)
    if isinstance(entries, int):
        return entries
    out = bytearray()
    index = file.offset
    while index < len(entries):
        name, ino, d_type = entries[index]
        raw = os.fsencode(name) + b"\0"
        reclen = (DIRENT64.size + len(raw) + 7) & ~7
        if len(out) + reclen > count:
            break
        out += (DIRENT64.pack(ino or index + 1, index + 1, reclen, d_type) + raw).ljust(reclen, b"\0")
        index += 1
    if not out and index < len(entries):
        raise SyscallError(errno.EINVAL)                  # the buffer cannot hold one entry
    if put_user(kernel, proc, dirp, bytes(out)):
        raise SyscallError(errno.EFAULT)
    file.offset = index
    return len(out)


def sys_getcwd(kernel, proc, buf, size, *_):
    """The working directory where it is now (a rename of it or of a parent shows); the
    result counts the NUL (the raw syscall, not glibc's). A removed one is -ENOENT, one
    no longer under the root "(unreachable)..." (d_path)."""
    cwd = os.fsencode(cwd_path(kernel, proc.fs.cwd)) if proc.fs.cwd is not None else b"/"
    if cwd == b"":
        raise SyscallError(errno.ENOENT)
    cwd += b"\0"
    if size < len(cwd):
        raise SyscallError(errno.ERANGE)
    return put_user(kernel, proc, buf, cwd) or len(cwd)


def cwd_path(kernel, place: Place) -> str:
    """getcwd's text for `place`: "" if the directory was removed."""
    if place.dir is None:
        return place.path
    parts = kernel.root.guest_parts(place.dir)
    if parts is not None:
        return "/" + "/".join(parts)
    if os.fstat(place.dir.fd).st_nlink == 0:
        return ""
    return "(unreachable)" + place.path


def sys_chdir(kernel, proc, path_va, *_):
    resolved = stat_path(kernel, proc, AT_FDCWD, path_va)
    if isinstance(resolved, int):
        return resolved
    found, info = resolved
    if not st.S_ISDIR(info.mode):
        raise SyscallError(errno.ENOTDIR)
    held = None
    if found.dir is not None and not kernel.devices.is_directory(found.path):
        held = kernel.root.open_dir(found.dir, found.name, found.parts)
        if isinstance(held, int):
            return held
    proc.fs.cwd = Place(found.path, held)
    return 0


def sys_fchdir(kernel, proc, fd, *_):
    """The directory open at fd, itself (its held host fd), not its path."""
    file = fd_file(proc, signed32(fd), raw=True)
    if file is None:
        raise SyscallError(errno.EBADF)
    if not isinstance(file, DirectoryFile) or not st.S_ISDIR(file.stat().mode):
        raise SyscallError(errno.ENOTDIR)
    proc.fs.cwd = Place(file.path, file.dir)
    return 0


def signed32(value: int) -> int:
    """An int argument (AT_FDCWD is -100) from a 64-bit register."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value
