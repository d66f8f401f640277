"""test_walk: emu.hardware.mmu.walk against tables of SDM cases (Intel SDM Vol. 3A, chapter 4).

Every case builds one translation path by hand (PML4E, PDPTE, PDE and, for a 4 KiB
page, PTE at fixed table addresses), changes one thing, and checks what the walk
returns or raises: the pa, the fault class and its exact error code, and the
Accessed/Dirty bits it leaves in memory.
"""

import pytest

from emu.hardware.mmu import Access, GeneralProtection, PageFault, PagingRegs, walk
from emu.hardware.paging import (CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE, HPAGE_SIZE,
                        PTE_A, PTE_D, PTE_G, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, PFErr,
                        table_index)
from emu.hardware.physmem import PhysicalMemory

MiB = 1 << 20

# Where the hand-built tables and frames live in guest RAM.
PML4_PA, PDPT_PA, PD_PA, PT_PA = 0x1000, 0x2000, 0x3000, 0x4000
FRAME_4K = 0x7000
FRAME_2M = 0x40_0000

# va bits: PML4 index 0x12, PDPT 0x34, PD 0x56, PT 0x78, offset 0x9ab.
VA = (0x12 << 39) | (0x34 << 30) | (0x56 << 21) | (0x78 << 12) | 0x9ab
VA_2M_OFFSET = VA & (HPAGE_SIZE - 1)       # 0x789ab: offset of VA inside its 2 MiB page

TABLE_OF = {"pml4e": PML4_PA, "pdpte": PDPT_PA, "pde": PD_PA, "pte": PT_PA}
LEVEL_OF = {"pml4e": 4, "pdpte": 3, "pde": 2, "pte": 1}
UPPER = P_RW_US = PTE_P | PTE_RW | PTE_US
LEAF = P_RW_US | PTE_A | PTE_D              # a plain user-writable, already dirty leaf

R, W, X = Access.READ, Access.WRITE, Access.FETCH
P, Wb, U, RSVD, I = PFErr.P, PFErr.W, PFErr.U, PFErr.RSVD, PFErr.I


def entry_pa(name: str, va: int = VA) -> int:
    return TABLE_OF[name] + table_index(va, LEVEL_OF[name]) * 8


def build(mem, va=VA, leaf_flags=LEAF, level_flags=None, *, huge=False) -> dict:
    """Write the PML4E, PDPTE, PDE (and PTE unless `huge`) that map `va`.

    `level_flags` overrides the flags of upper entries by name ('pml4e', 'pdpte',
    'pde'); each defaults to P|RW|US. The leaf gets `leaf_flags`. The address bits
    come from the fixed table and frame addresses. Returns {entry name: entry pa}.
    """
    flags = {"pml4e": UPPER, "pdpte": UPPER, "pde": UPPER, **(level_flags or {})}
    next_pa = {"pml4e": PDPT_PA, "pdpte": PD_PA, "pde": PT_PA}
    if huge:
        flags["pde"] = leaf_flags | PTE_PS
        next_pa["pde"] = FRAME_2M
    else:
        flags["pte"] = leaf_flags
        next_pa["pte"] = FRAME_4K
    for name in next_pa:
        mem.write_u64(entry_pa(name, va), next_pa[name] | flags[name])
    return {name: entry_pa(name, va) for name in next_pa}


def regs(*, wp=True, nxe=True) -> PagingRegs:
    cr0 = CR0_PE | CR0_PG | (CR0_WP if wp else 0)
    efer = EFER_LME | EFER_LMA | (EFER_NXE if nxe else 0)
    return PagingRegs(cr3=PML4_PA, cr0=cr0, cr4=CR4_PAE, efer=efer)


@pytest.fixture
def mem():
    return PhysicalMemory(16 * MiB)


def expect(mem, access, cpl, outcome, *, wp=True, nxe=True, va=VA):
    """Walk and check `outcome`: ('pa', pa) or ('pf', error_code) or ('gp',)."""
    if outcome[0] == "pa":
        tr = walk(mem, va, access, regs(wp=wp, nxe=nxe), cpl=cpl)
        assert tr.pa == outcome[1], f"pa {tr.pa:#x} != {outcome[1]:#x}"
        return tr
    if outcome[0] == "gp":
        with pytest.raises(GeneralProtection):
            walk(mem, va, access, regs(wp=wp, nxe=nxe), cpl=cpl)
        return None
    with pytest.raises(PageFault) as info:
        walk(mem, va, access, regs(wp=wp, nxe=nxe), cpl=cpl)
    assert info.value.error_code == outcome[1], (
        f"error code {info.value.error_code!r} != {PFErr(outcome[1])!r}")
    assert info.value.va == va
    return info.value


OK_4K = ("pa", FRAME_4K + (VA & 0xfff))
OK_2M = ("pa", FRAME_2M + VA_2M_OFFSET)


def pf(code):
    return ("pf", PFErr(code))


# --- one flag bit at one level ----------------------------------------------
# (id, huge, entry, bits to set, bits to clear, access, cpl, wp, nxe, outcome)

def flag_cases():
    cases = []
    for huge in (False, True):
        kind = "2m" if huge else "4k"
        ok = OK_2M if huge else OK_4K
        levels = ("pml4e", "pdpte", "pde") if huge else ("pml4e", "pdpte", "pde", "pte")
        for lvl in levels:
            c = lambda name, *rest: cases.append(pytest.param(huge, lvl, *rest, id=f"{kind}-{lvl}-{name}"))
            # P (SDM 4.5.4: P=0 at any level -> #PF, error code P=0)
            c("P0-read-cpl0", 0, PTE_P, R, 0, True, True, pf(0))
            c("P0-write-cpl3", 0, PTE_P, W, 3, True, True, pf(Wb | U))
            c("P0-fetch-nxe", 0, PTE_P, X, 0, True, True, pf(I))
            c("P0-fetch-nonxe-no-I", 0, PTE_P, X, 3, True, False, pf(U))
            # R/W (SDM 4.6.1: R/W=0 at any level makes the page read-only)
            c("RW0-read-cpl3", 0, PTE_RW, R, 3, True, True, ok)
            c("RW0-write-cpl0-WP1", 0, PTE_RW, W, 0, True, True, pf(P | Wb))
            c("RW0-write-cpl0-WP0-allowed", 0, PTE_RW, W, 0, False, True, ok)
            c("RW0-write-cpl3-WP0", 0, PTE_RW, W, 3, False, True, pf(P | Wb | U))
            c("RW0-write-cpl3-WP1", 0, PTE_RW, W, 3, True, True, pf(P | Wb | U))
            # U/S (SDM 4.6.1: U/S=0 at any level makes the page supervisor-only)
            c("US0-read-cpl0", 0, PTE_US, R, 0, True, True, ok)
            c("US0-write-cpl0", 0, PTE_US, W, 0, True, True, ok)
            c("US0-fetch-cpl0", 0, PTE_US, X, 0, True, True, ok)
            c("US0-read-cpl3", 0, PTE_US, R, 3, True, True, pf(P | U))
            c("US0-write-cpl3", 0, PTE_US, W, 3, True, True, pf(P | Wb | U))
            c("US0-fetch-cpl3", 0, PTE_US, X, 3, True, True, pf(P | U | I))
            # XD (SDM 4.6.2 with NXE=1; with NXE=0 bit 63 is reserved, 4.5.4)
            c("NX-fetch-cpl0", PTE_NX, 0, X, 0, True, True, pf(P | I))
            c("NX-fetch-cpl3", PTE_NX, 0, X, 3, True, True, pf(P | U | I))
            c("NX-read", PTE_NX, 0, R, 3, True, True, ok)
            c("NX-write", PTE_NX, 0, W, 0, True, True, ok)
            c("NX-nonxe-read-rsvd", PTE_NX, 0, R, 0, True, False, pf(P | RSVD))
            c("NX-nonxe-fetch-rsvd-no-I", PTE_NX, 0, X, 3, True, False, pf(P | RSVD | U))
            c("NX-nonxe-write-rsvd", PTE_NX, 0, W, 0, True, False, pf(P | RSVD | Wb))
            # Bits 51:40 are reserved with MAXPHYADDR 40 (SDM 4.5.4, table 4-15..4-20)
            for bit in (40, 45, 51):
                c(f"bit{bit}-rsvd", 1 << bit, 0, R, 0, True, True, pf(P | RSVD))
            c("bit51-rsvd-fetch", 1 << 51, 0, X, 3, True, True, pf(P | RSVD | U | I))
            # Bits the walk ignores for translation (A, D, G in non-leaf entries are
            # ignored; G and D in a leaf do not change the pa)
            for name, bit in (("A", PTE_A), ("D", PTE_D), ("G", PTE_G)):
                c(f"{name}1-read", bit, 0, R, 3, True, True, ok)
                c(f"{name}0-write", 0, bit, W, 3, True, True, ok)
    # PS: reserved in a PML4E (table 4-15); in a PDPTE it would be a 1 GiB page,
    # reserved because emu's CPU has no Page1GB (SDM 4.1.4, 4.5.4).
    for huge in (False, True):
        kind = "2m" if huge else "4k"
        cases.append(pytest.param(huge, "pml4e", PTE_PS, 0, R, 0, True, True, pf(P | RSVD),
                                  id=f"{kind}-pml4e-PS-rsvd-table4-15"))
        cases.append(pytest.param(huge, "pdpte", PTE_PS, 0, W, 3, True, True, pf(P | RSVD | Wb | U),
                                  id=f"{kind}-pdpte-PS-1GiB-rsvd-4.5.4"))
    # PS in a PTE is PAT (table 4-20): no effect on the translation.
    cases.append(pytest.param(False, "pte", PTE_PS, 0, R, 0, True, True, OK_4K, id="4k-pte-PS-is-PAT"))
    # PS=1 on a PDE that holds PT_PA=0x4000: a 2 MiB leaf whose bit 14 falls in the
    # reserved bits 20:13 (table 4-18).
    cases.append(pytest.param(False, "pde", PTE_PS, 0, R, 0, True, True, pf(P | RSVD),
                              id="4k-pde-PS-makes-2m-with-rsvd-20:13-table4-18"))
    # PS=0 on the PDE of a 2 MiB page: the "frame" is now a PT full of zeros.
    cases.append(pytest.param(True, "pde", 0, PTE_PS, R, 0, True, True, pf(0),
                              id="2m-pde-PS0-becomes-table-not-present"))
    return cases


@pytest.mark.parametrize("huge, level, set_bits, clear_bits, access, cpl, wp, nxe, outcome", flag_cases())
def test_flag_at_level(mem, huge, level, set_bits, clear_bits, access, cpl, wp, nxe, outcome):
    pas = build(mem, huge=huge)
    entry = mem.read_u64(pas[level])
    mem.write_u64(pas[level], (entry | set_bits) & ~clear_bits)
    expect(mem, access, cpl, outcome, wp=wp, nxe=nxe)


# --- reserved bits 20:13 of a 2 MiB PDE (table 4-18) --------------------------

@pytest.mark.parametrize("bit", range(13, 21), ids=lambda b: f"pde-2m-bit{b}-rsvd")
def test_2m_pde_low_reserved_bits(mem, bit):
    pas = build(mem, huge=True)
    mem.write_u64(pas["pde"], mem.read_u64(pas["pde"]) | (1 << bit))
    expect(mem, R, 0, pf(P | RSVD))


def test_2m_pde_bit12_is_pat_not_reserved(mem):
    pas = build(mem, huge=True)
    mem.write_u64(pas["pde"], mem.read_u64(pas["pde"]) | (1 << 12))
    expect(mem, R, 0, OK_2M)


def test_reserved_bit_wins_over_protection(mem):
    """A reserved bit is reported (RSVD) even when U/S would also refuse (SDM 4.7)."""
    build(mem, leaf_flags=PTE_P | PTE_A | (1 << 44))
    expect(mem, W, 3, pf(P | RSVD | Wb | U))


def test_not_present_below_reserved_is_not_reached(mem):
    """The walk stops at the first non-present entry; lower entries are never read."""
    pas = build(mem, level_flags={"pdpte": 0})
    mem.write_u64(pas["pte"], ~0 & ((1 << 64) - 1))
    expect(mem, R, 0, pf(0))


# --- translations -----------------------------------------------------------

@pytest.mark.parametrize("offset", [0, 1, 0x9ab, 0xfff], ids=lambda o: f"4k-offset-{o:#x}")
def test_4k_translation_keeps_offset(mem, offset):
    va = (VA & ~0xfff) | offset
    build(mem, va)
    tr = walk(mem, va, R, regs(), cpl=3)
    assert (tr.pa, tr.page_size, tr.frame_pa) == (FRAME_4K + offset, 4096, FRAME_4K)


@pytest.mark.parametrize("offset", [0, 0xfff, 0x1000, 0x789ab, HPAGE_SIZE - 1],
                         ids=lambda o: f"2m-offset-{o:#x}")
def test_2m_translation_keeps_offset(mem, offset):
    va = (VA & ~(HPAGE_SIZE - 1)) | offset
    build(mem, va, huge=True)
    tr = walk(mem, va, R, regs(), cpl=3)
    assert (tr.pa, tr.page_size, tr.frame_pa) == (FRAME_2M + offset, HPAGE_SIZE, FRAME_2M)


def test_translation_permissions_combine_levels(mem):
    """R/W and U/S are ANDed over the levels, XD ORed (SDM 4.6.1, 4.6.2)."""
    build(mem, leaf_flags=LEAF | PTE_G, level_flags={"pdpte": PTE_P | PTE_US | PTE_NX})
    tr = walk(mem, VA, R, regs(), cpl=0)
    assert (tr.writable, tr.user, tr.nx, tr.dirty, tr.global_) == (False, True, True, True, True)


def test_high_half_canonical_address(mem):
    va = 0xffff_8000_0000_0000 | (VA & ((1 << 39) - 1)) | (0x1ff << 39)
    build(mem, va)
    assert walk(mem, va, R, regs(), cpl=0).pa == FRAME_4K + (va & 0xfff)


# --- non-canonical addresses: #GP, not #PF (SDM 3.3.7.1, 4.5.4) ---------------

@pytest.mark.parametrize("va", [0x0000_8000_0000_0000, 0x0000_8000_0000_1000, 0x1234_5678_9abc_d000,
                                0xffff_7fff_ffff_ffff, 0x8000_0000_0000_0000, 0x8000_4000_0000_0000],
                         ids=lambda va: f"gp-{va:#018x}")
@pytest.mark.parametrize("access", [R, W, X], ids=["read", "write", "fetch"])
def test_non_canonical_is_gp(mem, va, access):
    build(mem)
    expect(mem, access, 3, ("gp",), va=va)


@pytest.mark.parametrize("va", [0x0000_7fff_ffff_f000, 0xffff_8000_0000_0000],
                         ids=["top-of-low-half", "bottom-of-high-half"])
def test_canonical_edges_page_fault(mem, va):
    """Edges of the hole are canonical: with empty tables they #PF, not #GP."""
    expect(mem, R, 0, pf(0), va=va)


# --- Accessed and Dirty in memory (SDM 4.8) ----------------------------------

def entries(mem, pas):
    return {name: mem.read_u64(pa) for name, pa in pas.items()}


@pytest.mark.parametrize("huge", [False, True], ids=["4k", "2m"])
@pytest.mark.parametrize("access", [R, W, X], ids=["read", "write", "fetch"])
def test_accessed_on_every_entry_dirty_on_leaf_for_write(mem, huge, access):
    pas = build(mem, leaf_flags=PTE_P | PTE_RW | PTE_US, huge=huge)
    leaf = "pde" if huge else "pte"
    walk(mem, VA, access, regs(), cpl=3)
    after = entries(mem, pas)
    for name, value in after.items():
        assert value & PTE_A, f"{name} A not set"
        want_d = name == leaf and access == W
        assert bool(value & PTE_D) == want_d, f"{name} D={bool(value & PTE_D)}"


def test_dirty_not_set_on_upper_entries_for_write(mem):
    pas = build(mem, leaf_flags=PTE_P | PTE_RW)
    walk(mem, VA, W, regs(), cpl=0)
    assert [bool(v & PTE_D) for v in entries(mem, pas).values()] == [False, False, False, True]


@pytest.mark.parametrize("access", [R, W], ids=["read", "write"])
def test_no_ad_update_when_update_ad_false(mem, access):
    pas = build(mem, leaf_flags=PTE_P | PTE_RW)
    before = entries(mem, pas)
    tr = walk(mem, VA, access, regs(), cpl=0, update_ad=False)
    assert tr.pa == FRAME_4K + (VA & 0xfff)
    assert entries(mem, pas) == before


@pytest.mark.parametrize("access, cpl, leaf_flags, code", [
    (W, 0, PTE_P, P | Wb),                 # read-only, WP=1
    (R, 3, PTE_P | PTE_RW, P | U),          # supervisor page
    (X, 0, PTE_P | PTE_NX, P | I),          # no-execute
], ids=["write-ro", "user-on-supervisor", "fetch-nx"])
def test_permission_fault_leaves_leaf_accessed_clear(mem, access, cpl, leaf_flags, code):
    """Like QEMU's walker, the leaf's A bit is set only once the access is allowed;
    the upper entries, used on the way down, get A (SDM 4.8 permits either)."""
    pas = build(mem, leaf_flags=leaf_flags)
    expect(mem, access, cpl, pf(code))
    after = entries(mem, pas)
    assert not after["pte"] & (PTE_A | PTE_D)
    assert all(after[name] & PTE_A for name in ("pml4e", "pdpte", "pde"))


def test_not_present_fault_sets_a_only_above(mem):
    pas = build(mem, leaf_flags=PTE_P, level_flags={"pde": 0})
    expect(mem, R, 0, pf(0))
    after = entries(mem, pas)
    assert after["pml4e"] & PTE_A and after["pdpte"] & PTE_A
    assert after["pde"] == PT_PA and not after["pte"] & PTE_A


def test_reserved_fault_sets_no_a_on_faulting_entry(mem):
    pas = build(mem, level_flags={"pdpte": UPPER | (1 << 48)})
    expect(mem, R, 0, pf(P | RSVD))
    after = entries(mem, pas)
    assert after["pml4e"] & PTE_A
    assert not after["pdpte"] & PTE_A and not after["pde"] & PTE_A


def test_write_to_clean_page_already_accessed_sets_only_dirty(mem):
    pas = build(mem, leaf_flags=PTE_P | PTE_RW | PTE_A)
    walk(mem, VA, R, regs(), cpl=0)
    assert not mem.read_u64(pas["pte"]) & PTE_D
    tr = walk(mem, VA, W, regs(), cpl=0)
    assert tr.dirty and mem.read_u64(pas["pte"]) == FRAME_4K | PTE_P | PTE_RW | PTE_A | PTE_D


def test_supervisor_write_with_wp0_sets_dirty_on_read_only_page(mem):
    pas = build(mem, leaf_flags=PTE_P)
    walk(mem, VA, W, regs(wp=False), cpl=0)
    assert mem.read_u64(pas["pte"]) & PTE_D


# --- tables outside RAM ------------------------------------------------------

def test_table_in_unbacked_memory_reads_all_ones(mem):
    """A PDE pointing beyond the 16 MiB of RAM: the PTE reads as all ones, so it is
    present with reserved bits set -> RSVD (emu's bus model; QEMU reads zeros)."""
    pas = build(mem)
    mem.write_u64(pas["pde"], 0x0200_0000 | UPPER)        # 32 MiB: no RAM there
    expect(mem, R, 0, pf(P | RSVD))
    expect(mem, W, 3, pf(P | RSVD | Wb | U))
