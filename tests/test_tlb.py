"""test_tlb: the TLB model (emu/hardware/tlb.py) and the Mmu's invalidation API, without Unicorn.

The Mmu is built with uc=None; translations go through `Mmu.translate`, and the
Unicorn side of the fill hook is imitated by calling `Mmu.tlb_fill` with a stand-in
for Unicorn's TLB entry. The architectural rules are SDM Vol. 3A, 4.10.
"""

from types import SimpleNamespace

import pytest
from unicorn import UC_MEM_READ, UC_MEM_WRITE, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE

from emu.hardware.mmu import Access, Mmu
from emu.hardware.paging import (CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, EFER_LMA, EFER_LME, EFER_NXE,
                        HPAGE_SIZE, PAGE_SIZE, PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_RW, PTE_US)
from emu.hardware.physmem import PhysicalMemory
from emu.hardware.tlb import SetAssociativeTlb, Tlb, TlbEntry, parse_geometry

MiB = 1 << 20
PML4_PA, PDPT_PA, PD_PA, PT_PA = 0x1000, 0x2000, 0x3000, 0x4000
SMALL_BASE = 0x10_0000            # va i*4K (i < 512) -> pa SMALL_BASE + i*4K
HUGE_VA = 0x20_0000               # PD index 1: one 2 MiB page
HUGE_FRAME = 0x40_0000
OTHER_FRAME = 0xC0_0000           # where a changed PTE points
UPPER = PTE_P | PTE_RW | PTE_US
LEAF = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D
R, W = Access.READ, Access.WRITE


def pte_pa(va: int) -> int:
    return PT_PA + ((va >> 12) & 0x1ff) * 8


def build(mem, *, leaf_flags=LEAF, global_pages=()):
    """Map va 0..2 MiB with 4 KiB pages and va 2..4 MiB with one 2 MiB page (global)."""
    mem.write_u64(PML4_PA, PDPT_PA | UPPER)
    mem.write_u64(PDPT_PA, PD_PA | UPPER)
    mem.write_u64(PD_PA, PT_PA | UPPER)
    mem.write_u64(PD_PA + 8, HUGE_FRAME | LEAF | PTE_PS | PTE_G)
    for i in range(512):
        flags = leaf_flags | (PTE_G if i in global_pages else 0)
        mem.write_u64(PT_PA + 8 * i, SMALL_BASE + i * PAGE_SIZE | flags)


def make_mmu(geometry=None, *, pge=False, **build_args) -> Mmu:
    mem = PhysicalMemory(16 * MiB)
    build(mem, **build_args)
    mmu = Mmu(mem, Tlb(geometry))
    mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
    mmu.cr4 = CR4_PAE | (CR4_PGE if pge else 0)
    mmu.efer = EFER_LME | EFER_LMA | EFER_NXE
    mmu.cr3 = PML4_PA
    return mmu


def fill(mmu, va, uc_access=UC_MEM_READ):
    """What Unicorn does on a miss of its own TLB: call the hook, return the entry."""
    uc_entry = SimpleNamespace(paddr=None, perms=None)
    assert mmu.tlb_fill(None, va & ~0xfff, uc_access, uc_entry, None)
    return uc_entry


def cached_vas(tlb) -> set:
    return {e.vpn << (12 if e.page_size == PAGE_SIZE else 21) for e in tlb.small.entries_list()
            + tlb.huge.entries_list()}


# --- hits, misses, walks ------------------------------------------------------

def test_second_translate_does_not_walk():
    mmu = make_mmu()
    tr = mmu.translate(0x5123, R, cpl=3)
    assert tr.pa == SMALL_BASE + 0x5123
    c = mmu.tlb.small.counters
    assert (c.misses, c.walks) == (1, 1)
    assert mmu.translate(0x5fff, R, cpl=3).pa == SMALL_BASE + 0x5fff
    assert (c.misses, c.walks) == (1, 1)


def test_hook_counts_hits_per_page_size():
    mmu = make_mmu()
    assert fill(mmu, 0x5000).paddr == SMALL_BASE + 0x5000           # miss: walk
    assert fill(mmu, 0x5000).paddr == SMALL_BASE + 0x5000           # hit
    assert fill(mmu, HUGE_VA + 0x3000).paddr == HUGE_FRAME + 0x3000  # miss
    assert fill(mmu, HUGE_VA + 0x7000).paddr == HUGE_FRAME + 0x7000  # hit: same 2 MiB entry
    assert fill(mmu, HUGE_VA + 0x1ff000).paddr == HUGE_FRAME + 0x1ff000
    small, huge = mmu.tlb.small.counters, mmu.tlb.huge.counters
    assert (small.misses, small.walks, small.hits) == (1, 1, 1)
    assert (huge.misses, huge.walks, huge.hits) == (1, 1, 2)


def test_hook_hands_clean_page_read_only():
    """Unicorn gets WRITE only once D is set, so the first store comes back (SDM 4.8)."""
    mmu = make_mmu(leaf_flags=PTE_P | PTE_RW | PTE_US)
    assert fill(mmu, 0x5000).perms == UC_PROT_READ | UC_PROT_EXEC
    assert not mmu.mem.read_u64(pte_pa(0x5000)) & PTE_D
    assert fill(mmu, 0x5000, UC_MEM_WRITE).perms == UC_PROT_READ | UC_PROT_WRITE | UC_PROT_EXEC
    assert mmu.mem.read_u64(pte_pa(0x5000)) & PTE_D


# --- set associativity and LRU -------------------------------------------------

def entry(vpn):
    return TlbEntry(vpn=vpn, pa=vpn << 12, page_size=PAGE_SIZE, writable=True, user=True,
                    nx=False, dirty=True, global_=False)


def test_set_index_is_vpn_modulo_sets():
    tlb = SetAssociativeTlb(12, 8, 2)                 # 4 sets of 2 ways
    for vpn in (0, 4, 8):                              # all in set 0
        tlb.insert(entry(vpn))
    for vpn in (1, 2, 3):                              # one in each other set
        tlb.insert(entry(vpn))
    assert [sorted(s) for s in tlb.sets] == [[4, 8], [1], [2], [3]]
    assert tlb.counters.evictions == 1


def test_lru_victim_is_least_recently_used():
    tlb = SetAssociativeTlb(12, 8, 2)
    tlb.insert(entry(0))
    tlb.insert(entry(4))
    assert tlb.lookup(0 << 12) is not None             # 0 is now most recently used
    victim = tlb.insert(entry(8))
    assert victim.vpn == 4
    assert tlb.lookup(4 << 12) is None and tlb.lookup(0) is not None
    assert tlb.counters.evictions == 1


def test_reinserting_same_page_does_not_evict():
    tlb = SetAssociativeTlb(12, 8, 2)
    tlb.insert(entry(0))
    tlb.insert(entry(4))
    assert tlb.insert(entry(4)) is None
    assert tlb.counters.evictions == 0


def test_mmu_lru_through_translate():
    mmu = make_mmu({"4k": (8, 2)})
    for va in (0x0000, 0x4000, 0x0000, 0x8000):        # vpns 0, 4, (0 again), 8: set 0
        mmu.translate(va, R, cpl=0)
    assert cached_vas(mmu.tlb) == {0x0000, 0x8000}
    assert mmu.tlb.small.counters.evictions == 1
    walks = mmu.tlb.small.counters.walks
    mmu.translate(0x4000, R, cpl=0)                    # evicted: walks again
    assert mmu.tlb.small.counters.walks == walks + 1


@pytest.mark.parametrize("entries, ways", [(8, 3), (12, 4), (0, 1), (8, 0)],
                         ids=["not-divisible", "sets-not-power-of-two", "empty", "zero-ways"])
def test_bad_shapes_refused(entries, ways):
    with pytest.raises(ValueError):
        SetAssociativeTlb(12, entries, ways)


# --- invalidation (SDM 4.10.4.1) -------------------------------------------------

def test_cr3_write_keeps_global_entries_when_pge():
    mmu = make_mmu(pge=True, global_pages={7})
    for va in (0x5000, 0x7000, HUGE_VA):
        mmu.translate(va, R, cpl=0)
    mmu.load_cr3(PML4_PA)
    assert cached_vas(mmu.tlb) == {0x7000, HUGE_VA}


def test_cr3_write_flushes_global_entries_without_pge():
    """G is honoured only with CR4.PGE=1 (SDM 4.10.2.4)."""
    mmu = make_mmu(pge=False, global_pages={7})
    for va in (0x5000, 0x7000, HUGE_VA):
        mmu.translate(va, R, cpl=0)
    mmu.load_cr3(PML4_PA)
    assert cached_vas(mmu.tlb) == set()


@pytest.mark.parametrize("pge_before", [False, True], ids=["pge-0-to-1", "pge-1-to-0"])
def test_cr4_pge_change_flushes_everything(pge_before):
    mmu = make_mmu(pge=pge_before, global_pages={7})
    for va in (0x5000, 0x7000, HUGE_VA):
        mmu.translate(va, R, cpl=0)
    mmu.load_cr4(mmu.cr4 ^ CR4_PGE)
    assert cached_vas(mmu.tlb) == set()


def test_cr4_write_without_pge_change_keeps_entries():
    mmu = make_mmu(pge=True)
    mmu.translate(0x5000, R, cpl=0)
    mmu.load_cr4(mmu.cr4)
    assert cached_vas(mmu.tlb) == {0x5000}


def test_invlpg_4k_flushes_only_that_page():
    mmu = make_mmu()
    for va in (0x5000, 0x6000, HUGE_VA):
        mmu.translate(va, R, cpl=0)
    mmu.invlpg(0x5abc)
    assert cached_vas(mmu.tlb) == {0x6000, HUGE_VA}


@pytest.mark.parametrize("offset", [0, 0x1234, 0x1ff000, HPAGE_SIZE - 1],
                         ids=lambda o: f"invlpg-2m+{o:#x}")
def test_invlpg_anywhere_in_2m_page_flushes_it(offset):
    mmu = make_mmu()
    mmu.translate(HUGE_VA + 0x3000, R, cpl=0)
    mmu.translate(0x5000, R, cpl=0)
    mmu.invlpg(HUGE_VA + offset)
    assert cached_vas(mmu.tlb) == {0x5000}


def test_stale_pte_served_until_invlpg():
    """The TLB is not coherent with memory: a changed PTE needs INVLPG (SDM 4.10.4.2)."""
    mmu = make_mmu()
    assert mmu.translate(0x5010, R, cpl=0).pa == SMALL_BASE + 0x5010
    mmu.mem.write_u64(pte_pa(0x5000), OTHER_FRAME | LEAF)
    assert mmu.translate(0x5010, R, cpl=0).pa == SMALL_BASE + 0x5010     # stale
    mmu.invlpg(0x5000)
    assert mmu.translate(0x5010, R, cpl=0).pa == OTHER_FRAME + 0x10


def test_stale_2m_pde_served_until_invlpg():
    mmu = make_mmu()
    mmu.translate(HUGE_VA, R, cpl=0)
    mmu.mem.write_u64(PD_PA + 8, OTHER_FRAME & ~(HPAGE_SIZE - 1) | LEAF | PTE_PS)
    assert mmu.translate(HUGE_VA + 0x10, R, cpl=0).pa == HUGE_FRAME + 0x10
    mmu.invlpg(HUGE_VA + 0x12345)
    assert mmu.translate(HUGE_VA + 0x10, R, cpl=0).pa == (OTHER_FRAME & ~(HPAGE_SIZE - 1)) + 0x10


def test_write_to_clean_cached_page_rewalks_and_sets_dirty():
    mmu = make_mmu(leaf_flags=PTE_P | PTE_RW | PTE_US)
    mmu.translate(0x5000, R, cpl=0)
    walks = mmu.tlb.small.counters.walks
    assert mmu.translate(0x5000, R, cpl=0).dirty is False
    assert mmu.tlb.small.counters.walks == walks
    tr = mmu.translate(0x5008, W, cpl=0)
    assert tr.dirty and mmu.tlb.small.counters.walks == walks + 1
    assert mmu.mem.read_u64(pte_pa(0x5000)) & PTE_D
    assert mmu.tlb.lookup(0x5000).dirty


def test_write_to_dirty_cached_page_does_not_walk():
    mmu = make_mmu()
    mmu.translate(0x5000, R, cpl=0)
    walks = mmu.tlb.small.counters.walks
    mmu.translate(0x5000, W, cpl=0)
    assert mmu.tlb.small.counters.walks == walks


# --- the coherence bookkeeping (emu/hardware/mmu.py docstring), without Unicorn -------------

def test_evicting_entry_never_handed_to_unicorn_does_not_flush_it():
    mmu = make_mmu({"4k": (4, 1)})
    for va in (0x0000, 0x4000, 0x8000):                # same set: each evicts the last
        mmu.translate(va, R, cpl=0)
    assert mmu.counters.unicorn_flushes == 0


def test_evicting_entry_handed_to_unicorn_flushes_it():
    mmu = make_mmu({"4k": (4, 1)})
    fill(mmu, 0x0000)                                   # now Unicorn may cache it
    gen = mmu.gen
    fill(mmu, 0x4000)                                   # evicts 0x0000: flush
    assert (mmu.counters.unicorn_flushes, mmu.gen) == (1, gen + 1)
    fill(mmu, 0x8000)                                   # evicts 0x4000 (this generation)
    assert mmu.counters.unicorn_flushes == 2


def test_invlpg_of_page_not_in_current_generation_does_not_flush():
    mmu = make_mmu()
    fill(mmu, 0x5000)
    mmu.flush_unicorn()                                 # e.g. a CR3 write elsewhere
    flushes = mmu.counters.unicorn_flushes
    mmu.invlpg(0x5000)                                  # Unicorn cannot hold it any more
    assert mmu.counters.unicorn_flushes == flushes


# --- parse_geometry ----------------------------------------------------------------

@pytest.mark.parametrize("text, geometry", [
    ("4k=1536/12,2m=32/4", {"4k": (1536, 12), "2m": (32, 4)}),
    ("4k=64/4", {"4k": (64, 4)}),
    ("2M=8/8", {"2m": (8, 8)}),
    (" 4K=16/2,", {"4k": (16, 2)}),
    ("", {}),
], ids=["both", "4k-only", "upper-case", "leading-space-trailing-comma", "empty"])
def test_parse_geometry_good(text, geometry):
    assert parse_geometry(text) == geometry
    Tlb(parse_geometry(text))


@pytest.mark.parametrize("text", ["4k=1536", "1g=4/4", "4k=a/2", "4k=8/3", "4k=12/4", "4k=0/1",
                                  "4k=-8/2", "4k", "4k=8/2/1"],
                         ids=["no-ways", "unknown-size", "not-a-number", "ways-not-divisor",
                              "sets-not-power-of-two", "zero-entries", "negative", "no-spec",
                              "extra-field"])
def test_parse_geometry_bad(text):
    with pytest.raises(ValueError):
        parse_geometry(text)


def test_cr0_wp_change_flushes_cached_permissions():
    """Cached entries carry permissions computed under CR0.WP: a WP change must drop them."""
    from emu.hardware.mmu import Mmu
    from emu.hardware.paging import CR0_PG, CR0_WP
    from emu.hardware.physmem import PhysicalMemory
    mmu = Mmu(PhysicalMemory(16 << 20))
    mmu.load_cr0(CR0_PG | CR0_WP)
    mmu.tlb.small.insert(__import__("emu.hardware.tlb", fromlist=["TlbEntry"]).TlbEntry(
        vpn=1, pa=0x1000, page_size=4096, writable=False, user=True, nx=False, dirty=True, global_=True))
    mmu.load_cr0(CR0_PG)
    assert mmu.tlb.small.entries_list() == []


def test_count_follows_inserts_evictions_invalidations_and_flushes():
    tlb = SetAssociativeTlb(12, 8, 2)
    for vpn in range(12):
        tlb.insert(TlbEntry(vpn, vpn << 12, 4096, True, True, False, True, vpn % 3 == 0))
    tlb.insert(TlbEntry(11, 0, 4096, True, True, False, True, False))      # replaces one
    tlb.invalidate(11 << 12)
    tlb.invalidate(11 << 12)                                         # already gone
    assert tlb.count == sum(len(s) for s in tlb.sets) == 7
    tlb.flush(keep_global=True)
    assert tlb.count == sum(len(s) for s in tlb.sets) > 0
    tlb.flush(keep_global=False)
    assert tlb.count == 0
