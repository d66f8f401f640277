"""epoll, eventfd, timerfd and signalfd (fs/eventpoll.c, fs/eventfd.c, fs/timerfd.c,
fs/signalfd.c).

An epoll instance is an open file holding an interest list: (fd, file) -> the events
asked for and the caller's 64-bit data. epoll_wait asks each file's `poll()` (as
poll(2) does), so readiness is level-triggered by nature; the other modes are built on
it:
- EPOLLET reports a file only when something happened to it since the last report: a
  file's `poll_generation(events)` counts the wake-ups that concern those events (data
  written wakes readers, room made wakes writers), as Linux's wake-up keys filter them;
- EPOLLONESHOT disables the entry after one report, until EPOLL_CTL_MOD arms it again;
- a level-triggered entry that was reported goes to the end of the list, as Linux
  re-queues it, so one busy file does not starve the others when maxevents is small.
An entry goes when its file is closed for good (the last reference), not when one fd
of it is closed. Files with no poll op (regular files, /dev/null, /proc files) are
-EPERM, as on Linux.

An eventfd is a 64-bit counter: write adds, read takes it all (or 1 with EFD_SEMAPHORE),
a read of 0 waits, a write that would pass 2^64 - 2 waits.

A timerfd counts its timer's expirations, worked out from its clock whenever it is
looked at (read, poll, the scheduler asking `wake_time()` when to look again): a read
takes the count, or waits for the next expiry.

A signalfd reads pending signals of its mask (the reader's own first, then the
process's) as 128-byte signalfd_siginfo records, instead of their delivery; they are
normally blocked. Linux's poll looks at the polling task's signals: emu looks at those of
the task that last read or made the signalfd, the same task in a program that uses it
from one thread.
"""

import errno
import struct
import time
from dataclasses import dataclass

from ..arch.syscall import SyscallError
from .vfs import (O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM,
                  OpenFile, Stat, WouldBlock, fd_file, next_ino, signed32)
from ..arch.uaccess import UserFault, copy_from_user, put_user
from ..tasks.clock import CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCKS, NS, TIMESPEC, user_timespec
from ..mm.kmem import EP_ITEM_COST, FILE_COST, UNBOUNDED
from .poll import user_sigmask, wait
from ..tasks.sched import Block
from ..tasks.signals import UNBLOCKABLE

EPOLL_EVENT = struct.Struct("<IQ")          # struct epoll_event is packed on x86-64: 12 bytes
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
EPOLL_CLOEXEC = O_CLOEXEC
EP_MAX_NESTS = 4
EP_MAX_EVENTS = 0x7FFF_FFFF // EPOLL_EVENT.size
# What EPOLLEXCLUSIVE may come with (ep_exclusive_ok's EPOLLEXCLUSIVE_OK_BITS).
EXCLUSIVE_OK = POLLIN | POLLOUT | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE | 0x40 | 0x100
ALWAYS = POLLERR | POLLHUP                  # reported whether asked for or not
EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK = 1, O_CLOEXEC, O_NONBLOCK
EVENTFD_MAX = (1 << 64) - 2
ANON_INODE_DEV = 0x0E                       # anon_inodefs
ANON_FILE_COST = FILE_COST + 128            # a struct file and the object behind it (eventfd_ctx ...)


class AnonFile(OpenFile):
    """What epoll, eventfd and timerfd files share: an anonymous inode, and an lseek
    that does nothing (noop_llseek: the position, 0)."""
    pollable = True
    kmem = UNBOUNDED                        # where its memory was charged (install_anon)
    charged = 0

    def lseek(self, offset, whence):
        return self.offset

    def release(self):
        self.kmem.uncharge(self.charged)
        self.charged = 0

    def stat(self):
        return Stat(0o600, dev=ANON_INODE_DEV, ino=self.ino)


@dataclass(eq=False)
class Interest:
    fd: int
    file: OpenFile
    events: int
    data: int
    seen: int = -1            # EPOLLET: the file's poll_generation() at the last report
    armed: bool = True        # EPOLLONESHOT: false once reported
    requeued: int | None = None   # its place on the ready list (None: not on it)


def max_user_watches(kmem) -> int:
    """fs.epoll.max_user_watches (eventpoll_init): 4% of RAM in epoll items."""
    return (kmem.total_pages() // 25 << 12) // EP_ITEM_COST


class EpollFile(AnonFile):
    def __init__(self, flags: int):
        super().__init__(O_RDWR | flags, "anon_inode:[eventpoll]")
        self.interest: dict = {}            # (fd, id(file)) -> Interest, oldest first
        self.ino = next_ino()
        self.reports = 0                    # counts reports: the ready list's order

    def release(self):
        for key in list(self.interest):
            self.drop(key)
        self.kmem.epolls.discard(self)
        super().release()

    def add(self, key, entry: Interest) -> int:
        """ep_insert: a new item, counted in the user's epoll_watches and charged to kernel
        memory: -ENOSPC past max_user_watches, -ENOMEM if memory is exhausted."""
        kmem = self.kmem
        if kmem.epoll_watches >= max_user_watches(kmem):
            for epoll in list(kmem.epolls):         # items of closed files still count: sweep them
                epoll.live()
            if kmem.epoll_watches >= max_user_watches(kmem):
                return -errno.ENOSPC
        if not kmem.charge(EP_ITEM_COST):
            return -errno.ENOMEM
        kmem.epoll_watches += 1
        self.interest[key] = entry
        return 0

    def drop(self, key) -> None:
        """An item goes (EPOLL_CTL_DEL, its file's last close, or the epoll's)."""
        del self.interest[key]
        self.kmem.epoll_watches -= 1
        self.kmem.uncharge(EP_ITEM_COST)

    def live(self) -> list:
        """The entries whose files are still open (an entry goes with its file's last close)."""
        for key, entry in list(self.interest.items()):
            if entry.file.refcount <= 0:
                self.drop(key)
        return list(self.interest.values())

    def ready(self, entry: Interest) -> int:
        """The events `entry` would report now (0: none)."""
        if not entry.armed:
            return 0
        events = entry.file.poll() & (entry.events | ALWAYS)
        if events and entry.events & EPOLLET and entry.file.poll_generation(entry.events) == entry.seen:
            return 0                         # nothing happened since the last report
        return events

    def harvest(self, limit: int) -> list:
        """Up to `limit` (events, data) pairs, updating the entries as a report does, in
        the ready list's order: an entry joins the list's tail when it is first seen ready
        (emu sees no event's moment: those found at one look join in the order they were
        added), leaves it when it is not ready, and a reported level-triggered entry goes
        back to the tail, after the ready ones not reported yet (ep_send_events)."""
        ready = []
        for entry in self.live():
            events = self.ready(entry)
            if not events:
                entry.requeued = None                # off the ready list
                continue
            if entry.requeued is None:
                self.reports += 1
                entry.requeued = self.reports
            ready.append((entry.requeued, events, entry))
        found = []
        for _, events, entry in sorted(ready, key=lambda item: item[0])[:limit]:
            found.append((events, entry.data))
            entry.seen = entry.file.poll_generation(entry.events)
            self.reports += 1
            entry.requeued = None
            if entry.events & EPOLLONESHOT:
                entry.armed = False
            elif not entry.events & EPOLLET:         # level-triggered: back at the tail
                entry.requeued = self.reports
        return found

    def poll(self):
        """An epoll fd is readable when one of its entries is ready (nested epoll)."""
        return POLLIN | POLLRDNORM if any(self.ready(entry) for entry in self.live()) else 0

    def poll_generation(self, events=~0):
        return sum(entry.file.poll_generation(entry.events) for entry in self.live())

    def watched_files(self) -> list:
        """Every file this epoll watches, through nested ones too."""
        files = []
        for entry in self.live():
            files += entry.file.watched_files() if isinstance(entry.file, EpollFile) else [entry.file]
        return files

    def wake_time(self):
        return min(filter(None, (file.wake_time() for file in self.watched_files())), default=None)

    def reaches(self, other: "EpollFile", depth: int = 0) -> int | None:
        """The nesting depth at which `other` is watched from here, or None (loop checks)."""
        if self is other:
            return depth
        for entry in self.live():
            if isinstance(entry.file, EpollFile):
                found = entry.file.reaches(other, depth + 1)
                if found is not None:
                    return found
        return None

    def depth(self) -> int:
        return max((entry.file.depth() + 1 for entry in self.live() if isinstance(entry.file, EpollFile)), default=0)


class EventFile(AnonFile):
    def __init__(self, value: int, flags: int, semaphore: bool):
        super().__init__(O_RDWR | flags, "anon_inode:[eventfd]")
        self.value = value
        self.semaphore = semaphore
        self.in_changes = self.out_changes = 0      # writes wake readers, reads wake writers
        self.ino = next_ino()

    def read(self, kernel, proc, count, sink):
        if count < 8:
            return -errno.EINVAL
        if self.value == 0:
            return WouldBlock(lambda: self.value > 0)
        taken = 1 if self.semaphore else self.value
        sink(struct.pack("<Q", taken))
        self.value -= taken
        self.out_changes += 1
        return 8

    def write(self, kernel, proc, data):
        if len(data) != 8:                  # exactly one 8-byte value (a read may ask for more)
            return -errno.EINVAL
        added = struct.unpack("<Q", data)[0]
        if added == (1 << 64) - 1:
            return -errno.EINVAL
        if self.value + added > EVENTFD_MAX:
            return WouldBlock(lambda: self.value + added <= EVENTFD_MAX)
        self.value += added
        self.in_changes += 1
        return 8

    def poll(self):
        return ((POLLIN | POLLRDNORM if self.value else 0) |
                (POLLOUT | POLLWRNORM if self.value < EVENTFD_MAX else 0))

    def poll_generation(self, events=~0):
        return (self.in_changes if events & (POLLIN | POLLRDNORM) else 0) + \
            (self.out_changes if events & (POLLOUT | POLLWRNORM) else 0)

TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
TFD_CLOEXEC, TFD_NONBLOCK = O_CLOEXEC, O_NONBLOCK
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
# The clocks a timerfd may use; the _ALARM ones (root only, which everyone is) tick as
# their plain twins: emu has no suspend to wake from.
TIMERFD_CLOCKS = {CLOCK_REALTIME: CLOCK_REALTIME, CLOCK_MONOTONIC: CLOCK_MONOTONIC, CLOCK_BOOTTIME: CLOCK_BOOTTIME,
                  CLOCK_REALTIME_ALARM: CLOCK_REALTIME, CLOCK_BOOTTIME_ALARM: CLOCK_BOOTTIME}
ITIMERSPEC = struct.Struct("<qqqq")         # it_interval, it_value: two timespecs


class TimerFile(AnonFile):
    def __init__(self, clock: int, flags: int):
        super().__init__(O_RDWR | flags, "anon_inode:[timerfd]")
        self.clock = clock
        self.next_ns: int | None = None     # the next expiry on the timer's clock; None: disarmed
        self.interval_ns = 0
        self.ticks = 0                      # expirations not read yet
        self.changes = 0
        self.ino = next_ino()

    def now(self) -> int:
        return CLOCKS[self.clock][0]()

    def update(self) -> None:
        """Count the expirations up to now, and move the next one on (or disarm)."""
        if self.next_ns is None:
            return
        now = self.now()
        if now < self.next_ns:
            return
        if self.interval_ns:
            passed = 1 + (now - self.next_ns) // self.interval_ns
            self.next_ns += passed * self.interval_ns
        else:
            passed, self.next_ns = 1, None
        self.ticks += passed
        self.changes += 1

    def read(self, kernel, proc, count, sink):
        if count < 8:
            return -errno.EINVAL
        self.update()
        if not self.ticks:
            return WouldBlock(lambda: (self.update(), self.ticks > 0)[1], wake_at=self.wake_time)
        sink(struct.pack("<Q", self.ticks))
        self.ticks = 0
        return 8

    def poll(self):
        self.update()
        return POLLIN | POLLRDNORM if self.ticks else 0

    def poll_generation(self, events=~0):
        self.update()
        return self.changes                 # (only expiries and re-arms: readers' wake-ups)

    def wake_time(self):
        self.update()                       # (an expired one moves on, or is disarmed)
        if self.next_ns is None:
            return None
        return time.monotonic() + max(0, self.next_ns - self.now()) / NS

    def settime(self, absolute: bool, interval_ns: int, value_ns: int) -> tuple:
        """Arm (or with value 0 disarm) the timer; expirations not read are dropped. The old
        setting comes back as gettime gives it."""
        old = self.gettime()
        self.ticks, self.interval_ns = 0, interval_ns
        self.next_ns = None if not value_ns else value_ns if absolute else self.now() + value_ns
        self.changes += 1
        return old

    def gettime(self) -> tuple:
        """(interval, time to the next expiry) in ns; 0 for a disarmed timer."""
        self.update()
        return self.interval_ns, 0 if self.next_ns is None else max(1, self.next_ns - self.now())


SFD_CLOEXEC, SFD_NONBLOCK = O_CLOEXEC, O_NONBLOCK
SIGNALFD_SIGINFO_SIZE = 128


class SignalFile(AnonFile):
    def __init__(self, task, mask: int, flags: int):
        super().__init__(O_RDWR | flags, "anon_inode:[signalfd]")
        self.task = task
        self.mask = mask & ~UNBLOCKABLE
        self.ino = next_ino()

    def next_signal(self, task) -> int | None:
        return task.signals.first_pending(self.mask)

    def read(self, kernel, proc, count, sink):
        if count < SIGNALFD_SIGINFO_SIZE:
            return -errno.EINVAL
        self.task = proc
        records = []
        while len(records) < count // SIGNALFD_SIGINFO_SIZE:
            sig = self.next_signal(proc)
            if sig is None:
                break
            records.append(pack_signalfd_siginfo(proc.signals.take(sig)))
        if not records:
            return WouldBlock(lambda: self.next_signal(proc) is not None)
        data = b"".join(records)
        sink(data)
        return len(data)

    def poll(self):
        return POLLIN | POLLRDNORM if self.task.alive and self.next_signal(self.task) is not None else 0

    def poll_generation(self, events=~0):
        signals = self.task.signals
        return len(signals.pending) + len(signals.shared_pending)


def pack_signalfd_siginfo(info) -> bytes:
    """struct signalfd_siginfo: signo, errno, code, pid, uid, fd, tid, band, overrun, trapno,
    status, int, ptr, utime, stime, addr, addr_lsb ... (128 bytes)."""
    return struct.pack("<IiiIIiIIIIiiQQQQH", info.signo, 0, info.code, info.pid, info.uid, 0, 0, 0, 0, 0,
                       info.status, 0, 0, 0, 0, info.addr, 0).ljust(SIGNALFD_SIGINFO_SIZE, b"\0")


# ---- system calls -------------------------------------------------------------------------

def install_anon(kernel, proc, file: AnonFile, *, cloexec: bool) -> int:
    """A new fd for an eventfd, epoll, timerfd or signalfd, its memory charged to kernel
    memory: -ENOMEM if that is exhausted, as their kzalloc failing."""
    if not kernel.kmem.charge(ANON_FILE_COST):
        return -errno.ENOMEM
    file.kmem, file.charged = kernel.kmem, ANON_FILE_COST
    fd = proc.files.install(file, cloexec=cloexec)
    if fd < 0:
        file.release()
    return fd


def sys_eventfd2(kernel, proc, initval, flags, *_):
    if flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK):
        raise SyscallError(errno.EINVAL)
    file = EventFile(initval & 0xFFFF_FFFF, flags & EFD_NONBLOCK, bool(flags & EFD_SEMAPHORE))
    return install_anon(kernel, proc, file, cloexec=bool(flags & EFD_CLOEXEC))


def sys_eventfd(kernel, proc, initval, *_):
    return sys_eventfd2(kernel, proc, initval, 0)


def sys_epoll_create1(kernel, proc, flags, *_):
    if flags & ~EPOLL_CLOEXEC:
        raise SyscallError(errno.EINVAL)
    epoll = EpollFile(0)
    fd = install_anon(kernel, proc, epoll, cloexec=bool(flags & EPOLL_CLOEXEC))
    if fd >= 0:
        kernel.kmem.epolls.add(epoll)
    return fd


def sys_epoll_create(kernel, proc, size, *_):
    if signed32(size) <= 0:
        raise SyscallError(errno.EINVAL)                # the size is only checked, as since 2.6.8
    return sys_epoll_create1(kernel, proc, 0)


def sys_epoll_ctl(kernel, proc, epfd, op, fd, event_va, *_):
    epfd, op, fd = signed32(epfd), signed32(op), signed32(fd)
    events = data = 0
    if op in (EPOLL_CTL_ADD, EPOLL_CTL_MOD):
        events, data = EPOLL_EVENT.unpack(copy_from_user(proc.mm, kernel.mmu, event_va, EPOLL_EVENT.size))
    epoll, file = fd_file(proc, epfd), fd_file(proc, fd)
    if epoll is None or file is None:
        raise SyscallError(errno.EBADF)
    if not getattr(file, "pollable", False):
        raise SyscallError(errno.EPERM)                 # a file without a poll op
    if not isinstance(epoll, EpollFile) or file is epoll or op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        raise SyscallError(errno.EINVAL)
    if events & EPOLLEXCLUSIVE and (op == EPOLL_CTL_MOD or events & ~EXCLUSIVE_OK or isinstance(file, EpollFile)):
        raise SyscallError(errno.EINVAL)
    key = (fd, id(file))
    entry = epoll.interest.get(key)
    if entry is not None and entry.file.refcount <= 0:
        entry = None
    if op == EPOLL_CTL_ADD:
        if entry is not None:
            raise SyscallError(errno.EEXIST)
        if isinstance(file, EpollFile) and (file.reaches(epoll) is not None or file.depth() + 1 > EP_MAX_NESTS):
            raise SyscallError(errno.ELOOP)             # a loop of epoll instances, or too deep a nest
        return epoll.add(key, Interest(fd, file, events, data))
    if entry is None:
        raise SyscallError(errno.ENOENT)
    if op == EPOLL_CTL_DEL:
        epoll.drop(key)
        return 0
    if entry.events & EPOLLEXCLUSIVE:
        raise SyscallError(errno.EINVAL)                # (an exclusive entry cannot be modified)
    entry.events, entry.data, entry.armed, entry.seen, entry.requeued = events, data, True, -1, None
    return 0


def do_epoll_wait(kernel, proc, epfd, events_va, maxevents, timeout, sigmask):
    epoll = fd_file(proc, signed32(epfd))
    maxevents = signed32(maxevents)
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        return -errno.EINVAL
    if epoll is None:
        return -errno.EBADF
    if not isinstance(epoll, EpollFile):
        return -errno.EINVAL

    def check(final: bool, probe: bool = False):
        if probe:
            return 1 if any(epoll.ready(entry) for entry in epoll.live()) else None
        found = epoll.harvest(maxevents)
        if not found and not final:
            return None
        if found and put_user(kernel, proc, events_va, b"".join(EPOLL_EVENT.pack(*pair) for pair in found)):
            return -errno.EFAULT
        return len(found)

    result = wait(check, timeout, "epoll_wait", proc, sigmask, lambda: epoll.watched_files())
    if isinstance(result, Block):                # the wait holds the epoll file (a close meanwhile
        result.release = epoll.get().put         # by another thread does not end it)
    return result


def sys_epoll_wait(kernel, proc, epfd, events_va, maxevents, timeout_ms, *_):
    return sys_epoll_pwait(kernel, proc, epfd, events_va, maxevents, timeout_ms, 0, 8)


def sys_epoll_pwait(kernel, proc, epfd, events_va, maxevents, timeout_ms, sigmask_va, sigsetsize, *_):
    """The timeout in milliseconds (negative: for ever)."""
    timeout_ms = signed32(timeout_ms)
    return epoll_wait_with(kernel, proc, epfd, events_va, maxevents, sigmask_va, sigsetsize,
                           lambda: None if timeout_ms < 0 else timeout_ms / 1000)


def sys_epoll_pwait2(kernel, proc, epfd, events_va, maxevents, timeout_va, sigmask_va, sigsetsize, *_):
    """The timeout as a struct timespec (NULL: for ever)."""
    return epoll_wait_with(kernel, proc, epfd, events_va, maxevents, sigmask_va, sigsetsize,
                           lambda: user_timespec(kernel, proc, timeout_va))


def epoll_wait_with(kernel, proc, epfd, events_va, maxevents, sigmask_va, sigsetsize, read_timeout):
    try:
        sigmask = user_sigmask(kernel, proc, sigmask_va, sigsetsize)
        timeout = read_timeout()
    except UserFault:
        return -errno.EFAULT
    if -errno.EINVAL in (sigmask, timeout):
        return -errno.EINVAL
    return do_epoll_wait(kernel, proc, epfd, events_va, maxevents, timeout, sigmask)


def sys_timerfd_create(kernel, proc, clockid, flags, *_):
    clockid = signed32(clockid)
    if clockid not in TIMERFD_CLOCKS or flags & ~(TFD_CLOEXEC | TFD_NONBLOCK):
        raise SyscallError(errno.EINVAL)
    file = TimerFile(TIMERFD_CLOCKS[clockid], flags & TFD_NONBLOCK)
    return install_anon(kernel, proc, file, cloexec=bool(flags & TFD_CLOEXEC))


def timer_file(proc, fd):
    file = fd_file(proc, signed32(fd))
    if file is None:
        return -errno.EBADF
    return file if isinstance(file, TimerFile) else -errno.EINVAL


def pack_itimerspec(interval_ns: int, value_ns: int) -> bytes:
    return TIMESPEC.pack(*divmod(interval_ns, NS)) + TIMESPEC.pack(*divmod(value_ns, NS))


def sys_timerfd_settime(kernel, proc, fd, flags, new_va, old_va, *_):
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise SyscallError(errno.EINVAL)
    interval_s, interval_ns, value_s, value_ns = ITIMERSPEC.unpack(
        copy_from_user(proc.mm, kernel.mmu, new_va, ITIMERSPEC.size))
    if min(interval_s, value_s) < 0 or not (0 <= interval_ns < NS and 0 <= value_ns < NS):
        raise SyscallError(errno.EINVAL)                # (checked before the fd, as timerfd_settime does)
    file = timer_file(proc, fd)
    if isinstance(file, int):
        return file
    old = file.settime(bool(flags & TFD_TIMER_ABSTIME), interval_s * NS + interval_ns, value_s * NS + value_ns)
    if old_va and put_user(kernel, proc, old_va, pack_itimerspec(*old)):
        raise SyscallError(errno.EFAULT)
    return 0


def sys_timerfd_gettime(kernel, proc, fd, curr_va, *_):
    file = timer_file(proc, fd)
    if isinstance(file, int):
        return file
    return put_user(kernel, proc, curr_va, pack_itimerspec(*file.gettime()))


def sys_signalfd4(kernel, proc, fd, mask_va, sizemask, flags, *_):
    """A new signalfd (fd -1) or a new mask for an existing one."""
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK) or sizemask != 8:
        raise SyscallError(errno.EINVAL)
    mask = struct.unpack("<Q", copy_from_user(proc.mm, kernel.mmu, mask_va, 8))[0]
    fd = signed32(fd)
    if fd != -1:
        file = fd_file(proc, fd)
        if file is None:
            raise SyscallError(errno.EBADF)
        if not isinstance(file, SignalFile):
            raise SyscallError(errno.EINVAL)
        file.mask = mask & ~UNBLOCKABLE
        return fd
    return install_anon(kernel, proc, SignalFile(proc, mask, flags & SFD_NONBLOCK), cloexec=bool(flags & SFD_CLOEXEC))


def sys_signalfd(kernel, proc, fd, mask_va, sizemask, *_):
    return sys_signalfd4(kernel, proc, fd, mask_va, sizemask, 0)
