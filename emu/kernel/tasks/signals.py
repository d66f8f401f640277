"""Signals: actions, masks, the signal frame on the user stack, rt_sigreturn (Linux x86-64).

A signal is *generated* (by a fault, kill(), a pipe with no reader, a child's exit) and
*delivered* when its process next returns to user mode:

- default action: terminate (the wait status carries the signal), or ignore;
- a handler: emu builds Linux's `struct rt_sigframe` on the user stack (below the
  128-byte red zone), points rip at the handler with rdi = signal number,
  rsi = &frame.info, rdx = &frame.uc, and the handler's `ret` lands on the
  SA_RESTORER trampoline, which calls rt_sigreturn to restore the saved registers.

    rt_sigframe (arch/x86/include/asm/sigframe.h):
        +0    pretcode             the restorer: the handler's return address
        +8    struct ucontext      uc_flags, uc_link, uc_stack (24), uc_mcontext (256),
                                   uc_sigmask (8)                            = 304 bytes
        +312  struct siginfo       128 bytes: si_signo, si_errno, si_code, pad, union

The x87/SSE state goes in the frame too, as the 512-byte FXSAVE image a CPU without
XSAVE gives (emu's reports none), below the frame and 64-byte aligned;
`uc_mcontext.fpstate` points at it, and rt_sigreturn loads it back, so a handler may
use the SSE registers (glibc's string functions do) or change the saved ones.

sigaltstack gives a handler with SA_ONSTACK an alternate stack (SS_AUTODISARM too);
the frame's uc_stack records it and rt_sigreturn restores it, as Linux does.

Simplifications, said here: no real-time
signal queueing (one pending instance per signal), no stop/continue signals (SIGSTOP
and friends are ignored), and no core dumps (RLIMIT_CORE = 0: the wait status never
has the 0x80 core flag).
"""

import errno
import signal
import struct
import time
from dataclasses import dataclass, field

from ..arch.syscall import SyscallError
from ...hardware.cpu import FXSAVE_SIZE, MXCSR_MASK
from .clock import user_timespec
from ..arch.uaccess import UserFault, copy_from_user, copy_to_user
from .sched import Block

MXCSR_OFFSET = 24                          # in the FXSAVE image

NSIG = 64
SIGKILL, SIGSTOP = 9, 19
SIG_DFL, SIG_IGN = 0, 1
SA_SIGINFO = 0x4
SA_ONSTACK = 0x0800_0000
SA_RESTART = 0x1000_0000
SA_NODEFER = 0x4000_0000
SA_RESETHAND = 0x8000_0000
SA_RESTORER = 0x0400_0000
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 2048
STACK_T = struct.Struct("<QI4xQ")          # stack_t: ss_sp, ss_flags, ss_size
SI_USER, SI_KERNEL = 0, 0x80
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))

# Default actions (signal(7)).
DEFAULT_IGNORE = {signal.SIGCHLD, signal.SIGCONT, signal.SIGURG, signal.SIGWINCH,
                  signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}

# struct sigcontext (arch/x86/include/uapi/asm/sigcontext.h), the general registers part.
SIGCONTEXT_REGS = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp",
                   "rbx", "rdx", "rax", "rcx", "rsp", "rip", "rflags")
UCONTEXT_SIZE = 304
MCONTEXT_OFFSET = 40                   # after uc_flags, uc_link, uc_stack
SIGMASK_OFFSET = MCONTEXT_OFFSET + 256
UC_STACK_OFFSET = 16                       # after uc_flags and uc_link
FPSTATE_OFFSET = MCONTEXT_OFFSET + 184     # uc_mcontext.fpstate: after the 18 registers, cs..ss, err .. cr2
SIGINFO_SIZE = 128
FRAME_SIZE = 8 + UCONTEXT_SIZE + SIGINFO_SIZE
RED_ZONE = 128
USER_CS, USER_DS = 0x33, 0x2B
# Flags a user may change by sigreturn (Linux FIX_EFLAGS): CF PF AF ZF SF TF DF OF AC RF ...
FIX_EFLAGS = 0x0004_0DD5 | 0x0001_0000 | 0x0100
RFLAGS_TF, RFLAGS_DF = 1 << 8, 1 << 10
U64 = (1 << 64) - 1                        # the frame's arithmetic is unsigned long's
CS_OFFSET = MCONTEXT_OFFSET + 8 * 18       # uc_mcontext.cs, after the 18 registers


@dataclass
class SigAction:
    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


@dataclass
class SignalState:
    """Per task: an action per signal, the blocked mask, the pending sets, and the
    alternate signal stack (Linux's sas_ss_sp, sas_ss_size, sas_ss_flags; size 0: none).

    The threads of a process share two of these dicts, as Linux's tasks share their
    sighand_struct and signal_struct: `actions`, and `shared_pending`, where a signal
    sent to the process (kill) waits until one thread takes it. `pending` holds the
    signals sent to this thread alone (tgkill, a fault)."""
    actions: dict = field(default_factory=dict)        # signo -> SigAction
    blocked: int = 0
    pending: dict = field(default_factory=dict)        # signo -> SigInfo, for this thread
    ss_sp: int = 0
    ss_size: int = 0
    ss_flags: int = 0                                  # only SS_AUTODISARM is kept
    shared_pending: dict = field(default_factory=dict)  # signo -> SigInfo, for the process
    # The mask to go back to after a call that waits with a temporary one (sigsuspend,
    # ppoll, pselect6): Linux's saved_sigmask with TIF_RESTORE_SIGMASK. A handler's frame
    # records it, so sigreturn restores it; with no handler, it comes back on the way to user mode.
    saved_blocked: int | None = None
    # While rt_sigtimedwait waits: the mask from before (Linux's real_blocked); the set it
    # waits for is unblocked meanwhile, so a signal of it comes to this thread, and one
    # that would terminate is taken instead (0: not waiting).
    real_blocked: int = 0
    # For each signal in shared_pending, the thread it was sent to (complete_signal's
    # choice): while that thread still wants it, the others leave it alone, as only the
    # chosen thread is woken (signal_wake_up) on Linux. Shared, like shared_pending.
    shared_targets: dict = field(default_factory=dict)
    task: object = field(default=None, repr=False)      # the task this state is of

    def action(self, sig: int) -> SigAction:
        return self.actions.get(sig) or SigAction()

    def fork(self) -> "SignalState":
        """A child inherits actions, mask and alternate stack; pending signals are not inherited."""
        return SignalState(dict(self.actions), self.blocked, {}, self.ss_sp, self.ss_size, self.ss_flags)

    def clone(self, *, thread: bool, share_actions: bool, share_vm: bool) -> "SignalState":
        """clone's copy: a new thread (CLONE_THREAD) shares the process's pending set, and
        with CLONE_SIGHAND the actions themselves. The mask is inherited. A task that shares
        the address space starts without the alternate stack (copy_process's sas_ss_reset)."""
        state = self.fork()
        if share_actions:
            state.actions = self.actions
        if thread:
            state.shared_pending = self.shared_pending
            state.shared_targets = self.shared_targets
        if share_vm:
            state.ss_sp = state.ss_size = state.ss_flags = 0
        return state

    def set_temporary_mask(self, mask: int) -> None:
        self.saved_blocked = self.blocked
        self.blocked = mask & ~UNBLOCKABLE

    def restore_mask(self) -> None:
        if self.saved_blocked is not None:
            self.blocked, self.saved_blocked = self.saved_blocked, None

    def pending_set(self) -> int:
        """Every pending signal, this thread's and the process's, as a mask."""
        return sum(sigbit(sig) for sig in set(self.pending) | set(self.shared_pending))

    def first_pending(self, mask: int) -> int | None:
        """The lowest pending signal in `mask`: this thread's own first, then the process's
        (dequeue_signal's order); None if there is none."""
        for pending in (self.pending, self.shared_pending):
            for sig in sorted(pending):
                if sigbit(sig) & mask:
                    return sig
        return None

    def take(self, sig: int):
        """Dequeue `sig`'s SigInfo: this thread's own first, then the process's."""
        info = self.pending.pop(sig, None)
        if info is not None:
            return info
        self.shared_targets.pop(sig, None)
        return self.shared_pending.pop(sig)

    def discard(self, sig: int) -> None:
        self.pending.pop(sig, None)
        self.shared_pending.pop(sig, None)
        self.shared_targets.pop(sig, None)

    def meant_for_another(self, sig: int) -> bool:
        """Is the process's pending `sig` kept for another thread that still wants it?"""
        target = self.shared_targets.get(sig)
        return target is not None and target.signals is not self and target.alive and \
            not target.signals.blocked & sigbit(sig)

    def exec(self) -> None:
        """execve (Linux's flush_signal_handlers): a handled signal goes back to SIG_DFL,
        an ignored one stays ignored; flags and masks of actions go; the blocked mask and
        pending signals stay; the alternate stack goes (sigaltstack(2))."""
        self.actions = {sig: SigAction(SIG_IGN) for sig, act in self.actions.items() if act.handler == SIG_IGN}
        self.ss_sp = self.ss_size = self.ss_flags = 0

    def on_sig_stack(self, sp: int) -> bool:
        """Is `sp` on the alternate stack? (never with SS_AUTODISARM: Linux's on_sig_stack)"""
        if self.ss_flags & SS_AUTODISARM:
            return False
        return self.in_altstack(sp)

    def in_altstack(self, sp: int) -> bool:
        """Linux's __on_sig_stack: is `sp` on the alternate stack, whatever the flags say?
        (the stack grows down: its top, ss_sp + ss_size, is in; ss_sp is not)"""
        return self.ss_sp < sp and sp - self.ss_sp <= self.ss_size

    def sas_ss_flags(self, sp: int) -> int:
        """SS_DISABLE with no alternate stack, SS_ONSTACK when `sp` is on it, else 0."""
        if not self.ss_size:
            return SS_DISABLE
        return SS_ONSTACK if self.on_sig_stack(sp) else 0

    def set_altstack(self, ss_sp: int, flags: int, size: int, sp: int) -> int:
        """sigaltstack's change (Linux's do_sigaltstack): 0 or -errno. `sp`: the caller's."""
        if self.on_sig_stack(sp):
            return -errno.EPERM                 # in a handler running on it
        mode = flags & ~SS_AUTODISARM
        if mode not in (SS_DISABLE, SS_ONSTACK, 0):
            return -errno.EINVAL
        if mode == SS_DISABLE:
            ss_sp = size = 0
        elif size < MINSIGSTKSZ:
            return -errno.ENOMEM
        self.ss_sp, self.ss_size, self.ss_flags = ss_sp, size, flags & SS_AUTODISARM
        return 0

    def deliverable(self):
        """The lowest-numbered pending signal that is not blocked, or None (this thread's
        own signals first, as Linux's dequeue_signal takes them). An unblocked one whose
        action is to be ignored (it was pending while blocked) is dropped on the way, as
        get_signal drops it; so it wakes no sigsuspend."""
        for pending, shared in ((self.pending, False), (self.shared_pending, True)):
            for sig in sorted(pending):
                if self.blocked & sigbit(sig) or shared and self.meant_for_another(sig):
                    continue
                if self.ignores(sig):
                    del pending[sig]
                    if shared:
                        self.shared_targets.pop(sig, None)
                    continue
                return sig
        return None

    def ignores(self, sig: int) -> bool:
        handler = self.action(sig).handler
        return handler == SIG_IGN or (handler == SIG_DFL and default_is_ignore(sig))


@dataclass(frozen=True)
class SigInfo:
    signo: int
    code: int = SI_USER
    addr: int = 0           # si_addr for SIGSEGV/SIGBUS/SIGILL/SIGFPE
    pid: int = 0            # si_pid for kill() and SIGCHLD
    uid: int = 0
    status: int = 0         # si_status for SIGCHLD

    def pack(self) -> bytes:
        if self.signo in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGTRAP):
            union = struct.pack("<Q", self.addr)
        elif self.signo == signal.SIGCHLD:
            union = struct.pack("<iIi", self.pid, self.uid, self.status)
        else:
            union = struct.pack("<iI", self.pid, self.uid)
        body = struct.pack("<iiii", self.signo, 0, self.code, 0) + union
        return body.ljust(SIGINFO_SIZE, b"\0")


def signal_name(sig: int) -> str:
    """'SIGSEGV', or for a real-time signal 'SIGRTMIN+6' (glibc's SIGRTMIN is 34)."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"SIGRTMIN+{sig - 34}" if sig >= 34 else f"signal {sig}"


def sigbit(sig: int) -> int:
    return 1 << (sig - 1)


def default_is_ignore(sig: int) -> bool:
    return sig in DEFAULT_IGNORE


def will_terminate(state: SignalState, sig: int) -> bool:
    """Whether delivering `sig` now kills the process (default action, no handler)."""
    act = state.action(sig)
    return sig == SIGKILL or (act.handler == SIG_DFL and not default_is_ignore(sig))


def get_sigframe(state: SignalState, act: SigAction, rsp: int) -> tuple[int, int]:
    """Linux's get_sigframe: where the frame and the FPU state go, as (sp, fpstate).

    The arithmetic is the machine's: unsigned 64-bit, wrapping (an alternate stack at
    0xfffffffffffff000 of 64 KiB ends at 0xf000). Below the red zone, or at the top of
    the alternate stack for an SA_ONSTACK handler not already on it, the FPU state
    (fpu__alloc_mathframe: 64-byte aligned); below that the frame, placed as if `call`ed
    (align_sigframe: (sp + 8) % 16 == 0). Raises UserFault where Linux returns its
    "always bogus" -1: a frame that would overflow the alternate stack, entering it or
    nested on it. An address outside user space is refused later, by the copy.
    """
    nested = state.on_sig_stack(rsp)
    sp = (rsp - RED_ZONE) & U64
    entering = bool(act.flags & SA_ONSTACK) and state.sas_ss_flags(sp) == 0
    if entering:
        sp = (state.ss_sp + state.ss_size) & U64
    fpstate = ((sp - FXSAVE_SIZE) & U64) & ~63
    sp = ((((fpstate - FRAME_SIZE) & U64) & ~0xF) - 8) & U64
    if (nested or entering) and not state.in_altstack(sp):
        raise UserFault(sp)                      # "overflowed sigaltstack"
    return sp, fpstate


def setup_frame(kernel, proc, sig: int, info: SigInfo, regs: dict) -> dict:
    """Push an rt_sigframe for `sig` on the user stack; return the handler's registers.

    `regs` are the interrupted user registers (names as in SIGCONTEXT_REGS). Raises
    UserFault if the frame cannot be placed or written, before any signal state is
    changed (the caller then forces SIGSEGV, as Linux's force_sigsegv does).
    """
    act, state = proc.signals.action(sig), proc.signals
    sp, fpstate = get_sigframe(state, act, regs["rsp"])
    mcontext = struct.pack(f"<{len(SIGCONTEXT_REGS)}Q", *(regs[name] for name in SIGCONTEXT_REGS))
    mcontext += struct.pack("<HHHH", USER_CS, 0, 0, USER_DS)
    # The mask sigreturn restores: the one from before a temporary mask (sigsuspend), if any.
    old_mask = state.blocked if state.saved_blocked is None else state.saved_blocked
    trap_nr, error_code, cr2 = proc.trap_info          # the last fault's, as Linux's thread_struct
    mcontext += struct.pack("<QQQQQ", error_code, trap_nr, old_mask, cr2, fpstate)
    mcontext = mcontext.ljust(256, b"\0")
    uc_stack = STACK_T.pack(state.ss_sp, state.sas_ss_flags(regs["rsp"]) | state.ss_flags, state.ss_size)
    ucontext = struct.pack("<QQ", 0, 0) + uc_stack + mcontext + struct.pack("<Q", old_mask)
    frame = struct.pack("<Q", act.restorer) + ucontext + info.pack()
    copy_to_user(proc.mm, kernel.mmu, fpstate, kernel.cpu.fxsave())
    copy_to_user(proc.mm, kernel.mmu, sp, frame)
    if state.ss_flags & SS_AUTODISARM:
        state.ss_sp = state.ss_size = state.ss_flags = 0     # until sigreturn restores it
    state.saved_blocked = None                   # the frame has it now
    if not act.flags & SA_NODEFER:
        proc.signals.blocked |= sigbit(sig)
    proc.signals.blocked = (proc.signals.blocked | act.mask) & ~UNBLOCKABLE
    if act.flags & SA_RESETHAND:
        proc.signals.actions[sig] = SigAction()
    new = dict(regs)
    new.update(rip=act.handler, rsp=sp, rdi=sig, rsi=sp + 8 + UCONTEXT_SIZE, rdx=sp + 8, rax=0,
               rflags=regs["rflags"] & ~(RFLAGS_TF | RFLAGS_DF))
    return new


def restore_frame(kernel, proc, rsp: int) -> dict:
    """rt_sigreturn: read the ucontext at `rsp` (the handler's `ret` popped pretcode).

    Returns the registers to resume with; restores the blocked mask. Raises UserFault.
    """
    raw = copy_from_user(proc.mm, kernel.mmu, rsp, UCONTEXT_SIZE)
    values = struct.unpack_from(f"<{len(SIGCONTEXT_REGS)}Q", raw, MCONTEXT_OFFSET)
    regs = dict(zip(SIGCONTEXT_REGS, values))
    # restore_sigcontext takes cs | 3 from the frame, and the iret back to user mode
    # faults (#GP: SIGSEGV) unless it is a code segment. Simplification: 0x23, the
    # 32-bit one, would run the program in compatibility mode, which emu has not.
    if struct.unpack_from("<H", raw, CS_OFFSET)[0] | 3 != USER_CS:
        raise UserFault(rsp + CS_OFFSET)
    fpstate = struct.unpack_from("<Q", raw, FPSTATE_OFFSET)[0]
    if fpstate:                                  # NULL: the FPU state stays as it is
        image = copy_from_user(proc.mm, kernel.mmu, fpstate, FXSAVE_SIZE)
        if struct.unpack_from("<I", image, MXCSR_OFFSET)[0] & ~MXCSR_MASK:
            raise UserFault(fpstate)             # reserved MXCSR bits: a bad frame (#GP on hardware)
        kernel.cpu.fxrstor(image)
    # Only the flags a program may set come from the frame (IOPL, IF ... stay): FIX_EFLAGS.
    regs["rflags"] = (kernel.cpu.reg("rflags") & ~FIX_EFLAGS) | (regs["rflags"] & FIX_EFLAGS)
    mask = struct.unpack_from("<Q", raw, SIGMASK_OFFSET)[0]
    proc.signals.blocked = mask & ~UNBLOCKABLE
    # restore_altstack: the alternate stack as the frame says (an error is ignored, as Linux does).
    proc.signals.set_altstack(*STACK_T.unpack_from(raw, UC_STACK_OFFSET), sp=rsp)
    return regs


# -- system calls --------------------------------------------------------------------

def sys_rt_sigaction(kernel, proc, sig, act_va, oldact_va, sigsetsize, *_):
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    if not 1 <= sig <= NSIG or (act_va and sig in (SIGKILL, SIGSTOP)):
        raise SyscallError(errno.EINVAL)
    if oldact_va:
        old = proc.signals.action(sig)
        copy_to_user(proc.mm, kernel.mmu, oldact_va,
                     struct.pack("<QQQQ", old.handler, old.flags, old.restorer, old.mask))
    if act_va:
        handler, flags, restorer, mask = struct.unpack(
            "<QQQQ", copy_from_user(proc.mm, kernel.mmu, act_va, 32))
        proc.signals.actions[sig] = SigAction(handler, flags, restorer, mask & ~UNBLOCKABLE)
        if handler == SIG_IGN or (handler == SIG_DFL and default_is_ignore(sig)):
            for thread in proc.leader.threads:         # POSIX: discard pending instances
                thread.signals.discard(sig)
    return 0


def sys_rt_sigprocmask(kernel, proc, how, set_va, oldset_va, sigsetsize, *_):
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    old = proc.signals.blocked
    if set_va:
        new = struct.unpack("<Q", copy_from_user(proc.mm, kernel.mmu, set_va, 8))[0]
        if how == SIG_BLOCK:
            proc.signals.blocked |= new
        elif how == SIG_UNBLOCK:
            proc.signals.blocked &= ~new
        elif how == SIG_SETMASK:
            proc.signals.blocked = new
        else:
            raise SyscallError(errno.EINVAL)
        proc.signals.blocked &= ~UNBLOCKABLE
    if oldset_va:
        copy_to_user(proc.mm, kernel.mmu, oldset_va, struct.pack("<Q", old))
    return 0


def sys_sigaltstack(kernel, proc, ss_va, old_va, *_):
    """sigaltstack(ss, old_ss): `old_ss` gets the state before any change."""
    state, sp = proc.signals, kernel.cpu.reg("rsp")
    old = STACK_T.pack(state.ss_sp, state.sas_ss_flags(sp) | state.ss_flags, state.ss_size)
    if ss_va:
        error = state.set_altstack(*STACK_T.unpack(copy_from_user(proc.mm, kernel.mmu, ss_va, STACK_T.size)),
                                   sp=sp)
        if error:
            return error
    if old_va:
        copy_to_user(proc.mm, kernel.mmu, old_va, old)
    return 0


def sys_rt_sigpending(kernel, proc, set_va, sigsetsize, *_):
    """The pending signals that are blocked (do_sigpending)."""
    if sigsetsize > 8:
        raise SyscallError(errno.EINVAL)
    pending = proc.signals.pending_set() & proc.signals.blocked
    copy_to_user(proc.mm, kernel.mmu, set_va, pending.to_bytes(8, "little")[:sigsetsize])
    return 0


def sys_rt_sigsuspend(kernel, proc, mask_va, sigsetsize, *_):
    """Wait with a temporary mask until a signal is delivered: always -EINTR. The handler
    runs with the temporary mask (and its own), and sigreturn restores the caller's."""
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    mask = struct.unpack("<Q", copy_from_user(proc.mm, kernel.mmu, mask_va, 8))[0]
    proc.signals.set_temporary_mask(mask)
    return Block(lambda: proc.signals.deliverable() is not None, lambda: -errno.EINTR, what="sigsuspend",
                 interrupted=lambda: -errno.EINTR)


def sys_rt_sigtimedwait(kernel, proc, set_va, info_va, timeout_va, sigsetsize, *_):
    """sigwaitinfo / sigtimedwait / sigwait: take a pending signal of `set` without running
    its handler; its number, -EAGAIN when the timeout runs out, -EINTR for another
    signal's handler. Linux unblocks `set` while waiting (real_blocked), so a signal sent
    to the process then comes to the waiting thread."""
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    wanted = struct.unpack("<Q", copy_from_user(proc.mm, kernel.mmu, set_va, 8))[0] & ~UNBLOCKABLE
    timeout = user_timespec(kernel, proc, timeout_va)
    if timeout == -errno.EINVAL:
        return timeout
    state = proc.signals

    def found():
        return state.first_pending(wanted)

    def take() -> int:
        sig = found()
        if sig is None:
            return -errno.EAGAIN
        info = state.take(sig)
        if info_va:
            copy_to_user(proc.mm, kernel.mmu, info_va, info.pack())
        return sig

    if found() is not None or timeout == 0:
        return take()
    state.real_blocked, state.blocked = state.blocked, state.blocked & ~wanted

    def done(result):
        state.blocked, state.real_blocked = state.real_blocked, 0
        return result() if callable(result) else result

    deadline = None if timeout is None else time.monotonic() + timeout
    return Block(lambda: found() is not None or (deadline is not None and time.monotonic() >= deadline),
                 lambda: done(take), what="sigtimedwait", deadline=deadline,
                 interrupted=lambda: done(-errno.EINTR))


def sys_rt_sigreturn(kernel, proc, *_):
    rsp = kernel.cpu.reg("rsp")
    try:
        regs = restore_frame(kernel, proc, rsp)
    except UserFault:                            # Linux's badframe: signal_fault, force_sig
        kernel.force_sig(proc, SigInfo(signal.SIGSEGV, code=SI_KERNEL))
        return 0
    kernel.resume_with(proc, regs)
    return regs["rax"]
