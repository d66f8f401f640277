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


def count_instructions(code: bytes, va: int) -> int:
    """How many instructions the bytes of one translated block hold."""
    return sum(1 for _ in _MD.disasm_lite(code, va))


def disassemble(code: bytes, rip: int) -> str:
    """'mov qword ptr [rax], 1' for the instruction at rip, or '(bad)' / '(unreadable)'."""
    if not code:
        return "(unreadable)"
    insn = decode(code, rip)
    if insn is None:
        return f"(bad) {code[:4].hex(' ')}"
    return f"{insn.mnemonic} {insn.op_str}".strip()


_STACK_PUSH = {"push", "call", "pushfq", "enter"}
_STACK_POP = {"pop", "ret", "popfq", "leave", "iretq"}
_STRING_SRC = ("movs", "lods", "cmps", "outs")
_STRING_DST = ("movs", "stos", "scas", "cmps", "ins")


@dataclass(frozen=True)
class OperandRecipe:
    """How to compute one memory operand's address: [seg: base + index*scale + disp]."""
    base: str | None          # register name, or None; 'rip' is folded into disp
    index: str | None
    scale: int
    disp: int
    segment_base: str | None  # 'fs_base' / 'gs_base' for an fs:/gs: override
    size: int

    def address(self, read_reg) -> int:
        va = self.disp
        if self.base:
            va += read_reg(self.base)
        if self.index:
            va += read_reg(self.index) * self.scale
        if self.segment_base:
            va += read_reg(self.segment_base)
        return va & (2**64 - 1)


def operand_recipes(insn) -> tuple:
    """Every memory access `insn` makes, as recipes (decoded once, reused per fault)."""
    recipes = []
    explicit = False
    for op in insn.operands:
        if op.type != cx.X86_OP_MEM:
            continue
        explicit = True
        if insn.mnemonic == "lea":
            continue
        mem = op.mem
        disp, base = mem.disp, None
        if mem.base == cx.X86_REG_RIP:
            disp += insn.address + insn.size
        elif mem.base:
            base = insn.reg_name(mem.base)
        index = insn.reg_name(mem.index) if mem.index else None
        segment = insn.reg_name(mem.segment) + "_base" if mem.segment in (cx.X86_REG_FS, cx.X86_REG_GS) else None
        recipes.append(OperandRecipe(base, index, mem.scale, disp, segment, op.size or 8))
    mnemonic = insn.mnemonic.split()[-1]
    if mnemonic in _STACK_PUSH:
        recipes.append(OperandRecipe("rsp", None, 1, -8, None, 8))
    elif mnemonic in _STACK_POP:
        recipes.append(OperandRecipe("rsp", None, 1, 0, None, 8 if mnemonic != "iretq" else 40))
    if mnemonic.startswith(_STRING_SRC) and not explicit:
        recipes.append(OperandRecipe("rsi", None, 1, 0, None, 8))
    if mnemonic.startswith(_STRING_DST) and not explicit:
        recipes.append(OperandRecipe("rdi", None, 1, 0, None, 8))
    return tuple(recipes)


class RecipeCache:
    """Decoded instructions by (rip, bytes): a fault at the same instruction again (the
    common case: a loop touching fresh pages) costs a dict lookup, not a capstone decode."""

    def __init__(self, limit: int = 4096):
        self.limit = limit
        self.recipes = {}

    def get(self, code: bytes, rip: int):
        key = (rip, code)
        recipes = self.recipes.get(key)
        if recipes is None:
            insn = decode(code, rip)
            recipes = operand_recipes(insn) if insn is not None else None
            if len(self.recipes) >= self.limit:
                self.recipes.clear()
            self.recipes[key] = recipes
        return recipes


def fetch_fault_address(page_va: int, page_size: int, rip: int) -> int:
    """CR2 for a failed instruction fetch: rip, or the start of the failed page if the
    instruction only runs into it."""
    return rip if page_va <= rip < page_va + page_size else page_va


def fault_address(page_va: int, page_size: int, recipes, read_reg) -> int:
    """The exact linear address of a failed data access inside the page at `page_va`:
    the operand touching the page (see the module docstring). Falls back to the page
    address when nothing matches.
    """
    page_end = page_va + page_size
    for recipe in recipes or ():
        va = recipe.address(read_reg)
        if page_va <= va < page_end:
            return va
        if page_va <= va + recipe.size - 1 < page_end:
            return page_va
    return page_va
