"""The guest kernel's top half: processes, the page-fault handler, traps to signals, syscalls.

The ring-0 stub hands every exception to `Kernel.on_trap` by hypercall; a `syscall`
reaches `Kernel.on_syscall`. A page fault is handled like Linux's
arch/x86/mm/fault.c: find the VMA, check the access against its flags, call the
VMA's pagetable_ops `fault`, and turn a failure into SIGSEGV/SIGBUS. A signal with the
default action kills the process and emu reports it in one or two lines.
"""

import errno
import os
import signal
import struct
import sys
from dataclasses import dataclass, field

from .. import insn
from ..mmu import Access, GeneralProtection, PageFault
from ..physmem import OutOfMemory
from ..paging import PAGE_SIZE, PTE_G, PTE_NX, PTE_P, PTE_RW, PFErr
from .exec import build_mm, build_stack
from .mm import UserFault, VmFault
from .pagetable import PageTables
from .stub import KERNEL_VIRT_OFFSET, TRAPFRAME, TRAPFRAME_FIELDS, USER_CS, USER_DS
from .syscalls import SYSCALL_NAMES, SYSCALLS

# Linux si_code values (include/uapi/asm-generic/siginfo.h).
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRERR = 2
ILL_ILLOPN = 2
FPE_INTDIV = 1
SI_KERNEL = 0x80
SI_CODE_NAMES = {
    signal.SIGSEGV: {SEGV_MAPERR: "SEGV_MAPERR", SEGV_ACCERR: "SEGV_ACCERR", SI_KERNEL: "SI_KERNEL"},
    signal.SIGBUS: {BUS_ADRERR: "BUS_ADRERR"},
    signal.SIGILL: {ILL_ILLOPN: "ILL_ILLOPN"},
    signal.SIGFPE: {FPE_INTDIV: "FPE_INTDIV"},
}
# Exceptions from user mode and the signal Linux sends for each (arch/x86/kernel/traps.c).
TRAP_SIGNALS = {
    0: (signal.SIGFPE, FPE_INTDIV, "divide error (#DE)"),
    6: (signal.SIGILL, ILL_ILLOPN, "invalid opcode (#UD)"),
    13: (signal.SIGSEGV, SI_KERNEL, "general protection fault (#GP)"),
}
DOUBLE_FAULT = 8
TIMEOUT_STATUS = 124           # what timeout(1) exits with
INITIAL_RFLAGS = 0x202         # IF=1 and the always-one bit 1


@dataclass
class Process:
    pid: int
    path: str
    mm: object
    exit_status: int | None = None          # a wait status (WIFEXITED/WIFSIGNALED encoding)
    fs_base: int = 0


@dataclass
class Report:
    """What happened to the first process, for the CLI: its exit status and message."""
    status: int | None = None
    message: str = ""
    lines: list = field(default_factory=list)


class Kernel:
    def __init__(self, mem, frames, mmu, stub, *, tracer=None, stdout=None, stderr=None):
        self.mem = mem
        self.frames = frames
        self.mmu = mmu
        self.stub = stub
        self.tracer = tracer
        self.out = {1: stdout or sys.stdout.buffer, 2: stderr or sys.stderr.buffer}
        self.kernel_pt = self.map_stub()
        self.proc = None
        self.cpu = None
        self.report = Report()

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
        mm = build_mm(self.mem, self.frames, self.kernel_pt, image, self.mmu)
        self.proc = Process(1, image.path, mm)
        cpu.set_paging(mm.pt.pml4_pa)
        mm.active = True
        self.start = build_stack(mm, self.mmu, image, argv, envp)

    def on_boot(self, cpu, frame_pa: int) -> None:
        """HC_BOOT: fill the stub's empty trap frame so its iretq enters the program."""
        values = dict.fromkeys(TRAPFRAME_FIELDS, 0)
        values.update(rip=self.start.entry, cs=USER_CS, rflags=INITIAL_RFLAGS, rsp=self.start.rsp, ss=USER_DS)
        self.mem.write(frame_pa, TRAPFRAME.pack(*(values[name] for name in TRAPFRAME_FIELDS)))

    # -- traps ------------------------------------------------------------------------

    def on_trap(self, cpu, frame: dict, cr2: int, frame_pa: int) -> None:
        """HC_TRAP: the stub saved an exception's trap frame; decide what it means."""
        vector, rip = frame["vector"], frame["rip"]
        if vector == DOUBLE_FAULT:
            self.panic(f"double fault (#DF) at rip {rip:#018x}: {cpu.double_fault_cause} "
                       f"could not be delivered; the stub's #DF handler stops the machine")
            return
        if frame["cs"] & 3 != 3:
            self.panic(f"kernel oops: exception {vector} in ring 0 at rip {rip:#018x} (cr2 {cr2:#x})")
            return
        if vector == PageFault.vector:
            self.do_page_fault(frame, cr2)
        elif vector in TRAP_SIGNALS:
            sig, code, what = TRAP_SIGNALS[vector]
            self.force_signal(sig, code, rip, what, rip)
        else:
            self.force_signal(signal.SIGSEGV, SI_KERNEL, rip, f"exception {vector}", rip)

    def do_page_fault(self, frame: dict, cr2: int) -> None:
        """Linux's do_user_addr_fault: VMA lookup, access check, the VMA's fault op."""
        error = PFErr(frame["error_code"])
        access = Access.FETCH if error & PFErr.I else Access.WRITE if error & PFErr.W else Access.READ
        proc = self.proc
        vma = proc.mm.find_vma(cr2)
        if vma is None:
            return self.force_signal(signal.SIGSEGV, SEGV_MAPERR, cr2, "no mapping", frame["rip"])
        if error & PFErr.RSVD:
            return self.panic(f"reserved bit set in a page table entry for {cr2:#x} (corrupt page tables)")
        if not vma.allows(access) or (error & PFErr.P and not error & PFErr.W):
            what = {Access.WRITE: "write to a read-only", Access.FETCH: "execute in a no-execute",
                    Access.READ: "read of an unreadable"}[access]
            return self.force_signal(signal.SIGSEGV, SEGV_ACCERR, cr2, f"{what} mapping", frame["rip"])
        try:
            result = vma.ops.fault(proc.mm, vma, cr2, access == Access.WRITE)
        except OutOfMemory:              # no frame for the page or for a page table
            result = VmFault.OOM
        if self.tracer:
            self.tracer.line("fault", f"  handled by {vma.ops.name}.fault in {vma.name or 'anon'}: {result.name}")
        if result == VmFault.OOM:
            self.force_signal(signal.SIGKILL, 0, cr2, "out of memory", frame["rip"])
        elif result == VmFault.SIGBUS:
            self.force_signal(signal.SIGBUS, BUS_ADRERR, cr2, "bus error", frame["rip"])
        elif result == VmFault.SIGSEGV:
            self.force_signal(signal.SIGSEGV, SEGV_ACCERR, cr2, "fault op refused", frame["rip"])

    def exact_fault_address(self, page_va: int, access: Access) -> int:
        """CR2 for a fault the MMU saw on `page_va`: decode the instruction (emu/insn.py)."""
        cpu = self.cpu
        rip = cpu.reg("rip")
        if access == Access.FETCH:
            return insn.fault_address(page_va, PAGE_SIZE, None, cpu.reg, fetch=True, rip=rip)
        decoded = insn.decode(self.read_code(rip), rip)
        return insn.fault_address(page_va, PAGE_SIZE, decoded, cpu.reg, fetch=False, rip=rip)

    def read_code(self, rip: int, size: int = insn.MAX_INSN_LEN) -> bytes:
        """Up to `size` bytes of instructions at `rip`, stopping at an unmapped page."""
        out = bytearray()
        while len(out) < size:
            va = rip + len(out)
            try:
                pa = self.mmu.translate(va, Access.READ, cpl=0).pa
            except (PageFault, GeneralProtection):
                break
            out += self.mem.read(pa, min(size - len(out), PAGE_SIZE - (va & (PAGE_SIZE - 1))))
        return bytes(out)

    # -- signals and exits --------------------------------------------------------------

    def force_signal(self, sig: int, code: int, addr: int, what: str, rip: int) -> None:
        """Deliver `sig` with its default action: for these signals, kill the process."""
        name = signal.Signals(sig).name
        code_name = SI_CODE_NAMES.get(sig, {}).get(code, str(code))
        how = f"{name} ({code_name})" if code else name
        where = f"at address {addr:#018x}" if sig in (signal.SIGSEGV, signal.SIGBUS) else ""
        self.report.lines = [
            f"emu: {self.proc.path} (pid {self.proc.pid}) killed by {how}: {what} {where}".rstrip(),
            f"emu:   rip {rip:#018x}: {insn.disassemble(self.read_code(rip), rip)}",
        ]
        self.exit_process(self.proc, sig)

    def exit_process(self, proc, wait_status: int) -> None:
        """The process is gone; `wait_status` as wait4 encodes it."""
        proc.exit_status = wait_status
        if proc is self.proc:
            signaled = wait_status & 0x7F
            self.report.status = 128 + signaled if signaled else (wait_status >> 8) & 0xFF
            self.cpu.stop()

    def limit_reached(self, what: str) -> None:
        self.report.lines = [f"emu: {self.proc.path} (pid {self.proc.pid}) {what}"]
        self.report.status = TIMEOUT_STATUS
        self.cpu.stop()

    def panic(self, message: str) -> None:
        self.report.lines = [f"emu: {message}"]
        self.report.status = 128 + signal.SIGKILL
        self.cpu.stop()

    # -- system calls -------------------------------------------------------------------

    def on_syscall(self, cpu) -> None:
        regs = cpu.layout.read_gprs(cpu.uc.context_save())
        nr = regs["rax"]
        args = (regs["rdi"], regs["rsi"], regs["rdx"], regs["r10"], regs["r8"], regs["r9"])
        handler = SYSCALLS.get(nr)
        result = handler(self, self.proc, *args) if handler else -38      # ENOSYS
        if self.tracer and self.tracer.wants("syscall"):
            name = SYSCALL_NAMES.get(nr, f"syscall_{nr}")
            shown = ", ".join(f"{a:#x}" for a in args[:3])
            note = "" if handler else "  (not implemented: -ENOSYS)"
            self.tracer.line("syscall", f"pid {self.proc.pid} {name}({shown}, ...) = {result}{note}")
        if not cpu.stopped:
            cpu.set_reg("rax", result & (2**64 - 1))

    def host_write(self, fd: int, data: bytes) -> int:
        """Write to the host's stdout/stderr; a closed pipe is SIGPIPE, as on Linux."""
        stream = self.out[fd]
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            self.exit_process(self.proc, signal.SIGPIPE)    # default action: terminate, quietly
            return -errno.EPIPE
        return len(data)
