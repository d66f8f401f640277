"""The guest kernel's top half: processes, the page-fault handler, traps to signals, syscalls.

The ring-0 stub hands every exception to `Kernel.on_trap` by hypercall; a `syscall`
reaches `Kernel.on_syscall`. A page fault is handled like Linux's
arch/x86/mm/fault.c: find the VMA, check the access against its flags, call the
VMA's pagetable_ops `fault`, and turn a failure into SIGSEGV/SIGBUS.

Processes take turns on the one CPU. A switch happens only between two emu_start
calls, in `return_to_user` (a hook asks for one with `request_resched`): the old
process's user registers are saved as a Unicorn context, the new one's restored, and
CR3 reloaded. A process that blocks in a system call sleeps on a `Block`
(emu/kernel/tasks/sched.py). Pending signals are delivered on the way back to user mode.
"""

import errno
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from time import perf_counter

from ..hardware import insn
from ..hardware.cpu import FXSAVE_HEAD, FXSAVE_SIZE, GPR_ORDER, MXCSR_MASK
from ..errors import EmulatorBug
from ..hardware.mmu import FETCH, READ, WRITE, Access, GeneralProtection, PageFault, walk
from ..hardware.physmem import OutOfMemory
from ..hardware.paging import HPAGE_SIZE, PAGE_SIZE, PTE_G, PTE_NX, PTE_P, PTE_RW, PFErr
from .tasks import clock, futex, proc_calls
from .fs.devices import standard_devices
from .tasks.exec import build_mm, build_stack
from .mm.hugetlb import HugePagePool
from .fs.vfs import FdTable
from .mm.kmem import KernelMemory
from .fs.hostfs import HostRoot
from .mm.memory import RESOLVED, VM_HUGETLB, VmFault, handle_mm_fault, pt_ops
from .arch.syscall import SyscallError
from .arch.uaccess import UserFault, copy_to_user
from .mm.mman import TASK_SIZE as TASK_SIZE_MAX      # (x86-64: the same value)
from .mm.pagetable import PageTables
from .tasks.proc_calls import (CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_FILES, CLONE_FS, CLONE_PARENT_SETTID, CLONE_SETTLS,
                         CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, CSIGNAL)
from .tasks.process import BLOCKED, RUNNABLE, ZOMBIE, FsContext, Process, cpu_clock_ns
from .tasks.sched import Block
from .tasks.signals import (NSIG, SA_RESTART, SIG_DFL, SIG_IGN, signal_name, SIGCONTEXT_REGS, SigAction, SigInfo,
                      SignalState, UNBLOCKABLE, default_is_ignore, setup_frame, sigbit, will_terminate)
from .arch.stub import KERNEL_VIRT_OFFSET, TRAPFRAME, TRAPFRAME_FIELDS, USER_CS, USER_DS, TrapContext
from .syscalls import SYSCALL_NAMES, SYSCALLS

# The FPU as Linux hands it to a new program (fpstate_init_fx), as an FXSAVE image: x87
# control word 0x37f (exceptions masked, 64-bit precision), no x87 register in use,
# MXCSR 0x1f80 (SSE exceptions masked), every register zero. Unicorn's own start values
# (0 for both words, all eight x87 registers tagged in use) would unmask every exception.
INITIAL_FPU_STATE = FXSAVE_HEAD.pack(0x37F, 0, 0, 0, 0, 0, 0x1F80, MXCSR_MASK).ljust(FXSAVE_SIZE, b"\0")

# Linux si_code values (include/uapi/asm-generic/siginfo.h).
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRERR = 2
ILL_ILLOPN = 2
FPE_INTDIV = 1
TRAP_BRKPT, TRAP_TRACE = 1, 2
SI_KERNEL = 0x80
SI_CODE_NAMES = {
    signal.SIGSEGV: {SEGV_MAPERR: "SEGV_MAPERR", SEGV_ACCERR: "SEGV_ACCERR", SI_KERNEL: "SI_KERNEL"},
    signal.SIGBUS: {BUS_ADRERR: "BUS_ADRERR"},
    signal.SIGILL: {ILL_ILLOPN: "ILL_ILLOPN"},
    signal.SIGFPE: {FPE_INTDIV: "FPE_INTDIV"},
    signal.SIGTRAP: {TRAP_BRKPT: "TRAP_BRKPT", TRAP_TRACE: "TRAP_TRACE", SI_KERNEL: "SI_KERNEL"},
}
# Exceptions from user mode and the signal Linux sends for each (arch/x86/kernel/traps.c).
PF_P, PF_W, PF_RSVD, PF_I = PFErr.P.value, PFErr.W.value, PFErr.RSVD.value, PFErr.I.value
# (signal, si_code, si_addr, what). si_addr is the faulting rip (AT_RIP) for the traps
# Linux sends with an address (#DE, #UD: do_error_trap), 0 (NO_ADDR) for those it sends
# with force_sig, SI_KERNEL (#BP, #OF, #GP). #DB is exc_debug_user's: see debug_trap.
AT_RIP, NO_ADDR = "rip", "none"
TRAP_SIGNALS = {
    0: (signal.SIGFPE, FPE_INTDIV, AT_RIP, "divide error (#DE)"),
    3: (signal.SIGTRAP, SI_KERNEL, NO_ADDR, "breakpoint (#BP, int3)"),
    4: (signal.SIGSEGV, SI_KERNEL, NO_ADDR, "overflow (#OF)"),
    6: (signal.SIGILL, ILL_ILLOPN, AT_RIP, "invalid opcode (#UD)"),
    13: (signal.SIGSEGV, SI_KERNEL, NO_ADDR, "general protection fault (#GP)"),
}
DEBUG_TRAP = 1
DR6_BS = 1 << 14                # DR6: the #DB is a single step (EFLAGS.TF)
CLD_EXITED, CLD_KILLED = 1, 2
RESTART_SYSCALL = object()     # a Block's result meaning: restart the system call (SA_RESTART)
SYSCALL_INSN_SIZE = 2          # 0f 05
DEFAULT_HUGEPAGES = 32        # 64 MiB of 2 MiB pages: enough for every shipped guest
DOUBLE_FAULT = 8
TIMEOUT_STATUS = 124           # what timeout(1) exits with
# A wait whose complete() blocks again while its ready() says it can go on would keep the
# scheduler looping for ever (no --timeout, no Ctrl-C): after this many, an EmulatorBug.
MAX_SPINS = 10_000
DEADLOCK_STATUS = 124          # every process waits forever: what a timeout would end with
INITIAL_RFLAGS = 0x202         # IF=1 and the always-one bit 1


def task_comm(path: str) -> str:
    """A task's name after execve: the file name, cut to 15 bytes (TASK_COMM_LEN - 1)."""
    return path.rsplit("/", 1)[-1].encode()[:15].decode(errors="ignore")


@dataclass
class Report:
    """What happened to the first process, for the CLI: its exit status and message."""
    status: int | None = None
    message: str = ""
    lines: list = field(default_factory=list)


# Linux's set_max_threads: task structures may use an eighth of RAM, THREAD_SIZE (16 KiB
# on x86-64) each, so threads-max is RAM / 128 KiB, at least MIN_THREADS (20), at most
# FUTEX_TID_MASK.
THREAD_SIZE, MIN_THREADS, MAX_THREADS = 16 << 10, 20, 0x3FFFFFFF


def max_threads(ram_bytes: int) -> int:
    """threads-max for `ram_bytes` of RAM: the most tasks (zombies included) clone allows."""
    return min(max(ram_bytes // (THREAD_SIZE * 8), MIN_THREADS), MAX_THREADS)


class Kernel:
    def __init__(self, mem, frames, mmu, stub, *, tracer=None, stdout=None, stderr=None,
                 root=None, root_writable=False, hugepages=None, zero_page=True, fault_stats):
        """`fault_stats` counts user page faults by kind and op, for --stats (the machine
        hands in an emu/debug/stats.py FaultStats). Plugins are registered by the machine
        once the kernel is built (emu/plugins.py)."""
        self.mem = mem
        self.frames = frames
        self.kmem = KernelMemory(frames)         # pipe, socket, epoll and fd-table memory (kmem.py)
        self.mmu = mmu
        self.stub = stub
        self.tracer = tracer
        self.out = {1: stdout or sys.stdout.buffer, 2: stderr or sys.stderr.buffer}
        self.devices = standard_devices()        # /dev and /proc (emu/kernel/fs/devices.py)
        self.root = HostRoot(root, writable=root_writable) if root else None     # --root DIR
        self.kernel_pt = self.map_stub()
        if hugepages is None:               # the default: 32, or a quarter of RAM if that is less
            hugepages = min(DEFAULT_HUGEPAGES, frames.total_chunks // 4)
        self.hugetlb_pool = HugePagePool(mem, frames, hugepages, zero_page=zero_page)   # emu/kernel/mm/hugetlb.py
        self.frames_at_boot = None      # frames in use before process 1 (exec_first): the leak check's base
        self.procs = {}                 # pid -> Process, zombies included until reaped
        self.max_threads = max_threads(frames.total_chunks * HPAGE_SIZE)   # kernel.threads-max
        self.init = None                # process 1: emu's exit status is its own
        self.current = None             # the process on the CPU
        self.next_pid = 1
        self.need_resched = False
        self.work_pending = False       # return_to_user has something to do
        self.resume_regs = None         # registers rt_sigreturn restores
        self.cpu = None
        self.report = Report()
        self.fault_stats = fault_stats
        self.recorder = None            # --report's recorder (emu/debug/report.py)
        self.accounting = False         # --stats: fault_stats counts and times every user fault
        self.futex_waiters = []         # emu/kernel/tasks/futex.py: the processes waiting on a futex
        self.on_fatal_signal = None     # called as (signal, trap frame) before process 1 dies of a fault
        self.on_exec = None             # called as (process, program path) after an execve (a debugger)

    # -- boot -------------------------------------------------------------------------

    def map_stub(self) -> PageTables:
        """Load the stub at its physical address and map it supervisor-only, global.

        Text is read-only and executable, everything else no-execute (SDM 4.6: U/S=0
        makes it unreachable from ring 3 in every address space that shares it).
        """
        pt = PageTables(self.mem, self.frames)
        for seg in self.stub.segments:
            pa = seg.va - KERNEL_VIRT_OFFSET
            self.mem.write(pa, seg.data)
            self.mem.zero(pa + len(seg.data), seg.memsz - len(seg.data))
            flags = PTE_P | PTE_G | (PTE_RW if seg.write else 0) | (0 if seg.execute else PTE_NX)
            for offset in range(0, seg.memsz, PAGE_SIZE):
                pt.set_pte(seg.va + offset, (pa + offset) | flags, user=False)
        return pt

    def exec_first(self, cpu, image, argv, envp) -> None:
        """Create process 1 from `image`; the stub's boot hypercall will enter it."""
        self.cpu = cpu
        self.frames_at_boot = (self.frames.stats.small_in_use, self.frames.stats.huge_in_use)
        mm = build_mm(self.mem, self.frames, self.kernel_pt, image, self.mmu, self)
        self.init = self.current = self.new_process(0, image.path, mm, files=FdTable.standard(self),
                                                    rlimits=proc_calls.default_rlimits())
        cpu.set_paging(mm.pt.pml4_pa)
        mm.active = True
        self.start = build_stack(mm, self.mmu, image, argv, envp)

    def exec_image(self, proc: Process, image, argv: list, envp: list, *, execfn: str) -> None:
        """execve from `image`, once its file has loaded (fs/exec.c's begin_new_exec).

        The new address space and its stack are made first, so running out of memory
        there still leaves the caller as it was (OutOfMemory: -ENOMEM). Then the point of
        no return: CR3 switches, the old address space is torn down, close-on-exec files
        close, handlers go back to SIG_DFL (SIG_IGN stays; mask and pending signals stay),
        the alternate stack goes, and the program starts from its entry point with zeroed
        registers and the initial FPU state.
        """
        new = build_mm(self.mem, self.frames, self.kernel_pt, image, self.mmu, self)
        try:
            start = build_stack(new, self.mmu, image, argv, envp, execfn)
        except OutOfMemory:
            proc_calls.exit_mmap(self, new)
            raise
        self.de_thread(proc)
        proc.exit_signal = signal.SIGCHLD            # whatever clone said (de_thread)
        if proc.robust_list:                        # exec_mm_release: as at an exit
            futex.exit_robust_list(self, proc)
            proc.robust_list = 0
        if proc.clear_child_tid:                    # mm_release: a vfork parent's memory sees it
            if proc.mm.users > 1:
                self.clear_tid(proc)
            proc.clear_child_tid = 0
        old, proc.mm = proc.mm, new
        usage = proc.leader.ended_usage             # the old image's peak stays the process's
        usage.maxrss_pages = max(usage.maxrss_pages, old.hiwater_rss, old.rss)     # (setmax_mm_hiwater_rss)
        self.cpu.switch_cr3(new.pt.pml4_pa)
        old.active, new.active = False, True
        proc_calls.mmput(self, old)                 # a vfork parent may still use it
        proc.path = image.path
        proc.comm = task_comm(execfn)                # the name given to execve (bprm->filename)
        proc.dumpable = True
        if proc.files.users > 1:                    # shared by CLONE_FILES: the new program gets its own
            proc.files.users -= 1
            proc.files = proc.files.fork()
        proc.files.close_on_exec()
        proc.signals.exec()
        self.cpu.fxrstor(INITIAL_FPU_STATE)
        self.cpu.set_fs_base(0)
        regs = dict.fromkeys(GPR_ORDER, 0)
        regs.update(rip=start.entry, rsp=start.rsp, rflags=INITIAL_RFLAGS)
        self.resume_with(proc, regs)
        if self.on_exec is not None:
            self.on_exec(proc, image.path)

    def de_thread(self, proc: Process) -> None:
        """execve in a process with threads (fs/exec.c's de_thread): the other threads die
        without a trace, and a caller that is not the leader takes the leader's place and
        pid, so the process keeps its pid, parent and children."""
        leader = proc.leader
        for task in [task for task in leader.threads if task is not proc]:
            if task.robust_list:
                futex.exit_robust_list(self, task)
            self.release_task(task, signal.SIGKILL)
            if task is not leader:
                del self.procs[task.pid]
        if proc is leader:
            return
        self.trace_sched(f"pid {leader.pid}: thread {proc.pid} runs execve and takes the pid")
        del self.procs[proc.pid], self.procs[leader.pid]
        proc.pid = proc.tgid = leader.pid
        proc.leader, proc.threads, leader.threads = proc, [proc], []
        proc.ppid, proc.children, proc.exit_signal = leader.ppid, leader.children, leader.exit_signal
        proc.real_timer, proc.rlimits, proc.cpu_timers = leader.real_timer, leader.rlimits, leader.cpu_timers
        proc.ended_usage, proc.children_usage = leader.ended_usage, leader.children_usage
        self.procs[proc.pid] = proc
        parent = self.procs.get(proc.ppid)
        if parent is not None and leader in parent.children:
            parent.children[parent.children.index(leader)] = proc
        if self.init is leader:
            self.init = proc

    def new_process(self, ppid: int, path: str, mm, *, leader: Process | None = None, **fields) -> Process:
        """A new task: the first of a new process, or with `leader` a thread of that one's."""
        proc = Process(self.next_pid, ppid, path, mm, signals=fields.pop("signals", None) or SignalState(),
                       comm=fields.pop("comm", None) or task_comm(path), **fields)
        self.next_pid += 1
        self.procs[proc.pid] = proc
        proc.leader = leader or proc
        proc.tgid = proc.leader.pid
        proc.signals.task = proc
        proc.leader.threads.append(proc)
        return proc

    def on_boot(self, cpu, frame_pa: int) -> None:
        """HC_BOOT: fill the stub's empty trap frame so its iretq enters the program."""
        values = dict.fromkeys(TRAPFRAME_FIELDS, 0)
        values.update(rip=self.start.entry, cs=USER_CS, rflags=INITIAL_RFLAGS, rsp=self.start.rsp, ss=USER_DS)
        self.mem.write(frame_pa, TRAPFRAME.pack(*(values[name] for name in TRAPFRAME_FIELDS)))
        cpu.fxrstor(INITIAL_FPU_STATE)
        self.init.on_cpu_since = cpu_clock_ns()      # its CPU time starts

    # -- traps ------------------------------------------------------------------------

    def read_trap_frame(self, frame_pa: int) -> TrapContext:
        """HC_TRAP: the trap frame the stub saved at `frame_pa`, which the CPU hands over."""
        return TrapContext(self.mem, frame_pa)

    def on_trap(self, cpu, trap: TrapContext, cr2: int) -> None:
        """HC_TRAP: the stub saved an exception's trap frame; decide what it means."""
        vector, rip = trap.vector, trap.rip
        if vector == DOUBLE_FAULT:
            self.panic(f"double fault (#DF) at rip {rip:#018x}: {cpu.double_fault_cause} "
                       f"could not be delivered; the stub's #DF handler stops the machine")
            return
        if trap.cs & 3 != 3:
            self.panic(f"kernel oops: exception {vector} in ring 0 at rip {rip:#018x} (cr2 {cr2:#x})")
            return
        if vector == PageFault.vector:
            self.do_page_fault(trap, cr2)
        elif vector == DEBUG_TRAP:
            self.debug_trap(cpu, trap)
        elif vector in TRAP_SIGNALS:
            sig, code, addr, what = TRAP_SIGNALS[vector]
            self.force_signal(sig, code, rip if addr == AT_RIP else 0, what, trap)
        else:
            self.force_signal(signal.SIGSEGV, SI_KERNEL, 0, f"exception {vector}", trap)

    def debug_trap(self, cpu, trap: "TrapContext") -> None:
        """#DB from user mode (Linux exc_debug_user): a single step (DR6_BS, EFLAGS.TF)
        is SIGTRAP TRAP_TRACE, an icebp (DR6 says nothing) TRAP_BRKPT; si_addr is the
        rip, which a #DB trap leaves after the instruction (send_sigtrap)."""
        dr6 = cpu.take_dr6()
        code, what = (TRAP_TRACE, "single step (#DB)") if dr6 & DR6_BS else (TRAP_BRKPT, "icebp (#DB)")
        self.force_signal(signal.SIGTRAP, code, trap.rip, what, trap)

    def do_page_fault(self, trap: "TrapContext", cr2: int) -> None:
        """Linux's do_user_addr_fault: VMA lookup, access check, the VMA's fault op."""
        error = trap.error_code
        access = FETCH if error & PF_I else WRITE if error & PF_W else READ
        start = perf_counter()              # the handler's time, for --stats
        proc = self.current
        proc.usage.min_flt += 1
        if self.recorder:
            self.recorder.user_fault(proc, cr2, error, trap.rip)
        vma = proc.mm.find_vma(cr2)
        if vma is None:
            self.fault_answered(proc, cr2, access, error, None, "SIGSEGV (SEGV_MAPERR: no VMA)", start)
            return self.force_signal(signal.SIGSEGV, SEGV_MAPERR, cr2, "no mapping", trap)
        if error & PF_RSVD:
            self.fault_answered(proc, cr2, access, error, vma, "panic (reserved bit set)", start)
            return self.panic(f"reserved bit set in a page table entry for {cr2:#x} (corrupt page tables)")
        if not vma.allows(access) or (error & PF_P and not error & PF_W):
            what = {WRITE: "write to a read-only", FETCH: "execute in a no-execute",
                    READ: "read of an unreadable"}[access]
            self.fault_answered(proc, cr2, access, error, vma, f"SIGSEGV (SEGV_ACCERR: {what} mapping)", start)
            return self.force_signal(signal.SIGSEGV, SEGV_ACCERR, cr2, f"{what} mapping", trap)
        result = handle_mm_fault(proc.mm, vma, cr2, access == WRITE)
        self.fault_answered(proc, cr2, access, error, vma, result, start, ops=pt_ops(vma, "fault"))
        if result in RESOLVED:
            return                          # the stub's iretq retries the instruction
        if result == VmFault.OOM:
            self.force_signal(signal.SIGKILL, 0, cr2, "out of memory", trap)
        elif result == VmFault.SIGBUS:
            self.force_signal(signal.SIGBUS, BUS_ADRERR, cr2, getattr(vma.ops, "sigbus_reason", "bus error"), trap)
        elif result == VmFault.SIGSEGV:
            self.force_signal(signal.SIGSEGV, SEGV_ACCERR, cr2, "fault op refused", trap)

    def fault_answered(self, proc, cr2: int, access: Access, error: int, vma, result, start: float,
                       *, ops=None) -> None:
        """Count a user page fault for --stats (kind, pagetable_op, time) and trace the answer.
        `result` is the VmFault of the fault op `ops` if one ran, else what the kernel did, as a string."""
        if not self.accounting and not self.tracer:
            return
        huge_zero = bool(ops is not None and not error & PF_W and vma.flags & VM_HUGETLB and self.maps_huge_zero_page(vma, cr2))
        self.fault_stats.record(error, result, ops, huge_zero, perf_counter() - start)
        if self.tracer:
            op = f"{ops.name}.fault" if ops is not None else None
            function = getattr(ops.fault, "__qualname__", "fault") if ops is not None else None
            self.tracer.fault_handled(pid=proc.pid, va=cr2, access=access.name.lower(), vma=vma, op=op,
                                      function=function, result=getattr(result, "name", result))

    def maps_huge_zero_page(self, vma, va: int) -> bool:
        """Does `va` (in a huge page VMA) now map the huge zero page? (A walk that changes nothing.)"""
        pool = self.hugetlb_pool
        if not vma.flags & VM_HUGETLB or pool is None or pool.zero_page_pa is None:
            return False
        try:
            return walk(self.mem, va, Access.READ, self.mmu.regs, cpl=0, update_ad=False).frame_pa == pool.zero_page_pa
        except (PageFault, GeneralProtection):
            return False

    # -- signals ----------------------------------------------------------------------

    def force_signal(self, sig: int, code: int, addr: int, what: str, trap: "TrapContext") -> None:
        """A fault's signal (Linux force_sig_fault): to the handler through the trap frame,
        or, if there is none or the signal is blocked or ignored, the default action."""
        proc = self.current
        proc.trap_info = self.trap_info(proc, trap, addr)
        info = SigInfo(sig, code=code, addr=addr)
        act = proc.signals.action(sig)
        if sig != signal.SIGKILL and act.handler not in (SIG_DFL, SIG_IGN) and not proc.signals.blocked & sigbit(sig):
            regs = {name: trap.frame[name] for name in SIGCONTEXT_REGS}
            try:
                new = setup_frame(self, proc, sig, info, regs)
                trap.update({name: new[name] for name in SIGCONTEXT_REGS})
                return
            except UserFault as fault:   # force_sigsegv; the SIGSEGV comes at once, on this frame
                self.sigsegv_reset(proc, sig)
                return self.force_signal(signal.SIGSEGV, SI_KERNEL, 0,
                                         f"cannot push the {signal_name(sig)} frame at {fault.va:#018x}", trap)
        if proc.leader is self.init:
            self.report_kill(sig, code, addr, what, trap.rip)
            if self.on_fatal_signal is not None:       # a debugger stops here (emu/debug/gdbstub.py)
                self.on_fatal_signal(sig, trap.frame)
        self.exit_process(proc, sig)

    @staticmethod
    def trap_info(proc: Process, trap: "TrapContext", addr: int) -> tuple:
        """What Linux keeps of a fault that sends a signal (do_trap, send_sigtrap,
        set_signal_archinfo): the vector and error code, and for a #PF the address as
        cr2 and, for an address in the kernel half, the error code's P bit set so the
        frame does not tell whether kernel memory is mapped there."""
        if trap.vector != PageFault.vector:
            return trap.vector, trap.error_code, proc.trap_info[2]
        error = trap.error_code | PF_P if addr >= TASK_SIZE_MAX else trap.error_code
        return trap.vector, error, addr

    def report_kill(self, sig: int, code: int, addr: int, what: str, rip: int) -> None:
        name = signal_name(sig)
        code_name = SI_CODE_NAMES.get(sig, {}).get(code, str(code))
        how = f"{name} ({code_name})" if code else name
        where = f"at address {addr:#018x}" if sig in (signal.SIGSEGV, signal.SIGBUS) and code != SI_KERNEL else ""
        proc = self.current
        thread = f", thread {proc.pid}" if proc is not proc.leader else ""
        self.report.lines = [
            f"emu: {proc.path} (pid {proc.tgid}{thread}) killed by {how}: {what} {where}".rstrip(),
            f"emu:   rip {rip:#018x}: {insn.disassemble(self.cpu.read_code(rip), rip)}",
        ]

    def send_signal(self, proc: Process, info: SigInfo, *, thread: bool = False) -> None:
        """Generate a signal (Linux's send_signal and complete_signal).

        A signal for the process (kill(), SIGCHLD, a timer) waits in the process's shared
        set until some thread takes it, and wakes one thread that does not block it:
        `proc` if it can, else another. One for a thread (`thread`: tgkill, SIGPIPE)
        waits in that thread's own set. A signal whose action is to terminate ends the
        whole process at once, unless the thread it would go to blocks it.
        """
        sig = info.signo
        if not (proc.alive if thread else proc.process_alive):
            return
        act = proc.signals.action(sig)
        bit = sigbit(sig) & ~UNBLOCKABLE
        if sig != signal.SIGKILL and (act.handler == SIG_IGN or (act.handler == SIG_DFL and default_is_ignore(sig))) \
                and not (proc.signals.blocked | proc.signals.real_blocked) & bit:
            return               # discarded at once (sig_ignored: unless blocked or waited for)

        def wants(task: Process) -> bool:
            return task.alive and not task.signals.blocked & bit

        target = proc if thread or wants(proc) else next(filter(wants, proc.leader.threads), None)
        if will_terminate(proc.signals, sig) and target is not None and wants(target) \
                and not target.signals.real_blocked & bit:              # (sigwait takes it instead)
            if proc.leader is self.init and sig != signal.SIGPIPE:     # shells say nothing for SIGPIPE
                self.report.lines = [f"emu: {proc.path} (pid {proc.tgid}) killed by {signal_name(sig)}"]
            self.exit_process(proc, sig)
            return
        if thread:
            proc.signals.pending[sig] = info
        else:                    # the process's: kept for the chosen thread while it wants it
            proc.signals.shared_pending[sig] = info
            proc.signals.shared_targets[sig] = target
        if target is None or not wants(target):
            return
        block = target.block
        if target.state == BLOCKED and not block.ready() and not block.killable_only:
            # The wait is interrupted: -EINTR, or with SA_RESTART the call is made again once
            # the handler returns (Linux's -ERESTARTSYS). A wait that can finish finishes.
            restart = bool(act.flags & SA_RESTART)
            complete = block.interrupted or (lambda: RESTART_SYSCALL if restart else -errno.EINTR)
            target.block = Block(ready=lambda: True, complete=complete, what="interrupted", nr=block.nr,
                                 release=block.release)
            block.release = None
        if target is self.current:
            self.work_pending = True
            self.cpu.pause()

    def force_sig(self, proc: Process, info: SigInfo) -> None:
        """A signal the thread cannot refuse (Linux's force_sig_info_to_task)."""
        self.make_unrefusable(proc, info.signo)
        self.send_signal(proc, info, thread=True)

    @staticmethod
    def make_unrefusable(proc: Process, sig: int, *, drop_handler: bool = False) -> None:
        """force_sig_info_to_task's first half: a blocked or ignored `sig` (any `sig`, with
        `drop_handler`) goes back to SIG_DFL and is unblocked."""
        state, bit = proc.signals, sigbit(sig)
        if drop_handler or state.blocked & bit or state.action(sig).handler == SIG_IGN:
            state.actions[sig] = SigAction()
            state.blocked &= ~bit

    def sigsegv_reset(self, proc: Process, sig: int) -> None:
        """The first half of Linux's force_sigsegv, after the frame for `sig` could not be
        written: the SIGSEGV that follows cannot be blocked or ignored, and if `sig` was
        SIGSEGV itself its handler goes too (force_fatal_sig), so the next one kills."""
        self.make_unrefusable(proc, signal.SIGSEGV, drop_handler=sig == signal.SIGSEGV)

    def kill(self, proc: Process, sig: int) -> None:
        self.send_signal(proc, SigInfo(sig, code=SI_KERNEL), thread=True)

    def deliver_signals(self, cpu) -> None:
        """On the way back to user mode: run the first deliverable signal's action."""
        proc = self.current
        sig = proc.signals.deliverable()
        while sig is not None and proc is self.current and proc.alive:
            info = proc.signals.take(sig)
            if will_terminate(proc.signals, sig):
                self.exit_process(proc, sig)
                return
            if proc.signals.action(sig).handler not in (SIG_DFL, SIG_IGN):
                try:
                    cpu.set_user_regs(setup_frame(self, proc, sig, info, cpu.user_regs()))
                    return
                except UserFault:    # force_sigsegv: a SIGSEGV, delivered next in this loop
                    self.sigsegv_reset(proc, sig)
                    self.send_signal(proc, SigInfo(signal.SIGSEGV, code=SI_KERNEL), thread=True)
            sig = proc.signals.deliverable()
        if proc.alive:
            proc.signals.restore_mask()      # no handler ran: the caller's mask comes back

    def resume_with(self, proc: Process, regs: dict) -> None:
        """rt_sigreturn: resume `proc` with these registers instead of the syscall's result."""
        self.resume_regs = regs
        self.work_pending = True
        self.cpu.pause()

    # -- processes ----------------------------------------------------------------------

    def clone(self, parent: Process, *, flags: int, stack: int = 0, parent_tid: int = 0, child_tid: int = 0,
              tls: int = 0):
        """fork and clone (Linux's copy_process): a new process with a copy-on-write copy of
        `parent`'s memory, or with CLONE_VM one that shares it; with CLONE_THREAD a new
        thread of `parent`'s process. Returns the new task's id, or with CLONE_VFORK a Block
        that gives it once the child has called execve or exited."""
        if len(self.procs) >= self.max_threads:      # copy_process: nr_threads >= max_threads
            return -errno.EAGAIN
        if flags & CLONE_VM:
            child_mm = parent.mm
            child_mm.users += 1
        else:
            try:
                child_mm = proc_calls.dup_mm(self, parent.mm)
            except OutOfMemory:
                return -errno.ENOMEM
        cpu = self.cpu
        context = cpu.save_context()                 # taken in the syscall hook: rip is at `syscall`
        cpu.set_context_reg(context, "rip", cpu.context_reg(context, "rip") + SYSCALL_INSN_SIZE)
        cpu.set_context_reg(context, "rax", 0)
        if stack:
            cpu.set_context_reg(context, "rsp", stack)
        fs_base = parent.fs_base
        if flags & CLONE_SETTLS:
            fs_base = tls
            cpu.set_context_reg(context, "fs_base", tls)
        if flags & CLONE_FILES:
            files = parent.files
            files.users += 1
        else:
            files = parent.files.fork()
        thread = bool(flags & CLONE_THREAD)
        signals = parent.signals.clone(thread=thread, share_actions=bool(flags & CLONE_SIGHAND),
                                       share_vm=flags & (CLONE_VM | CLONE_VFORK) == CLONE_VM)
        fields = dict(files=files, fs_base=fs_base, context=context, signals=signals, comm=parent.comm,
                      no_new_privs=parent.no_new_privs, trap_info=parent.trap_info,
                      fs=parent.fs if flags & CLONE_FS else FsContext(parent.fs.cwd, parent.fs.umask))
        if thread:                                  # a sibling of `parent`, in its process
            leader = parent.leader
            child = self.new_process(leader.ppid, parent.path, child_mm, leader=leader, exit_signal=0, **fields)
            self.trace_sched(f"{self.task_name(parent)} starts thread {child.pid}")
        else:
            child = self.new_process(parent.tgid, parent.path, child_mm, exit_signal=flags & CSIGNAL,
                                     rlimits={resource: list(limit) for resource, limit in parent.leader.rlimits.items()},
                                     **fields)
            parent.leader.children.append(child)
            if self.recorder:
                self.recorder.forked(parent.leader, child)
            self.trace_sched(f"{self.task_name(parent)} forks pid {child.pid}")
        try:
            if flags & CLONE_PARENT_SETTID:
                copy_to_user(parent.mm, self.mmu, parent_tid, struct.pack("<i", child.pid))
            if flags & CLONE_CHILD_SETTID:
                self.with_mm(child_mm, lambda: copy_to_user(child_mm, self.mmu, child_tid,
                                                              struct.pack("<i", child.pid)))
        except UserFault:
            pass                                        # Linux ignores a bad tid pointer here
        if flags & CLONE_CHILD_CLEARTID:
            child.clear_child_tid = child_tid
        if flags & CLONE_VFORK:
            return Block(ready=lambda: child.mm is not child_mm or not child.alive, complete=lambda: child.pid,
                         what=f"vfork (pid {child.pid})", killable_only=True)
        return child.pid

    def with_mm(self, mm, action):
        """Run `action` with `mm`'s page tables loaded (for a write into another process)."""
        current = self.current.mm
        if mm is current:
            return action()
        current.active = False
        self.mmu.load_cr3(mm.pt.pml4_pa)
        mm.active = True
        try:
            return action()
        finally:
            mm.active = False
            self.mmu.load_cr3(current.pt.pml4_pa)
            current.active = True

    def exit_process(self, proc: Process, wait_status: int) -> None:
        """`proc`'s whole process ends (exit_group, a fatal signal): every thread of it,
        with `wait_status` as the process's status."""
        leader = proc.leader
        if not leader.threads:
            return
        leader.exit_status = wait_status
        for task in [proc] + [task for task in leader.threads if task is not proc]:
            self.exit_task(task, wait_status)

    def exit_task(self, task: Process, wait_status: int) -> None:
        """One task ends (Linux's do_exit): a pthread_join waiting for it wakes, its hold on
        the address space and files goes, and with the process's last task the process
        ends. A thread other than the leader leaves no zombie; a leader that goes first
        stays a zombie until its last thread is gone (its parent cannot reap it before),
        and the process's status is then the last thread's."""
        if not task.alive:
            return
        leader = task.leader
        if task.robust_list:
            self.with_mm(task.mm, lambda: futex.exit_robust_list(self, task))
        if task.clear_child_tid and task.mm.users > 1:
            self.clear_tid(task)
        if leader.threads == [task]:
            # The last task's status is the process's (synchronize_group_exit, Linux 5.19+):
            # after exit_group every task has the group's; otherwise the last thread's own.
            leader.exit_status = wait_status
        self.release_task(task, wait_status)
        if task is not leader:
            del self.procs[task.pid]
        if not leader.threads:
            self.process_gone(leader)
            return
        self.trace_sched(f"pid {task.tgid} thread {task.pid} exits, {len(leader.threads)} left")
        if task is self.current:
            self.request_resched()

    def clear_tid(self, task: Process) -> None:
        """CLONE_CHILD_CLEARTID at exit (mm_release): write 0 to the task's tid word and
        wake one futex waiter there; a bad address is ignored, as Linux does."""
        def clear():
            copy_to_user(task.mm, self.mmu, task.clear_child_tid, bytes(4))
            futex.wake(self, futex.futex_key(self, task, task.clear_child_tid, private=False), 1,
                       futex.FUTEX_BITSET_MATCH_ANY)
        try:
            self.with_mm(task.mm, clear)
        except UserFault:
            pass

    def process_gone(self, leader: Process) -> None:
        """The last task of a process has exited: its children go to process 1, its parent
        is told (the exit signal, SIGCHLD), and if it was process 1 the machine stops."""
        wait_status = leader.exit_status
        self.trace_sched(f"pid {leader.pid} exits, wait status {wait_status:#x}")
        for child in leader.children:
            child.ppid = self.init.pid
            child.exit_signal = signal.SIGCHLD       # reparent_leader: "we don't want people slaying init"
            if leader is not self.init:
                self.init.children.append(child)
            if child.pdeath_signal and child.process_alive:     # prctl(PR_SET_PDEATHSIG)
                self.send_signal(child, SigInfo(child.pdeath_signal, code=0))
        parent = self.procs.get(leader.ppid)
        # do_notify_parent sends only a valid signal: legacy clone takes any CSIGNAL byte
        # (0x41..0xff too, unchecked), and such a child's end is only a wake-up.
        if parent is not None and parent.process_alive and 1 <= leader.exit_signal <= NSIG:
            signaled = wait_status & 0x7F
            self.send_signal(parent, SigInfo(leader.exit_signal, code=CLD_KILLED if signaled else CLD_EXITED,
                                             pid=leader.pid, status=signaled or wait_status >> 8))
        if leader is self.init:
            signaled = wait_status & 0x7F
            self.report.status = 128 + signaled if signaled else (wait_status >> 8) & 0xFF
            self.shutdown()
        elif not self.current.alive:
            self.request_resched()

    def reap(self, parent: Process, child: Process) -> None:
        """wait4 took `child`: its usage, and its reaped children's, become the parent's
        children's (what getrusage(RUSAGE_CHILDREN) and times() report)."""
        parent.leader.children.remove(child)
        del self.procs[child.pid]
        parent.leader.children_usage.add(child.ended_usage)
        parent.leader.children_usage.add(child.children_usage)

    @staticmethod
    def charge(task: Process) -> None:
        """Stop `task`'s CPU clock: the time since it went on the CPU is its own."""
        if task.on_cpu_since is not None:
            task.usage.cpu_ns += cpu_clock_ns() - task.on_cpu_since
            task.on_cpu_since = None

    def release_task(self, task: Process, wait_status: int) -> None:
        """Make `task` a zombie with `wait_status`, and drop its files and memory (freed
        with the last task that uses them)."""
        task.exit_status = wait_status
        task.state = ZOMBIE
        if task.block is not None:
            task.block.finish()
        task.block = None
        self.charge(task)
        leader = task.leader
        leader.ended_usage.add(task.usage)
        if leader.threads == [task]:        # the process's peak resident set, for its parent
            leader.ended_usage.maxrss_pages = max(leader.ended_usage.maxrss_pages, task.mm.hiwater_rss, task.mm.rss)
        task.leader.threads.remove(task)
        if self.recorder and not task.leader.threads:
            self.recorder.exiting(self, task.leader)
        if task.files is not None:
            task.files.put()
        proc_calls.mmput(self, task.mm)

    def shutdown(self) -> None:
        """Process 1 is gone: the others are killed too, and the machine stops."""
        for task in list(self.procs.values()):
            if task.alive:
                self.release_task(task, signal.SIGKILL)
        self.check_nothing_leaked()
        self.cpu.stop()

    def check_nothing_leaked(self) -> None:
        """Every process is gone, so every frame and huge page must be back where it was at
        boot (reference counts returned to their start). Anything else is emu's own bug."""
        frames = self.frames.stats
        pool = self.hugetlb_pool
        problems = []
        if (frames.small_in_use, frames.huge_in_use) != self.frames_at_boot:
            problems.append(f"frames in use {frames.small_in_use} x 4K, {frames.huge_in_use} x 2M, "
                            f"at boot {self.frames_at_boot[0]} x 4K, {self.frames_at_boot[1]} x 2M")
        if pool.free_huge_pages != pool.nr_huge_pages or pool.resv_huge_pages or pool.refcount:
            problems.append(f"huge page pool Free {pool.free_huge_pages} of {pool.nr_huge_pages}, "
                            f"Rsvd {pool.resv_huge_pages}")
        if problems:
            raise EmulatorBug("memory leaked at exit: " + "; ".join(problems))

    # -- scheduling ---------------------------------------------------------------------

    def request_resched(self) -> None:
        self.need_resched = True
        self.work_pending = True
        if self.cpu is not None:
            self.cpu.pause()

    def runnable_count(self) -> int:
        if len(self.procs) == 1:
            return 1
        return sum(1 for p in self.procs.values() if p.state == RUNNABLE or (p.state == BLOCKED and p.block.ready()))

    def return_to_user(self, cpu) -> int | None:
        """Work between two emu_start calls: sigreturn registers, a switch, signals.
        Returns the rip to resume at, or None if the machine stopped."""
        self.fire_timers()
        self.work_pending = False
        if self.frames.code_freed:           # (emu/hardware/physmem.py): no stale translation may run
            self.frames.code_freed = False
            cpu.flush_translations()
        if self.resume_regs is not None:
            cpu.set_user_regs(self.resume_regs)
            self.resume_regs = None
        while not cpu.stopped:
            if self.need_resched or self.current.state != RUNNABLE:
                self.need_resched = False
                if not self.schedule(cpu):
                    return None
            self.deliver_signals(cpu)
            if self.current.state == RUNNABLE and not self.need_resched:
                return cpu.reg("rip")
        return None

    def schedule(self, cpu) -> bool:
        """Pick the next process (round robin) and switch to it; False on deadlock."""
        prev = self.current
        if prev.alive and prev.context is None:
            prev.context = cpu.save_context()
        self.charge(prev)
        if prev.alive and prev.state == BLOCKED:
            prev.usage.nvcsw += 1            # it waits: a voluntary switch
        preempted = prev.alive and prev.state == RUNNABLE
        spins = 0
        while True:
            nxt = self.pick_next(prev)
            if preempted and nxt is not None and nxt is not prev:
                prev.usage.nivcsw += 1       # another takes the CPU from it
                preempted = False
            if nxt is None:
                if not self.idle(cpu):
                    return False
                continue
            self.switch_to(cpu, nxt)
            if nxt.state != BLOCKED:
                return True
            block = nxt.block
            try:
                result = block.complete()
            except SyscallError as error:      # a woken call fails as on_syscall's do
                result = error.result
            block.finish()
            if not nxt.alive:                  # finishing the wait killed it (SIGPIPE, say)
                prev = nxt
                continue
            if isinstance(result, Block):
                nxt.block = result
                nxt.context = cpu.save_context()
                if result.ready():           # it made no progress, yet says it can: it would spin here
                    spins += 1
                    if spins > MAX_SPINS:
                        raise EmulatorBug(f"pid {nxt.pid}: {result.what or 'a wait'} is ready but blocks again")
                prev = nxt
                continue
            nxt.state, nxt.block = RUNNABLE, None
            if result is RESTART_SYSCALL:      # SA_RESTART: run the call again after the handler
                cpu.set_reg("rip", cpu.reg("rip") - SYSCALL_INSN_SIZE)
                cpu.set_reg("rax", block.nr)
            else:
                cpu.set_reg("rax", result & (2**64 - 1))
            return True

    def preempt_soon(self) -> bool:
        """Should the running process stop after a slice of instructions: another one is
        ready to run, or something happens at a time a later slice may reach (a sleep
        ends, a timer expires)."""
        if len(self.procs) == 1:
            return self.current.real_timer is not None or bool(self.current.cpu_timers)
        return self.runnable_count() > 1 or self.next_wakeup() is not None or \
            any(p.cpu_timers for p in self.procs.values())

    def next_wakeup(self) -> float | None:
        """When the earliest timed wait (nanosleep) ends or timer (alarm) expires, or None."""
        deadlines = [wake for wake in (p.block.next_wake() for p in self.procs.values() if p.state == BLOCKED)
                     if wake is not None]
        deadlines += [p.real_timer[0] for p in self.procs.values() if p.real_timer is not None and p.process_alive]
        return min(deadlines, default=None)

    def fire_timers(self) -> None:
        """Send SIGALRM for every ITIMER_REAL that has expired (Linux's it_real_fn), and
        SIGVTALRM or SIGPROF for a CPU-time itimer; re-arm the ones with an interval."""
        now = time.monotonic()
        for proc in list(self.procs.values()):
            if proc.real_timer is not None and proc.real_timer[0] <= now and proc.process_alive:
                when, interval = proc.real_timer
                proc.real_timer = (max(when + interval, now), interval) if interval else None
                self.send_signal(proc, SigInfo(signal.SIGALRM, code=SI_KERNEL))
            if proc.cpu_timers and proc.process_alive:       # ITIMER_VIRTUAL, ITIMER_PROF
                spent = clock.process_usage(proc).cpu_ns
                for which, (expiry, interval) in list(proc.cpu_timers.items()):
                    if spent < expiry:
                        continue
                    if interval:
                        proc.cpu_timers[which] = (expiry + interval * (1 + (spent - expiry) // interval), interval)
                    else:
                        del proc.cpu_timers[which]
                    self.send_signal(proc, SigInfo(clock.CPU_TIMER_SIGNALS[which], code=SI_KERNEL))

    def idle(self, cpu) -> bool:
        """Nobody can run: wait for the earliest timed wait to end, as an idle CPU waits for
        its timer interrupt. False, with the machine stopped, if nothing will ever wake
        anybody (a deadlock) or --timeout comes first."""
        wake = self.next_wakeup()
        if wake is None:
            self.deadlock()
            return False
        if cpu.deadline is not None and cpu.deadline < wake:
            time.sleep(max(0.0, cpu.deadline - time.monotonic()))
            self.limit_reached(f"stopped after {cpu.timeout:g} s (--timeout)")
            return False
        time.sleep(max(0.0, wake - time.monotonic()))
        self.fire_timers()
        return True

    def pick_next(self, prev: Process) -> Process | None:
        order = sorted(self.procs.values(), key=lambda p: (p.pid <= prev.pid, p.pid))
        for proc in order:
            if proc.state == RUNNABLE or (proc.state == BLOCKED and proc.block.ready()):
                return proc
        return None

    def switch_to(self, cpu, nxt: Process) -> None:
        """Load `nxt`'s saved user registers and address space."""
        prev = self.current
        if nxt.context is not None:
            cpu.restore_context(nxt.context)
            nxt.context = None
        if prev.mm is not nxt.mm:                 # threads of one process share CR3 and the TLB
            prev.mm.active = False
            cpu.switch_cr3(nxt.mm.pt.pml4_pa)
            nxt.mm.active = True
        if prev is not nxt:
            self.trace_sched(f"switch pid {prev.pid} -> pid {nxt.pid}")
        self.mmu.cpl = 3
        self.current = nxt
        if nxt.on_cpu_since is None:
            nxt.on_cpu_since = cpu_clock_ns()

    def deadlock(self) -> None:
        waits = ", ".join(f"pid {p.pid} in {p.block.what or 'a system call'}"
                          for p in self.procs.values() if p.state == BLOCKED)
        self.report.lines = [f"emu: every process is blocked for ever ({waits})"]
        self.report.status = DEADLOCK_STATUS
        self.shutdown()

    @staticmethod
    def task_name(task: Process) -> str:
        """'pid 7', or 'pid 7 thread 9' for a thread that is not the leader."""
        return f"pid {task.tgid}" if task is task.leader else f"pid {task.tgid} thread {task.pid}"

    def trace_sched(self, text: str) -> None:
        if self.tracer:
            self.tracer.sched(text)

    def limit_reached(self, what: str) -> None:
        self.report.lines = [f"emu: {self.init.path} (pid {self.init.pid}) {what}"]
        self.report.status = TIMEOUT_STATUS
        self.shutdown()

    def host_signalled(self, signum: int) -> None:
        """emu itself was sent `signum` (Ctrl-C, kill): end the run as a shell shows it."""
        self.report.lines = [f"emu: {self.init.path} (pid {self.init.pid}) stopped: emu got "
                             f"{signal.Signals(signum).name}"]
        self.report.status = 128 + signum
        self.shutdown()

    def panic(self, message: str) -> None:
        self.report.lines = [f"emu: {message}"]
        self.report.status = 128 + signal.SIGKILL
        self.cpu.stop()

    # -- system calls -------------------------------------------------------------------

    def on_syscall(self, cpu) -> None:
        proc = self.current
        regs = cpu.layout.read_gprs(cpu.saved.save().context)
        nr = regs["rax"]
        args = (regs["rdi"], regs["rsi"], regs["rdx"], regs["r10"], regs["r8"], regs["r9"])
        handler = SYSCALLS.get(nr)
        try:
            result = handler(self, proc, *args) if handler else -errno.ENOSYS
            if isinstance(result, Block) and result.ready():
                block = result
                result = block.complete()
                block.finish()
        except SyscallError as error:
            # The call failed (emu/kernel/arch/syscall.py): rax is -errno. A UserFault is
            # one: a bad user pointer, EFAULT, as Linux's copy_from_user callers return.
            result = error.result
        if self.tracer and self.tracer.wants("syscall"):
            name = SYSCALL_NAMES.get(nr, f"syscall_{nr}")
            note = "" if handler else "  (not implemented: -ENOSYS)"
            shown_result = f"blocks ({result.what})" if isinstance(result, Block) else result
            self.tracer.syscall(pid=proc.pid, nr=nr, name=name, args=args, result=shown_result, note=note)
        if isinstance(result, Block):
            result.nr = nr
            proc.state, proc.block = BLOCKED, result
            self.request_resched()
            return
        if proc.alive and self.resume_regs is None:
            cpu.set_reg("rax", result & (2**64 - 1))
        if proc.alive and (proc.signals.deliverable() is not None or proc.signals.saved_blocked is not None):
            self.work_pending = True
        if self.frames.code_freed:           # munmap of code: flushed before the guest runs on
            self.work_pending = True
        if not cpu.slicing and self.preempt_soon():
            # The call made time slices necessary (another process can run now, a timer
            # is armed): stop, and Cpu.run starts counting instructions.
            self.work_pending = True
        if self.work_pending:
            cpu.pause()

    def host_write(self, fd: int, data: bytes) -> int:
        """Write to the host's stdout/stderr; a closed pipe is SIGPIPE, as on Linux."""
        stream = self.out[fd]
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            self.send_signal(self.current, SigInfo(signal.SIGPIPE, code=SI_KERNEL), thread=True)
            return -errno.EPIPE
        return len(data)
