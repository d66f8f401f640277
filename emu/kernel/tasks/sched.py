"""Blocking and scheduling: how a system call waits, and which process runs next.

A system call that cannot finish now (a read from an empty pipe, wait4 with no dead
child) returns a `Block`. The process sleeps; the scheduler asks `ready()` of every
sleeping process whenever it picks the next one to run, and once it is ready, switches
to that process and calls `complete()` there, in its own address space, which gives
the system call's result.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass
class Block:
    """A system call that must wait.

    `ready()` is cheap and must not touch user memory (it may run while another
    process's page tables are loaded). `complete()` runs once ready, with the blocked
    process current, and returns the value for rax (or another Block to keep waiting).
    """
    ready: Callable[[], bool]
    complete: Callable[[], int]
    what: str = ""
    nr: int = -1              # the system call that waits (set by the kernel), for SA_RESTART
    # A timed wait (nanosleep): when it ends, on time.monotonic()'s clock. The scheduler
    # sleeps until then when nothing else can run, and the run loop stops a running
    # program then, as a timer interrupt would.
    deadline: float | None = None
    # What a handled signal makes of the wait instead of -EINTR or an SA_RESTART restart
    # (nanosleep: -EINTR and the time left, never restarted). Runs like `complete`.
    interrupted: Callable[[], int] | None = None
    # Only a fatal signal ends this wait (Linux's TASK_KILLABLE): vfork's parent waiting for
    # its child to exec or exit takes a handled signal only afterwards.
    killable_only: bool = False
    # Called once the wait is over, however it ended (done, interrupted, the task killed):
    # a blocked read or write holds a reference to its file, as Linux's fdget does, so a
    # close() by another thread does not pull the file from under it.
    release: Callable[[], None] | None = None
    # A time the wait may end at that can move while it waits (a timerfd re-armed by
    # another task): asked afresh each time, like `deadline` (time.monotonic()'s clock).
    wake_at: Callable[[], float | None] | None = None

    def next_wake(self) -> float | None:
        """When time alone may end this wait, or None."""
        wake = self.wake_at() if self.wake_at is not None else None
        if self.deadline is None or wake is None:
            return wake if self.deadline is None else self.deadline
        return min(self.deadline, wake)

    def finish(self) -> None:
        if self.release is not None:
            self.release, release = None, self.release
            release()
