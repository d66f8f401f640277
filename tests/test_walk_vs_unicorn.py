"""test_walk_vs_unicorn: emu's walk() against QEMU's x86 page walker inside Unicorn.

A comparison run: random page tables and random ring-0 accesses, each performed
(a) by emu.hardware.mmu.walk and (b) by Unicorn in its default UC_TLB_CPU mode, where QEMU's
own walker (target/i386/excp_helper.c, handle_mmu_fault) translates. Every guest frame
starts with `mov rax, imm64; hlt` whose immediate names the frame (a tag), so a load
at offset 2, or an instruction fetch at offset 0, tells which pa the walker chose;
a store is found by its marker value in RAM.

Compared: success or fault class (#PF vector 14 / #GP vector 13), the pa, CR2, the
page-fault error code, and the Accessed/Dirty bits left in the four entries.
- CR2: Unicorn's QEMU writes CR2 itself when its walker faults (QEMU 5 sets
  env->cr[2] in handle_mmu_fault; newer QEMU only at delivery). A #GP leaves it alone.
- Error code: Unicorn delivers nothing through the IDT, but QEMU stores the code in
  env->error_code, which uc.context_save() copies. Its offset in the context is found
  by calibration on five faults whose codes the SDM fixes (fixture `error_code_offset`).
- Only CPL 0 is compared: Unicorn cannot be put in ring 3 by register writes (see
  UNICORN-NOTES.md), so U/S is covered by tests/test_walk.py alone.

Known differences are tested separately at the end, each naming the SDM section.
"""

import ctypes
import random
import struct

import pytest
from unicorn import UC_ARCH_X86, UC_HOOK_INTR, UC_MODE_64, UC_PROT_ALL, Uc
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_TLB_CPU
from unicorn.x86_const import (UC_X86_REG_CR0, UC_X86_REG_CR2, UC_X86_REG_CR3, UC_X86_REG_CR4,
                               UC_X86_REG_RAX, UC_X86_REG_RBX)

from emu.hardware.mmu import Access, GeneralProtection, PageFault, PagingRegs, walk
from emu.hardware.paging import (CR0_PG, CR0_WP, CR4_PAE, EFER_NXE, HPAGE_SIZE, PAGE_SIZE, PTE_A, PTE_D, PTE_G,
                        PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, PFErr, table_index)
from emu.hardware.physmem import PhysicalMemory

MiB = 1 << 20
MSR_EFER = 0xC000_0080
PML4_PA = 0x1000
CODE_PDPT, CODE_PD, CODE_PT = 0x2000, 0x3000, 0x4000       # PML4[0]: the code page
DATA_PDPT, DATA_PD, DATA_PT = 0x5000, 0x6000, 0x7000       # PML4[1..511]: the data path
CODE_VA = 0x1_0000                                          # identity-mapped
FRAMES_4K = range(0x20_0000, 0x80_0000, PAGE_SIZE)
FRAMES_2M = range(0x80_0000, 0x100_0000, HPAGE_SIZE)
CR2_SENTINEL = 0xDEAD_0000_BEEF
NAMES = ("pml4e", "pdpte", "pde", "pte")

MOV_RAX_FROM_RBX = bytes.fromhex("488b03")      # mov rax, [rbx]
MOV_RAX_TO_RBX = bytes.fromhex("488903")        # mov [rbx], rax
XCHG_RBX_RAX = bytes.fromhex("488703")          # xchg [rbx], rax
JMP_RBX = bytes.fromhex("ffe3")                 # jmp rbx
# Written once at CODE_VA, 16 bytes apart, each followed by hlt: QEMU does not see
# host writes to RAM, so rewriting code in place would run stale translated blocks.
CODE_SNIPPETS = [MOV_RAX_FROM_RBX, MOV_RAX_TO_RBX, XCHG_RBX_RAX, JMP_RBX]
TAG_OFFSET = 2                                  # the imm64 of `48 b8 imm64`


def tag(pa: int) -> int:
    return 0x7A6 << 48 | pa


def frame_code(pa: int) -> bytes:
    return b"\x48\xb8" + struct.pack("<Q", tag(pa)) + b"\xf4"      # mov rax, tag; hlt


class Qemu:
    """A Unicorn with QEMU's own page walker, RAM shared with a PhysicalMemory."""

    def __init__(self):
        self.mem = mem = PhysicalMemory(16 * MiB)
        for pa in range(0x20_0000, mem.size, PAGE_SIZE):
            mem.write(pa, frame_code(pa))
        mem.write_u64(PML4_PA, CODE_PDPT | PTE_P | PTE_RW)
        mem.write_u64(CODE_PDPT, CODE_PD | PTE_P | PTE_RW)
        mem.write_u64(CODE_PD, CODE_PT | PTE_P | PTE_RW)
        mem.write_u64(CODE_PT + 8 * (CODE_VA >> 12), CODE_VA | PTE_P | PTE_RW)
        for i, code in enumerate(CODE_SNIPPETS):
            mem.write(CODE_VA + 16 * i, code + b"\xf4")
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.ctl_set_tlb_mode(UC_TLB_CPU)                          # the default, said aloud
        uc.mem_map_ptr(0, mem.size, UC_PROT_ALL, mem.host_address)
        uc.reg_write(UC_X86_REG_CR4, uc.reg_read(UC_X86_REG_CR4) | CR4_PAE)
        uc.reg_write(UC_X86_REG_CR3, PML4_PA)
        uc.reg_write(UC_X86_REG_CR0, uc.reg_read(UC_X86_REG_CR0) | CR0_PG | CR0_WP)
        # A fresh context for each run: QEMU remembers an undelivered #PF in
        # env->old_exception and would turn the next one into #DF.
        self.clean = uc.context_save()
        self.vectors = []
        uc.hook_add(UC_HOOK_INTR, self._on_exception)
        self.error_code_offset = None

    def _on_exception(self, uc, vector, _user_data):
        self.vectors.append(vector)
        uc.emu_stop()

    def regs(self, *, wp: bool, nxe: bool) -> PagingRegs:
        cr0 = (self.uc.reg_read(UC_X86_REG_CR0) & ~CR0_WP) | (CR0_WP if wp else 0)
        efer = (self.uc.msr_read(MSR_EFER) & ~EFER_NXE) | (EFER_NXE if nxe else 0)
        return PagingRegs(PML4_PA, cr0, self.uc.reg_read(UC_X86_REG_CR4), efer)

    def access(self, va: int, access: Access, *, wp: bool, nxe: bool, code: bytes | None = None):
        """Perform `access` at `va` in ring 0. Return (vector or None, pa or None, cr2, error code)."""
        uc = self.uc
        uc.context_restore(self.clean)
        regs = self.regs(wp=wp, nxe=nxe)
        uc.reg_write(UC_X86_REG_CR0, regs.cr0)
        uc.msr_write(MSR_EFER, regs.efer)
        uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        uc.reg_write(UC_X86_REG_CR2, CR2_SENTINEL)
        self.vectors.clear()
        marker = 0x5A5A_0000_0000_0000 | (va & 0xffff_ffff_ffff)
        if access == Access.FETCH:
            # Jump to va: the frame's `mov rax, tag; hlt` runs and hlt stops Unicorn.
            # (Starting emulation at va itself gave CR2 = end address - 1 on a fetch
            # fault, and count=1 left QEMU's old_exception set for the next run.)
            code = JMP_RBX
        else:
            code = code or (MOV_RAX_TO_RBX if access == Access.WRITE else MOV_RAX_FROM_RBX)
        uc.reg_write(UC_X86_REG_RBX, va)
        uc.reg_write(UC_X86_REG_RAX, marker)
        uc.emu_start(CODE_VA + CODE_SNIPPETS.index(code) * 16, 0)
        vector = self.vectors[0] if self.vectors else None
        pa = None
        if vector is None:
            pa = self._observed_pa(va, access, marker)
        return vector, pa, uc.reg_read(UC_X86_REG_CR2), self.error_code()

    def _observed_pa(self, va, access, marker):
        if access == Access.WRITE:
            pa = bytes(self.mem.buf).find(struct.pack("<Q", marker))
            assert pa >= 0, "the store went nowhere in RAM"
            self.mem.write(pa & ~0xfff, frame_code(pa & ~0xfff))
            self.mem.write_u64(pa, 0)
            return pa
        value = self.uc.reg_read(UC_X86_REG_RAX)
        assert value >> 48 == 0x7A6, f"not a tag: {value:#x}"
        return (value & ((1 << 48) - 1)) + (va & (PAGE_SIZE - 1))

    def raw_context(self) -> bytes:
        ctx = self.uc.context_save()
        return ctypes.string_at(ctx.context, ctx.size)

    def error_code(self):
        if self.error_code_offset is None:
            return None
        return struct.unpack_from("<i", self.raw_context(), self.error_code_offset)[0]


# --- building one data path --------------------------------------------------------------

def data_entries(va: int, leaf_2m: bool) -> dict:
    """{name: entry pa} of the data path for `va`."""
    pas = {"pml4e": PML4_PA + table_index(va, 4) * 8,
           "pdpte": DATA_PDPT + table_index(va, 3) * 8,
           "pde": DATA_PD + table_index(va, 2) * 8}
    if not leaf_2m:
        pas["pte"] = DATA_PT + table_index(va, 1) * 8
    return pas


def write_path(mem, va, flags: dict, frame: int, leaf_2m: bool) -> dict:
    """Write the data path of `va` with `flags` per entry; return {name: entry pa}."""
    pas = data_entries(va, leaf_2m)
    targets = {"pml4e": DATA_PDPT, "pdpte": DATA_PD, "pde": frame if leaf_2m else DATA_PT, "pte": frame}
    for name, pa in pas.items():
        mem.write_u64(pa, targets[name] | flags[name])
    return pas


def clear_path(mem, pas):
    for pa in pas.values():
        mem.write_u64(pa, 0)


RESERVED_CHOICES = [("any", 1 << bit) for bit in range(40, 52)] + \
                   [("pml4e", PTE_PS)] + [("pde2m", 1 << bit) for bit in range(13, 21)]


def random_case(rng: random.Random) -> dict:
    leaf_2m = rng.random() < 0.4
    pml4_index = rng.randrange(1, 512)
    va = (pml4_index << 39) | (rng.randrange(512) << 30) | (rng.randrange(512) << 21)
    va |= rng.randrange(512) << 12
    if va >> 47:
        va |= 0xffff << 48                                # sign-extend: high half
    access = rng.choice([Access.READ, Access.WRITE, Access.FETCH])
    if access == Access.FETCH:
        va &= ~0xfff
    elif access == Access.READ:
        va |= TAG_OFFSET
    else:
        va |= 0x100 + 8 * rng.randrange(400)
    if rng.random() < 0.04:
        va ^= 1 << rng.choice([47, 50, 62])               # non-canonical
    flags = {}
    for name in NAMES:
        f = PTE_P if rng.random() < 0.93 else 0
        f |= PTE_RW if rng.random() < 0.7 else 0
        f |= PTE_US if rng.random() < 0.5 else 0
        f |= PTE_NX if rng.random() < 0.2 else 0
        f |= PTE_A if rng.random() < 0.5 else 0
        f |= PTE_D if rng.random() < 0.5 else 0
        f |= PTE_G if rng.random() < 0.2 else 0
        flags[name] = f
    flags["pde"] |= PTE_PS if leaf_2m else 0
    if rng.random() < 0.12:
        where, bit = rng.choice(RESERVED_CHOICES)
        if where == "pde2m" and not leaf_2m:
            where = "any"
        name = {"any": rng.choice(NAMES[:3] + ("pde" if leaf_2m else "pte",)),
                "pml4e": "pml4e", "pde2m": "pde"}[where]
        flags[name] |= bit
    frame = rng.choice(FRAMES_2M if leaf_2m else FRAMES_4K)
    return dict(va=va, access=access, flags=flags, frame=frame, leaf_2m=leaf_2m,
                wp=rng.random() < 0.6, nxe=rng.random() < 0.6)


def describe(case) -> str:
    flags = " ".join(f"{n}={case['flags'][n]:#x}" for n in NAMES)
    return (f"va={case['va']:#018x} {case['access'].name} wp={case['wp']} nxe={case['nxe']} "
            f"{'2m' if case['leaf_2m'] else '4k'} frame={case['frame']:#x} {flags}")


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def qemu():
    return Qemu()


CALIBRATION = [  # (leaf flags, access, wp, nxe, error code the SDM fixes (4.7))
    (0, Access.READ, True, True, 0),
    (0, Access.WRITE, True, True, PFErr.W),
    (PTE_P, Access.WRITE, True, True, PFErr.P | PFErr.W),
    (PTE_P | (1 << 44), Access.READ, True, True, PFErr.P | PFErr.RSVD),
    (PTE_P | PTE_NX, Access.FETCH, True, True, PFErr.P | PFErr.I),
]


@pytest.fixture(scope="module")
def error_code_offset(qemu):
    """Find env->error_code in Unicorn's saved context: the one int32 offset that
    holds the expected code after each calibration fault."""
    va = (3 << 39) | 0x5000
    candidates = None
    for leaf, access, wp, nxe, code in CALIBRATION:
        flags = {"pml4e": PTE_P | PTE_RW, "pdpte": PTE_P | PTE_RW, "pde": PTE_P | PTE_RW, "pte": leaf}
        pas = write_path(qemu.mem, va, flags, FRAMES_4K[0], False)
        vector, *_ = qemu.access(va + (TAG_OFFSET if access == Access.READ else 0), access, wp=wp, nxe=nxe)
        clear_path(qemu.mem, pas)
        assert vector == 14
        raw = qemu.raw_context()
        here = {off for off in range(0, len(raw) - 3, 4) if struct.unpack_from("<i", raw, off)[0] == code}
        candidates = here if candidates is None else candidates & here
    assert len(candidates) == 1, f"cannot locate env->error_code: {sorted(candidates)}"
    qemu.error_code_offset = candidates.pop()
    return qemu.error_code_offset


# --- the comparison ---------------------------------------------------------------------------

def ours(mem, case, regs):
    """(vector or None, pa or None, cr2, error code) as emu's walk gives them."""
    try:
        tr = walk(mem, case["va"], case["access"], regs, cpl=0)
    except PageFault as fault:
        return 14, None, fault.va, int(fault.error_code)
    except GeneralProtection:
        return 13, None, CR2_SENTINEL, 0
    return None, tr.pa, CR2_SENTINEL, None


SEEDS = range(200)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_walk_matches_qemu(qemu, error_code_offset, seed):
    compare(qemu, random_case(random.Random(seed)))


def compare(qemu, case):
    """Run `case` through QEMU and through walk(); assert the same outcome and A/D bits."""
    mem = qemu.mem
    pas = write_path(mem, case["va"], case["flags"], case["frame"], case["leaf_2m"])
    before = {name: mem.read_u64(pa) for name, pa in pas.items()}
    try:
        vector, pa, cr2, code = qemu.access(case["va"], case["access"], wp=case["wp"], nxe=case["nxe"])
        qemu_after = {name: mem.read_u64(p) for name, p in pas.items()}
        for name, p in pas.items():
            mem.write_u64(p, before[name])
        expected = ours(mem, case, qemu.regs(wp=case["wp"], nxe=case["nxe"]))
        our_after = {name: mem.read_u64(p) for name, p in pas.items()}
    finally:
        clear_path(mem, pas)
    got = (vector, pa, cr2, code if vector == 14 else (0 if vector == 13 else None))
    assert got == expected, describe(case)
    assert qemu_after == our_after, f"A/D bits differ: {describe(case)}"


def reserved_cases():
    """One reserved bit at one level, on an otherwise permissive path (SDM 4.5.4)."""
    cases = []
    for leaf_2m in (False, True):
        levels = ("pml4e", "pdpte", "pde") + (() if leaf_2m else ("pte",))
        bits = {name: [40, 47, 51, 63] for name in levels}
        bits["pml4e"] = bits["pml4e"] + [7]                 # PS in a PML4E
        if leaf_2m:
            bits["pde"] = bits["pde"] + list(range(12, 21))  # 12 is PAT: allowed
        for name in levels:
            for bit in bits[name]:
                for nxe in ((False, True) if bit == 63 else (True,)):
                    kind = "2m" if leaf_2m else "4k"
                    cases.append(pytest.param(leaf_2m, name, bit, nxe,
                                              id=f"{kind}-{name}-bit{bit}{'-nxe' if nxe else '-nonxe'}"))
    return cases


@pytest.mark.parametrize("leaf_2m, level, bit, nxe", reserved_cases())
@pytest.mark.parametrize("access", [Access.READ, Access.WRITE, Access.FETCH], ids=["read", "write", "fetch"])
def test_reserved_bit_matches_qemu(qemu, error_code_offset, leaf_2m, level, bit, nxe, access):
    va = (9 << 39) | (1 << 30) | (2 << 21) | (3 << 12)
    va |= {Access.READ: TAG_OFFSET, Access.WRITE: 0x108, Access.FETCH: 0}[access]
    flags = {name: PTE_P | PTE_RW for name in NAMES}
    flags["pde"] |= PTE_PS if leaf_2m else 0
    flags[level] |= 1 << bit
    compare(qemu, dict(va=va, access=access, flags=flags, leaf_2m=leaf_2m, wp=True, nxe=nxe,
                       frame=FRAMES_2M[1] if leaf_2m else FRAMES_4K[5]))


def test_random_cases_cover_every_outcome():
    """The seeds above reach success, #GP, and each #PF class at least once."""
    outcomes = set()
    mem = PhysicalMemory(16 * MiB)
    mem.write_u64(PML4_PA, 0)
    for seed in SEEDS:
        case = random_case(random.Random(seed))
        pas = write_path(mem, case["va"], case["flags"], case["frame"], case["leaf_2m"])
        cr0 = CR0_PG | (CR0_WP if case["wp"] else 0)
        vector, pa, _, code = ours(mem, case, PagingRegs(PML4_PA, cr0, CR4_PAE,
                                                         EFER_NXE if case["nxe"] else 0))
        clear_path(mem, pas)
        if vector == 14:
            outcomes.add(("pf", code & (PFErr.P | PFErr.RSVD | PFErr.I | PFErr.W)))
        else:
            outcomes.add(("gp",) if vector == 13 else ("ok", case["access"], case["leaf_2m"]))
    for want in [("gp",), ("pf", 0), ("pf", PFErr.W), ("pf", PFErr.P | PFErr.W),
                 ("pf", PFErr.P | PFErr.RSVD), ("pf", PFErr.P | PFErr.I),
                 ("ok", Access.READ, False), ("ok", Access.WRITE, True), ("ok", Access.FETCH, False),
                 ("ok", Access.READ, True)]:
        assert want in outcomes, want


# --- known differences between QEMU (Unicorn 2.1.4) and emu ----------------------------------

def plain_flags(**overrides) -> dict:
    """P|RW at every level of a 4 KiB path, but for `overrides` {name: flags}."""
    return {**{name: PTE_P | PTE_RW for name in NAMES}, **overrides}


def test_pdpte_ps_qemu_maps_1gib_page_emu_faults(qemu, error_code_offset):
    """PS=1 in a PDPTE. emu's CPU reports no 1 GiB pages (CPUID.80000001H:EDX.Page1GB=0),
    so bit 7 of the PDPTE is reserved: #PF with RSVD (SDM Vol. 3A 4.1.4, 4.5.4).
    QEMU 5's walker maps a 1 GiB page without looking at CPUID: it deviates; emu keeps the SDM."""
    va = (5 << 39) | (7 << 30) | 0x20_0000 + TAG_OFFSET   # 1 GiB page at pa 0: lands in 0x200000
    flags = plain_flags()
    pas = write_path(qemu.mem, va, flags, 0, False)
    qemu.mem.write_u64(pas["pdpte"], 0 | PTE_P | PTE_RW | PTE_PS)
    try:
        vector, pa, _, _ = qemu.access(va, Access.READ, wp=True, nxe=True)
        qemu.mem.write_u64(pas["pdpte"], 0 | PTE_P | PTE_RW | PTE_PS)
        with pytest.raises(PageFault) as info:
            walk(qemu.mem, va, Access.READ, qemu.regs(wp=True, nxe=True), cpl=0)
    finally:
        clear_path(qemu.mem, pas)
    assert (vector, pa) == (None, 0x20_0000 + TAG_OFFSET)                 # QEMU: a 1 GiB page
    assert info.value.error_code == PFErr.P | PFErr.RSVD                 # emu: reserved bit


def test_table_beyond_ram_qemu_reads_zeros_emu_reads_ones(qemu, error_code_offset):
    """A PDE pointing at a page table beyond RAM. The SDM does not say what such a read
    returns; emu models the PC bus (no device answers: all ones, hence RSVD), while
    Unicorn's unassigned memory reads as zeros (not present). emu keeps its model."""
    va = (6 << 39) | TAG_OFFSET
    pas = write_path(qemu.mem, va, plain_flags(), FRAMES_4K[0], False)
    qemu.mem.write_u64(pas["pde"], 0x0400_0000 | PTE_P | PTE_RW)       # 64 MiB: no RAM
    del pas["pte"]
    try:
        vector, _, cr2, code = qemu.access(va, Access.READ, wp=True, nxe=True)
        with pytest.raises(PageFault) as info:
            walk(qemu.mem, va, Access.READ, qemu.regs(wp=True, nxe=True), cpl=0)
    finally:
        clear_path(qemu.mem, pas)
    assert (vector, cr2, code) == (14, va, 0)                              # QEMU: not present
    assert info.value.error_code == PFErr.P | PFErr.RSVD                  # emu: all ones


def test_qemu_xchg_faults_as_read_on_not_present_page(qemu, error_code_offset):
    """Not a walker difference but one emu inherits: QEMU (non-parallel TCG) performs
    `xchg [mem], reg` as a load then a store, so on a not-present page the #PF has W=0.
    On hardware the locked read-modify-write is a write access (SDM 4.7: W is set
    for a write). Under UC_TLB_VIRTUAL emu's fill hook sees the READ first too."""
    va = (7 << 39) | 0x100
    pas = write_path(qemu.mem, va, plain_flags(pte=0), FRAMES_4K[0], False)
    try:
        vector, _, cr2, code = qemu.access(va, Access.WRITE, wp=True, nxe=True, code=XCHG_RBX_RAX)
    finally:
        clear_path(qemu.mem, pas)
    assert (vector, cr2, code) == (14, va, 0)          # hardware would push W (2)


def test_qemu_writes_cr2_itself(qemu, error_code_offset):
    """Unicorn's QEMU walker writes CR2 when it faults; a #GP does not touch it."""
    va = (8 << 39) | 0x123
    pas = write_path(qemu.mem, va, plain_flags(pde=0), FRAMES_4K[0], False)
    try:
        assert qemu.access(va, Access.READ, wp=True, nxe=True)[2] == va
        assert qemu.access(1 << 47, Access.READ, wp=True, nxe=True)[:3] == (13, None, CR2_SENTINEL)
    finally:
        clear_path(qemu.mem, pas)
