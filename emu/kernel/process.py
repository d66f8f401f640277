"""A process: its address space, open files, saved registers, signal state and family."""

from dataclasses import dataclass, field

RUNNABLE, BLOCKED, ZOMBIE = "runnable", "blocked", "zombie"


@dataclass(eq=False)
class Process:
    pid: int
    ppid: int
    path: str
    mm: object                          # emu.kernel.mm.Mm
    files: object = None                # emu.kernel.fs.FdTable
    state: str = RUNNABLE
    exit_status: int | None = None      # a wait status: WIFEXITED / WIFSIGNALED encoding
    fs_base: int = 0
    context: object = None              # saved user CPU state (UcContext) while not running
    block: object = None                # emu.kernel.sched.Block while BLOCKED
    children: list = field(default_factory=list)
    signals: object = None              # emu.kernel.signals.SignalState
    clear_child_tid: int = 0            # set_tid_address / CLONE_CHILD_CLEARTID: only kept, as
                                        # emu has no threads to wake at exit
    real_timer: tuple | None = None     # ITIMER_REAL (alarm, setitimer): (when, on time.monotonic's
                                        # clock; interval in seconds, 0 for one shot), or None

    @property
    def alive(self) -> bool:
        return self.state != ZOMBIE
