"""The ring-0 stub (guest/kernel/stub.S) as Python sees it: image, symbols, trap frame layout.

The stub is linked at KERNEL_VA (upper half) and loaded at KERNEL_PA, so for every
kernel address pa = va - KERNEL_VIRT_OFFSET, as Linux's __START_KERNEL_map.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import lief

from ...hardware.hypercall import HC_BOOT, HC_PORT, HC_TRAP    # noqa: F401 (the stub's side of the port)

KERNEL_VIRT_OFFSET = 0xFFFF_FFFF_8000_0000
KERNEL_PA = 0x20_0000
KERNEL_VA = KERNEL_VIRT_OFFSET + KERNEL_PA
DEFAULT_STUB = Path(__file__).resolve().parents[3] / "guest" / "kernel" / "stub.elf"

# Segment selectors, as in stub.S and Linux's asm/segment.h.
KERNEL_CS, KERNEL_DS, USER_DS, USER_CS = 0x10, 0x18, 0x2B, 0x33

# Hypercalls: `out HC_PORT, al` with al = HC_BOOT or HC_TRAP (emu/hardware/hypercall.py).

# The trap frame (stub.S): 15 saved registers, vector, error code, then the CPU's frame.
TRAPFRAME_REGS = ("r15", "r14", "r13", "r12", "r11", "r10", "r9", "r8",
                  "rbp", "rdi", "rsi", "rdx", "rcx", "rbx", "rax")
TRAPFRAME_FIELDS = TRAPFRAME_REGS + ("vector", "error_code", "rip", "cs", "rflags", "rsp", "ss")
TRAPFRAME = struct.Struct("<" + "Q" * len(TRAPFRAME_FIELDS))
IRET_FRAME_OFFSET = 17 * 8          # where the CPU-pushed part (rip ...) starts
# The tail every trap reads: vector, error code and the CPU-pushed rip, cs, rflags, rsp, ss.
TRAPFRAME_TAIL_OFFSET = len(TRAPFRAME_REGS) * 8
TRAPFRAME_TAIL = struct.Struct("<7Q")


class StubMissing(Exception):
    """The stub was not built."""


@dataclass(frozen=True)
class StubSegment:
    va: int
    data: bytes
    memsz: int
    write: bool
    execute: bool


@dataclass(frozen=True)
class Stub:
    segments: tuple
    symbols: dict
    virt_offset: int = KERNEL_VIRT_OFFSET     # va - pa of every kernel address; the CPU reads the mailbox with it

    def pa(self, name: str) -> int:
        """Physical address of stub symbol `name`."""
        return self.symbols[name] - self.virt_offset


def load_stub(path: Path = DEFAULT_STUB) -> Stub:
    """Read the stub ELF built by `make`: its PT_LOAD segments and its symbols."""
    if not Path(path).is_file():
        raise StubMissing(f"{path}: the guest kernel stub is not built; run `make guests`")
    binary = lief.ELF.parse(str(path))
    segments = tuple(
        StubSegment(seg.virtual_address, bytes(seg.content), seg.virtual_size,
                    write=seg.has(lief.ELF.Segment.FLAGS.W), execute=seg.has(lief.ELF.Segment.FLAGS.X))
        for seg in binary.segments if seg.type == lief.ELF.Segment.TYPE.LOAD)
    symbols = {sym.name: sym.value for sym in binary.symtab_symbols if sym.name}
    return Stub(segments, symbols)


class TrapContext:
    """The trap frame the stub saved (layout in emu/kernel/arch/stub.py), which the kernel may
    edit before the stub's iretq.

    The vector, the error code and what the CPU pushed are read at once: every trap
    looks at them. All the fields by name (`frame`) are read only when a signal needs
    the saved registers, which a page fault that is simply resolved never does.
    """

    def __init__(self, mem, frame_pa: int):
        self.mem = mem
        self.frame_pa = frame_pa
        (self.vector, self.error_code, self.rip, self.cs, self.rflags, self.rsp,
         self.ss) = TRAPFRAME_TAIL.unpack_from(mem.buf, frame_pa + TRAPFRAME_TAIL_OFFSET)
        self._frame = None

    @property
    def frame(self) -> dict:
        """Every field of the trap frame, by name (TRAPFRAME_FIELDS)."""
        if self._frame is None:
            self._frame = dict(zip(TRAPFRAME_FIELDS, TRAPFRAME.unpack_from(self.mem.buf, self.frame_pa)))
        return self._frame

    def update(self, regs: dict) -> None:
        """Change the saved registers named in `regs`: the stub's iretq resumes with them."""
        self.frame.update(regs)
        self.mem.write(self.frame_pa, TRAPFRAME.pack(*(self.frame[name] for name in TRAPFRAME_FIELDS)))
