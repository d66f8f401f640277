"""poll and select: wait until one of several files can be read or written (fs/select.c).

Each open file answers `OpenFile.poll()` with POLL* bits: a pipe by its buffer and its
other end, stdin by asking the host, a file that never waits with everything
(DEFAULT_POLLMASK). If nothing is ready yet and the timeout allows, the caller sleeps on
a `Block` whose `ready()` asks the same files again (and whose deadline is the timeout);
the results are written back when it wakes. A handled signal ends the wait with -EINTR:
neither call is restarted after a handler (signal(7)).
"""

import errno
import struct
import time

from ..arch.syscall import SyscallError
from .vfs import (POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM, fd_file)

from ..arch.uaccess import UserFault, copy_from_user, put_user
from ..tasks.clock import user_timespec
from ..tasks.sched import Block

POLLFD = struct.Struct("<iHH")             # struct pollfd: fd, events, revents
# select's three sets, as poll bits (fs/select.c's POLLIN_SET, POLLOUT_SET, POLLEX_SET).
IN_SET = POLLIN | POLLRDNORM | POLLHUP | POLLERR
OUT_SET = POLLOUT | POLLWRNORM | POLLERR
EX_SET = POLLPRI


def wait(check, timeout: float | None, what: str, proc=None, sigmask: int | None = None, files=()):
    """`check()` now, or a Block that calls it again once it finds something or the timeout
    (seconds; None: for ever) runs out. `check(final)` returns the call's result, or
    None while nothing is ready and `final` is false. With `sigmask` (ppoll, pselect6),
    `proc` waits with that signal mask; a signal it lets through is delivered with the
    mask still in place, and the caller's comes back after (SignalState.saved_blocked).
    `files()`, if given, are the files waited on: one whose state changes with time (a
    timerfd) tells the scheduler when to look again."""
    def finish(result):
        # The caller's mask comes back now unless a signal ends the call: then only after
        # its delivery (restore_saved_sigmask_unless(result == -EINTR)).
        if sigmask is not None and result != -errno.EINTR:
            proc.signals.restore_mask()
        return result

    if sigmask is not None:
        proc.signals.set_temporary_mask(sigmask)
    result = check(False)
    if result is not None:
        return finish(result)
    if proc.signals.deliverable() is not None:
        return -errno.EINTR                     # nothing ready, and a signal is here already
    if timeout == 0:
        return finish(check(True))
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = lambda: deadline is not None and time.monotonic() >= deadline
    wake_at = (lambda: min(filter(None, (file.wake_time() for file in files())), default=None)) if files else None
    return Block(lambda: timed_out() or check(False, probe=True) is not None,
                 lambda: finish(check(True)), what=what, deadline=deadline,
                 interrupted=lambda: -errno.EINTR, wake_at=wake_at)


def user_sigmask(kernel, proc, va: int, size: int):
    """ppoll's and pselect6's signal mask: None for none, the mask, or -errno."""
    if not va:
        return None
    if size != 8:
        return -errno.EINVAL
    return struct.unpack("<Q", copy_from_user(proc.mm, kernel.mmu, va, 8))[0]


def sys_poll(kernel, proc, fds_va, nfds, timeout_ms, *_):
    timeout_ms &= 0xFFFF_FFFF                 # an int: negative waits for ever
    if timeout_ms >> 31:
        timeout_ms -= 1 << 32
    return do_poll(kernel, proc, fds_va, nfds, None if timeout_ms < 0 else timeout_ms / 1000, None)


def sys_ppoll(kernel, proc, fds_va, nfds, timeout_va, sigmask_va, sigsetsize, *_):
    timeout = user_timespec(kernel, proc, timeout_va)
    sigmask = user_sigmask(kernel, proc, sigmask_va, sigsetsize)
    if -errno.EINVAL in (timeout, sigmask):
        raise SyscallError(errno.EINVAL)
    return do_poll(kernel, proc, fds_va, nfds, timeout, sigmask)


def do_poll(kernel, proc, fds_va: int, nfds: int, timeout: float | None, sigmask: int | None):
    if nfds > proc.files.nofile:                # rlimit(RLIMIT_NOFILE)
        return -errno.EINVAL
    try:
        entries = [POLLFD.unpack_from(copy_from_user(proc.mm, kernel.mmu, fds_va + i * POLLFD.size, POLLFD.size))
                   for i in range(nfds)]
    except UserFault:
        return -errno.EFAULT

    def check(final: bool, probe: bool = False):
        revents = []
        for fd, events, _ in entries:
            if fd < 0:
                revents.append(0)
                continue
            file = fd_file(proc, fd)
            mask = POLLNVAL if file is None else file.poll() & (events | POLLERR | POLLHUP)
            revents.append(mask)
        ready = sum(1 for mask in revents if mask)
        if not ready and not final:
            return None
        if probe:
            return ready
        for i, ((fd, events, _), mask) in enumerate(zip(entries, revents)):
            if put_user(kernel, proc, fds_va + i * POLLFD.size, POLLFD.pack(fd, events, mask)):
                return -errno.EFAULT
        return ready

    def files():
        return [file for file in (fd_file(proc, fd) for fd, _, _ in entries if fd >= 0) if file is not None]

    return wait(check, timeout, "poll", proc, sigmask, files)


def read_fd_set(kernel, proc, va: int, nfds: int):
    """The fds set in an fd_set of `nfds` bits at `va` (None: no set)."""
    if not va:
        return None
    raw = copy_from_user(proc.mm, kernel.mmu, va, (nfds + 63) // 64 * 8)
    bits = int.from_bytes(raw, "little")
    return [fd for fd in range(nfds) if bits >> fd & 1]


def sys_select(kernel, proc, nfds, read_va, write_va, except_va, timeout_va, *_):
    timeout = None
    if timeout_va:                            # a struct timeval
        seconds, usec = struct.unpack("<qq", copy_from_user(proc.mm, kernel.mmu, timeout_va, 16))
        if seconds < 0 or not 0 <= usec < 1_000_000:
            raise SyscallError(errno.EINVAL)
        timeout = seconds + usec / 1e6
    return do_select(kernel, proc, nfds, (read_va, write_va, except_va), timeout, timeout_va, 1_000_000, None)


def sys_pselect6(kernel, proc, nfds, read_va, write_va, except_va, timeout_va, sigmask_arg, *_):
    """pselect6: a struct timespec, and a pointer to {sigset_t *mask; size_t size}."""
    timeout = user_timespec(kernel, proc, timeout_va)
    sigmask = None
    if sigmask_arg:
        mask_va, size = struct.unpack("<QQ", copy_from_user(proc.mm, kernel.mmu, sigmask_arg, 16))
        sigmask = user_sigmask(kernel, proc, mask_va, size)
    if -errno.EINVAL in (timeout, sigmask):
        raise SyscallError(errno.EINVAL)
    return do_select(kernel, proc, nfds, (read_va, write_va, except_va), timeout, timeout_va, 1_000_000_000,
                     sigmask)


def do_select(kernel, proc, nfds: int, set_vas: tuple, timeout: float | None, timeout_va: int, units: int,
              sigmask: int | None):
    """select's work; the time left goes back to `timeout_va` in 1/`units` seconds."""
    read_va, write_va, except_va = set_vas
    nfds &= 0xFFFF_FFFF
    if nfds >> 31:
        return -errno.EINVAL
    nfds = min(nfds, proc.files.max_fds)     # fds past the table are not looked at, nor written back
    try:
        sets = [read_fd_set(kernel, proc, va, nfds) for va in set_vas]
    except UserFault:
        return -errno.EFAULT
    for fds in sets:
        if fds and any(fd_file(proc, fd) is None for fd in fds):
            return -errno.EBADF
    started = time.monotonic()

    def ready_for(fd: int, wanted: int) -> bool:
        file = fd_file(proc, fd)                 # (closed meanwhile: not ready)
        return file is not None and bool(file.poll() & wanted)

    def check(final: bool, probe: bool = False):
        found = [None if fds is None else [fd for fd in fds if ready_for(fd, wanted)]
                 for fds, wanted in zip(sets, (IN_SET, OUT_SET, EX_SET))]
        ready = sum(len(fds) for fds in found if fds)
        if not ready and not final:
            return None
        if probe:
            return ready
        for va, fds in zip((read_va, write_va, except_va), found):
            if fds is not None:
                bits = sum(1 << fd for fd in fds)
                if put_user(kernel, proc, va, bits.to_bytes((nfds + 63) // 64 * 8, "little")):
                    return -errno.EFAULT
        if timeout_va:                   # Linux writes back the time left
            left = max(0.0, timeout - (time.monotonic() - started))
            seconds = int(left)
            put_user(kernel, proc, timeout_va, struct.pack("<qq", seconds, int((left - seconds) * units)))
        return ready

    def files():
        return [file for file in (fd_file(proc, fd) for fds in sets if fds for fd in fds) if file is not None]

    return wait(check, timeout, "select", proc, sigmask, files)
