"""Clocks, sleeps, timers and CPU time: clock_gettime, clock_getres, gettimeofday, time,
nanosleep, clock_nanosleep, pause, alarm, setitimer, getitimer, getrusage and times
(Linux x86-64 numbers and errors).

The guest's clocks are the host's: CLOCK_REALTIME is the host's wall clock and
CLOCK_MONOTONIC its monotonic clock (so a guest's timings include emulation's slowness).
The CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID), getrusage and
times count each task's time on emu's CPU (see "CPU time" below). There is no vDSO, so
glibc makes these real system calls.

A sleep is a `Block` with a deadline: the process waits, others run, and when nobody
can run the scheduler waits for the earliest deadline (Kernel.idle). A handled signal
ends a sleep early with -EINTR and the time left, never restarted, as signal(7) says.

ITIMER_REAL (alarm and setitimer) is the process leader's `Process.real_timer`: when it expires the kernel
sends SIGALRM (Kernel.fire_timers, between two slices of instructions or when the
scheduler wakes up), and re-arms it if it has an interval. fork does not inherit it,
execve keeps it. ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time (below) and
send SIGVTALRM and SIGPROF; they are looked at at the end of every slice of instructions
(200,000), so they fire that much late at most.
"""

import errno
import struct
import time
from dataclasses import replace

from ..arch.syscall import SyscallError
from ..arch.uaccess import UserFault, copy_from_user, put_user
from .process import Usage, cpu_clock_ns
from .sched import Block

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
# Each clock: how to read it (ns) and its resolution (ns; the coarse ones tick at HZ=250).
CLOCKS = {
    CLOCK_REALTIME: (time.time_ns, 1),
    CLOCK_MONOTONIC: (time.monotonic_ns, 1),
    CLOCK_PROCESS_CPUTIME_ID: (time.process_time_ns, 1),
    CLOCK_THREAD_CPUTIME_ID: (time.process_time_ns, 1),
    CLOCK_MONOTONIC_RAW: (time.monotonic_ns, 1),
    CLOCK_REALTIME_COARSE: (time.time_ns, 4_000_000),
    CLOCK_MONOTONIC_COARSE: (time.monotonic_ns, 4_000_000),
    CLOCK_BOOTTIME: (time.monotonic_ns, 1),
}
SLEEP_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME)
TIMER_ABSTIME = 1
TIMESPEC = struct.Struct("<qq")               # tv_sec, tv_nsec (timeval: tv_sec, tv_usec)
NS = 1_000_000_000


def user_timespec(kernel, proc, va: int, *, absolute_on: int | None = None):
    """A timeout given as a struct timespec at `va`, in seconds from now: None for none (a
    NULL pointer), or -EINVAL for a negative or unnormalised one. With `absolute_on`, the
    timespec is a time on that clock (futex's absolute timeouts), and a time already past
    is 0. Raises UserFault."""
    if not va:
        return None
    seconds, ns = TIMESPEC.unpack(copy_from_user(proc.mm, kernel.mmu, va, TIMESPEC.size))
    if seconds < 0 or not 0 <= ns < NS:
        return -errno.EINVAL
    wanted = seconds + ns / NS
    if absolute_on is not None:
        wanted = max(wanted - CLOCKS[absolute_on][0]() / NS, 0.0)
    return wanted


def sys_clock_gettime(kernel, proc, clock, tp, *_):
    if clock not in CLOCKS:
        raise SyscallError(errno.EINVAL)
    if clock == CLOCK_PROCESS_CPUTIME_ID:
        now = process_usage(proc).cpu_ns
    elif clock == CLOCK_THREAD_CPUTIME_ID:
        now = task_cpu_ns(proc)
    else:
        now = CLOCKS[clock][0]()
    return put_user(kernel, proc, tp, TIMESPEC.pack(*divmod(now, NS)))


# ---- CPU time: getrusage, times, the CPU-time clocks ------------------------------------
#
# A task's CPU time is the time it spends on emu's one CPU: emu's own CPU time
# (process.cpu_clock_ns) from when the scheduler puts it there to when it takes it off
# (Kernel.switch_to, Kernel.schedule), emu's kernel work for it included; time asleep,
# with the CPU idle, or with the host running other processes, is nobody's.
# emu does not split it: all of it is user time, and system time is 0.

RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1
USER_HZ = 100                                 # clock_t ticks per second (times)


def task_cpu_ns(task) -> int:
    running = cpu_clock_ns() - task.on_cpu_since if task.on_cpu_since is not None else 0
    return task.usage.cpu_ns + running


def process_usage(proc) -> Usage:
    """The whole process's usage: its exited threads' and its live ones' (RUSAGE_SELF)."""
    leader = proc.leader
    total = Usage()
    total.add(leader.ended_usage)
    for task in leader.threads:
        total.add(replace(task.usage, cpu_ns=task_cpu_ns(task)))
    total.maxrss_pages = max(total.maxrss_pages, proc.mm.hiwater_rss, proc.mm.rss)
    return total


def pack_rusage(usage: Usage) -> bytes:
    """struct rusage: ru_utime, ru_stime (timevals), then 14 longs from ru_maxrss (in KiB)."""
    seconds, ns = divmod(usage.cpu_ns, NS)
    return struct.pack("<qqqq14q", seconds, ns // 1000, 0, 0, usage.maxrss_pages * 4, 0, 0, 0,
                       usage.min_flt, 0, 0, 0, 0, 0, 0, 0, usage.nvcsw, usage.nivcsw)


def sys_getrusage(kernel, proc, who, usage_va, *_):
    who &= 0xFFFF_FFFF                          # an int
    who = who - (1 << 32) if who >> 31 else who
    if who == RUSAGE_SELF:
        usage = process_usage(proc)
    elif who == RUSAGE_CHILDREN:
        usage = proc.leader.children_usage
    elif who == RUSAGE_THREAD:
        usage = replace(proc.usage, cpu_ns=task_cpu_ns(proc),
                        maxrss_pages=process_usage(proc).maxrss_pages)
    else:
        raise SyscallError(errno.EINVAL)
    return put_user(kernel, proc, usage_va, pack_rusage(usage))


def sys_times(kernel, proc, buf, *_):
    """struct tms in clock ticks (user, system 0, children's user, children's system 0);
    the result is the monotonic clock in ticks."""
    ticks = lambda ns: ns * USER_HZ // NS
    if buf and put_user(kernel, proc, buf, struct.pack("<qqqq", ticks(process_usage(proc).cpu_ns), 0,
                                                        ticks(proc.leader.children_usage.cpu_ns), 0)):
        raise SyscallError(errno.EFAULT)
    return ticks(time.monotonic_ns())


def sys_clock_getres(kernel, proc, clock, res, *_):
    if clock not in CLOCKS:
        raise SyscallError(errno.EINVAL)
    return put_user(kernel, proc, res, TIMESPEC.pack(0, CLOCKS[clock][1])) if res else 0


def sys_gettimeofday(kernel, proc, tv, tz, *_):
    if tv:
        seconds, ns = divmod(time.time_ns(), NS)
        if put_user(kernel, proc, tv, TIMESPEC.pack(seconds, ns // 1000)):
            raise SyscallError(errno.EFAULT)
    if tz:                                     # struct timezone: UTC, no DST
        return put_user(kernel, proc, tz, struct.pack("<ii", 0, 0))
    return 0


def sys_time(kernel, proc, tloc, *_):
    now = time.time_ns() // NS
    if tloc and put_user(kernel, proc, tloc, struct.pack("<q", now)):
        raise SyscallError(errno.EFAULT)
    return now


def sleep(kernel, proc, clock: int, flags: int, req: int, rem: int):
    """nanosleep / clock_nanosleep: a Block until the requested time, or -errno."""
    if clock not in CLOCKS or clock == CLOCK_THREAD_CPUTIME_ID:
        return -errno.EINVAL
    if clock not in SLEEP_CLOCKS:
        return -errno.EOPNOTSUPP            # a clock Linux cannot sleep on (or, CPU time, emu cannot)
    try:
        seconds, ns = TIMESPEC.unpack(copy_from_user(proc.mm, kernel.mmu, req, TIMESPEC.size))
    except UserFault:
        return -errno.EFAULT
    if seconds < 0 or not 0 <= ns < NS:
        return -errno.EINVAL
    wanted = seconds * NS + ns
    if flags & TIMER_ABSTIME:
        wanted -= CLOCKS[clock][0]()            # an absolute time on that clock: what is left of it
    deadline = time.monotonic() + max(wanted, 0) / NS

    def left() -> int:
        """-EINTR after a handled signal, with the time left in *rem (relative sleeps only)."""
        if rem and not flags & TIMER_ABSTIME:
            remaining = max(0, round((deadline - time.monotonic()) * NS))
            if put_user(kernel, proc, rem, TIMESPEC.pack(*divmod(remaining, NS))):
                return -errno.EFAULT
        return -errno.EINTR

    if wanted <= 0:
        return 0
    return Block(lambda: time.monotonic() >= deadline, lambda: 0, what="nanosleep", deadline=deadline,
                 interrupted=left)


def sys_nanosleep(kernel, proc, req, rem, *_):
    return sleep(kernel, proc, CLOCK_MONOTONIC, 0, req, rem)


def sys_clock_nanosleep(kernel, proc, clock, flags, req, rem, *_):
    return sleep(kernel, proc, clock, flags, req, rem)


def sys_pause(kernel, proc, *_):
    """Wait for a signal: a handler's makes it -EINTR, a fatal one ends the process."""
    return Block(lambda: False, lambda: 0, what="pause", interrupted=lambda: -errno.EINTR)


ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
SIGVTALRM, SIGPROF = 26, 27
TICK_NS = 4_000_000                           # 1/HZ with HZ=250 (the coarse clocks' resolution)
CPU_TIMER_SIGNALS = {ITIMER_VIRTUAL: SIGVTALRM, ITIMER_PROF: SIGPROF}
ITIMERVAL = struct.Struct("<qqqq")          # it_interval {tv_sec, tv_usec}, it_value {tv_sec, tv_usec}
US = 1_000_000


def real_timer_left(proc) -> tuple:
    """(interval, value) of ITIMER_REAL in microseconds; value 0: disarmed."""
    if proc.real_timer is None:
        return 0, 0
    when, interval = proc.real_timer
    return round(interval * US), max(1, round((when - time.monotonic()) * US))


def arm_real_timer(proc, value_us: int, interval_us: int) -> None:
    proc.real_timer = (time.monotonic() + value_us / US, interval_us / US) if value_us else None


def sys_alarm(kernel, proc, seconds, *_):
    """Arm ITIMER_REAL for `seconds` (0: disarm); the seconds the old one had left, rounded."""
    _, left = real_timer_left(proc.leader)
    arm_real_timer(proc.leader, (seconds & 0xFFFF_FFFF) * US, 0)
    return (left + US // 2) // US if left else 0


def timer_left(leader, which: int) -> tuple:
    """(interval, value) of an itimer in microseconds; value 0: disarmed."""
    if which == ITIMER_REAL:
        return real_timer_left(leader)
    if which not in leader.cpu_timers:
        return 0, 0
    expiry, interval = leader.cpu_timers[which]
    return interval // 1000, max(1, (expiry - process_usage(leader).cpu_ns) // 1000)


def arm_timer(leader, which: int, value_us: int, interval_us: int) -> None:
    """ITIMER_REAL counts wall time; ITIMER_VIRTUAL and ITIMER_PROF the process's CPU time
    (both the same here: emu has no user/system split), checked by Kernel.fire_timers at
    the end of every slice of instructions."""
    if which == ITIMER_REAL:
        arm_real_timer(leader, value_us, interval_us)
    elif value_us:                  # one tick more, as set_cpu_itimer adds TICK_NSEC (HZ=250)
        leader.cpu_timers[which] = (process_usage(leader).cpu_ns + value_us * 1000 + TICK_NS, interval_us * 1000)
    else:
        leader.cpu_timers.pop(which, None)


def sys_getitimer(kernel, proc, which, value_va, *_):
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise SyscallError(errno.EINVAL)
    interval, value = timer_left(proc.leader, which)
    return put_user(kernel, proc, value_va, ITIMERVAL.pack(*divmod(interval, US), *divmod(value, US)))


def sys_setitimer(kernel, proc, which, new_va, old_va, *_):
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise SyscallError(errno.EINVAL)
    new = ITIMERVAL.unpack(copy_from_user(proc.mm, kernel.mmu, new_va, ITIMERVAL.size)) if new_va else None
    if new is not None and any(not 0 <= usec < US for usec in (new[1], new[3])) or new and min(new[0], new[2]) < 0:
        raise SyscallError(errno.EINVAL)
    interval, value = timer_left(proc.leader, which)
    if old_va and put_user(kernel, proc, old_va, ITIMERVAL.pack(*divmod(interval, US), *divmod(value, US))):
        raise SyscallError(errno.EFAULT)
    if new is not None:
        arm_timer(proc.leader, which, new[2] * US + new[3], new[0] * US + new[1])
    return 0
