"""A task: one thread of a process, with its address space, open files, saved registers,
signal state and family.

A process is a thread group (Linux's tgid): the task that started it is its `leader`,
and its pid is the process's. The other threads are tasks made by clone(CLONE_THREAD)
that share the leader's address space (`mm`), fd table (`files`) and signal actions; each
has its own tid (`pid`), registers, FS base, blocked mask and private pending signals.
Only leaders are anybody's children: what a parent waits for is the whole group.
"""

import time
from dataclasses import dataclass, field

RUNNABLE, BLOCKED, ZOMBIE = "runnable", "blocked", "zombie"
SIGCHLD = 17



def cpu_clock_ns() -> int:
    """The clock a task's CPU time is charged on: emu's own CPU time (its main thread runs
    Unicorn and the kernel), so the time the host gives other processes is nobody's, as
    it is no Linux task's."""
    return time.thread_time_ns()

@dataclass(eq=False)
class FsContext:
    """Linux's fs_struct: the working directory, an emu.kernel.fs.vfs.Place (its guest path
    and its held host directory fd; None: the root). Threads share it (CLONE_FS), so
    one's chdir moves them all; fork copies it. And the file creation mask (umask), 022
    at first, as a login shell leaves it."""
    cwd: object = None
    umask: int = 0o022


@dataclass
class Usage:
    """What getrusage counts: time on the CPU, page faults, context switches, peak rss."""
    cpu_ns: int = 0           # time on emu's CPU (cpu_clock_ns between switch-in and switch-out)
    min_flt: int = 0          # page faults (all minor: emu does no I/O for a fault)
    nvcsw: int = 0            # switches away because the task waited
    nivcsw: int = 0           # switches away while it could run (preemption, sched_yield)
    maxrss_pages: int = 0     # the process's peak resident set, once it has ended

    def add(self, other: "Usage") -> None:
        self.cpu_ns += other.cpu_ns
        self.min_flt += other.min_flt
        self.nvcsw += other.nvcsw
        self.nivcsw += other.nivcsw
        self.maxrss_pages = max(self.maxrss_pages, other.maxrss_pages)


@dataclass(eq=False)
class Process:
    pid: int                            # the task's id: the tid; the process's pid for a leader
    ppid: int                           # the parent process (a leader's; read it through `leader`)
    path: str
    mm: object                          # emu.kernel.mm.memory.Mm, shared by the threads (CLONE_VM)
    files: object = None                # emu.kernel.fs.vfs.FdTable, shared with CLONE_FILES
    fs: FsContext = field(default_factory=FsContext)    # the cwd, shared with CLONE_FS
    state: str = RUNNABLE
    exit_status: int | None = None      # a wait status: WIFEXITED / WIFSIGNALED encoding
    fs_base: int = 0
    context: object = None              # saved user CPU state (UcContext) while not running
    block: object = None                # emu.kernel.tasks.sched.Block while BLOCKED
    children: list = field(default_factory=list)    # child processes (leaders), on a leader
    signals: object = None              # emu.kernel.tasks.signals.SignalState
    clear_child_tid: int = 0            # set_tid_address / CLONE_CHILD_CLEARTID: at exit, 0 is
                                        # written there and a futex waiter woken (pthread_join)
    cpu_timers: dict = field(default_factory=dict)  # on a leader: ITIMER_VIRTUAL/PROF -> (expiry, interval)
                                        # in ns of the process's CPU time
    real_timer: tuple | None = None     # ITIMER_REAL (alarm, setitimer), on a leader: (when, on
                                        # time.monotonic's clock; interval in seconds, 0 for one shot)
    comm: str = ""                      # the task's name (prctl PR_SET_NAME, /proc/self/comm): at
                                        # most 15 bytes; the program's file name after execve
    pdeath_signal: int = 0              # prctl PR_SET_PDEATHSIG: sent when the parent process ends
    no_new_privs: bool = False          # prctl PR_SET_NO_NEW_PRIVS: inherited, never cleared
    rlimits: dict = field(default_factory=dict)     # on a leader: resource -> [soft, hard]
    usage: Usage = field(default_factory=Usage)     # this task's own
    on_cpu_since: int | None = None     # cpu_clock_ns() when it last went on the CPU
    ended_usage: Usage = field(default_factory=Usage)       # on a leader: its exited threads'
    children_usage: Usage = field(default_factory=Usage)    # on a leader: its reaped children's
    dumpable: bool = True               # prctl PR_SET_DUMPABLE, on a leader; execve sets it again
    robust_list: int = 0                # set_robust_list: the head of the thread's held robust mutexes
    tgid: int = 0                       # the process (thread group) it belongs to: its leader's pid
    leader: "Process | None" = None     # the group's first task (itself for a leader)
    threads: list = field(default_factory=list)     # on a leader: the group's live tasks
    exit_signal: int = SIGCHLD          # what the parent is sent when the process ends (clone's
                                        # CSIGNAL byte; 0: nothing, and only __WALL/__WCLONE wait)
    trap_info: tuple = (0, 0, 0)        # (trap_nr, error_code, cr2) of the task's last fault that
                                        # sent a signal (Linux's thread_struct): every signal frame's
                                        # sigcontext shows them, stale or not; a fork copies them

    @property
    def alive(self) -> bool:
        """This task still runs (a thread that exited, or a dead process, does not)."""
        return self.state != ZOMBIE

    @property
    def process_alive(self) -> bool:
        """Some task of this one's process still runs (a leader that called exit() while
        other threads go on is a zombie task of a live process)."""
        return bool(self.leader.threads)
