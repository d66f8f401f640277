"""Instructions, decoded with capstone: disassembly for reports and the exact fault address.

Unicorn's TLB-fill hook only says which 4 KiB page failed, but CR2 must hold the exact
linear address (SDM 4.7). `fault_address` recovers it by decoding the faulting
instruction and computing the effective address of each memory operand it has,
explicit (`mov [rbx+8], eax`) or implicit (the stack of push/call/ret, the rsi/rdi of
string instructions). The operand that touches the failed page gives CR2; when an
access straddles two pages and the second one failed, CR2 is the first byte in it.
"""

from dataclasses import dataclass

import capstone
from capstone import x86_const as cx

_MD = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
_MD.detail = True
MAX_INSN_LEN = 15


@dataclass(frozen=True)
class MemOperand:
    va: int
    size: int


def decode(code: bytes, rip: int):
    """The first instruction in `code` (at `rip`), or None if it does not decode."""
    return next(_MD.disasm(code, rip, 1), None)


def disassemble(code: bytes, rip: int) -> str:
    """'mov qword ptr [rax], 1' for the instruction at rip, or '(bad)' / '(unreadable)'."""
    if not code:
        return "(unreadable)"
    insn = decode(code, rip)
    if insn is None:
        return f"(bad) {code[:4].hex(' ')}"
    return f"{insn.mnemonic} {insn.op_str}".strip()


# capstone register ids -> Unicorn register reads are done through `read_reg(name)`.
_STACK_PUSH = {"push", "call", "pushfq", "enter"}
_STACK_POP = {"pop", "ret", "popfq", "leave", "iretq"}
_STRING_SRC = ("movs", "lods", "cmps", "outs")
_STRING_DST = ("movs", "stos", "scas", "cmps", "ins")


def memory_operands(insn, read_reg) -> list:
    """Every memory access `insn` makes, as MemOperand(va, size). `read_reg(name)` gives a
    register's value by its capstone name ('rax', 'rip', 'fs_base' ...)."""
    operands = []
    for op in insn.operands:
        if op.type != cx.X86_OP_MEM:
            continue
        mem = op.mem
        va = mem.disp
        if mem.base == cx.X86_REG_RIP:
            va += insn.address + insn.size
        elif mem.base:
            va += read_reg(insn.reg_name(mem.base))
        if mem.index:
            va += read_reg(insn.reg_name(mem.index)) * mem.scale
        if mem.segment in (cx.X86_REG_FS, cx.X86_REG_GS):
            va += read_reg(insn.reg_name(mem.segment) + "_base")
        if insn.mnemonic != "lea":
            operands.append(MemOperand(va & (2**64 - 1), op.size or 8))
    mnemonic = insn.mnemonic.split()[-1]
    if mnemonic in _STACK_PUSH:
        operands.append(MemOperand(read_reg("rsp") - 8, 8))
    elif mnemonic in _STACK_POP:
        operands.append(MemOperand(read_reg("rsp"), 8 if mnemonic != "iretq" else 40))
    if mnemonic.startswith(_STRING_SRC) and not any(op.type == cx.X86_OP_MEM for op in insn.operands):
        operands.append(MemOperand(read_reg("rsi"), 8))
    if mnemonic.startswith(_STRING_DST) and not any(op.type == cx.X86_OP_MEM for op in insn.operands):
        operands.append(MemOperand(read_reg("rdi"), 8))
    return operands


def fault_address(page_va: int, page_size: int, insn, read_reg, *, fetch: bool, rip: int) -> int:
    """The exact linear address that faulted inside the failed page at `page_va`.

    For an instruction fetch: rip, or the page start if the instruction runs into the
    failed page. For data: the operand touching the page (see module docstring).
    Falls back to the page address when nothing matches (and says so in traces).
    """
    page_end = page_va + page_size
    if fetch:
        return rip if page_va <= rip < page_end else page_va
    if insn is None:
        return page_va
    for operand in memory_operands(insn, read_reg):
        if page_va <= operand.va < page_end:
            return operand.va
        last = operand.va + operand.size - 1
        if page_va <= last < page_end:
            return page_va
    return page_va
