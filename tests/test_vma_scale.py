"""VMAs that scale: the VmaList (emu/kernel/mm/memory.py) against a plain sorted list, and vm.max_map_count.

The model check runs random insertions, removals, merges and growth with small chunks
(so chunks split, empty and their gap bounds go stale), and compares every lookup and
free-area search with a walk of every VMA, as emu did before.
"""

import random

import pytest

from emu.kernel.mm import memory as mm_module
from emu.kernel.mm.memory import PAGE_SIZE, VM_GROWSDOWN, VM_READ, VmaList, Vma, start_gap

TOP = 1 << 30


def model_holes(vmas):
    lo = 0
    for vma in vmas:
        if start_gap(vma) > lo:
            yield lo, start_gap(vma)
        lo = max(lo, vma.end)
    if lo < TOP:
        yield lo, TOP


def model_topdown(vmas, length, low, high, align=PAGE_SIZE):
    for lo, hi in reversed(list(model_holes(vmas))):
        top = min(hi, high) & -align
        if top - max(lo, low) >= length:
            return top - length
    return None


def model_bottomup(vmas, length, low, high):
    for lo, hi in model_holes(vmas):
        if min(hi, high) - max(lo, low) >= length:
            return max(lo, low)
    return None


@pytest.mark.parametrize("seed", range(6))
def test_vma_list_matches_a_walk_of_every_vma(monkeypatch, seed):
    monkeypatch.setattr(mm_module, "VMA_CHUNK", 3)
    rng = random.Random(seed)
    vmas, model = VmaList(), []
    pages = TOP // PAGE_SIZE
    for _ in range(1500):
        action = rng.random()
        if action < 0.5 or not model:
            start = rng.randrange(pages - 64) * PAGE_SIZE
            vma = Vma(start, start + rng.randrange(1, 64) * PAGE_SIZE,
                      VM_READ | (VM_GROWSDOWN if rng.random() < 0.1 else 0))
            if any(v.start < vma.end and vma.start < v.end for v in model):
                continue
            vmas.insert(vma)
            model.append(vma)
            model.sort(key=lambda v: v.start)
        elif action < 0.8:
            vma = rng.choice(model)
            vmas.remove(vma)
            model.remove(vma)
        else:                               # an end moved up into free space (brk, mremap growth)
            index = rng.randrange(len(model))
            limit = model[index + 1].start if index + 1 < len(model) else TOP
            model[index].end = rng.randrange(model[index].end, limit + 1, PAGE_SIZE) if limit > model[index].end \
                else model[index].end
        assert list(vmas) == model and len(vmas) == len(model)
        va = rng.randrange(pages) * PAGE_SIZE
        assert vmas.find(va) is next((v for v in model if v.contains(va)), None)
        end = va + rng.randrange(1, 256) * PAGE_SIZE
        assert list(vmas.overlapping(va, end)) == [v for v in model if v.start < end and va < v.end]
        length = rng.choice([1, 2, 8, 64, 4096]) * PAGE_SIZE
        low, high = sorted(rng.randrange(pages + 1) * PAGE_SIZE for _ in range(2))
        assert vmas.unmapped_area_topdown(length, low, high) == model_topdown(model, length, low, high)
        align = rng.choice([2, 16, 512]) * PAGE_SIZE          # hugetlb's 2 MiB placement, and others
        assert vmas.unmapped_area_topdown(length, low, high, align) == model_topdown(model, length, low, high, align)
        assert vmas.unmapped_area(length, low, high) == model_bottomup(model, length, low, high)


def test_mapping_work_does_not_grow_with_the_number_of_vmas(monkeypatch):
    """mmap, mprotect and munmap among 12 000 VMAs read a bounded number of VMA fields
    (emu walked every VMA: 12 000 and more reads per call). Counted, not timed."""
    from emu.kernel.mm import mman
    from tests.test_mman import Space
    reads = 0

    class ProbedVma(Vma):
        def __getattribute__(self, name):
            nonlocal reads
            reads += 1
            return object.__getattribute__(self, name)

    monkeypatch.setattr(mman, "Vma", ProbedVma)
    s = Space()
    pages = [s.mmap(PAGE_SIZE, prot=mman.PROT_READ if n % 2 else mman.PROT_NONE) for n in range(12_000)]
    assert len(s.mm.vmas) >= 12_000
    costs = []
    for n in range(100, 130):
        reads = 0
        s.mmap(PAGE_SIZE, prot=mman.PROT_READ if n % 2 else mman.PROT_NONE)
        assert mman.sys_mprotect(s.kernel, s.proc, pages[n * 50], PAGE_SIZE, mman.PROT_WRITE) == 0
        assert mman.sys_munmap(s.kernel, s.proc, pages[n * 50 + 1], PAGE_SIZE) == 0
        costs.append(reads)
    assert max(costs) < 2_000, costs
