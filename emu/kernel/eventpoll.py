"""epoll and eventfd (fs/eventpoll.c, fs/eventfd.c).

An epoll instance is an open file holding an interest list: (fd, file) -> the events
asked for and the caller's 64-bit data. epoll_wait asks each file's `poll()` (as
poll(2) does), so readiness is level-triggered by nature; the other modes are built on
it:
- EPOLLET reports a file only when something happened to it since the last report: a
  file's `poll_generation()` counts its changes (a pipe counts every read, write and
  close), as each of those is a wake-up on Linux;
- EPOLLONESHOT disables the entry after one report, until EPOLL_CTL_MOD arms it again;
- a level-triggered entry that was reported goes to the end of the list, as Linux
  re-queues it, so one busy file does not starve the others when maxevents is small.
An entry goes when its file is closed for good (the last reference), not when one fd
of it is closed. Files with no poll op (regular files, /dev/null, /proc files) are
-EPERM, as on Linux.

An eventfd is a 64-bit counter: write adds, read takes it all (or 1 with EFD_SEMAPHORE),
a read of 0 waits, a write that would pass 2^64 - 2 waits.
"""

import errno
import struct
from dataclasses import dataclass

from .fs import (O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM,
                 OpenFile, Stat, WouldBlock, fd_file, next_ino, put_user, signed32)
from .clock import user_timespec
from .mm import UserFault, copy_from_user
from .poll import user_sigmask, wait

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


@dataclass(eq=False)
class Interest:
    fd: int
    file: OpenFile
    events: int
    data: int
    seen: int = -1            # EPOLLET: the file's poll_generation() at the last report
    armed: bool = True        # EPOLLONESHOT: false once reported
    requeued: int | None = None   # level-triggered and reported: its place on the ready list


class EpollFile(OpenFile):
    pollable = True

    def __init__(self, flags: int):
        super().__init__(O_RDWR | flags, "anon_inode:[eventpoll]")
        self.interest: dict = {}            # (fd, id(file)) -> Interest, oldest first
        self.ino = next_ino()
        self.reports = 0                    # counts reports: the ready list's order

    def release(self):
        self.interest.clear()

    def live(self) -> list:
        """The entries whose files are still open (an entry goes with its file's last close)."""
        for key, entry in list(self.interest.items()):
            if entry.file.refcount <= 0:
                del self.interest[key]
        return list(self.interest.values())

    def ready(self, entry: Interest) -> int:
        """The events `entry` would report now (0: none)."""
        if not entry.armed:
            return 0
        events = entry.file.poll() & (entry.events | ALWAYS)
        if events and entry.events & EPOLLET and entry.file.poll_generation() == entry.seen:
            return 0                         # nothing happened since the last report
        return events

    def harvest(self, limit: int) -> list:
        """Up to `limit` (events, data) pairs, updating the entries as a report does. The
        order is the ready list's: entries put back on it by an earlier report first (a
        level-triggered entry goes back at its tail), then the ones an event made ready,
        in the order they were added (an approximation: emu sees no event's moment)."""
        entries = self.live()
        order = sorted(range(len(entries)),
                       key=lambda i: (0, entries[i].requeued) if entries[i].requeued is not None else (1, i))
        found = []
        for entry in (entries[i] for i in order):
            if len(found) == limit:
                break
            events = self.ready(entry)
            if not events:
                entry.requeued = None                # off the ready list
                continue
            found.append((events, entry.data))
            entry.seen = entry.file.poll_generation()
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

    def poll_generation(self):
        return sum(entry.file.poll_generation() for entry in self.live())

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

    def stat(self):
        return Stat(0o600, dev=ANON_INODE_DEV, ino=self.ino)


class EventFile(OpenFile):
    pollable = True

    def __init__(self, value: int, flags: int, semaphore: bool):
        super().__init__(O_RDWR | flags, "anon_inode:[eventfd]")
        self.value = value
        self.semaphore = semaphore
        self.changes = 0
        self.ino = next_ino()

    def read(self, kernel, proc, count, sink):
        if count < 8:
            return -errno.EINVAL
        if self.value == 0:
            return WouldBlock(lambda: self.value > 0)
        taken = 1 if self.semaphore else self.value
        sink(struct.pack("<Q", taken))
        self.value -= taken
        self.changes += 1
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
        self.changes += 1
        return 8

    def poll(self):
        return ((POLLIN | POLLRDNORM if self.value else 0) |
                (POLLOUT | POLLWRNORM if self.value < EVENTFD_MAX else 0))

    def poll_generation(self):
        return self.changes

    def stat(self):
        return Stat(0o600, dev=ANON_INODE_DEV, ino=self.ino)


# ---- system calls -------------------------------------------------------------------------

def sys_eventfd2(kernel, proc, initval, flags, *_):
    if flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK):
        return -errno.EINVAL
    file = EventFile(initval & 0xFFFF_FFFF, flags & EFD_NONBLOCK, bool(flags & EFD_SEMAPHORE))
    return proc.files.install(file, cloexec=bool(flags & EFD_CLOEXEC))


def sys_eventfd(kernel, proc, initval, *_):
    return sys_eventfd2(kernel, proc, initval, 0)


def sys_epoll_create1(kernel, proc, flags, *_):
    if flags & ~EPOLL_CLOEXEC:
        return -errno.EINVAL
    return proc.files.install(EpollFile(0), cloexec=bool(flags & EPOLL_CLOEXEC))


def sys_epoll_create(kernel, proc, size, *_):
    if signed32(size) <= 0:
        return -errno.EINVAL                # the size is only checked, as since 2.6.8
    return sys_epoll_create1(kernel, proc, 0)


def sys_epoll_ctl(kernel, proc, epfd, op, fd, event_va, *_):
    epfd, op, fd = signed32(epfd), signed32(op), signed32(fd)
    events = data = 0
    if op in (EPOLL_CTL_ADD, EPOLL_CTL_MOD):
        try:
            events, data = EPOLL_EVENT.unpack(copy_from_user(proc.mm, kernel.mmu, event_va, EPOLL_EVENT.size))
        except UserFault:
            return -errno.EFAULT
    epoll, file = fd_file(proc, epfd), fd_file(proc, fd)
    if epoll is None or file is None:
        return -errno.EBADF
    if not getattr(file, "pollable", False):
        return -errno.EPERM                 # a file without a poll op
    if not isinstance(epoll, EpollFile) or file is epoll or op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        return -errno.EINVAL
    if events & EPOLLEXCLUSIVE and (op == EPOLL_CTL_MOD or events & ~EXCLUSIVE_OK or isinstance(file, EpollFile)):
        return -errno.EINVAL
    key = (fd, id(file))
    entry = epoll.interest.get(key)
    if entry is not None and entry.file.refcount <= 0:
        entry = None
    if op == EPOLL_CTL_ADD:
        if entry is not None:
            return -errno.EEXIST
        if isinstance(file, EpollFile) and (file.reaches(epoll) is not None or file.depth() + 1 > EP_MAX_NESTS):
            return -errno.ELOOP             # a loop of epoll instances, or too deep a nest
        epoll.interest[key] = Interest(fd, file, events, data)
        return 0
    if entry is None:
        return -errno.ENOENT
    if op == EPOLL_CTL_DEL:
        del epoll.interest[key]
        return 0
    if entry.events & EPOLLEXCLUSIVE:
        return -errno.EINVAL                # (an exclusive entry cannot be modified)
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

    return wait(check, timeout, "epoll_wait", proc, sigmask)


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


SYSCALLS = {
    213: sys_epoll_create,
    232: sys_epoll_wait,
    233: sys_epoll_ctl,
    281: sys_epoll_pwait,
    284: sys_eventfd,
    290: sys_eventfd2,
    291: sys_epoll_create1,
    441: sys_epoll_pwait2,
}
