"""futex: wait on a 32-bit word in user memory until another task wakes it (kernel/futex).

Threads of a process wait on futexes in their shared memory: glibc's mutexes, condition
variables and pthread_join (the kernel wakes the joiner when a thread exits: its
CLONE_CHILD_CLEARTID word, Kernel.clear_tid). Processes meet on a futex in a MAP_SHARED
mapping: a process-shared semaphore (glibc's sem_wait and sem_post). A shared futex is
keyed by the physical address of its word, so every mapping of that page finds the same
waiters; a private one (FUTEX_PRIVATE_FLAG), or any in private memory, by its address
space and virtual address, as Linux's get_futex_key does.

A waiter sleeps on a `Block` (with the timeout as its deadline); FUTEX_WAKE marks up to
n waiters woken. A handled signal ends a wait with -EINTR.
"""

import errno
import struct
import time
from dataclasses import dataclass

from ..arch.syscall import SyscallError
from ...hardware.mmu import READ
from .clock import CLOCK_MONOTONIC, CLOCK_REALTIME, user_timespec
from ..arch.uaccess import UserFault, copy_from_user, copy_to_user, user_page
from .sched import Block

FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 0, 1, 9, 10
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_LOCK_PI2 = 6, 7, 8, 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
FUTEX_BITSET_MATCH_ANY = 0xFFFF_FFFF
# A PI futex word: the owner's tid, and two flags (include/uapi/linux/futex.h).
FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x8000_0000, 0x4000_0000, 0x3FFF_FFFF


@dataclass(eq=False)
class Waiter:
    proc: object
    key: tuple
    bitset: int
    woken: bool = False
    pi: bool = False          # waits in FUTEX_LOCK_PI: woken as the lock's new owner


def futex_key(kernel, proc, uaddr: int, private: bool) -> tuple:
    """Which waiters a futex word meets (Linux's get_futex_key): in a MAP_SHARED mapping,
    unless the op is private, the physical address of the word, the same in every
    mapping of the page; otherwise the address space and the virtual address (private
    memory is never shared with another process). Raises UserFault."""
    vma = proc.mm.find_vma(uaddr)
    if vma is None:
        raise UserFault(uaddr)
    if private or not vma.shared:
        return ("private", id(proc.mm), uaddr)
    return ("shared", user_page(proc.mm, kernel.mmu, uaddr, READ))


def sys_futex(kernel, proc, uaddr, op, val, timeout_va, uaddr2, val3, *_):
    cmd, private = op & 127, bool(op & FUTEX_PRIVATE_FLAG)
    val &= 0xFFFF_FFFF
    if cmd in (FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_LOCK_PI2):
        if op & FUTEX_CLOCK_REALTIME and cmd != FUTEX_LOCK_PI2 or uaddr % 4:
            return -errno.ENOSYS if uaddr % 4 == 0 else -errno.EINVAL
        return pi_futex(kernel, proc, cmd, uaddr, private, timeout_va, op & FUTEX_CLOCK_REALTIME)
    if cmd not in (FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET):
        raise SyscallError(errno.ENOSYS)                  # requeue, WAKE_OP and the other operations
    bitset = val3 & 0xFFFF_FFFF if cmd in (FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET) else FUTEX_BITSET_MATCH_ANY
    if uaddr % 4 or not bitset:
        raise SyscallError(errno.EINVAL)
    key = futex_key(kernel, proc, uaddr, private)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        return wake(kernel, key, val, bitset)
    current = read_word(kernel, proc, uaddr)
    # WAIT's timeout is relative; WAIT_BITSET's an absolute time on the clock op names.
    clock = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
    timeout = user_timespec(kernel, proc, timeout_va, absolute_on=clock if cmd == FUTEX_WAIT_BITSET else None)
    if timeout == -errno.EINVAL:
        return timeout
    deadline = None if timeout is None else time.monotonic() + timeout
    if current != val:
        raise SyscallError(errno.EAGAIN)                  # the word changed already: no sleep
    waiter = Waiter(proc, key, bitset)
    kernel.futex_waiters.append(waiter)

    def finish(result: int) -> int:
        if waiter in kernel.futex_waiters:
            kernel.futex_waiters.remove(waiter)
        return 0 if waiter.woken else result

    return Block(lambda: waiter.woken or (deadline is not None and time.monotonic() >= deadline),
                 lambda: finish(-errno.ETIMEDOUT), what="futex", deadline=deadline,
                 interrupted=lambda: finish(-errno.EINTR))


def pi_futex(kernel, proc, cmd: int, uaddr: int, private: bool, timeout_va: int, realtime: int):
    """Priority-inheritance futexes (kernel/futex/pi.c): the word holds the owner's tid.
    glibc's PTHREAD_PRIO_INHERIT mutexes use them. LOCK_PI takes a free word (0) for the
    caller, or marks it FUTEX_WAITERS and waits; UNLOCK_PI hands the lock to the first
    waiter, writing that waiter's tid in the word with FUTEX_WAITERS (as Linux does, so
    its unlock comes to the kernel again), or frees it. One CPU and no priorities here: nothing is inherited, and waiters get the
    lock first come, first served. A waiting LOCK_PI is not ended by a handled signal
    (Linux restarts it; emu runs the handler once the lock is taken). Raises UserFault."""
    key = futex_key(kernel, proc, uaddr, private)
    word = read_word(kernel, proc, uaddr)
    owner = word & FUTEX_TID_MASK
    waiting = pi_waiters(kernel, key)
    if cmd == FUTEX_UNLOCK_PI:
        if owner != proc.pid:
            return -errno.EPERM
        if not waiting:
            write_word(kernel, proc, uaddr, 0)
            return 0
        heir = waiting[0]
        heir.woken = True
        kernel.futex_waiters.remove(heir)
        write_word(kernel, proc, uaddr, heir.proc.pid | FUTEX_WAITERS)   # (wake_futex_pi sets it always)
        return 0
    if owner == proc.pid:
        return -errno.EDEADLK
    if owner == 0:                            # free: the caller owns it now
        write_word(kernel, proc, uaddr, proc.pid | (word & FUTEX_OWNER_DIED) | (FUTEX_WAITERS if waiting else 0))
        return 0
    holder = kernel.procs.get(owner)
    if holder is None or not holder.alive:
        return -errno.ESRCH                   # the owner is gone (no robust-list clean-up in emu)
    if cmd == FUTEX_TRYLOCK_PI:
        return -errno.EAGAIN
    # An absolute time: on CLOCK_REALTIME for LOCK_PI, and for LOCK_PI2 the clock op names.
    clock = CLOCK_REALTIME if cmd == FUTEX_LOCK_PI or realtime else CLOCK_MONOTONIC
    timeout = user_timespec(kernel, proc, timeout_va, absolute_on=clock)
    if timeout == -errno.EINVAL:
        return timeout
    deadline = None if timeout is None else time.monotonic() + timeout
    write_word(kernel, proc, uaddr, word | FUTEX_WAITERS)
    waiter = Waiter(proc, key, FUTEX_BITSET_MATCH_ANY, pi=True)
    kernel.futex_waiters.append(waiter)

    def timed_out() -> int:
        if waiter in kernel.futex_waiters:
            kernel.futex_waiters.remove(waiter)
        return 0 if waiter.woken else -errno.ETIMEDOUT

    return Block(lambda: waiter.woken or (deadline is not None and time.monotonic() >= deadline),
                 timed_out, what="futex (PI lock)", deadline=deadline, killable_only=True)


# struct robust_list_head: the list (a pointer to the first entry; the head itself when
# empty), futex_offset (from an entry to its futex word), list_op_pending.
ROBUST_LIST_HEAD = struct.Struct("<QqQ")
ROBUST_LIST_LIMIT = 2048                      # entries walked at most (a cyclic list ends too)


def exit_robust_list(kernel, task) -> None:
    """A thread exits holding robust mutexes (kernel/futex/core.c's exit_robust_list): for
    every futex word on its list, and the one it was locking or unlocking, that still
    holds its tid, set FUTEX_OWNER_DIED, keep FUTEX_WAITERS, and wake one waiter, whose
    pthread_mutex_lock then returns EOWNERDEAD. Runs in the task's address space; a bad
    list is simply left, as Linux does."""
    try:
        first, offset, pending = ROBUST_LIST_HEAD.unpack(
            copy_from_user(task.mm, kernel.mmu, task.robust_list, ROBUST_LIST_HEAD.size))
        entry, seen = first, 0
        while entry != task.robust_list and seen < ROBUST_LIST_LIMIT:
            following = struct.unpack("<Q", copy_from_user(task.mm, kernel.mmu, entry & ~1, 8))[0]
            if entry != pending:
                futex_owner_died(kernel, task, (entry & ~1) + offset, pi=bool(entry & 1))
            entry, seen = following, seen + 1
        if pending:
            futex_owner_died(kernel, task, (pending & ~1) + offset, pi=bool(pending & 1))
    except UserFault:
        pass


def futex_owner_died(kernel, task, uaddr: int, pi: bool) -> None:
    """handle_futex_death: the word is still the dead thread's: mark it and wake a waiter."""
    uaddr &= (1 << 64) - 1
    if uaddr % 4:
        return
    word = read_word(kernel, task, uaddr)
    if word & FUTEX_TID_MASK != task.pid:
        return
    write_word(kernel, task, uaddr, (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED)
    if word & FUTEX_WAITERS:
        key = futex_key(kernel, task, uaddr, private=False)
        if pi:                                # a PI waiter gets the lock, OWNER_DIED kept
            heir = next(iter(pi_waiters(kernel, key)), None)
            if heir is not None:
                heir.woken = True
                kernel.futex_waiters.remove(heir)
                write_word(kernel, task, uaddr, heir.proc.pid | FUTEX_OWNER_DIED | FUTEX_WAITERS)
        else:
            wake(kernel, key, 1, FUTEX_BITSET_MATCH_ANY)


def pi_waiters(kernel, key: tuple) -> list:
    """The live tasks waiting in FUTEX_LOCK_PI on `key`, first come first."""
    return [w for w in kernel.futex_waiters if w.key == key and w.pi and not w.woken and w.proc.alive]


def read_word(kernel, proc, uaddr: int) -> int:
    return struct.unpack("<I", copy_from_user(proc.mm, kernel.mmu, uaddr, 4))[0]


def write_word(kernel, proc, uaddr: int, value: int) -> None:
    copy_to_user(proc.mm, kernel.mmu, uaddr, struct.pack("<I", value))


def wake(kernel, key: tuple, count: int, bitset: int) -> int:
    """Wake up to `count` waiters on `key` whose bitset meets `bitset`; how many woke."""
    woken = 0
    for waiter in list(kernel.futex_waiters):
        if not waiter.proc.alive:             # died waiting (a fatal signal)
            kernel.futex_waiters.remove(waiter)
            continue
        if woken >= count:
            break
        if waiter.key == key and waiter.bitset & bitset and not waiter.woken and not waiter.pi:
            waiter.woken = True
            kernel.futex_waiters.remove(waiter)
            woken += 1
    return woken
