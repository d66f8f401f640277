"""Huge pages: the pool of 2 MiB pages and the page-table operations on them (Linux mm/hugetlb.c).

A huge page is mapped by a PDE with PS=1 (SDM 4.5: a 2 MiB page, no page table below).
This file is the kernel's hugetlb core, used by two interfaces:

- the 2007 character device /dev/page-huge (plugins/page_huge.py), which supplies its
  own `fault` (with a huge zero page) and borrows everything else from here, exactly as
  the seed's page_pagetable_ops names copy_hugetlb_page_range, follow_hugetlb_page ...;
- today's MAP_HUGETLB|MAP_ANONYMOUS (emu/kernel/mm/mman.py), with Linux's current rules:
  reservations at mmap time (Documentation/mm/hugetlbfs_reserv.rst), no zero page.

Pool counters (as /proc/meminfo shows them):
    HugePages_Total  nr_huge_pages      pages in the pool
    HugePages_Free   free_huge_pages    pages not mapped by anyone
    HugePages_Rsvd   resv_huge_pages    free pages promised to mappings, not yet faulted
    HugePages_Surp   surplus_huge_pages always 0: emu's pool does not grow
A fault may take a free page only if it holds a reservation for it, or if a free page
is left over after all reservations: free_huge_pages - resv_huge_pages > 0.
"""

import errno
from dataclasses import dataclass, field

from ...hardware.paging import (HPAGE_MASK, HPAGE_SIZE, HUGE_PHYS_MASK, PAGE_SIZE, PHYS_ADDR_MASK, PTE_A, PTE_D, PTE_NX, PTE_P,
                      PTE_PS, PTE_RW, PTE_US)
from ...hardware.physmem import OutOfMemory
from .memory import (PTE_PROT_BITS, VM_EXEC, VM_HUGETLB, VM_SHARED, VM_WRITE, Access, PagetableOps, VmFault, pte_prot, vma_open)
from ..arch.uaccess import UserFault

VM_NORESERVE = 0x0020_0000
MAP_HUGE_SHIFT, MAP_HUGE_MASK = 26, 0x3F
PAGES_PER_HPAGE = HPAGE_SIZE // PAGE_SIZE


class PoolTooBig(Exception):
    """--hugepages asks for more huge pages than guest RAM holds."""


class InstantiationMutex:
    """hugetlb_instantiation_mutex: one huge page fault at a time.

    emu has one CPU, so nothing can race; the mutex is kept so the seed's lock
    discipline can be seen (and tested): `held` must be False after every fault. The
    seed returned VM_FAULT_OOM with it held; `with` cannot forget to release it.
    """

    def __init__(self):
        self.held = False

    def __enter__(self):
        if self.held:
            raise RuntimeError("hugetlb_instantiation_mutex taken twice")
        self.held = True
        return self

    def __exit__(self, *exc):
        self.held = False
        return False


class HugePagePool:
    """The 2 MiB pool (Linux's struct hstate), its counters, and the huge zero page."""

    def __init__(self, mem, frames, nr_pages: int, *, zero_page: bool = True):
        self.mem = mem
        self.free_list = []
        try:
            for _ in range(nr_pages):
                self.free_list.append(frames.alloc_huge_frame())
            self.zero_page_pa = frames.alloc_huge_frame() if zero_page else None
        except OutOfMemory:
            raise PoolTooBig(f"{nr_pages} huge pages (+1 for the zero page) do not fit in guest RAM; "
                             f"lower --hugepages or raise --memory") from None
        # Clearing every page now also makes the host commit its memory, as Linux commits
        # the pool when nr_hugepages is set: a fault then pays for clearing 2 MiB, not for
        # 512 first touches of the host's own pages.
        for pa in self.free_list + ([self.zero_page_pa] if self.zero_page_pa is not None else []):
            mem.zero(pa, HPAGE_SIZE)
        self.nr_huge_pages = self.free_huge_pages = nr_pages
        self.resv_huge_pages = 0
        self.surplus_huge_pages = 0
        self.refcount = {}                   # pa of a page in use -> mappings of it
        self.mutex = InstantiationMutex()
        self.exhausted = 0                   # faults that found the pool empty
        self.allocations = 0                 # pages taken from the pool, ever

    def is_zero_page(self, pa: int) -> bool:
        return pa == self.zero_page_pa

    def dequeue(self, *, reserved: bool) -> int | None:
        """Take a free page (using a reservation if `reserved`); None if none is available."""
        available = self.free_huge_pages - (0 if reserved else self.resv_huge_pages)
        if available <= 0:
            self.exhausted += 1
            return None
        pa = self.free_list.pop()
        self.allocations += 1
        self.free_huge_pages -= 1
        if reserved:
            self.resv_huge_pages -= 1
        self.refcount[pa] = 1
        return pa

    def get_page(self, pa: int) -> None:
        if not self.is_zero_page(pa):
            self.refcount[pa] += 1

    def put_page(self, pa: int) -> None:
        """Drop a mapping of `pa`; the last one returns it to the pool (free_huge_page)."""
        if self.is_zero_page(pa):
            return                           # the zero page never goes back to the pool
        self.refcount[pa] -= 1
        if not self.refcount[pa]:
            del self.refcount[pa]
            self.free_list.append(pa)
            self.free_huge_pages += 1

    def page_count(self, pa: int) -> int:
        return self.refcount.get(pa, 0)

    def reserve(self, pages: int) -> bool:
        """Promise `pages` free pages to a mapping (hugetlb_acct_memory); False if short."""
        if self.free_huge_pages - self.resv_huge_pages < pages:
            return False
        self.resv_huge_pages += pages
        return True

    def unreserve(self, pages: int) -> None:
        self.resv_huge_pages -= pages


@dataclass
class Reservation:
    """The huge pages a MAP_PRIVATE mapping was promised at mmap (its resv_map).

    Keys are huge-page virtual addresses, so the VMAs that a split makes can share it.
    Only the process that called mmap owns it (HPAGE_RESV_OWNER): a forked child gets
    none. `unmapped` is HPAGE_RESV_UNMAPPED: the owner took a page back from this child.
    """
    pages: set = field(default_factory=set)
    owner: bool = True
    unmapped: bool = False


@dataclass
class SharedHugeObject:
    """The pages of a MAP_SHARED|MAP_HUGETLB mapping by page index, shared across fork."""
    pages: dict = field(default_factory=dict)      # index -> pa
    reserved: int = 0                              # reservations not yet faulted in
    users: int = 1

    def open(self) -> None:
        self.users += 1

    def close(self, mm) -> None:
        self.users -= 1
        if not self.users:
            pool = mm.hugetlb_pool
            for pa in self.pages.values():
                pool.put_page(pa)
            pool.unreserve(self.reserved)
            self.pages.clear()
            self.reserved = 0


# ---- entries (arch/x86/include/asm/hugetlb.h, mm/hugetlb.c) --------------------------------

def huge_pte_offset(mm, va: int) -> int | None:
    """The PDE slot mapping `va`, if the tables down to the PD exist."""
    return mm.pt.entry_pa(va & HPAGE_MASK, 2, create=False)


def huge_pte_alloc(mm, va: int) -> int | None:
    """The PDE slot for `va`, allocating the PDPT and PD on the way; None when out of memory.

    A page table left under the PDE by an earlier 4 KiB mapping must be empty (munmap
    freed its pages): it is freed, so the PDE can become a 2 MiB leaf.
    """
    try:
        slot = mm.pt.entry_pa(va & HPAGE_MASK, 2, create=True)
    except OutOfMemory:
        return None
    if slot is None:
        return None
    entry = mm.mem.read_u64(slot)
    if entry & PTE_P and not entry & PTE_PS:
        table_pa = entry & PHYS_ADDR_MASK
        if not mm.pt.table_is_empty(table_pa):
            return None
        mm.mem.write_u64(slot, 0)
        mm.frames.put_frame(table_pa)
    return slot


def huge_pte_none(entry: int) -> bool:
    return not entry & PTE_P


def huge_pte_write(entry: int) -> bool:
    return bool(entry & PTE_RW)


def huge_pte_page(entry: int) -> int:
    return entry & HUGE_PHYS_MASK


def make_huge_pte(vma, pa: int, writable: bool) -> int:
    """A PDE mapping the 2 MiB page at `pa` (PS=1) with `vma`'s rights; young, and dirty if writable."""
    entry = pa | PTE_P | PTE_US | PTE_PS | PTE_A
    if writable:
        entry |= PTE_RW | PTE_D
    if not vma.flags & VM_EXEC:
        entry |= PTE_NX
    return entry


def set_huge_pte_at(mm, va: int, slot: int, entry: int) -> None:
    """Write the PDE. A present entry being replaced must be flushed from the TLB."""
    old = mm.mem.read_u64(slot)
    mm.mem.write_u64(slot, entry)
    if old & PTE_P:
        mm.flush_tlb_page(va & HPAGE_MASK)      # INVLPG drops the whole 2 MiB translation


def clear_huge_page(mem, pa: int) -> None:
    mem.zero(pa, HPAGE_SIZE)


def copy_huge_page(mem, dst_pa: int, src_pa: int) -> None:
    mem.copy(dst_pa, src_pa, HPAGE_SIZE)


# ---- allocation and copy-on-write ------------------------------------------------------------

def alloc_huge_page(mm, vma, va: int) -> int | None:
    """A page for `va` in `vma`: from its reservation if it has one for `va`, else from
    what is left over after all reservations (Linux's alloc_hugetlb_folio). None if none."""
    pool = mm.hugetlb_pool
    resv = vma.backing if isinstance(vma.backing, Reservation) else None
    haddr = va & HPAGE_MASK
    if resv is not None and resv.owner and haddr in resv.pages:
        pa = pool.dequeue(reserved=True)
        if pa is not None:
            resv.pages.discard(haddr)
        return pa
    return pool.dequeue(reserved=False)


def hugetlb_cow(mm, vma, va: int, slot: int, entry: int) -> VmFault:
    """A write to a present, write-protected huge page (Linux's hugetlb_wp, 2007's hugetlb_cow).

    The only mapping of a page gets it back writable in place; a shared page (after fork)
    or the zero page is replaced by a private copy (the zero page's "copy" is a cleared
    page). An owner of a reservation whose copy cannot be allocated takes the page back
    from the children instead (unmap_ref_private); anyone else gets SIGBUS.
    """
    pool = mm.hugetlb_pool
    old = huge_pte_page(entry)
    haddr = va & HPAGE_MASK
    if not pool.is_zero_page(old) and pool.page_count(old) == 1:
        set_huge_pte_at(mm, haddr, slot, make_huge_pte(vma, old, writable=True))
        return VmFault.MINOR
    new = alloc_huge_page(mm, vma, haddr)
    if new is None:
        resv = vma.backing if isinstance(vma.backing, Reservation) else None
        if resv is not None and resv.owner and not pool.is_zero_page(old):
            unmap_ref_private(mm, vma, old, haddr)
            return hugetlb_cow(mm, vma, va, slot, mm.mem.read_u64(slot))
        return VmFault.SIGBUS
    if pool.is_zero_page(old):
        clear_huge_page(mm.mem, new)
    else:
        copy_huge_page(mm.mem, new, old)
    set_huge_pte_at(mm, haddr, slot, make_huge_pte(vma, new, writable=True))
    pool.put_page(old)
    return VmFault.MINOR


def unmap_ref_private(mm, vma, page_pa: int, haddr: int) -> None:
    """The owner cannot copy: unmap `page_pa` at `haddr` from every other process that shares
    it after fork; they get SIGBUS if they touch it again (HPAGE_RESV_UNMAPPED)."""
    for proc in mm.kernel.procs.values():
        other = proc.mm
        if other is mm or not proc.alive:
            continue
        child_vma = other.find_vma(haddr)
        slot = huge_pte_offset(other, haddr) if child_vma is not None else None
        if slot is None:
            continue
        entry = other.mem.read_u64(slot)
        if entry & PTE_P and huge_pte_page(entry) == page_pa:
            other.mem.write_u64(slot, 0)
            other.flush_tlb_page(haddr)
            mm.hugetlb_pool.put_page(page_pa)
            if isinstance(child_vma.backing, Reservation):
                child_vma.backing.unmapped = True


# ---- the pagetable_operations ------------------------------------------------------------------

def huge_leaves(mm, start: int, end: int):
    """(haddr, slot, entry) for every present huge PDE in [start, end)."""
    for haddr in range(start & HPAGE_MASK, end, HPAGE_SIZE):
        slot = huge_pte_offset(mm, haddr)
        if slot is not None:
            entry = mm.mem.read_u64(slot)
            if entry & PTE_P:
                yield haddr, slot, entry


def copy_hugetlb_page_range(dst_mm, src_mm, vma) -> None:
    """fork: the child maps the same huge pages; private ones become copy-on-write in both.

    The child's VMA gets no reservation (only the mmap caller owns one), and a shared
    mapping's object gains a user.
    """
    child_vma = dst_mm.find_vma(vma.start)
    cow = not vma.flags & VM_SHARED
    if isinstance(vma.backing, Reservation):
        child_vma.backing = Reservation(owner=False)
    elif isinstance(vma.backing, SharedHugeObject):
        vma_open(vma)
    pool = src_mm.hugetlb_pool
    for haddr, slot, entry in huge_leaves(src_mm, vma.start, vma.end):
        if cow and entry & PTE_RW:
            entry &= ~PTE_RW
            src_mm.mem.write_u64(slot, entry)
            src_mm.flush_tlb_page(haddr)
        dst_slot = huge_pte_alloc(dst_mm, haddr)
        if dst_slot is None:
            raise OutOfMemory("no frame for the child's page tables")
        dst_mm.mem.write_u64(dst_slot, entry)
        pool.get_page(huge_pte_page(entry))
        dst_mm.rss += PAGES_PER_HPAGE


def follow_hugetlb_page(mm, vma, va: int, write: bool) -> int:
    """pin_pages for a huge mapping (get_user_pages): the pa of `va`, faulting it in first
    (for a write: breaking copy-on-write and the zero page). Raises UserFault."""
    if not vma.allows(Access.WRITE if write else Access.READ):
        raise UserFault(va)
    for _ in range(3):
        slot = huge_pte_offset(mm, va)
        entry = mm.mem.read_u64(slot) if slot is not None else 0
        if entry & PTE_P and (entry & PTE_RW or not write):
            return huge_pte_page(entry) + (va & (HPAGE_SIZE - 1))
        if vma.ops.fault(mm, vma, va, write) not in (VmFault.MINOR, VmFault.MAJOR):
            raise UserFault(va)
    raise UserFault(va)


def unmap_hugepage_range(mm, vma, start: int, end: int) -> None:
    """Clear the huge PDEs of [start, end), flush each from the TLB, drop the pages (the
    last mapping of a page returns it to the pool), and give back unused reservations."""
    pool = mm.hugetlb_pool
    for haddr, slot, entry in huge_leaves(mm, start, end):
        mm.mem.write_u64(slot, 0)
        mm.flush_tlb_page(haddr)
        pool.put_page(huge_pte_page(entry))
        mm.sub_rss(PAGES_PER_HPAGE)
    resv = vma.backing if isinstance(vma.backing, Reservation) else None
    if resv is not None and resv.owner:
        unused = {haddr for haddr in resv.pages if start <= haddr < end}
        resv.pages -= unused
        pool.unreserve(len(unused))


def restore_reservations(mm, vma, start: int, end: int) -> None:
    """After MADV_DONTNEED: the owner of a private mapping has its reservations back for
    [start, end), as far as the pool can still promise them (Linux restores the reserve)."""
    resv = vma.backing if isinstance(vma.backing, Reservation) else None
    if resv is None or not resv.owner:
        return
    for haddr in range(start, end, HPAGE_SIZE):
        if haddr not in resv.pages and mm.hugetlb_pool.reserve(1):
            resv.pages.add(haddr)


def hugetlb_change_protection(mm, vma, start: int, end: int, new_flags: int) -> None:
    """mprotect: rewrite the present huge PDEs of [start, end) for `new_flags`.

    A page is made writable only if this mapping alone uses it: the zero page and pages
    shared after fork stay write-protected, so the next write still copies them.
    """
    pool = mm.hugetlb_pool
    for haddr, slot, entry in huge_leaves(mm, start, end):
        page = huge_pte_page(entry)
        exclusive = not pool.is_zero_page(page) and (new_flags & VM_SHARED or pool.page_count(page) == 1)
        prot = pte_prot(new_flags)             # the 4 KiB rule: PROT_NONE is U/S=0 (see mm.py)
        if not exclusive:
            prot &= ~PTE_RW
        new = (entry & ~PTE_PROT_BITS) | prot
        if new & PTE_RW:
            new |= PTE_D
        if new != entry:
            mm.mem.write_u64(slot, new)
            mm.flush_tlb_page(haddr)


def hugetlb_free_pgd_range(mm, start: int, end: int) -> None:
    """Free the page directories (and above) over [start, end) that no longer map anything."""
    mm.pt.free_empty_tables(start, end)


def hugetlb_may_split(vma, va: int) -> int:
    """A huge mapping splits only on a 2 MiB boundary (Linux's hugetlb_vm_op_split)."""
    return -errno.EINVAL if va & ~HPAGE_MASK else 0


def hugetlb_get_unmapped_area(mm, hint: int, length: int, flags: int, *, fixed: bool) -> int:
    """Where a huge mapping of `length` goes: 2 MiB aligned (Linux's hugetlb_get_unmapped_area).

    An unaligned length, or an unaligned MAP_FIXED address, is -EINVAL; a hint is rounded up
    to 2 MiB (ALIGN(addr, huge_page_size(h))) and used if free; otherwise the highest aligned
    free range below the mmap base.
    """
    from .mman import mmap_base, range_is_free, TASK_SIZE
    if length & ~HPAGE_MASK or length > TASK_SIZE:
        return -errno.EINVAL if length & ~HPAGE_MASK else -errno.ENOMEM
    if fixed:
        return -errno.EINVAL if hint & ~HPAGE_MASK else hint
    hint = (hint + HPAGE_SIZE - 1) & HPAGE_MASK        # an unaligned hint is rounded up, not ignored
    if hint and hint + length <= TASK_SIZE and range_is_free(mm, hint, length):
        return hint
    base = mm.mmap_base if getattr(mm, "mmap_base", None) is not None else mmap_base()
    va = mm.vmas.unmapped_area_topdown(length, HPAGE_SIZE, base, align=HPAGE_SIZE)
    return -errno.ENOMEM if va is None else va


# ---- MAP_HUGETLB: today's Linux interface over the same core ----------------------------------------

def hugetlb_fault(mm, vma, va: int, write_access: bool) -> VmFault:
    """A fault in a MAP_HUGETLB mapping (Linux's hugetlb_fault): no zero page here.

    A missing page is allocated (from the mapping's reservation when it has one) and
    cleared; a shared mapping finds or adds the page in its object. A private read maps
    it read-only and a later write reuses it in place (page_count 1); a write to a page
    shared after fork copies it (hugetlb_cow). A page the owner took back is SIGBUS.
    """
    pool = mm.hugetlb_pool
    haddr = va & HPAGE_MASK
    slot = huge_pte_alloc(mm, haddr)
    if slot is None:
        return VmFault.OOM
    with pool.mutex:
        entry = mm.mem.read_u64(slot)
        if huge_pte_none(entry):
            if isinstance(vma.backing, Reservation) and vma.backing.unmapped:
                return VmFault.SIGBUS            # HPAGE_RESV_UNMAPPED: killed for the owner's sake
            if vma.flags & VM_SHARED:
                page = shared_huge_page(mm, vma, haddr)         # cleared when first added
            else:
                page = alloc_huge_page(mm, vma, haddr)
                if page is not None:
                    clear_huge_page(mm.mem, page)               # a pool page may hold old data
            if page is None:
                return VmFault.SIGBUS
            writable = bool(vma.flags & VM_WRITE) and bool(vma.flags & VM_SHARED or write_access)
            set_huge_pte_at(mm, haddr, slot, make_huge_pte(vma, page, writable=writable))
            mm.rss += PAGES_PER_HPAGE
            return VmFault.MINOR
        if write_access and not huge_pte_write(entry):
            return hugetlb_cow(mm, vma, haddr, slot, entry)
        return VmFault.MINOR


def shared_huge_page(mm, vma, haddr: int) -> int | None:
    """The page of a shared mapping at `haddr`: the object's, or a new cleared one in it."""
    pool = mm.hugetlb_pool
    shared = vma.backing
    index = vma.page_offset(haddr)
    page = shared.pages.get(index)
    if page is None:
        page = pool.dequeue(reserved=shared.reserved > 0)
        if page is None:
            return None
        if shared.reserved:
            shared.reserved -= 1
        clear_huge_page(mm.mem, page)
        shared.pages[index] = page               # the object's reference
    pool.get_page(page)                          # this mapping's reference
    return page


class HugetlbOps(PagetableOps):
    """pagetable_operations of a MAP_HUGETLB mapping: all six ops are hugetlb's."""
    name = "hugetlb"
    fault = staticmethod(hugetlb_fault)
    copy_vma = staticmethod(copy_hugetlb_page_range)
    pin_pages = staticmethod(follow_hugetlb_page)
    unmap_page_range = staticmethod(unmap_hugepage_range)
    change_protection = staticmethod(hugetlb_change_protection)
    free_pgtable_range = staticmethod(hugetlb_free_pgd_range)
    may_split = staticmethod(hugetlb_may_split)


HUGETLB_OPS = HugetlbOps()


def hugetlb_mmap_anon(kernel, proc, va: int, length: int, prot: int, flags: int) -> int:
    """mmap(MAP_ANONYMOUS|MAP_HUGETLB): the length is rounded up to 2 MiB; unless
    MAP_NORESERVE, every page is reserved now (-ENOMEM if the pool cannot promise them)."""
    from .mman import (LEGACY_MAP_MASK, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_NONBLOCK,
                       MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE,
                       MAP_TYPE, calc_vm_prot_bits, do_munmap, populate, round_hint_to_min)
    from .memory import MAX_MAP_COUNT, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, Vma
    pool = kernel.hugetlb_pool
    mm = proc.mm
    size_log = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK
    if size_log == 30:                      # x86 with GBPAGES has a 1 GiB hstate; emu's holds no page
        return -errno.ENOMEM
    if size_log not in (0, 21):             # ksys_mmap_pgoff: no hstate of that size
        return -errno.EINVAL
    if not length:
        return -errno.EINVAL
    length = (length + HPAGE_SIZE - 1) & HPAGE_MASK
    kind = flags & MAP_TYPE
    if kind == MAP_SHARED_VALIDATE:         # do_mmap: legal for hugetlbfs, which adds no flags of its own
        if flags & ~LEGACY_MAP_MASK:
            return -errno.EOPNOTSUPP
        kind = MAP_SHARED
    if kind not in (MAP_PRIVATE, MAP_SHARED):
        return -errno.EINVAL
    fixed = bool(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
    if not fixed:
        va = round_hint_to_min(va)          # do_mmap does this before get_unmapped_area
    va = hugetlb_get_unmapped_area(mm, va, length, flags, fixed=fixed)
    if va < 0:
        return va
    if flags & MAP_FIXED_NOREPLACE and mm.vmas_in(va, va + length):
        return -errno.EEXIST
    if flags & MAP_GROWSDOWN:               # do_mmap: a file mapping cannot grow down
        return -errno.EINVAL
    if mm.map_count > MAX_MAP_COUNT:        # do_mmap's check
        return -errno.ENOMEM
    pages = length // HPAGE_SIZE
    noreserve = bool(flags & MAP_NORESERVE)
    # What MAP_FIXED replaces is unmapped (its reservations returned) before the new
    # mapping reserves, as mmap_region closes the old VMAs before the file's mmap; if the
    # reservation then fails, the old mapping stays gone (vms_abort_munmap_vmas).
    error = do_munmap(mm, va, length)         # -ENOMEM at vm.max_map_count, a refused cut
    if error:
        return error
    if not noreserve and not pool.reserve(pages):
        return -errno.ENOMEM
    vm_flags = calc_vm_prot_bits(prot) | VM_HUGETLB | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
    if noreserve:
        vm_flags |= VM_NORESERVE
    if kind == MAP_SHARED:
        vm_flags |= VM_SHARED | VM_MAYSHARE
        backing = SharedHugeObject(reserved=0 if noreserve else pages)
    else:
        # MAP_NORESERVE: no resv_map and no HPAGE_RESV_OWNER (hugetlb_reserve_pages returns
        # before setting them), so a failed copy-on-write is SIGBUS for the mapper too.
        backing = Reservation(pages=set() if noreserve else set(range(va, va + length, HPAGE_SIZE)),
                              owner=not noreserve)
    mm.insert_vma(Vma(va, va + length, vm_flags, name="/anon_hugepage (deleted)", backing=backing,
                      ops=HUGETLB_OPS))
    if flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE:     # do_mmap's *populate, as for any mapping
        populate(mm, va, va + length)
    return va
