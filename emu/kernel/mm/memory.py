"""Address spaces: VMAs, pagetable_operations and their default (4 KiB) version, user-memory access.

An `Mm` (Linux's mm_struct) is a set of VMAs over one set of page tables. Every VMA may
carry `ops`, its pagetable_operations (the 2007 patch in shared/seed/). The kernel never
edits the page tables of a mapping itself: it calls the VMA's op when it has one, and
the default op otherwise, exactly like the seed's `has_pt_op(vma, op)` test:

    op                   when                           Linux today
    fault                a page fault, a kernel access  handle_mm_fault
    copy_vma             fork                           copy_page_range
    pin_pages            the kernel touches user memory get_user_pages (seed: follow_hugetlb_page)
    unmap_page_range     munmap, MADV_DONTNEED, exit    unmap_page_range / zap_page_range
    change_protection    mprotect                       change_protection
    free_pgtable_range   after an unmap                 free_pgd_range / free_pgtables

`DefaultOps` is ordinary 4 KiB memory: demand paging (zero fill or program-file
contents) and copy-on-write after fork with reference-counted frames.
`SharedAnonOps` is MAP_SHARED|MAP_ANONYMOUS memory, whose frames fork shares.

Every op that changes a present entry invalidates it (`Mm.flush_tlb_page`) before it
frees or reuses the frame: a stale TLB entry would otherwise keep the old rights or
the old frame in use (tests/test_mman.py shows both).
"""

import enum
import itertools
from bisect import bisect_right
from dataclasses import dataclass, field

from ...hardware.mmu import Access
from ...errors import EmulatorBug
from ...hardware.paging import (PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PHYS_ADDR_MASK, PTE_A, PTE_D, PTE_NX, PTE_P,
                                PTE_RW, PTE_US)
from ...hardware.physmem import OutOfMemory
from ..arch.syscall import UserFault
from .pagetable import PageTables, level_span

# vm_flags (Linux include/linux/mm.h). VM_MAY* say what mprotect may later allow.
VM_READ = 0x1
VM_WRITE = 0x2
VM_EXEC = 0x4
VM_SHARED = 0x8
VM_MAYREAD = 0x10
VM_MAYWRITE = 0x20
VM_MAYEXEC = 0x40
VM_MAYSHARE = 0x80
VM_GROWSDOWN = 0x100
VM_DONTCOPY = 0x20000          # MADV_DONTFORK
VM_HUGETLB = 0x400000
VM_WIPEONFORK = 0x2000000      # MADV_WIPEONFORK
VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC
VM_MAY_FLAGS = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_MAYSHARE
VM_FLAGS_NEEDED = (VM_ACCESS_FLAGS, VM_WRITE, VM_EXEC)       # by Access: any of these allows it (Vma.allows)

# The leaf-entry bits a VMA's protection decides (the rest: frame, A, D, G ...).
PTE_PROT_BITS = PTE_P | PTE_RW | PTE_US | PTE_NX
# Above this many pages, flushing a range flushes the whole TLB instead (Linux's
# tlb_single_page_flush_ceiling, arch/x86/mm/tlb.c).
TLB_SINGLE_PAGE_FLUSH_CEILING = 33


class VmFault(enum.Enum):
    """What a fault op reports (Linux VM_FAULT_*); emu/kernel/kernel.py maps it to a retry or a signal."""
    MINOR = "minor"       # mapped without I/O
    MAJOR = "major"       # mapped after reading the backing file
    OOM = "oom"
    SIGBUS = "sigbus"
    SIGSEGV = "sigsegv"

    # Members are singletons: hashed by identity, with no Python-level __hash__ call
    # (Enum's own hashes the name), since --stats counts faults by result in a dict.
    __hash__ = object.__hash__


RESOLVED = (VmFault.MINOR, VmFault.MAJOR)


def page_down(va: int) -> int:
    return va & PAGE_MASK


def page_up(va: int) -> int:
    return (va + PAGE_SIZE - 1) & PAGE_MASK


def pte_prot(vm_flags: int) -> int:
    """Leaf-entry bits for a page of a VMA with `vm_flags` (Linux's vm_get_page_prot).

    x86 cannot express every combination: a writable or executable page is readable
    (PROT_WRITE alone reads fine on Linux x86, too). PROT_NONE is a present entry that
    ring 3 cannot use (U/S=0); Linux uses a not-present entry with its software bit
    _PAGE_PROTNONE instead. Both give a protection fault the VMA check turns into
    SIGSEGV (SEGV_ACCERR), and keeping the entry present keeps its frame reference.
    """
    if not vm_flags & VM_ACCESS_FLAGS:
        return PTE_P | PTE_NX
    prot = PTE_P | PTE_US
    if vm_flags & VM_WRITE:
        prot |= PTE_RW
    if not vm_flags & VM_EXEC:
        prot |= PTE_NX
    return prot


@dataclass
class FileBacking:
    """Bytes of a program file that appear at given addresses (the PT_LOAD segments)."""
    pieces: list      # (va, data) pairs

    def __post_init__(self):
        spans = [(va, va + len(data)) for va, data in self.pieces if data]
        self.file_start = min((lo for lo, _ in spans), default=0)
        self.file_end = max((hi for _, hi in spans), default=0)

    def read_page(self, page_va: int) -> bytes | None:
        """The page's contents from the file, or None if no file byte falls in it (.bss)."""
        if page_va >= self.file_end or page_va + PAGE_SIZE <= self.file_start:
            return None                   # beyond the file's bytes: the common .bss case
        page = None
        for va, data in self.pieces:
            start, end = max(va, page_va), min(va + len(data), page_va + PAGE_SIZE)
            if start < end:
                page = page or bytearray(PAGE_SIZE)
                page[start - page_va:end - page_va] = data[start - va:end - va]
        return bytes(page) if page else None


class ShmemObject:
    """The pages of one MAP_SHARED|MAP_ANONYMOUS mapping, by page offset (Linux: a shmem inode).

    The object holds one reference on each of its frames, and every page table that
    maps one holds another; so a page survives MADV_DONTNEED and the exit of the
    process that first touched it. The object lives while VMAs use it: `open` and
    `close` are Linux's vm_operations_struct open/close, called whenever a VMA that
    uses it is made (split, fork, mremap) or removed (munmap, merge, exit).
    """

    def __init__(self):
        self.pages: dict[int, int] = {}      # page offset -> frame pa
        self.users = 1                       # VMAs that use the object

    def open(self) -> None:
        self.users += 1

    def close(self, mm: "Mm") -> None:
        """A VMA stopped using the object; the last one frees its pages."""
        self.users -= 1
        if self.users == 0:
            for pa in self.pages.values():
                mm.frames.put_frame(pa)
            self.pages.clear()


def vma_open(vma: "Vma") -> None:
    """A new VMA uses `vma.backing` (Linux's vm_ops->open)."""
    if hasattr(vma.backing, "open"):
        vma.backing.open()


def vma_close(mm: "Mm", vma: "Vma") -> None:
    """`vma` is going away (Linux's vm_ops->close)."""
    if hasattr(vma.backing, "close"):
        vma.backing.close(mm)
        if vma.flags & VM_EXEC:               # the object may free frames of code (FrameAllocator.code_freed)
            mm.frames.code_freed = True


@dataclass(eq=False)
class Vma:
    """[start, end) of one address space, with its flags, name and pagetable_ops.

    `pgoff` is the page offset of `start` in what the VMA maps (Linux's vm_pgoff): the
    file for a file mapping, the shmem object for shared anonymous memory; splitting
    and moving keep it consistent. `offset` is the byte offset /proc/self/maps shows
    (0 for anonymous memory). `ops` None or an op left None means the default op.
    """
    start: int
    end: int
    flags: int
    name: str = ""
    backing: object = None         # FileBacking (program file) or ShmemObject
    ops: "PagetableOps" = None
    pgoff: int = 0
    file: object = None            # the open file of a file mapping (Linux's vm_file)

    def __post_init__(self):
        if self.ops is None:
            self.ops = DEFAULT_OPS
        if not self.flags & VM_MAY_FLAGS:
            # A VMA made without VM_MAY* bits (exec's segments and stack) may become
            # anything mprotect asks for, like a private mapping on Linux.
            self.flags |= VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC

    @property
    def shared(self) -> bool:
        return bool(self.flags & VM_SHARED)

    @property
    def offset(self) -> int:
        """The file offset at `start` (a mapped file or a program's segment), else 0."""
        mapped_file = self.file is not None or isinstance(self.backing, FileBacking)
        return self.pgoff << PAGE_SHIFT if mapped_file else 0

    def page_offset(self, va: int) -> int:
        """The page offset of `va` in what this VMA maps (Linux's linear_page_index)."""
        return self.pgoff + ((va - self.start) >> PAGE_SHIFT)

    def contains(self, va: int) -> bool:
        return self.start <= va < self.end

    def pte_flags(self) -> int:
        """Leaf-entry bits for this VMA's pages."""
        return pte_prot(self.flags)

    def allows(self, access: Access) -> bool:
        """May a user `access` touch this VMA? (Linux arch/x86/mm/fault.c access_error).

        A read needs any of read, write or execute (vma_is_accessible): x86 pages that
        can be written or executed can be read. A write needs VM_WRITE, a fetch VM_EXEC.
        """
        return bool(self.flags & VM_FLAGS_NEEDED[access])


# ---- pagetable_operations ---------------------------------------------------------

PT_OPS = ("fault", "copy_vma", "pin_pages", "unmap_page_range", "change_protection", "free_pgtable_range")


class PagetableOps:
    """pagetable_operations_struct: the page-table operations a mapping may override.

    A subclass defines the ops it needs; the ones it leaves None fall back to
    DEFAULT_OPS (see has_pt_op). The contracts:

    fault(mm, vma, va, write_access) -> VmFault
        Make `va` accessible for the access (map a page, break copy-on-write).
    copy_vma(dst_mm, src_mm, vma)
        fork: give dst_mm's copy of `vma` (same range, already inserted) its entries.
    pin_pages(mm, vma, va, write) -> pa
        The physical address of user `va` for a kernel access, faulting it in as a
        user access would. Raises UserFault (the syscall then returns -EFAULT).
    unmap_page_range(mm, vma, start, end)
        Clear the entries of [start, end), drop their frames, invalidate the TLB.
    change_protection(mm, vma, start, end, new_flags)
        mprotect: rewrite the entries of [start, end) for vm_flags `new_flags`.
    free_pgtable_range(mm, start, end)
        Free the page-table pages over [start, end) that became empty.
    """
    name = "none"
    fault = None
    copy_vma = None
    pin_pages = None
    unmap_page_range = None
    change_protection = None
    free_pgtable_range = None


def has_pt_op(vma: Vma, op: str) -> bool:
    """Does the VMA's pagetable_ops supply `op`? (the seed's has_pt_op(vma, op) macro)."""
    if op not in PT_OPS:
        raise ValueError(f"no pagetable op {op!r}")
    return vma.ops is not None and getattr(vma.ops, op, None) is not None


def pt_ops(vma: Vma, op: str) -> "PagetableOps":
    """The ops to call for `op` on `vma`: its own if has_pt_op, else DEFAULT_OPS."""
    if op not in PT_OPS:
        raise ValueError(f"no pagetable op {op!r}")
    ops = vma.ops                       # has_pt_op, written out: this runs on every fault
    return ops if ops is not None and getattr(ops, op, None) is not None else DEFAULT_OPS


def handle_mm_fault(mm: "Mm", vma: Vma, va: int, write_access: bool) -> VmFault:
    """Resolve a fault at `va` through the VMA's `fault` op (Linux's handle_mm_fault).

    The caller has already checked the access against the VMA (Vma.allows). An
    allocation that fails is VmFault.OOM, whichever op ran out. With `emu run --report`,
    the kernel's recorder (emu/debug/report.py) wraps the call to note what the op did.
    """
    recorder = getattr(mm.kernel, "recorder", None)
    if recorder is not None:
        return recorder.mm_fault(mm, vma, va, write_access, run_fault_op)
    return run_fault_op(mm, vma, va, write_access)


def run_fault_op(mm: "Mm", vma: Vma, va: int, write_access: bool) -> VmFault:
    """handle_mm_fault's work: the VMA's `fault` op, an allocation failure made VmFault.OOM."""
    try:
        return pt_ops(vma, "fault").fault(mm, vma, va, write_access)
    except OutOfMemory:
        return VmFault.OOM


def pte_leaves(mm: "Mm", start: int, end: int):
    """(va, LeafSlot) for the present 4 KiB entries of [start, end): what DefaultOps maps."""
    for va, leaf in mm.pt.leaves(start, end):
        if leaf.level != 1:
            raise EmulatorBug(f"a {level_span(leaf.level) >> 10} KiB page at {va:#018x} in a VMA "
                              f"whose ops map only 4 KiB pages")
        yield va, leaf




class DefaultOps(PagetableOps):
    """Ordinary 4 KiB mappings: demand paging, copy-on-write after fork, refcounted frames."""
    name = "default"

    # -- fault --------------------------------------------------------------------

    def fault(self, mm, vma, va, write_access):
        """Map the page at `va` (first touch), or break copy-on-write for a write.

        Linux's handle_pte_fault: a not-present entry is do_anonymous_page /
        do_read_fault; a write to a present read-only entry is do_wp_page.
        """
        page_va = va & PAGE_MASK
        slot = mm.pt.entry_pa(page_va, create=True)
        if slot is None:
            return VmFault.SIGBUS              # a huge page maps it: not ours to touch
        pte = mm.mem.read_u64(slot)
        if not pte & PTE_P:
            return self.do_no_page(mm, vma, page_va, slot)
        if write_access and not pte & PTE_RW:
            return self.do_wp_page(mm, vma, page_va, slot, pte)
        return VmFault.MINOR                    # spurious: someone mapped it already

    def do_no_page(self, mm, vma, page_va: int, slot: int) -> VmFault:
        """First touch: a new frame, filled from the program file or with zeros."""
        contents = vma.backing.read_page(page_va) if isinstance(vma.backing, FileBacking) else None
        if contents is not None:
            pa = mm.frames.alloc_frame()
            mm.mem.write(pa, contents)
            result = VmFault.MAJOR
        else:
            pa = mm.frames.alloc_frame(clear_in=mm.mem)
            result = VmFault.MINOR
        mm.mem.write_u64(slot, pa | vma.pte_flags())
        mm.rss += 1
        # not-present -> present needs no invalidation: no TLB caches a not-present entry.
        return result

    def do_wp_page(self, mm, vma, page_va: int, slot: int, pte: int) -> VmFault:
        """A write to a present read-only page of a writable VMA (Linux's do_wp_page).

        A shared mapping, or a private page no other page table maps (page_count 1),
        is made writable in place (wp_page_reuse). Otherwise the page is copied into
        a new frame (wp_page_copy) and this mapping drops its reference to the old one.
        The entry is invalidated before the old frame can be freed or written again.
        """
        old_pa = pte & PHYS_ADDR_MASK
        if vma.shared or mm.frames.page_count(old_pa) == 1:
            mm.mem.write_u64(slot, pte | PTE_RW)
            mm.flush_tlb_page(page_va)
            return VmFault.MINOR
        new_pa = mm.frames.alloc_frame()
        mm.mem.copy(new_pa, old_pa, PAGE_SIZE)
        mm.mem.write_u64(slot, new_pa | vma.pte_flags() | PTE_A | PTE_D)
        mm.flush_tlb_page(page_va)
        mm.frames.put_frame(old_pa)
        return VmFault.MINOR

    # -- fork -----------------------------------------------------------------------

    def copy_vma(self, dst_mm, src_mm, vma):
        """fork: the child maps the parent's frames (Linux's copy_page_range).

        Private pages become copy-on-write: RW is cleared in both page tables (the
        parent's entry is invalidated, its TLB may hold it writable), and each frame
        gains a reference. Shared pages stay writable in both. The child's entries
        start not Accessed (Linux's pte_mkold). VM_WIPEONFORK: the child gets nothing.
        """
        if vma.flags & VM_WIPEONFORK:
            return
        cow = not vma.shared
        for va, leaf in pte_leaves(src_mm, vma.start, vma.end):
            entry = leaf.entry
            if cow and entry & PTE_RW:
                entry &= ~PTE_RW
                src_mm.mem.write_u64(leaf.entry_pa, entry)
                src_mm.flush_tlb_page(va)
            dst_mm.pt.set_pte(va, entry & ~PTE_A)   # may raise OutOfMemory (a new table): no reference taken yet
            src_mm.frames.get_frame(entry & PHYS_ADDR_MASK)
            dst_mm.rss += 1

    # -- kernel access to user memory -------------------------------------------------

    def pin_pages(self, mm, vma, va, write):
        """The pa of user `va` for a kernel read or `write` (Linux's get_user_pages, one page).

        A software walk of `mm`'s tables (follow_page), so it works whichever address
        space is loaded; a page that is missing, or read-only for a write (copy-on-write),
        goes through the VMA's fault op as a user access would, and the walk is retried.
        The access marks the entry Accessed (and Dirty for a write) as the CPU would.
        """
        if not vma.allows(Access.WRITE if write else Access.READ):
            raise UserFault(va)
        for _ in range(3):
            leaf = mm.pt.lookup(va)
            if leaf is not None and leaf.entry & PTE_US and (leaf.entry & PTE_RW or not write):
                touched = leaf.entry | PTE_A | (PTE_D if write else 0)
                if touched != leaf.entry:          # setting A/D needs no invalidation
                    mm.mem.write_u64(leaf.entry_pa, touched)
                page_size = level_span(leaf.level)
                return (leaf.entry & PHYS_ADDR_MASK & ~(page_size - 1)) + (va & (page_size - 1))
            if handle_mm_fault(mm, vma, va, write) not in RESOLVED:
                raise UserFault(va)
        raise UserFault(va)

    # -- munmap, mprotect -------------------------------------------------------------

    def unmap_page_range(self, mm, vma, start, end):
        """Clear every present entry of [start, end), invalidate the range, then drop the frames.

        As Linux's zap_pte_range with its mmu_gather: the frames are freed only after
        the TLB flush, so no stale translation can reach a frame that is used again.
        """
        frames = []
        for _, leaf in pte_leaves(mm, start, end):
            mm.pt.clear_entry(leaf)
            frames.append(leaf.entry & PHYS_ADDR_MASK)
        if frames:
            mm.flush_tlb_range(start, end)
        freed = sum(not mm.frames.put_frame(pa) for pa in frames)
        if freed and vma.flags & VM_EXEC:
            mm.frames.code_freed = True       # QEMU's translations of them must go (Kernel.return_to_user)
        mm.sub_rss(len(frames))

    def change_protection(self, mm, vma, start, end, new_flags):
        """Rewrite the present entries of [start, end) for `new_flags` (Linux's change_protection).

        A private page that is still shared with another address space (page_count > 1)
        stays read-only even when the VMA becomes writable: the next write breaks
        copy-on-write (Linux: can_change_pte_writable). Every changed entry is invalidated.
        """
        prot = pte_prot(new_flags)
        if vma.flags & VM_EXEC and not new_flags & VM_EXEC:
            mm.frames.code_freed = True       # translated code that unmap_page_range would not see as such
        for va, leaf in pte_leaves(mm, start, end):
            entry_prot = prot
            if not new_flags & VM_SHARED and mm.frames.page_count(leaf.entry & PHYS_ADDR_MASK) > 1:
                entry_prot &= ~PTE_RW
            entry = (leaf.entry & ~PTE_PROT_BITS) | entry_prot
            if entry != leaf.entry:
                mm.mem.write_u64(leaf.entry_pa, entry)
                mm.flush_tlb_page(va)

    def free_pgtable_range(self, mm, start, end):
        """Free the page-table pages over [start, end) that no longer map anything.

        Only empty tables are freed, so a table shared with a neighbouring VMA stays.
        Their entries were not present, so no TLB entry came from them (and emu's MMU
        has no paging-structure caches, which Linux must also flush here).
        """
        mm.pt.free_empty_tables(start, end)


class SharedAnonOps(DefaultOps):
    """MAP_SHARED|MAP_ANONYMOUS memory: every mapping of a page offset maps one frame.

    The VMA's `backing` is a ShmemObject. fork shares the entries writable
    (DefaultOps.copy_vma does that for VM_SHARED), and a page first touched after the
    fork is found in the object by either process.
    """
    name = "shmem"

    def do_no_page(self, mm, vma, page_va, slot):
        shmem, index = vma.backing, vma.page_offset(page_va)
        pa = shmem.pages.get(index)
        if pa is None:
            pa = mm.frames.alloc_frame(clear_in=mm.mem)       # the object's reference
            shmem.pages[index] = pa
        mm.frames.get_frame(pa)                 # this page table's reference
        mm.mem.write_u64(slot, pa | vma.pte_flags())
        mm.rss += 1
        return VmFault.MINOR

    def copy_vma(self, dst_mm, src_mm, vma):
        """fork: share the entries, and the child's VMA is one more user of the object."""
        super().copy_vma(dst_mm, src_mm, vma)
        vma_open(vma)


DEFAULT_OPS = DefaultOps()
SHARED_ANON_OPS = SharedAnonOps()


def make_shared_anon(vma: Vma) -> None:
    """Make a new `vma` shared anonymous memory (Linux's shmem_zero_setup; /dev/zero MAP_SHARED too)."""
    vma.backing = ShmemObject()
    vma.ops = SHARED_ANON_OPS
    vma.pgoff = 0


# vm.max_map_count's default (Linux include/linux/mm.h DEFAULT_MAX_MAP_COUNT): the most
# VMAs an address space may have; mmap, mprotect, munmap, mremap and brk check it.
MAX_MAP_COUNT = 65530
STACK_GUARD_GAP = 256 * PAGE_SIZE            # mm/mmap.c stack_guard_gap


def start_gap(vma: Vma) -> int:
    """The lowest address a new mapping below `vma` may end at (Linux's vm_start_gap)."""
    if vma.flags & VM_GROWSDOWN:
        return max(vma.start - STACK_GUARD_GAP, 0)
    return vma.start


# VMAs per chunk of a VmaList: a chunk that grows past twice this is cut in two.
VMA_CHUNK = 32


class VmaList:
    """The VMAs of one address space in address order (the role of Linux's maple tree, mm->mm_mt).

    A list of chunks: each is a sorted list of at most 2 * VMA_CHUNK VMAs, with a
    parallel list of their starts, and `firsts` holds each chunk's first start. So
    finding the VMA at an address is two bisects over ints, and an insertion or a
    removal moves the entries of one chunk only.

    The hole below a VMA is [end of the VMA before it (or 0), start_gap(vma)); it
    belongs to the VMA's chunk. Each chunk has a bound, an upper bound of its holes'
    sizes, kept in `gaps`, a max segment tree over the chunks (Linux's augmented gap,
    vma->rb_subtree_gap in the rbtree days): a free-area search finds the next chunk
    that may hold a big enough hole in O(log chunks) and scans only the chunks it
    enters, so a search costs O(log n + VMA_CHUNK) holes. A bound stays an upper bound
    when a hole shrinks (an insertion; a VMA's end moved up into free space); an
    insertion and a removal raise it to the hole they make, and a search that scans a
    chunk in vain makes the chunk's bound exact. The tree is rebuilt when chunks are
    cut or emptied, once per about VMA_CHUNK changes.

    Iterating gives the VMAs in address order. A VMA's `start` may change only through
    remove and insert; its `end` only within its own range or up into free space
    (split_vma, merge_around, brk and mremap growth).
    """

    def __init__(self):
        self.chunks: list[list[Vma]] = []
        self.starts: list[list[int]] = []
        self.firsts: list[int] = []
        self.leaves = 1                 # the tree's leaf count: a power of two >= len(chunks)
        self.gaps: list[int] = [-1, -1]  # node k covers nodes 2k, 2k+1; leaf c is gaps[leaves + c]
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return itertools.chain.from_iterable(self.chunks)

    def __reversed__(self):
        return (vma for chunk in reversed(self.chunks) for vma in reversed(chunk))

    def __getitem__(self, index: int) -> Vma:
        """The VMA at position `index` (negative from the end), for tests and tools: O(n / VMA_CHUNK)."""
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("VMA index out of range")
        for chunk in self.chunks:
            if index < len(chunk):
                return chunk[index]
            index -= len(chunk)
        raise EmulatorBug("VmaList count does not match its chunks")

    def __contains__(self, vma: Vma) -> bool:
        c, i = self.index(vma.start)
        return i >= 0 and self.chunks[c][i] is vma

    # -- positions: (chunk, index in it) ------------------------------------------------

    def index(self, va: int) -> tuple[int, int]:
        """(chunk, position) of the last VMA that starts at or below `va`; position -1 if none does."""
        c = bisect_right(self.firsts, va) - 1
        if c < 0:
            return 0, -1
        return c, bisect_right(self.starts[c], va) - 1

    def after(self, c: int, i: int) -> tuple[int, int] | None:
        """The position after (c, i) (i may be -1: before chunk c's first), or None at the end."""
        if i + 1 < len(self.chunks[c]):
            return c, i + 1
        return (c + 1, 0) if c + 1 < len(self.chunks) else None

    def end_below(self, c: int, i: int) -> int:
        """The end of the VMA before position (c, i), or 0 if it is the first: the hole's low end."""
        if i > 0:
            return self.chunks[c][i - 1].end
        return self.chunks[c - 1][-1].end if c > 0 else 0

    def hole_below(self, c: int, i: int) -> int:
        """The size of the hole below the VMA at (c, i) (negative inside a stack's guard gap)."""
        return start_gap(self.chunks[c][i]) - self.end_below(c, i)

    # -- lookups --------------------------------------------------------------------------

    def find(self, va: int) -> Vma | None:
        """The VMA containing `va`, or None."""
        c = bisect_right(self.firsts, va) - 1
        if c < 0:
            return None
        vma = self.chunks[c][bisect_right(self.starts[c], va) - 1]
        return vma if va < vma.end else None

    def overlapping(self, start: int, end: int):
        """The VMAs overlapping [start, end), in address order (a generator: do not change the list under it)."""
        if not self.count:
            return
        c, i = self.index(start)
        if i < 0 or self.chunks[c][i].end <= start:
            pos = self.after(c, i)
            if pos is None:
                return
            c, i = pos
        while c < len(self.chunks):
            chunk = self.chunks[c]
            while i < len(chunk):
                if chunk[i].start >= end:
                    return
                yield chunk[i]
                i += 1
            c, i = c + 1, 0

    def next_after(self, va: int) -> Vma | None:
        """The first VMA that starts above `va`, or None."""
        if not self.count:
            return None
        pos = self.after(*self.index(va))
        return self.chunks[pos[0]][pos[1]] if pos is not None else None

    # -- changes --------------------------------------------------------------------------

    def insert(self, vma: Vma) -> None:
        """Add `vma`, which must not be empty nor overlap a VMA of the list (EmulatorBug otherwise)."""
        c, i = self.index(vma.start)
        prev = self.chunks[c][i] if i >= 0 else None
        nxt = self.next_after(vma.start)
        if vma.start >= vma.end or (prev is not None and prev.end > vma.start) or \
                (nxt is not None and nxt.start < vma.end):
            raise EmulatorBug(f"VMA {vma.start:#x}-{vma.end:#x} is empty or overlaps an existing one")
        if not self.chunks:
            self.chunks, self.starts, self.firsts = [[]], [[]], [vma.start]
            self.rebuild_gaps([-1])
        i += 1
        if i == len(self.chunks[c]) and c + 1 < len(self.chunks):
            c, i = c + 1, 0             # between two chunks: the next one owns the hole it goes in
        self.chunks[c].insert(i, vma)
        self.starts[c].insert(i, vma.start)
        if i == 0:
            self.firsts[c] = vma.start
        self.count += 1
        self.raise_gap(c, self.hole_below(c, i))
        if len(self.chunks[c]) > 2 * VMA_CHUNK:
            self.split_chunk(c)

    def remove(self, vma: Vma) -> None:
        """Take `vma` out of the list (EmulatorBug if it is not in it)."""
        c, i = self.index(vma.start)
        if i < 0 or self.chunks[c][i] is not vma:
            raise EmulatorBug(f"VMA {vma.start:#x}-{vma.end:#x} is not in its address space")
        del self.chunks[c][i]
        del self.starts[c][i]
        self.count -= 1
        if not self.chunks[c]:
            bounds = self.chunk_gaps()
            for column in (self.chunks, self.starts, self.firsts, bounds):
                del column[c]
            self.rebuild_gaps(bounds)
            pos = (c, 0) if c < len(self.chunks) else None       # the VMA after the removed one
        else:
            if i == 0:
                self.firsts[c] = self.starts[c][0]
            pos = (c, i) if i < len(self.chunks[c]) else self.after(c, i - 1)
        if pos is not None:             # the holes on both sides became one, below the next VMA
            self.raise_gap(pos[0], self.hole_below(*pos))

    def split_chunk(self, c: int) -> None:
        """Cut chunk c in two halves, each with its exact bound."""
        half = len(self.chunks[c]) // 2
        bounds = self.chunk_gaps()
        for column in (self.chunks, self.starts):
            column.insert(c + 1, column[c][half:])
            del column[c][half:]
        self.firsts.insert(c + 1, self.starts[c + 1][0])
        bounds[c:c + 1] = [self.exact_gap(c), self.exact_gap(c + 1)]
        self.rebuild_gaps(bounds)

    # -- the gap tree ---------------------------------------------------------------------

    def exact_gap(self, c: int) -> int:
        """The size of chunk c's biggest hole (-1 for an empty chunk)."""
        lo = self.chunks[c - 1][-1].end if c > 0 else 0
        largest = -1
        for vma in self.chunks[c]:
            hi = vma.start if not vma.flags & VM_GROWSDOWN else max(vma.start - STACK_GUARD_GAP, 0)
            if hi - lo > largest:
                largest = hi - lo
            lo = vma.end
        return largest

    def chunk_gaps(self) -> list[int]:
        """The bound of every chunk, in order (the tree's leaves)."""
        return self.gaps[self.leaves:self.leaves + len(self.chunks)]

    def rebuild_gaps(self, bounds: list[int]) -> None:
        """A new tree over the chunks, whose bounds are `bounds` (after chunks were added or removed)."""
        leaves = 1
        while leaves < len(bounds):
            leaves *= 2
        level = bounds + [-1] * (leaves - len(bounds))
        levels = [level]
        while len(level) > 1:
            level = list(map(max, level[0::2], level[1::2]))
            levels.append(level)
        self.gaps = [-1]                # node 1 is the root; node k's children are 2k and 2k+1
        for level in reversed(levels):
            self.gaps += level
        self.leaves = leaves

    def set_gap(self, c: int, size: int) -> None:
        """Chunk c's bound becomes `size`; the nodes above it follow."""
        gaps, node = self.gaps, self.leaves + c
        gaps[node] = size
        while node > 1:
            node //= 2
            gaps[node] = max(gaps[2 * node], gaps[2 * node + 1])

    def raise_gap(self, c: int, size: int) -> None:
        """Chunk c now has a hole of `size`: its bound is at least that."""
        if size > self.gaps[self.leaves + c]:
            self.set_gap(c, size)

    def last_gap_at_least(self, c: int, length: int) -> int:
        """The highest chunk <= c whose bound is at least `length`, or -1."""
        if c < 0:
            return -1
        gaps, node = self.gaps, self.leaves + c
        if gaps[node] >= length:
            return c
        while node > 1:
            if node & 1 and gaps[node - 1] >= length:     # a right child: try its left sibling
                node -= 1
                break
            node //= 2
        else:
            return -1
        while node < self.leaves:                          # down to the rightmost such leaf
            node = 2 * node + 1 if gaps[2 * node + 1] >= length else 2 * node
        return node - self.leaves

    def first_gap_at_least(self, c: int, length: int) -> int:
        """The lowest chunk >= c whose bound is at least `length`, or -1."""
        if c >= len(self.chunks):
            return -1
        gaps, node = self.gaps, self.leaves + c
        if gaps[node] >= length:
            return c
        while node > 1:
            if not node & 1 and gaps[node + 1] >= length:  # a left child: try its right sibling
                node += 1
                break
            node //= 2
        else:
            return -1
        while node < self.leaves:                          # down to the leftmost such leaf
            node = 2 * node if gaps[2 * node] >= length else 2 * node + 1
        return node - self.leaves

    # -- free-area searches (Linux's vm_unmapped_area) -----------------------------------------

    def unmapped_area_topdown(self, length: int, low: int, high: int, align: int = PAGE_SIZE) -> int | None:
        """The highest va with [va, va+length) free and inside [low, high), or None; with
        `align` (a power of two), the highest such va whose end is a multiple of it."""
        if not self.count:
            top = high & -align
            return top - length if top - max(low, 0) >= length else None
        c, i = self.index(high)
        pos = self.after(c, i)
        if pos is None:                 # the hole above the last VMA, up to `high`
            top_end, top = self.chunks[c][i].end, high & -align
            if top - max(top_end, low) >= length:
                return top - length
            c, i = len(self.chunks) - 1, len(self.chunks[-1]) - 1
        else:
            c, i = pos
        if self.gaps[self.leaves + c] < length:        # no hole of this chunk can do
            c = self.last_gap_at_least(c - 1, length)
            i = len(self.chunks[c]) - 1
        while c >= 0:
            found = self.scan_down(c, i, length, low, high, align)
            if found is not None:
                return None if found < 0 else found
            self.set_gap(c, self.exact_gap(c))
            c = self.last_gap_at_least(c - 1, length)
            i = len(self.chunks[c]) - 1
        return None

    def scan_down(self, c: int, i: int, length: int, low: int, high: int, align: int) -> int | None:
        """The highest fit in the holes below chunk c's VMAs i, i-1, ... 0; -1 if none can be
        lower down either; None if none in this chunk."""
        chunk = self.chunks[c]
        below = self.chunks[c - 1][-1].end if c > 0 else 0
        for j in range(i, -1, -1):
            vma = chunk[j]
            hi = vma.start if not vma.flags & VM_GROWSDOWN else max(vma.start - STACK_GUARD_GAP, 0)
            lo = chunk[j - 1].end if j else below
            if hi - lo >= length:
                top = (hi if hi < high else high) & -align
                if top - (lo if lo > low else low) >= length:
                    return top - length
            if lo - low < length:       # every hole further down ends below lo
                return -1
        return None

    def unmapped_area(self, length: int, low: int, high: int) -> int | None:
        """The lowest va with [va, va+length) free and inside [low, high), or None."""
        if not self.count:
            return max(low, 0) if high - max(low, 0) >= length else None
        pos = self.after(*self.index(low))
        if pos is not None and self.gaps[self.leaves + pos[0]] < length:
            c = self.first_gap_at_least(pos[0] + 1, length)
            pos = (c, 0) if c >= 0 else None
        while pos is not None:
            c, i = pos
            found = self.scan_up(c, i, length, low, high)
            if found is not None:
                return None if found < 0 else found
            self.set_gap(c, self.exact_gap(c))
            c = self.first_gap_at_least(c + 1, length)
            pos = (c, 0) if c >= 0 else None
        last_end = self.chunks[-1][-1].end
        return max(last_end, low) if high - max(last_end, low) >= length else None

    def scan_up(self, c: int, i: int, length: int, low: int, high: int) -> int | None:
        """The lowest fit in the holes below chunk c's VMAs i, i+1, ...; -1 if none can be
        higher up either; None if none in this chunk."""
        chunk = self.chunks[c]
        lo = chunk[i - 1].end if i else (self.chunks[c - 1][-1].end if c > 0 else 0)
        for j in range(i, len(chunk)):
            vma = chunk[j]
            hi = vma.start if not vma.flags & VM_GROWSDOWN else max(vma.start - STACK_GUARD_GAP, 0)
            if hi - lo >= length:
                bottom = lo if lo > low else low
                if (hi if hi < high else high) - bottom >= length:
                    return bottom
            if high - hi < length:      # every hole further up starts above hi
                return -1
            lo = vma.end
        return None

    def range_is_free(self, va: int, length: int) -> bool:
        """No VMA within [va, va+length), nor the guard gap below the next one (Linux's hint check)."""
        if self.find(va) is not None:
            return False
        nxt = self.next_after(va)
        return nxt is None or va + length <= start_gap(nxt)


def can_merge(prev: Vma, vma: Vma) -> bool:
    """May `prev` and `vma` (just after it) become one VMA? (Linux's is_mergeable_vma).

    Same flags, name, ops, backing and file, and contiguous page offsets. Mappings of
    a program file (FileBacking) are never merged.
    """
    return (prev.end == vma.start and prev.flags == vma.flags and prev.name == vma.name
            and prev.ops is vma.ops and prev.backing is vma.backing and prev.file is vma.file
            and not isinstance(vma.backing, FileBacking)
            and vma.pgoff == prev.page_offset(vma.start))


# ---- the address space ------------------------------------------------------------

@dataclass
class Mm:
    """One address space (mm_struct): page tables and its VMAs in a VmaList.

    `start_brk`/`brk` are the program break (None until the first brk call computes
    it from the program's segments); `mmap_base` is where top-down mmap placement
    starts (emu/kernel/mm/mman.py).
    """
    mem: object
    frames: object
    pt: PageTables
    vmas: VmaList = field(default_factory=VmaList)
    # The VMA find_vma found last (Linux's mm->mmap_cache, before 3.15): a fault loop
    # touching one mapping finds it without a search. Cleared when a VMA leaves `vmas`.
    mmap_cache: Vma | None = None
    rss: int = 0
    mmu: object = None            # the MMU, for TLB invalidation
    active: bool = False          # its page tables are the ones in CR3 now
    start_brk: int | None = None
    brk: int | None = None
    mmap_base: int | None = None
    kernel: object = None         # the kernel (the hugetlb code finds other processes through it)
    hugetlb_pool: object = None   # the huge page pool (emu/kernel/mm/hugetlb.py), if any
    users: int = 1                # the tasks using it (mm_users): threads and CLONE_VM children
    hiwater_rss: int = 0          # the highest rss before a drop (update_hiwater_rss): ru_maxrss

    def sub_rss(self, pages: int) -> None:
        """Fewer resident pages: the peak is noted first, as Linux's unmap path does."""
        if self.rss > self.hiwater_rss:
            self.hiwater_rss = self.rss
        self.rss -= pages

    def flush_tlb_page(self, va: int) -> None:
        """After changing the entry for `va`: INVLPG, if these page tables are loaded.

        An address space that is not loaded has nothing in the TLB: every CR3 switch
        flushes the non-global entries, and user pages are never global.
        """
        if self.active:
            self.mmu.invlpg(va)

    def flush_tlb_range(self, start: int, end: int) -> None:
        """Invalidate [start, end) (Linux's flush_tlb_mm_range): INVLPG page by page, or,
        for more than TLB_SINGLE_PAGE_FLUSH_CEILING pages, one flush of every non-global
        translation by rewriting CR3 with its own value (native_flush_tlb_local)."""
        if not self.active:
            return
        if (end - start) >> PAGE_SHIFT > TLB_SINGLE_PAGE_FLUSH_CEILING:
            self.mmu.load_cr3(self.mmu.cr3)
        else:
            for va in range(start, end, PAGE_SIZE):
                self.mmu.invlpg(va)

    def find_vma(self, va: int) -> Vma | None:
        """The VMA containing `va`, or None. The last one found is tried first."""
        vma = self.mmap_cache
        if vma is not None and vma.start <= va < vma.end:
            return vma
        vma = self.vmas.find(va)
        if vma is not None:
            self.mmap_cache = vma
        return vma

    def vmas_in(self, start: int, end: int) -> list:
        """The VMAs overlapping [start, end), in address order."""
        return list(self.vmas.overlapping(start, end))

    @property
    def map_count(self) -> int:
        """The number of VMAs (Linux's mm->map_count), which MAX_MAP_COUNT bounds."""
        return len(self.vmas)

    def insert_vma(self, vma: Vma) -> None:
        self.vmas.insert(vma)

    def remove_vma(self, vma: Vma) -> None:
        """Take `vma` out of the address space (its entries must be gone already)."""
        self.vmas.remove(vma)
        self.mmap_cache = None
        vma_close(self, vma)

    def split_vma(self, vma: Vma, va: int) -> Vma:
        """Cut `vma` at `va` (page-aligned, inside it); return the new upper part.

        Both parts keep the flags, ops and backing; the upper part's pgoff moves on
        (Linux's __split_vma). Page tables are untouched: the entries are the same.
        """
        upper = Vma(va, vma.end, vma.flags, name=vma.name, backing=vma.backing, ops=vma.ops,
                    pgoff=vma.page_offset(va), file=vma.file)
        vma.end = va
        self.insert_vma(upper)
        vma_open(upper)
        return upper

    def split_range(self, start: int, end: int) -> list:
        """Split the VMAs at `start` and `end`; return those now inside [start, end)."""
        first = self.vmas.find(start)
        if first is not None and first.start < start:
            self.split_vma(first, start)
        last = self.vmas.find(end - 1)
        if last is not None and last.end > end:
            self.split_vma(last, end)
        return self.vmas_in(start, end)

    def merge_around(self, start: int, end: int) -> None:
        """Merge the VMAs touching [start, end) with their neighbours where can_merge."""
        prev = None
        for vma in self.vmas_in(max(start - 1, 0), end + 1):    # those with start <= end and end >= start
            if prev is not None and can_merge(prev, vma):
                prev.end = vma.end
                self.vmas.remove(vma)
                self.mmap_cache = None
                vma_close(self, vma)
            else:
                prev = vma


def exit_mmap(mm: Mm) -> None:
    """Tear down every mapping of `mm` through its ops (Linux's exit_mmap), keeping the PML4.

    Entries go through unmap_page_range, VMAs through remove_vma (so shared objects
    learn they lost a user), and the emptied page-table pages through
    free_pgtable_range.
    """
    for vma in list(mm.vmas):
        pt_ops(vma, "unmap_page_range").unmap_page_range(mm, vma, vma.start, vma.end)
        mm.remove_vma(vma)
        pt_ops(vma, "free_pgtable_range").free_pgtable_range(mm, vma.start, vma.end)
