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
    ring0_context: object = None        # this address space's ring-0 context for delivery
    block: object = None                # emu.kernel.sched.Block while BLOCKED
    children: list = field(default_factory=list)
    signals: object = None              # emu.kernel.signals.SignalState

    @property
    def alive(self) -> bool:
        return self.state != ZOMBIE
