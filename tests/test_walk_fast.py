"""Mmu.walk_fast (the hook's quick path for common TLB misses) agrees with the full walk.

On random page tables (the same generator as the Unicorn comparison), at CPL 0 and 3:
whenever walk_fast answers, the full walk, run on the same memory, succeeds with the
same frame and rights and leaves the same A/D bits in memory; whenever walk_fast
declines (returns None) it has changed nothing, and the full walk decides.
"""

import random

import pytest

from emu.hardware.mmu import ACCESS_FROM_UC, GeneralProtection, Mmu, PageFault, PagingRegs, walk
from emu.hardware.paging import CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE
from emu.hardware.physmem import PhysicalMemory
from emu.hardware.tlb import Tlb
from tests.test_walk_vs_unicorn import PML4_PA, random_case, write_path, clear_path

UC_ACCESS = {access: code for code, access in ACCESS_FROM_UC.items()}


@pytest.fixture(scope="module")
def mem():
    return PhysicalMemory(64 << 20)


@pytest.mark.parametrize("seed", range(300))
def test_walk_fast_agrees_with_walk(mem, seed):
    rng = random.Random(seed)
    case = random_case(rng)
    cpl = rng.choice([0, 3])
    # Make the quick path's conditions likely: Accessed and Dirty set on most entries.
    for name in case["flags"]:
        if rng.random() < 0.8:
            case["flags"][name] |= 0x60
    pas = write_path(mem, case["va"], case["flags"], case["frame"], case["leaf_2m"])
    try:
        regs = PagingRegs(PML4_PA, CR0_PG | (CR0_WP if case["wp"] else 0), CR4_PAE,
                          EFER_LME | EFER_LMA | (EFER_NXE if case["nxe"] else 0))
        mmu = Mmu(mem, Tlb())
        mmu.cr3, mmu.cr0, mmu.cr4, mmu.efer, mmu.cpl = regs.cr3, regs.cr0, regs.cr4, regs.efer, cpl
        before = {name: mem.read_u64(pa) for name, pa in pas.items()}
        fast_fault = None
        try:
            fast = mmu.walk_fast(case["va"] & ~0xFFF, UC_ACCESS[case["access"]])
        except PageFault as fault:
            fast, fast_fault = None, fault
        after_fast = {name: mem.read_u64(pa) for name, pa in pas.items()}
        for name, pa in pas.items():                      # the same memory for the full walk
            mem.write_u64(pa, before[name])
        try:
            full = walk(mem, case["va"], case["access"], regs, cpl=cpl)
        except (PageFault, GeneralProtection) as fault:
            assert fast is None and after_fast == before
            if fast_fault is not None:                      # the same fault, the same error code
                assert isinstance(fault, PageFault) and fault.error_code == fast_fault.error_code
            return
        assert fast_fault is None
        after_full = {name: mem.read_u64(pa) for name, pa in pas.items()}
        if fast is None:
            assert after_fast == before
        else:
            assert after_fast == after_full                # the same A/D updates
            assert fast.pa == full.frame_pa and fast.page_size == full.page_size == 4096
            assert (fast.writable, fast.user, fast.nx, fast.dirty) == \
                   (full.writable, full.user, full.nx, full.dirty)
    finally:
        clear_path(mem, pas)


def test_the_random_cases_exercise_both_paths(mem):
    """The table above is only worth something if walk_fast answers in a good share of it."""
    answered = declined = 0
    for seed in range(300):
        rng = random.Random(seed)
        case = random_case(rng)
        rng.choice([0, 3])
        for name in case["flags"]:
            if rng.random() < 0.8:
                case["flags"][name] |= 0x60
        pas = write_path(mem, case["va"], case["flags"], case["frame"], case["leaf_2m"])
        mmu = Mmu(mem, Tlb())
        mmu.cr3, mmu.cr0, mmu.efer, mmu.cpl = PML4_PA, CR0_PG | CR0_WP, EFER_LME | EFER_NXE, 0
        try:
            answer = mmu.walk_fast(case["va"] & ~0xFFF, UC_ACCESS[case["access"]])
        except PageFault:
            answer = "fault"
        if answer is None:
            declined += 1
        elif answer != "fault":
            answered += 1
        clear_path(mem, pas)
    assert answered >= 30 and declined >= 30, (answered, declined)
