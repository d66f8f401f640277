"""test_mman: the memory side of the guest kernel (emu/kernel/mm/memory.py, mman.py, pagetable.py).

Two kinds of test:
- comparison runs: guest/mm_syscalls.c and guest/mm_fork.c natively and under emu,
  same stdout and exit status (the host kernel is the reference for every errno);
- unit tests on a small address space with a real Mmu and TLB (no CPU): VMA
  splitting, frame reference counts, page-table freeing, pagetable_ops dispatch, and
  that a missing TLB invalidation would be caught.
"""

from types import SimpleNamespace

import pytest

from emu.kernel.mm import memory as mm_module, mman
from emu.kernel.tasks import proc_calls
from emu.kernel.mm.memory import (DEFAULT_OPS, VM_READ, VM_WRITE, FileBacking, Mm, PagetableOps, Vma, VmFault, exit_mmap, handle_mm_fault, has_pt_op, pt_ops)
from emu.kernel.arch.uaccess import UserFault, copy_from_user, copy_to_user
from emu.kernel.mm.pagetable import PageTables
from emu.hardware.mmu import Access, Mmu, PageFault
from emu.hardware.paging import (CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE, PAGE_SIZE,
                        PHYS_ADDR_MASK, PTE_RW)
from emu.hardware.physmem import FrameAllocator, PhysicalMemory
from emu.hardware.tlb import Tlb
from tests.emu_runner import run_emu, run_native

MiB = 1 << 20
RW = mman.PROT_READ | mman.PROT_WRITE
ANON = mman.MAP_PRIVATE | mman.MAP_ANONYMOUS


# ---- comparison runs ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mm_syscalls", "mm_fork"])
def test_guest_same_natively_and_under_emu(guests, name):
    path = f"guest/{name}.elf"
    native = run_native(path)
    emulated = run_emu("run", path, timeout=120)
    assert native.returncode == 0, native.stdout            # the checks hold on Linux itself
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode, emulated.stderr


# ---- a small address space with a real MMU ---------------------------------------------

class Space:
    """One Mm, its page tables loaded in an Mmu (CR3), and a process to pass to syscalls."""

    def __init__(self, mem=None, frames=None, mmu=None):
        self.mem = mem or PhysicalMemory(16 * MiB)
        self.frames = frames or FrameAllocator(2 * MiB, 16 * MiB)
        self.mmu = mmu or Mmu(self.mem, Tlb())
        self.mm = Mm(self.mem, self.frames, PageTables(self.mem, self.frames), mmu=self.mmu)
        self.proc = SimpleNamespace(mm=self.mm, files=None)
        self.kernel = SimpleNamespace(mmu=self.mmu)

    def load(self):
        """Make this the address space in CR3 (long mode, WP, NX), as a context switch does."""
        mmu = self.mmu
        mmu.cr0, mmu.cr4, mmu.efer = CR0_PE | CR0_PG | CR0_WP, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE
        mmu.load_cr3(self.mm.pt.pml4_pa)
        self.mm.active = True
        return self

    def mmap(self, length, prot=RW, flags=ANON, va=0):
        result = mman.sys_mmap(self.kernel, self.proc, va, length, prot, flags, -1, 0)
        assert result > 0, result
        return result

    def user(self, va, access):
        """A ring-3 access through the TLB, with the kernel's fault handling: return the pa."""
        for _ in range(3):
            try:
                return self.mmu.translate(va, access, cpl=3).pa
            except PageFault:
                vma = self.mm.find_vma(va)
                assert vma is not None and vma.allows(access), f"SIGSEGV at {va:#x}"
                assert handle_mm_fault(self.mm, vma, va, access == Access.WRITE) in (VmFault.MINOR, VmFault.MAJOR)
        raise AssertionError("fault loop")

    def store(self, va, data: bytes):
        self.mem.write(self.user(va, Access.WRITE), data)

    def load_bytes(self, va, size):
        return self.mem.read(self.user(va, Access.READ), size)

    def pte(self, va):
        return self.mm.pt.lookup(va).entry


def spans(mm):
    return [(v.start, v.end) for v in mm.vmas]


# ---- VMAs ---------------------------------------------------------------------------

def test_munmap_middle_splits_the_vma():
    s = Space().load()
    va = s.mmap(3 * PAGE_SIZE)
    assert mman.sys_munmap(s.kernel, s.proc, va + PAGE_SIZE, PAGE_SIZE) == 0
    assert spans(s.mm) == [(va, va + PAGE_SIZE), (va + 2 * PAGE_SIZE, va + 3 * PAGE_SIZE)]


def test_mprotect_splits_and_merges_back():
    s = Space().load()
    va = s.mmap(3 * PAGE_SIZE)
    assert mman.sys_mprotect(s.kernel, s.proc, va + PAGE_SIZE, PAGE_SIZE, mman.PROT_READ) == 0
    assert spans(s.mm) == [(va, va + PAGE_SIZE), (va + PAGE_SIZE, va + 2 * PAGE_SIZE),
                           (va + 2 * PAGE_SIZE, va + 3 * PAGE_SIZE)]
    assert s.mm.vmas[1].flags & (VM_READ | VM_WRITE) == VM_READ
    assert mman.sys_mprotect(s.kernel, s.proc, va + PAGE_SIZE, PAGE_SIZE, RW) == 0
    assert spans(s.mm) == [(va, va + 3 * PAGE_SIZE)]


def test_adjacent_anonymous_mappings_merge_like_linux():
    s = Space().load()
    high = s.mmap(PAGE_SIZE)
    low = s.mmap(PAGE_SIZE)
    assert low == high - PAGE_SIZE                     # top-down placement
    assert spans(s.mm) == [(low, high + PAGE_SIZE)]


def test_top_down_placement_starts_below_the_stack_gap():
    s = Space().load()
    assert s.mmap(PAGE_SIZE) == mman.mmap_base() - PAGE_SIZE == 0x7FFF_F7FF_E000


def test_split_keeps_the_page_offset_of_shared_memory():
    s = Space().load()
    va = s.mmap(4 * PAGE_SIZE, flags=mman.MAP_SHARED | mman.MAP_ANONYMOUS)
    mman.sys_munmap(s.kernel, s.proc, va + PAGE_SIZE, PAGE_SIZE)
    assert [v.pgoff for v in s.mm.vmas] == [0, 2]
    assert s.mm.vmas[0].backing is s.mm.vmas[1].backing
    assert s.mm.vmas[0].backing.users == 2


# ---- frames and page tables -------------------------------------------------------------

@pytest.mark.parametrize("flags", [ANON, mman.MAP_SHARED | mman.MAP_ANONYMOUS])
def test_munmap_returns_every_frame_and_table(flags):
    s = Space().load()
    before = s.frames.stats.small_in_use
    va = s.mmap(40 * PAGE_SIZE, flags=flags)
    for page in range(0, 40, 3):
        s.store(va + page * PAGE_SIZE, b"x")
    assert s.frames.stats.small_in_use > before
    assert mman.sys_munmap(s.kernel, s.proc, va, 40 * PAGE_SIZE) == 0
    assert s.frames.stats.small_in_use == before
    assert s.mm.rss == 0


def test_free_pgtable_range_frees_tables_that_became_empty():
    s = Space().load()
    va = s.mmap(PAGE_SIZE)
    tables_only = s.frames.stats.small_in_use
    s.store(va, b"x")                                   # one page: allocates PDPT, PD and PT
    assert s.frames.stats.small_in_use == tables_only + 4
    DEFAULT_OPS.unmap_page_range(s.mm, s.mm.vmas[0], va, va + PAGE_SIZE)
    assert s.frames.stats.small_in_use == tables_only + 3
    assert s.mm.pt.entry_pa(va, create=False) is not None
    DEFAULT_OPS.free_pgtable_range(s.mm, va, va + PAGE_SIZE)
    assert s.frames.stats.small_in_use == tables_only
    assert s.mm.pt.entry_pa(va, create=False) is None
    assert s.mm.pt.table_is_empty(s.mm.pt.pml4_pa)


def test_free_pgtable_range_keeps_a_table_a_neighbour_uses():
    s = Space().load()
    va = s.mmap(2 * PAGE_SIZE)
    s.store(va, b"a")
    s.store(va + PAGE_SIZE, b"b")
    mman.sys_munmap(s.kernel, s.proc, va, PAGE_SIZE)
    assert s.load_bytes(va + PAGE_SIZE, 1) == b"b"


def test_madvise_dontneed_returns_frames_and_reads_zero():
    s = Space().load()
    va = s.mmap(2 * PAGE_SIZE)
    s.store(va, b"data")
    before = s.frames.stats.small_in_use
    assert mman.sys_madvise(s.kernel, s.proc, va, 2 * PAGE_SIZE, mman.MADV_DONTNEED) == 0
    assert s.frames.stats.small_in_use == before - 1
    assert s.load_bytes(va, 4) == bytes(4)


def test_brk_grows_a_heap_vma_and_shrinking_frees():
    s = Space().load()
    s.mm.insert_vma(Vma(0x400000, 0x402000, VM_READ | VM_WRITE, name="prog", backing=FileBacking([])))
    start = mman.sys_brk(s.kernel, s.proc, 0)
    assert start == 0x402000
    assert mman.sys_brk(s.kernel, s.proc, start + 3 * PAGE_SIZE) == start + 3 * PAGE_SIZE
    assert [v.name for v in s.mm.vmas] == ["prog", "[heap]"]
    s.store(start + 2 * PAGE_SIZE, b"h")
    before = s.frames.stats.small_in_use
    assert mman.sys_brk(s.kernel, s.proc, start + PAGE_SIZE) == start + PAGE_SIZE
    assert s.frames.stats.small_in_use < before


# ---- copy-on-write ----------------------------------------------------------------

def fork(parent: Space) -> Space:
    """The child address space as the kernel's fork builds it: copy_vma for every VMA."""
    child = Space(parent.mem, parent.frames, parent.mmu)
    for vma in parent.mm.vmas:
        copy = Vma(vma.start, vma.end, vma.flags, name=vma.name, backing=vma.backing, ops=vma.ops,
                   pgoff=vma.pgoff)
        child.mm.insert_vma(copy)
        pt_ops(vma, "copy_vma").copy_vma(child.mm, parent.mm, vma)
    return child


def test_cow_write_copies_a_shared_frame_and_reuses_a_lone_one():
    parent = Space().load()
    va = parent.mmap(PAGE_SIZE)
    parent.store(va, b"A")
    child = fork(parent)
    frame = parent.pte(va) & PHYS_ADDR_MASK
    assert parent.frames.page_count(frame) == 2
    assert not parent.pte(va) & PTE_RW and not child.pte(va) & PTE_RW
    parent.store(va, b"P")                              # COW: a copy for the parent
    assert parent.pte(va) & PHYS_ADDR_MASK != frame
    assert parent.frames.page_count(frame) == 1
    parent.mm.active = False
    child.load()
    assert child.load_bytes(va, 1) == b"A"
    child.store(va, b"C")                              # the last user: reused in place
    assert child.pte(va) & PHYS_ADDR_MASK == frame


def test_fork_and_exit_leave_the_frame_counts_where_they_were():
    parent = Space().load()
    before = parent.frames.stats.small_in_use
    va = parent.mmap(8 * PAGE_SIZE)
    shared = parent.mmap(2 * PAGE_SIZE, flags=mman.MAP_SHARED | mman.MAP_ANONYMOUS)
    for page in range(8):
        parent.store(va + page * PAGE_SIZE, b"p")
    parent.store(shared, b"s")
    child = fork(parent)
    parent.store(va, b"q")
    exit_mmap(child.mm)
    exit_mmap(parent.mm)
    parent.frames.put_frame(child.mm.pt.pml4_pa)        # exit_mmap keeps the PML4
    assert parent.frames.stats.small_in_use == before


def test_mprotect_writable_keeps_a_cow_page_read_only():
    parent = Space().load()
    va = parent.mmap(PAGE_SIZE)
    parent.store(va, b"A")
    mman.sys_mprotect(parent.kernel, parent.proc, va, PAGE_SIZE, mman.PROT_READ)
    child = fork(parent)
    mman.sys_mprotect(parent.kernel, parent.proc, va, PAGE_SIZE, RW)
    assert not parent.pte(va) & PTE_RW                  # still shared with the child
    parent.store(va, b"P")
    assert child.mem.read(child.pte(va) & PHYS_ADDR_MASK, 1) == b"A"


# ---- a missing invalidation is caught ------------------------------------------------------

def no_flush(monkeypatch):
    monkeypatch.setattr(Mm, "flush_tlb_page", lambda self, va: None)
    monkeypatch.setattr(Mm, "flush_tlb_range", lambda self, start, end: None)


@pytest.mark.parametrize("flush", [True, False])
def test_mprotect_read_only_needs_invlpg(monkeypatch, flush):
    """A write cached in the TLB survives a PTE downgrade until the kernel invalidates it."""
    s = Space().load()
    va = s.mmap(PAGE_SIZE)
    s.store(va, b"w")                                  # TLB: writable and dirty
    if not flush:
        no_flush(monkeypatch)
    assert mman.sys_mprotect(s.kernel, s.proc, va, PAGE_SIZE, mman.PROT_READ) == 0
    assert not s.pte(va) & PTE_RW
    if flush:
        with pytest.raises(PageFault):
            s.mmu.translate(va, Access.WRITE, cpl=3)
    else:
        s.mmu.translate(va, Access.WRITE, cpl=3)       # stale: the write still goes through


@pytest.mark.parametrize("flush", [True, False])
def test_fork_write_protect_needs_invlpg(monkeypatch, flush):
    """Without the invalidation in copy_vma, the parent's next write lands in the child's page."""
    parent = Space().load()
    va = parent.mmap(PAGE_SIZE)
    parent.store(va, b"A")
    if not flush:
        no_flush(monkeypatch)
    child = fork(parent)
    parent.store(va, b"P")
    child_sees = parent.mem.read(child.pte(va) & PHYS_ADDR_MASK, 1)
    assert child_sees == (b"A" if flush else b"P")


@pytest.mark.parametrize("flush", [True, False])
def test_cow_break_needs_invlpg(monkeypatch, flush):
    """After breaking COW the old frame must leave the TLB, or reads keep seeing the old frame."""
    parent = Space().load()
    va = parent.mmap(PAGE_SIZE)
    parent.store(va, b"A")
    child = fork(parent)
    parent.load_bytes(va, 1)                            # TLB: read-only entry for the shared frame
    if not flush:
        no_flush(monkeypatch)
    vma = parent.mm.find_vma(va)
    assert handle_mm_fault(parent.mm, vma, va, True) == VmFault.MINOR      # the write fault
    new_pa = parent.pte(va) & PHYS_ADDR_MASK
    parent.mem.write(new_pa, b"P")
    assert parent.load_bytes(va, 1) == (b"P" if flush else b"A")
    assert child.mem.read(child.pte(va) & PHYS_ADDR_MASK, 1) == b"A"


@pytest.mark.parametrize("flush", [True, False])
@pytest.mark.parametrize("pages", [1, 64])      # 64 > 33 pages: one full flush, not 64 invlpg (Linux's ceiling)
def test_munmap_needs_invlpg(monkeypatch, flush, pages):
    s = Space().load()
    va = s.mmap(pages * PAGE_SIZE)
    for page in range(pages):
        s.store(va + page * PAGE_SIZE, b"x")
    if not flush:
        no_flush(monkeypatch)
    flushes = s.mmu.counters.unicorn_flushes
    mman.sys_munmap(s.kernel, s.proc, va, pages * PAGE_SIZE)
    for page in range(pages):
        if flush:
            with pytest.raises(PageFault):
                s.mmu.translate(va + page * PAGE_SIZE, Access.READ, cpl=3)
        else:
            s.mmu.translate(va + page * PAGE_SIZE, Access.READ, cpl=3)   # stale: a freed frame is still reachable
    if flush and pages > mm_module.TLB_SINGLE_PAGE_FLUSH_CEILING:
        assert s.mmu.counters.unicorn_flushes == flushes + 1


# ---- pagetable_ops dispatch (the seed's has_pt_op) -------------------------------------------

class FaultOnly(PagetableOps):
    """A mapping that supplies only `fault` (and counts its calls)."""
    name = "fault-only"

    def __init__(self):
        self.calls = 0

    def fault(self, mm, vma, va, write_access):
        self.calls += 1
        return DEFAULT_OPS.fault(mm, vma, va, write_access)


class OwnPin(PagetableOps):
    name = "own-pin"

    def pin_pages(self, mm, vma, va, write):
        raise UserFault(va)


def test_has_pt_op_falls_back_to_the_default_ops():
    ops = FaultOnly()
    vma = Vma(0x10000, 0x11000, VM_READ | VM_WRITE, ops=ops)
    assert has_pt_op(vma, "fault") and not has_pt_op(vma, "copy_vma")
    assert pt_ops(vma, "fault") is ops and pt_ops(vma, "unmap_page_range") is DEFAULT_OPS
    with pytest.raises(ValueError):
        has_pt_op(vma, "nopage")


def test_kernel_access_goes_through_the_vmas_ops():
    s = Space().load()
    ops = FaultOnly()
    s.mm.insert_vma(Vma(0x10000, 0x12000, VM_READ | VM_WRITE, ops=ops))
    copy_to_user(s.mm, s.mmu, 0x10ffe, b"abcd")         # across two pages: two faults via the VMA's op
    assert ops.calls == 2
    assert copy_from_user(s.mm, s.mmu, 0x10ffe, 4) == b"abcd"
    s.mm.insert_vma(Vma(0x20000, 0x21000, VM_READ | VM_WRITE, ops=OwnPin()))
    with pytest.raises(UserFault):
        copy_from_user(s.mm, s.mmu, 0x20000, 1)


def test_kernel_write_to_a_cow_page_copies_it():
    parent = Space().load()
    va = parent.mmap(PAGE_SIZE)
    parent.store(va, b"A")
    child = fork(parent)
    copy_to_user(parent.mm, parent.mmu, va, b"K")      # like read() into a COW buffer
    assert parent.load_bytes(va, 1) == b"K"
    assert child.mem.read(child.pte(va) & PHYS_ADDR_MASK, 1) == b"A"


def test_kernel_access_to_prot_none_is_efault():
    s = Space().load()
    va = s.mmap(PAGE_SIZE)
    s.store(va, b"x")
    mman.sys_mprotect(s.kernel, s.proc, va, PAGE_SIZE, mman.PROT_NONE)
    with pytest.raises(UserFault):
        copy_from_user(s.mm, s.mmu, va, 1)
    with pytest.raises(PageFault):
        s.mmu.translate(va, Access.READ, cpl=3)


def test_find_vma_does_not_return_a_removed_vma():
    """find_vma remembers the VMA it found last (mm->mmap_cache); munmap, a merge and
    fork must not leave a VMA there that is no longer in the list."""
    s = Space().load()
    va = s.mmap(4 * PAGE_SIZE)
    assert s.mm.find_vma(va) is s.mm.mmap_cache is not None
    mman.sys_munmap(s.kernel, s.proc, va, 4 * PAGE_SIZE)
    assert s.mm.find_vma(va) is None
    low = s.mmap(PAGE_SIZE, va=0x7000_0000, flags=ANON | mman.MAP_FIXED)
    high = s.mmap(PAGE_SIZE, prot=mman.PROT_READ, va=low + PAGE_SIZE, flags=ANON | mman.MAP_FIXED)
    cached = s.mm.find_vma(high)
    assert cached.start == high and len(s.mm.vmas) == 2
    assert mman.sys_mprotect(s.kernel, s.proc, high, PAGE_SIZE, RW) == 0     # now mergeable
    assert len(s.mm.vmas) == 1 and cached not in s.mm.vmas
    assert s.mm.find_vma(high) is s.mm.vmas[0]
    child = proc_calls.dup_mm(SimpleNamespace(mem=s.mem, frames=s.frames, kernel_pt=s.mm.pt), s.mm)
    assert child.mmap_cache is None or child.mmap_cache in child.vmas
