"""The ring-0 stub (guest/kernel/stub.S) as Python sees it: image, symbols, trap frame layout.

The stub is linked at KERNEL_VA (upper half) and loaded at KERNEL_PA, so for every
kernel address pa = va - KERNEL_VIRT_OFFSET, as Linux's __START_KERNEL_map.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import lief

KERNEL_VIRT_OFFSET = 0xFFFF_FFFF_8000_0000
KERNEL_PA = 0x20_0000
KERNEL_VA = KERNEL_VIRT_OFFSET + KERNEL_PA
DEFAULT_STUB = Path(__file__).resolve().parents[2] / "guest" / "kernel" / "stub.elf"

# Segment selectors, as in stub.S and Linux's asm/segment.h.
KERNEL_CS, KERNEL_DS, USER_DS, USER_CS = 0x10, 0x18, 0x2B, 0x33

# Hypercalls: `out HC_PORT, al` with al = one of these.
HC_PORT = 0xE0
HC_BOOT = 1
HC_TRAP = 2

# The trap frame (stub.S): 15 saved registers, vector, error code, then the CPU's frame.
TRAPFRAME_REGS = ("r15", "r14", "r13", "r12", "r11", "r10", "r9", "r8",
                  "rbp", "rdi", "rsi", "rdx", "rcx", "rbx", "rax")
TRAPFRAME_FIELDS = TRAPFRAME_REGS + ("vector", "error_code", "rip", "cs", "rflags", "rsp", "ss")
TRAPFRAME = struct.Struct("<" + "Q" * len(TRAPFRAME_FIELDS))
IRET_FRAME_OFFSET = 17 * 8          # where the CPU-pushed part (rip ...) starts


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

    def pa(self, name: str) -> int:
        """Physical address of stub symbol `name`."""
        return self.symbols[name] - KERNEL_VIRT_OFFSET


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
