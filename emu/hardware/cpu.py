"""The CPU around Unicorn: boot, exception delivery through the IDT, hypercalls, the run loop.

Unicorn executes instructions and performs the real privilege changes of `iretq`, but
it never delivers an exception through the guest's IDT (shared/UNICORN-NOTES.md). So
`Cpu.deliver` does what the processor does on an exception (SDM Vol. 3A, 6.12.1 and
6.14): read the IDT gate, switch to the TSS's RSP0 when coming from ring 3, push
SS, RSP, RFLAGS, CS, RIP and the error code on the new stack, load CR2 for a #PF,
and enter the handler in ring 0. An exception while doing that is a double fault
(#DF, vector 8); one more is a triple fault, which stops emu.

Register writes cannot change the CPL in 64-bit mode, so ring 0 is entered by editing
the interrupted CPU context: its CPL, CS and SS are replaced by those of a context saved
while the stub ran in ring 0 at boot, and it is restored (ContextLayout.enter_ring0).
Every other register, SSE and x87 state and FS/GS bases included, stays as the
CPU would leave it.
"""

import ctypes
import struct
import time
from dataclasses import dataclass

from unicorn import (UC_ARCH_X86, UC_ERR_EXCEPTION, UC_ERR_INSN_INVALID, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INSN, UC_HOOK_INTR,
                     UC_MODE_64, UC_PROT_ALL, Uc, UcError)
from unicorn import x86_const as ux

from . import insn
from ..errors import EmulatorBug
from .mmu import FETCH, READ, WRITE, GeneralProtection, Mmu, PageFault
from .paging import (PAGE_SIZE, pf_error_str, CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE)
from .hypercall import HC_BOOT, HC_PORT, HC_TRAP

MSR_EFER = 0xC000_0080
CR0_MP, CR0_ET, CR0_NE = 1 << 1, 1 << 4, 1 << 5
CR4_OSFXSR, CR4_OSXMMEXCPT = 1 << 9, 1 << 10
# Vectors for which the CPU pushes an error code (SDM table 6-1).
HAS_ERROR_CODE = {8, 10, 11, 12, 13, 14, 17, 21}
VECTOR_NAMES = {0: "#DE", 1: "#DB", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF",
                10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC",
                18: "#MC", 19: "#XM"}
DEBUG, INVALID_OPCODE, DOUBLE_FAULT, GENERAL_PROTECTION = 1, 6, 8, 13
IDT_GATE_P = 1 << 47
IDT_GATE_DPL_SHIFT = 45                    # a gate's DPL: bits 46:45 of its low quadword
IDT_GATE_DPL = 3 << IDT_GATE_DPL_SHIFT
IDT_ERROR_BIT = 1 << 1                     # a selector error code names an IDT entry (SDM 6.13)
DR6_INIT = 0xFFFF_0FF0                     # DR6 at reset; DR6_BS (bit 14) marks a single step
SYSCALL_INSN, SYSCALL_SIZE = b"\x0f\x05", 2
ICEBP = 0xF1                               # INT1: a #DB trap with no DPL check (SDM 6.12.1.1)
RFLAGS_TF, RFLAGS_IF, RFLAGS_NT, RFLAGS_RF = 1 << 8, 1 << 9, 1 << 14, 1 << 16
# Cleared in RFLAGS when the CPU enters a handler through an interrupt gate (SDM 6.12.1.3).
CLEARED_ON_DELIVERY = RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_IF
NEVER = 0xFFFF_FFFF_FFFF_FFFF      # emu_start's `until` (ignored: exits are on, and none is set)
_unpack_u64 = struct.Struct("<Q").unpack_from
_pack_u64 = struct.Struct("<Q").pack_into
_unpack_u32 = struct.Struct("<I").unpack_from
_unpack_gate = struct.Struct("<QQ").unpack_from        # a 16-byte IDT gate
PREEMPT_SLICE = 200_000            # instructions a process runs before another gets a turn
NO_PREEMPTION = 1 << 62            # a count that never runs out
# QEMU's translation cache (code_gen_buffer) is a bump allocator: a block translated for
# code at a new physical address (every exec'd program's pages are fresh frames) takes
# new space, and space comes back only when the buffer is full (tb_flush drops every
# block). Unicorn's default, 1 GiB, let the host RSS grow by that much over a long run
# of fork+exec (0.35 MiB per exec of a glibc program); 16 MiB bounds it, and still holds
# the translated working set of any guest here several times over.
TCG_BUFFER_SIZE = 16 << 20

# FXSAVE's 512-byte image (SDM Vol. 1, table 10-2, 64-bit form): FCW, FSW, abridged FTW,
# FOP, FIP, FDP, MXCSR, MXCSR_MASK; then ST0-ST7 (10 bytes in 16) at 32, XMM0-15 at 160.
FXSAVE_SIZE = 512
FXSAVE_HEAD = struct.Struct("<HHBxHQQII")
FXSAVE_ST = struct.Struct("<QH6x")          # (mantissa, sign and exponent), as Unicorn gives them
FXSAVE_ST_OFFSET, FXSAVE_XMM_OFFSET = 32, 160
MXCSR_MASK = 0xFFFF                         # the MXCSR bits this CPU supports (DAZ included)
TAG_EMPTY = 3
FP_REGS = tuple(getattr(ux, f"UC_X86_REG_FP{i}") for i in range(8))      # physical R0-R7
XMM_REGS = tuple(getattr(ux, f"UC_X86_REG_XMM{i}") for i in range(16))

# Unicorn register ids of the 16 general registers, in QEMU's CPUX86State.regs order.
GPR_ORDER = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
UC_REG = {name: getattr(ux, f"UC_X86_REG_{name.upper()}") for name in GPR_ORDER}
GPR_INDEX = {name: index for index, name in enumerate(GPR_ORDER)}
UC_REG.update(rip=ux.UC_X86_REG_RIP, rflags=ux.UC_X86_REG_RFLAGS, cs=ux.UC_X86_REG_CS,
              ss=ux.UC_X86_REG_SS, fs_base=ux.UC_X86_REG_FS_BASE, gs_base=ux.UC_X86_REG_GS_BASE,
              cr2=ux.UC_X86_REG_CR2, cr3=ux.UC_X86_REG_CR3)


class TripleFault(Exception):
    """A fault while delivering a double fault: the CPU would shut down."""


class DeliveryFault(Exception):
    """An exception raised while delivering another (becomes #DF)."""


@dataclass(slots=True)
class Exception_:
    """An exception to deliver: vector, error code, and for #PF the CR2 value."""
    vector: int
    error_code: int = 0
    cr2: int | None = None
    rip: int | None = None      # the faulting instruction, when Unicorn has moved past it
    context: object = None      # the CPU at the faulting instruction, saved in a hook, and
    rflags: int = 0             # its RFLAGS, when Unicorn ran on after the hook (io_from_user)

    @property
    def name(self) -> str:
        return VECTOR_NAMES.get(self.vector, f"vector {self.vector}")


class ContextLayout:
    """Where registers sit inside a saved Unicorn context, found and checked at start-up.

    A Unicorn context is a copy of QEMU's CPUX86State (qemu/target/i386/cpu.h) after a
    small header. The fields exception delivery needs, in QEMU's order:

        regs[16] eip eflags cc_dst cc_src cc_src2 cc_op df hflags hflags2 segs[6] ldt tr
        gdt idt cr[5] ...                   segs[i] = {selector, base, limit, flags}, 24 bytes

    hflags holds the CPL (bits 1:0) and the code-segment mode; segs[CS] and segs[SS] hold
    the loaded descriptors. Entering ring 0 changes exactly those (SDM 6.12.1: the CPU
    loads CS and SS from the gate and the TSS; everything else, including the SSE and x87
    registers and the FS/GS bases, stays), so delivery copies them from a context saved in
    ring 0 into the interrupted one, instead of the other way round.

    Every offset is checked by writing known values through the API, so a Unicorn build
    with another layout is refused at start-up (EmulatorBug), not silently corrupted.
    """
    ES, CS, SS = 0, 1, 2
    SEGMENT_SIZE = 24

    def __init__(self, uc: Uc):
        saved = uc.context_save()
        marks = [0x1122_3344_0000_0000 + i * 0x101 for i in range(17)]
        for name, value in zip(GPR_ORDER + ("rip",), marks):
            uc.reg_write(UC_REG[name], value)
        uc.reg_write(ux.UC_X86_REG_CR2, 0x5566_7788_99AA_BBCC)
        uc.reg_write(ux.UC_X86_REG_CS, 0x0123)        # in 64-bit mode: only the selector
        uc.reg_write(ux.UC_X86_REG_SS, 0x0456)
        raw = bytes(uc.context_save())
        uc.context_restore(saved)
        base = self.gpr_offset = raw.find(struct.pack("<16Q", *marks[:16]))
        self.rip_offset = base + 128
        self.eflags_offset = base + 136
        self.hflags_offset = base + 176
        self.segs_offset = base + 184
        self.cr2_offset = base + 424 + 2 * 8
        self.cs_offset, self.ss_offset = self.segment(self.CS), self.segment(self.SS)
        self.find_exception_fields(uc)
        checks = [
            base >= 0,
            raw[self.rip_offset:self.rip_offset + 8] == struct.pack("<Q", marks[16]),
            raw[self.cr2_offset:self.cr2_offset + 8] == struct.pack("<Q", 0x5566_7788_99AA_BBCC),
            raw[self.segment(self.CS):self.segment(self.CS) + 4] == struct.pack("<I", 0x0123),
            raw[self.segment(self.SS):self.segment(self.SS) + 4] == struct.pack("<I", 0x0456),
            # hflags in 64-bit mode: HF_LMA (bit 14) and HF_CS64 (bit 15) set.
            (struct.unpack_from("<I", raw, self.hflags_offset)[0] >> 14) & 3 == 3,
        ]
        if not all(checks):
            raise EmulatorBug("this Unicorn's CPU context has an unexpected layout")

    def find_exception_fields(self, uc: Uc) -> None:
        """Locate QEMU's exception fields, which sit just around the debug registers:

            int error_code; int exception_is_int; target_ulong exception_next_eip;
            target_ulong dr[8]; void *cpu_breakpoint[4]; int old_exception;

        Unicorn calls UC_HOOK_INTR before any IDT lookup, with RIP already moved past an
        INT n (exception_is_int) and with old_exception still set: QEMU clears it only
        when it delivers (do_interrupt_all), which Unicorn never does, so without a reset
        the next contributory fault would be turned into a #DF (check_exception).
        """
        saved = uc.context_save()
        marks = [0x7766_5544_0000_0000 + i * 0x11 for i in range(8)]
        for i, value in enumerate(marks):
            uc.reg_write(getattr(ux, f"UC_X86_REG_DR{i}"), value)
        raw = bytes(uc.context_save())
        uc.context_restore(saved)
        dr = raw.find(struct.pack("<8Q", *marks))
        self.error_code_offset, self.is_int_offset, self.next_eip_offset = dr - 16, dr - 12, dr - 8
        self.old_exception_offset = dr + 8 * 8 + 4 * 8
        self.view_size = self.old_exception_offset + 4
        if dr < 0 or struct.unpack_from("<iiQ", raw, dr - 16) != (0, 0, 0) \
                or struct.unpack_from("<i", raw, self.old_exception_offset)[0] != -1:
            raise EmulatorBug("this Unicorn's CPU context has an unexpected layout (exception fields)")

    def exception_state(self, view) -> tuple:
        """(error code, is a software interrupt, rip after it) of the exception QEMU raised."""
        error, is_int, next_rip = struct.unpack_from("<iiQ", view, self.error_code_offset)
        return error & 0xFFFF_FFFF, bool(is_int), next_rip

    def segment(self, index: int) -> int:
        return self.segs_offset + index * self.SEGMENT_SIZE

    @staticmethod
    def view(ctx, size: int = 1024):
        """The first `size` bytes of a saved context, writable in place."""
        return memoryview((ctypes.c_char * size).from_address(ctx.context.value)).cast("B")

    def read_gprs(self, ctx) -> dict:
        return dict(zip(GPR_ORDER, struct.unpack_from("<16Q", self.view(ctx), self.gpr_offset)))

    def write_gprs(self, ctx, regs: dict) -> None:
        struct.pack_into("<16Q", self.view(ctx), self.gpr_offset,
                         *(regs[name] & (2**64 - 1) for name in GPR_ORDER))

    def ring0_state(self, kernel_view) -> tuple:
        """What entering ring 0 copies from a context saved in ring 0: its hflags (CPL 0)
        and its CS and SS descriptors (two adjacent entries of segs[])."""
        return (bytes(kernel_view[self.hflags_offset:self.hflags_offset + 8]),
                bytes(kernel_view[self.cs_offset:self.ss_offset + self.SEGMENT_SIZE]))

    def enter_ring0(self, view, ring0_state: tuple, rsp: int, clear_flags: int, cr2: int | None) -> None:
        """Make the interrupted context (`view`) the CPU state at an exception handler's
        first instruction: CPL 0 with the kernel's CS and SS (`ring0_state`), the new RSP,
        IF/TF/NT/RF cleared in RFLAGS, CR2 loaded for a #PF."""
        hflags, cs_ss = ring0_state
        view[self.hflags_offset:self.hflags_offset + 8] = hflags
        view[self.cs_offset:self.ss_offset + self.SEGMENT_SIZE] = cs_ss
        _pack_u64(view, self.gpr_offset + 4 * 8, rsp)
        _pack_u64(view, self.eflags_offset, _unpack_u64(view, self.eflags_offset)[0] & ~clear_flags)
        if cr2 is not None:
            _pack_u64(view, self.cr2_offset, cr2)
        struct.pack_into("<i", view, self.old_exception_offset, -1)    # delivered: none in flight


class SavedState:
    """The CPU state where emulation stopped, saved into one reusable context buffer: a
    fault path reads its registers from the saved bytes instead of asking Unicorn for
    each one (a `reg_read` costs about 1.3 us, an unpack from the buffer 0.1 us).

    The Cpu owns one SavedState; `save()` refreshes it with `context_update`, and a
    delivery edits it and restores it before the next save.
    """

    def __init__(self, cpu: "Cpu"):
        self.cpu = cpu
        self.layout = cpu.layout
        self.context = cpu.uc.context_save()
        self.view = self.layout.view(self.context, self.layout.view_size)

    def save(self) -> "SavedState":
        self.cpu.uc.context_update(self.context)
        return self

    def reg(self, name: str) -> int:
        index = GPR_INDEX.get(name)
        if index is not None:
            return _unpack_u64(self.view, self.layout.gpr_offset + 8 * index)[0]
        if name == "rip":
            return _unpack_u64(self.view, self.layout.rip_offset)[0]
        return self.cpu.reg(name)          # the CPU itself still holds this same state

    def interrupted(self) -> tuple:
        """(rip, rsp, rflags, cs, ss): what the CPU pushes when it delivers an exception.

        RFLAGS is complete here: inside emu_start QEMU keeps the arithmetic flags apart
        (lazily, in CC_SRC/CC_OP), and when emu_start returns it folds them into `eflags`
        (x86_cpu_exec_exit). guest/sse_fault.c checks the flags of an `add` across a fault.
        """
        view, layout = self.view, self.layout
        return (_unpack_u64(view, layout.rip_offset)[0], _unpack_u64(view, layout.gpr_offset + 4 * 8)[0],
                _unpack_u64(view, layout.eflags_offset)[0],
                _unpack_u32(view, layout.cs_offset)[0], _unpack_u32(view, layout.ss_offset)[0])


class Cpu:
    """One x86-64 CPU on Unicorn with emu's MMU, running the stub and the kernel's programs."""

    def __init__(self, mem, mmu: Mmu, stub, kernel, *, tracer=None):
        self.mem = mem
        self.mmu = mmu
        self.recipes = insn.RecipeCache()    # decoded memory operands, per instruction (fault_address)
        self.stub = stub
        self.kernel = kernel
        self.tracer = tracer
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self.uc.ctl_set_tcg_buffer_size(TCG_BUFFER_SIZE)       # before anything initialises the uc
        self.uc.mem_map_ptr(0, mem.size, UC_PROT_ALL, mem.host_address)
        self.layout = ContextLayout(self.uc)
        self.ring0_state = None         # from a context saved in ring 0 at boot (HC_BOOT): CPL, CS, SS
        self.saved = SavedState(self)   # the reusable buffer where a fault path saves the CPU state
        self.hc_frame_pa, self.hc_cr2_pa = stub.pa("hc_frame"), stub.pa("hc_cr2")   # the mailbox
        self.kernel_virt_offset = stub.virt_offset     # hc_frame holds a kernel va: pa = va - this
        self.tss_va = stub.symbols["tss"]
        self.pending = None          # an Exception_ raised by a hook, to deliver
        self.double_fault_cause = ""
        self.stopped = False
        self.host_signal = None           # a signal to emu itself ends the run (interrupt_from_host)
        self.insn_count = 0
        self.counting = False           # Unicorn's instruction counter (preemption) is in use
        self.slicing = False            # this emu_start runs a slice of PREEMPT_SLICE instructions
        self.max_insns = None
        self.block_insns = None         # with --stats: instructions per block (on_block)
        self.timeout = self.deadline = None     # --timeout, and when it runs out (time.monotonic)
        self.debugger = None            # an emu.debug.gdbstub.GdbStub while gdb is attached
        mmu.attach(self.uc, self.read_cpl)
        # No stop address: with exits enabled and none listed, `until` is ignored.
        self.uc.ctl_exits_enabled(True)
        self.uc.ctl_set_exits([])
        self.uc.hook_add(UC_HOOK_INSN, self.on_out, aux1=ux.UC_X86_INS_OUT)
        self.uc.hook_add(UC_HOOK_INSN, self.on_in, aux1=ux.UC_X86_INS_IN)
        self.uc.hook_add(UC_HOOK_INSN, self.on_syscall, aux1=ux.UC_X86_INS_SYSCALL)
        self.uc.hook_add(UC_HOOK_INSN, self.on_sysenter, aux1=ux.UC_X86_INS_SYSENTER)
        self.uc.hook_add(UC_HOOK_INTR, self.on_interrupt)

    # -- registers --------------------------------------------------------------------

    def reg(self, name: str) -> int:
        return self.uc.reg_read(UC_REG[name])

    def set_reg(self, name: str, value: int) -> None:
        self.uc.reg_write(UC_REG[name], value)

    # -- saved contexts: a switched-out process's registers --------------------------

    def save_context(self):
        """A copy of the whole CPU state (Unicorn's context_save), to resume it later."""
        return self.uc.context_save()

    def restore_context(self, context) -> None:
        """Load a state taken by save_context: the CPU resumes where it was saved."""
        self.uc.context_restore(context)

    @staticmethod
    def context_reg(context, name: str) -> int:
        """Register `name` (as in reg) in a saved context."""
        return context.reg_read(UC_REG[name])

    @staticmethod
    def set_context_reg(context, name: str, value: int) -> None:
        """Change register `name` in a saved context, not in the running CPU."""
        context.reg_write(UC_REG[name], value)

    def user_regs(self) -> dict:
        """The interrupted user registers (16 general ones, rip, rflags) as a dict."""
        regs = self.layout.read_gprs(self.uc.context_save())
        regs["rip"], regs["rflags"] = self.reg("rip"), self.reg("rflags")
        return regs

    def set_user_regs(self, regs: dict) -> None:
        """Load user registers (names as in user_regs; missing ones are kept)."""
        context = self.uc.context_save()
        current = self.layout.read_gprs(context)
        current.update((name, regs[name]) for name in GPR_ORDER if name in regs)
        self.layout.write_gprs(context, current)
        self.uc.context_restore(context)
        if "rflags" in regs:
            self.set_reg("rflags", regs["rflags"])
        if "rip" in regs:
            self.set_reg("rip", regs["rip"])

    # -- the x87/SSE state, as FXSAVE lays it out (SDM Vol. 1, 10.5.1, table 10-2) ------

    def fxsave(self) -> bytes:
        """The FPU and SSE registers as the 512-byte image FXSAVE writes in 64-bit mode.

        ST(i) is physical register (TOP + i) mod 8; the tag word is abridged to one bit
        per physical register (1: not empty). Unicorn hands out the physical registers.
        """
        read = self.uc.reg_read
        fsw, tags = read(ux.UC_X86_REG_FPSW), read(ux.UC_X86_REG_FPTAG)
        top = (fsw >> 11) & 7
        abridged = sum(1 << i for i in range(8) if (tags >> 2 * i) & 3 != TAG_EMPTY)
        image = FXSAVE_HEAD.pack(read(ux.UC_X86_REG_FPCW), fsw, abridged, read(ux.UC_X86_REG_FOP),
                                 read(ux.UC_X86_REG_FIP), read(ux.UC_X86_REG_FDP), read(ux.UC_X86_REG_MXCSR),
                                 MXCSR_MASK)
        image += b"".join(FXSAVE_ST.pack(*read(FP_REGS[(top + i) & 7])) for i in range(8))
        image += b"".join(read(reg).to_bytes(16, "little") for reg in XMM_REGS)
        return image.ljust(FXSAVE_SIZE, b"\0")

    def fxrstor(self, image: bytes) -> None:
        """Load the FPU and SSE registers from an FXSAVE image (the inverse of fxsave)."""
        fcw, fsw, abridged, fop, fip, fdp, mxcsr, _ = FXSAVE_HEAD.unpack_from(image)
        write = self.uc.reg_write
        write(ux.UC_X86_REG_FPCW, fcw)
        write(ux.UC_X86_REG_FPSW, fsw)
        write(ux.UC_X86_REG_FPTAG, sum((0 if abridged >> i & 1 else TAG_EMPTY) << 2 * i for i in range(8)))
        write(ux.UC_X86_REG_FOP, fop)
        write(ux.UC_X86_REG_FIP, fip)
        write(ux.UC_X86_REG_FDP, fdp)
        write(ux.UC_X86_REG_MXCSR, mxcsr)
        top = (fsw >> 11) & 7
        for i in range(8):
            write(FP_REGS[(top + i) & 7], FXSAVE_ST.unpack_from(image, FXSAVE_ST_OFFSET + 16 * i))
        for n, reg in enumerate(XMM_REGS):
            offset = FXSAVE_XMM_OFFSET + 16 * n
            write(reg, int.from_bytes(image[offset:offset + 16], "little"))

    def set_fs_base(self, value: int) -> None:
        self.set_reg("fs_base", value)

    def read_cpl(self) -> int:
        return self.uc.reg_read(ux.UC_X86_REG_CS) & 3

    def set_paging(self, cr3: int) -> None:
        """Long mode with 4-level paging, NX, WP and global pages (what Linux enables)."""
        cr4 = self.uc.reg_read(ux.UC_X86_REG_CR4)
        cr4 = (cr4 | CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT) & ~(1 << 16)   # no FSGSBASE
        efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE
        cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG
        self.uc.reg_write(ux.UC_X86_REG_CR4, cr4)
        self.uc.reg_write(ux.UC_X86_REG_MSR, (MSR_EFER, efer))
        self.uc.reg_write(ux.UC_X86_REG_CR3, cr3)
        self.uc.reg_write(ux.UC_X86_REG_CR0, cr0)
        self.mmu.efer = efer
        self.mmu.load_cr0(cr0)
        self.mmu.load_cr4(cr4)
        self.mmu.load_cr3(cr3)

    def switch_cr3(self, cr3: int) -> None:
        """MOV to CR3 done by the kernel: the MMU flushes its TLB, Unicorn its own."""
        self.uc.reg_write(ux.UC_X86_REG_CR3, cr3)
        self.mmu.load_cr3(cr3)

    # -- the run loop -----------------------------------------------------------------

    def run(self, *, timeout: float | None = None, max_insns: int | None = None,
            count_insns: bool = False) -> None:
        """Boot the stub and run until the kernel stops the machine (exit, kill, limit)."""
        self.timeout = timeout
        self.deadline = deadline = time.monotonic() + timeout if timeout else None
        if count_insns and not max_insns:
            # --stats: count instructions block by block (a Python call per executed block,
            # so it slows emu down); each block's instruction count is decoded once.
            self.block_insns = {}               # (block address, size) -> instructions
            self.uc.hook_add(UC_HOOK_BLOCK, self.on_block)
        if max_insns:
            self.max_insns = max_insns
            self.uc.hook_add(UC_HOOK_CODE, self.on_count)
        self.mmu.cpl = 0
        rip = self.stub.symbols["boot_entry"]
        while not self.stopped:
            budget_us = 0
            if deadline is not None:
                budget_us = max(1, int((deadline - time.monotonic()) * 1e6))
            # Preemption: with another process ready to run, or one asleep until a time
            # (nanosleep), stop after a slice of instructions, like a timer interrupt, and
            # let the scheduler look again. Unicorn counts them in C; without a second
            # process, no cost. (Not emu_start's timeout: its stop comes from Unicorn's
            # timer thread, and emu saw one lose a system call: the `syscall` ran, its hook
            # did not, and rax kept the call number.)
            self.slicing = self.kernel.preempt_soon()
            if self.slicing:
                count = PREEMPT_SLICE
                self.start_counting()
            else:
                # Once Unicorn's instruction counter is on, keep it on: removing its hook
                # later makes QEMU fetch stale code (a refused fetch of the stub's page).
                count = NO_PREEMPTION if self.counting else 0
            if self.debugger is not None:     # gdb: report a stop, or run a slice and poll
                paused = time.monotonic()
                rip, count, budget_us = self.debugger.before_slice(rip, count, budget_us)
                if self.stopped:
                    break
                if self.host_signal is not None:      # while it waited for gdb
                    self.kernel.host_signalled(self.host_signal)
                    break
                if deadline is not None:      # --timeout counts the guest's time, not gdb's stops
                    deadline = self.deadline = deadline + (time.monotonic() - paused)
                    budget_us = max(1, int((deadline - time.monotonic()) * 1e6))
            self.mmu.pending_fault = None
            try:
                self.uc.emu_start(rip, NEVER, timeout=budget_us, count=count)
            except UcError as err:
                if self.stopped:
                    break
                if self.host_signal is None:
                    rip = self.after_unicorn_error(err)
                    continue
            if self.stopped:
                break
            if self.host_signal is not None:
                self.kernel.host_signalled(self.host_signal)
                break
            if self.pending is not None:
                exc, self.pending = self.pending, None
                rip = self.deliver(exc)
                continue
            if self.kernel.work_pending:
                rip = self.kernel.return_to_user(self)
                if rip is None:
                    break
                continue
            if self.debugger is not None and self.debugger.stop_pending():   # a breakpoint
                rip = self.reg("rip")
                continue
            if self.max_insns is not None and self.insn_count >= self.max_insns:
                self.kernel.limit_reached(f"stopped after {self.insn_count} instructions (--max-insns)")
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.kernel.limit_reached(f"stopped after {timeout:g} s (--timeout)")
                break
            if count == PREEMPT_SLICE and self.read_cpl() == 3:      # the slice ran out in user mode
                self.kernel.request_resched()
                rip = self.kernel.return_to_user(self)
                if rip is None:
                    break
                continue
            rip = self.reg("rip")

    def start_counting(self) -> None:
        """Turn Unicorn's instruction counter on (emu_start's `count`), for good. Unicorn
        counts with a code hook that QEMU adds only to code it translates afterwards, so
        the translations are flushed the first time; otherwise a loop translated before
        would never be counted, and never preempted."""
        if not self.counting:
            self.counting = True
            self.uc.ctl_flush_tb()

    def after_unicorn_error(self, err: UcError) -> int:
        """emu_start stopped on an error: deliver the fault the MMU recorded."""
        if err.errno == UC_ERR_INSN_INVALID:          # QEMU's #UD arrives this way
            rip = self.reg("rip")
            # Unicorn builds QEMU without WANT_ICEBP: there, icebp (INT1) is #UD.
            if self.read_code(rip, 1) == bytes([ICEBP]):
                return self.deliver(Exception_(DEBUG, 0, rip=rip + 1))
            _, is_int, next_rip = self.layout.exception_state(self.saved.save().view)
            if is_int:                                # `int $6` comes as a #UD too
                return self.deliver(self.software_interrupt(INVALID_OPCODE, next_rip))
            return self.deliver(Exception_(INVALID_OPCODE, 0))
        if err.errno != UC_ERR_EXCEPTION or self.mmu.pending_fault is None:
            if self.debugger is not None and self.debugger.watch_probe is not None:
                return self.debugger.on_watch_probe()      # a watched page (emu/debug/gdbstub.py)
            raise EmulatorBug(f"Unicorn stopped: {err} at rip {self.reg('rip'):#x}")
        fault, access = self.mmu.take_pending_fault()
        if isinstance(fault, GeneralProtection):
            return self.deliver(Exception_(13, 0))
        start = time.perf_counter()             # the fault path, timed for --stats
        saved = self.saved.save()
        rip = saved.reg("rip")
        if self.block_insns is not None:
            self.uncount_rest_of_block(rip)
        cr2 = self.fault_address(fault.va, access, rip, saved.reg)
        if self.tracer and self.tracer.wants("fault"):
            self.tracer.page_fault(pid=self.kernel.current.pid, va=cr2, access=access.name.lower(),
                                   error_code=int(fault.error_code), error=pf_error_str(fault.error_code), rip=rip,
                                   insn=insn.disassemble(self.read_code(rip), rip), reason=fault.reason)
        handler = self.deliver(Exception_(14, fault.error_code, cr2), saved=saved)
        if self.kernel.accounting:
            self.kernel.fault_stats.delivery_seconds += time.perf_counter() - start
        return handler

    # -- what the CPU knows of the faulting instruction ----------------------------------

    def fault_address(self, page_va: int, access, rip: int, read_reg) -> int:
        """CR2 for a fault the MMU saw on `page_va`, as the CPU writes it at delivery.

        A real CPU knows the exact linear address it was accessing. Unicorn's TLB fill
        tells the MMU only the page, so the CPU model decodes the instruction at `rip`
        (emu/hardware/insn.py) and computes its operands' addresses from the registers;
        an instruction fetch faults at `rip` itself or at the page start.
        """
        if access == FETCH:
            return insn.fetch_fault_address(page_va, PAGE_SIZE, rip)
        recipes = self.recipes.get(self.read_code(rip), rip)
        return insn.fault_address(page_va, PAGE_SIZE, recipes, read_reg)

    def read_code(self, rip: int, size: int = insn.MAX_INSN_LEN) -> bytes:
        """Up to `size` bytes of instructions at `rip`, stopping at an unmapped page."""
        if (rip & (PAGE_SIZE - 1)) + size <= PAGE_SIZE:      # the common case: all in one page
            try:
                pa = self.mmu.pa(rip, READ, cpl=0)
            except (PageFault, GeneralProtection):
                return b""
            return self.mem.buf[pa:pa + size]
        out = b""
        while len(out) < size:
            va = rip + len(out)
            try:
                pa = self.mmu.pa(va, READ, cpl=0)
            except (PageFault, GeneralProtection):
                break
            out += self.mem.buf[pa:pa + min(size - len(out), PAGE_SIZE - (va & (PAGE_SIZE - 1)))]
        return out

    # -- exception delivery (SDM 6.12.1) ------------------------------------------------

    def deliver(self, exc: Exception_, *, first: Exception_ | None = None, saved: SavedState | None = None) -> int:
        """Enter the IDT handler for `exc` as the CPU does; return the handler's rip."""
        if exc.context is not None:
            self.uc.context_restore(exc.context)
            saved = self.saved.save()
            _pack_u64(saved.view, self.layout.eflags_offset, exc.rflags)   # (the context's are lazy)
        elif exc.rip is not None and saved is None:
            self.set_reg("rip", exc.rip)
        saved = saved or self.saved.save()
        rip, rsp, rflags, cs, ss = saved.interrupted()
        try:
            handler = self.idt_gate(exc.vector)
            new_rsp = self.tss_rsp0() if cs & 3 == 3 else rsp & ~0xF    # from ring 3: the TSS's stack
            if exc.vector in HAS_ERROR_CODE:
                frame = struct.pack("<6Q", exc.error_code, rip, cs, rflags, rsp, ss)
            else:
                frame = struct.pack("<5Q", rip, cs, rflags, rsp, ss)
            new_rsp -= len(frame)
            self.write_kernel(new_rsp, frame)
        except (DeliveryFault, PageFault, GeneralProtection) as why:     # the IDT or TSS read faulted
            if exc.vector == DOUBLE_FAULT:
                raise TripleFault(f"triple fault: {why} while delivering #DF (after {first.name} "
                                  f"at rip {rip:#x})") from None
            self.double_fault_cause = f"{exc.name} ({why})"
            return self.deliver(Exception_(DOUBLE_FAULT, 0), first=exc, saved=saved)
        self.layout.enter_ring0(saved.view, self.ring0_state, new_rsp, CLEARED_ON_DELIVERY, exc.cr2)
        self.uc.context_restore(saved.context)
        self.mmu.cpl = 0
        return handler

    def idt_gate(self, vector: int) -> int:
        """The handler address in IDT entry `vector` (a 16-byte gate, SDM figure 6-8)."""
        base, limit = self.idtr
        if vector * 16 + 15 > limit:
            raise DeliveryFault(f"vector {vector} beyond the IDT limit")
        low, high = _unpack_gate(self.mem.buf, self.mmu.pa(base + vector * 16, READ, cpl=0))
        if not low & IDT_GATE_P:
            raise DeliveryFault(f"IDT gate {vector} not present")
        return (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | ((high & 0xFFFF_FFFF) << 32)

    def gate_dpl(self, vector: int) -> int:
        """The DPL of IDT gate `vector` (bits 46:45, SDM figure 6-8); 0 beyond the limit."""
        base, limit = self.idtr
        if vector * 16 + 15 > limit:
            return 0
        low, _ = _unpack_gate(self.mem.buf, self.mmu.pa(base + vector * 16, READ, cpl=0))
        return (low & IDT_GATE_DPL) >> IDT_GATE_DPL_SHIFT

    def tss_rsp0(self) -> int:
        """RSP0 of the 64-bit TSS, at byte 4 (SDM figure 8-11)."""
        return _unpack_u64(self.mem.buf, self.mmu.pa(self.tss_va + 4, READ, cpl=0))[0]

    def write_kernel(self, va: int, data: bytes) -> None:
        offset = va & (PAGE_SIZE - 1)
        if offset + len(data) > PAGE_SIZE:      # the frame spans two pages
            split = PAGE_SIZE - offset
            self.write_kernel(va + split, data[split:])
            data = data[:split]
        try:
            pa = self.mmu.pa(va, WRITE, cpl=0)
        except (PageFault, GeneralProtection) as fault:
            raise DeliveryFault(f"{fault} (pushing the exception frame)") from None
        self.mem.buf[pa:pa + len(data)] = data

    # -- hooks ------------------------------------------------------------------------

    def on_out(self, uc, port, size, value, _data):
        """`out HC_PORT, al` from the stub: a hypercall into the Python kernel."""
        if self.io_from_user(uc):
            return
        if port != HC_PORT:
            return
        frame_pa = _unpack_u64(self.mem.buf, self.hc_frame_pa)[0] - self.kernel_virt_offset
        if value & 0xFF == HC_BOOT:
            ring0_context = uc.context_save()     # (kept alive while its view is read)
            self.ring0_state = self.layout.ring0_state(self.layout.view(ring0_context))
            self.idtr = self.read_idtr()
            self.kernel.on_boot(self, frame_pa)
        elif value & 0xFF == HC_TRAP:
            cr2 = _unpack_u64(self.mem.buf, self.hc_cr2_pa)[0]
            self.kernel.on_trap(self, self.kernel.read_trap_frame(frame_pa), cr2)
        # The stub now restores the frame and irets; from here on the MMU assumes CPL 3
        # (the hint rule in emu/hardware/mmu.py: its last ring-0 accesses are all to the kernel half).
        self.mmu.cpl = 3
        if self.stopped or self.kernel.work_pending:
            uc.emu_stop()

    def on_in(self, uc, port, size, _data) -> int:
        """IN and INS: no device answers (all ones, as an empty bus reads); #GP from ring 3."""
        self.io_from_user(uc)
        return (1 << 8 * size) - 1

    def io_from_user(self, uc) -> bool:
        """An I/O instruction (IN, OUT, INS, OUTS) at CPL 3 is #GP(0) here: IOPL is 0 and
        the TSS has no I/O bitmap (SDM Vol. 1, 19.5.1-2), as on Linux. Unicorn runs the
        hooks without that check (it allows all I/O), so it is made here.

        emu_stop takes effect at the end of the translated block, so Unicorn runs the
        instructions after this one first: the CPU state is saved here (Unicorn syncs
        rip and the registers before the hook) and delivery starts from it. Their stores
        to memory stay done: a simplification, for a program that then gets SIGSEGV.
        """
        if self.mmu.cpl == 0 or self.read_cpl() == 0:
            return False
        self.pending = Exception_(GENERAL_PROTECTION, 0, context=uc.context_save(),
                                  rflags=uc.reg_read(ux.UC_X86_REG_RFLAGS))
        uc.emu_stop()
        return True

    def on_sysenter(self, uc, _data) -> None:
        """SYSENTER. Unicorn makes it a no-op that only calls this hook. emu's CPU is an
        Intel one (CPUID), where SYSENTER is valid in 64-bit mode; Linux without IA32
        emulation loads IA32_SYSENTER_CS with a null selector (syscall_init), so the CPU
        raises #GP(0) (SDM SYSENTER: "IA32_SYSENTER_CS[15:2] = 0"): SIGSEGV. (An AMD CPU
        raises #UD in long mode instead: SIGILL.)"""
        self.pending = Exception_(GENERAL_PROTECTION, 0, rip=uc.reg_read(ux.UC_X86_REG_RIP))
        uc.emu_stop()

    def take_dr6(self) -> int:
        """Read DR6 and reset it, as Linux's #DB handler does (debug_read_clear_dr6): the
        kernel learns why a #DB came (DR6_BS: a single step) and the next one starts clean."""
        dr6 = self.uc.reg_read(ux.UC_X86_REG_DR6)
        self.uc.reg_write(ux.UC_X86_REG_DR6, DR6_INIT)
        return dr6

    def read_idtr(self):
        _, base, limit, _ = self.uc.reg_read(ux.UC_X86_REG_IDTR)
        return base, limit

    def on_syscall(self, uc, _data):
        self.kernel.on_syscall(self)

    def on_interrupt(self, uc, intno, _data):
        """An exception QEMU raised itself (#DE, #GP, #DB ...) or a software interrupt
        (INT n, INT3): deliver it after stopping. Unicorn hands both over before any IDT
        lookup, so the check a CPU makes on INT n is made here (software_interrupt)."""
        before = self.saved.reg("rip")          # where the CPU state was last saved
        error, is_int, next_rip = self.layout.exception_state(self.saved.save().view)
        if intno == DEBUG and not is_int and self.stepped_over_syscall(before):
            return
        if is_int:
            self.pending = self.software_interrupt(intno, next_rip)
        else:
            self.pending = Exception_(intno, error if intno in HAS_ERROR_CODE else 0)
        uc.emu_stop()

    def stepped_over_syscall(self, syscall_rip: int) -> bool:
        """Is this single-step #DB the one QEMU raises at the end of a SYSCALL? On Linux
        there is none: SYSCALL clears TF (MSR_SYSCALL_MASK) and the return with TF set is
        an IRET, so the next trap comes after the instruction that follows. The kernel's
        system call saved the CPU state at `syscall_rip` (Kernel.on_syscall), and nothing
        has saved it since, so a #DB right after a syscall there is that one: it is
        dropped, and the CPU goes on (with TF still set)."""
        if self.saved.reg("rip") != syscall_rip + SYSCALL_SIZE or self.read_code(syscall_rip, 2) != SYSCALL_INSN:
            return False
        self.take_dr6()
        return True

    def software_interrupt(self, vector: int, next_rip: int) -> Exception_:
        """INT n / INT3 (INTO is #UD in 64-bit mode), SDM Vol. 3A 6.12.1.1: a gate whose
        DPL is below the CPL (or beyond the IDT limit) is #GP with error code
        (vector << 3) | 2 (IDT) and fault semantics, the saved rip being the INT itself;
        a permitted one is a trap, the saved rip the next instruction.

        Simplification: Unicorn gives only the rip after the instruction; the INT is taken
        to be its last two bytes (cd NN), one (cc) for INT3, so a prefixed INT (legal,
        meaningless, emitted by no assembler) is reported without its prefixes.
        """
        if self.gate_dpl(vector) >= self.read_cpl():
            return Exception_(vector, 0, rip=next_rip)
        length = 1 if vector == 3 and self.read_code(next_rip - 1, 1) == b"\xcc" else 2
        return Exception_(GENERAL_PROTECTION, vector << 3 | IDT_ERROR_BIT, rip=next_rip - length)

    def on_block(self, uc, address, size, _data):
        count = self.block_insns.get((address, size))
        if count is None:
            count = self.block_insns[(address, size)] = insn.count_instructions(
                self.read_code(address, size), address)
        self.insn_count += count
        self.last_block = (address, size)

    def uncount_rest_of_block(self, rip: int) -> None:
        """A fault at `rip` cut the current block short: its instructions from rip on did
        not complete (the faulting one runs again after the handler)."""
        address, size = getattr(self, "last_block", (0, 0))
        if address <= rip < address + size:
            self.insn_count -= insn.count_instructions(self.read_code(rip, address + size - rip), rip)

    def on_count(self, uc, address, size, _data):
        self.insn_count += 1
        if self.insn_count >= self.max_insns:
            uc.emu_stop()

    def interrupt_from_host(self, signum: int) -> None:
        """emu itself got `signum` (emu/hostsignals.py, from another thread): stop the
        CPU; the run loop ends the run at the next instruction boundary."""
        self.host_signal = signum
        self.uc.emu_stop()

    def stop(self) -> None:
        """The machine is done: the run loop ends at the end of this translated block."""
        self.stopped = True
        self.uc.emu_stop()

    def pause(self) -> None:
        """Leave emu_start at the end of this translated block (Unicorn's emu_stop), so
        the run loop does the kernel's pending work (return_to_user) and goes on."""
        self.uc.emu_stop()

    def flush_translations(self) -> None:
        """Drop every block QEMU translated (ctl_flush_tb): code was freed or rewritten,
        and no stale translation of it may run."""
        self.uc.ctl_flush_tb()
