"""Address spaces: VMAs, the default pagetable_ops (4 KiB demand paging), user-memory access.

An `Mm` (Linux's mm_struct) is a set of VMAs over one set of page tables. Every VMA
carries `ops`, its pagetable_operations (the 2007 patch in shared/seed/): the kernel
calls `vma.ops.fault(mm, vma, va, write_access)` where Linux's generic code would call
handle_mm_fault. Ordinary mappings use `DEFAULT_OPS`: a page is allocated, filled
(from the program file or with zeros) and mapped on the first touch.
"""

import bisect
import enum
from dataclasses import dataclass, field

from ..mmu import Access, GeneralProtection, PageFault
from ..paging import PAGE_MASK, PAGE_SIZE, PTE_NX, PTE_P, PTE_RW, PTE_US, USER_TOP
from .pagetable import PageTables

# vm_flags (Linux include/linux/mm.h)
VM_READ = 0x1
VM_WRITE = 0x2
VM_EXEC = 0x4
VM_SHARED = 0x8
VM_GROWSDOWN = 0x100


class VmFault(enum.Enum):
    """What a fault op reports (Linux VM_FAULT_*); emu/kernel/kernel.py maps it to a retry or a signal."""
    MINOR = "minor"       # mapped without I/O
    MAJOR = "major"       # mapped after reading the backing file
    OOM = "oom"
    SIGBUS = "sigbus"
    SIGSEGV = "sigsegv"


def page_down(va: int) -> int:
    return va & PAGE_MASK


def page_up(va: int) -> int:
    return (va + PAGE_SIZE - 1) & PAGE_MASK


@dataclass
class FileBacking:
    """Bytes of a program file that appear at given addresses (the PT_LOAD segments)."""
    pieces: list      # (va, data) pairs

    def read_page(self, page_va: int) -> bytes | None:
        """The page's contents from the file, or None if no file byte falls in it (.bss)."""
        page = None
        for va, data in self.pieces:
            start, end = max(va, page_va), min(va + len(data), page_va + PAGE_SIZE)
            if start < end:
                page = page or bytearray(PAGE_SIZE)
                page[start - page_va:end - page_va] = data[start - va:end - va]
        return bytes(page) if page else None


@dataclass
class Vma:
    """[start, end) of one address space, with its flags, name and pagetable_ops."""
    start: int
    end: int
    flags: int
    name: str = ""
    backing: FileBacking | None = None
    ops: "PagetableOps" = None

    def __post_init__(self):
        if self.ops is None:
            self.ops = DEFAULT_OPS

    def contains(self, va: int) -> bool:
        return self.start <= va < self.end

    def pte_flags(self) -> int:
        """Leaf-entry bits for this VMA's pages (Linux's vm_get_page_prot)."""
        flags = PTE_P | PTE_US
        if self.flags & VM_WRITE:
            flags |= PTE_RW
        if not self.flags & VM_EXEC:
            flags |= PTE_NX
        return flags

    def allows(self, access: Access) -> bool:
        needed = {Access.READ: VM_READ, Access.WRITE: VM_WRITE, Access.FETCH: VM_EXEC}[access]
        return bool(self.flags & needed)


class PagetableOps:
    """pagetable_operations_struct: the page-table operations a mapping may override."""
    name = "default"

    def fault(self, mm: "Mm", vma: Vma, va: int, write_access: bool) -> VmFault:
        """Resolve a not-present (or write-protected) page at `va` in `vma`."""
        raise NotImplementedError


class DefaultOps(PagetableOps):
    """Ordinary 4 KiB mappings: demand paging with zero fill or file contents."""
    name = "default"

    def fault(self, mm, vma, va, write_access):
        page_va = page_down(va)
        slot = mm.pt.entry_pa(page_va, create=True)
        if mm.mem.read_u64(slot) & PTE_P:
            return VmFault.MINOR          # someone mapped it already (spurious fault)
        pa = mm.frames.alloc_frame()
        contents = vma.backing.read_page(page_va) if vma.backing else None
        if contents is not None:
            mm.mem.write(pa, contents)
            result = VmFault.MAJOR
        else:
            mm.mem.zero(pa, PAGE_SIZE)
            result = VmFault.MINOR
        mm.mem.write_u64(slot, pa | vma.pte_flags())
        mm.rss += 1
        # not-present -> present needs no invalidation: no TLB caches a not-present entry.
        return result


DEFAULT_OPS = DefaultOps()


@dataclass
class Mm:
    """One address space (mm_struct): page tables and a sorted list of VMAs."""
    mem: object
    frames: object
    pt: PageTables
    vmas: list = field(default_factory=list)
    rss: int = 0
    mmu: object = None            # the MMU, for TLB invalidation
    active: bool = False          # its page tables are the ones in CR3 now

    def flush_tlb_page(self, va: int) -> None:
        """After changing the entry for `va`: INVLPG, if these page tables are loaded.

        An address space that is not loaded has nothing in the TLB: every CR3 switch
        flushes the non-global entries, and user pages are never global.
        """
        if self.active:
            self.mmu.invlpg(va)

    def flush_tlb_range(self, start: int, end: int) -> None:
        """flush_tlb_page for every page of [start, end) (Linux's flush_tlb_range)."""
        if self.active:
            for va in range(start, end, PAGE_SIZE):
                self.mmu.invlpg(va)

    def find_vma(self, va: int) -> Vma | None:
        """The VMA containing `va`, or None."""
        index = bisect.bisect_right([v.start for v in self.vmas], va) - 1
        if index >= 0 and self.vmas[index].contains(va):
            return self.vmas[index]
        return None

    def insert_vma(self, vma: Vma) -> None:
        if any(v.start < vma.end and vma.start < v.end for v in self.vmas):
            raise ValueError(f"VMA {vma.start:#x}-{vma.end:#x} overlaps an existing one")
        bisect.insort(self.vmas, vma, key=lambda v: v.start)


class UserFault(Exception):
    """A kernel access to user memory failed (Linux returns -EFAULT)."""

    def __init__(self, va: int):
        super().__init__(f"bad user address {va:#x}")
        self.va = va


def user_page(mm: Mm, mmu, va: int, access: Access) -> int:
    """Physical address of user `va` for a kernel `access`, faulting the page in.

    This is Linux's get_user_pages / the seed's `pin_pages`: translate through the MMU
    (so the TLB and the A/D bits see the access), and if the page is not there, ask the
    VMA's fault op, then retry. Raises UserFault where a user access would be refused.
    """
    if not 0 <= va < USER_TOP:           # access_ok(): never a kernel address
        raise UserFault(va)
    for _ in range(3):
        try:
            return mmu.translate(va, access, cpl=0).pa
        except (PageFault, GeneralProtection):
            vma = mm.find_vma(va)
            if vma is None or not vma.allows(access):
                raise UserFault(va) from None
            if vma.ops.fault(mm, vma, va, access == Access.WRITE) not in (VmFault.MINOR, VmFault.MAJOR):
                raise UserFault(va) from None
    raise UserFault(va)


def copy_to_user(mm: Mm, mmu, va: int, data: bytes) -> None:
    """Write `data` at user `va`, page by page through the MMU. Raises UserFault."""
    done = 0
    while done < len(data):
        chunk = min(len(data) - done, PAGE_SIZE - ((va + done) & (PAGE_SIZE - 1)))
        pa = user_page(mm, mmu, va + done, Access.WRITE)
        mm.mem.write(pa, data[done:done + chunk])
        done += chunk


def copy_from_user(mm: Mm, mmu, va: int, size: int) -> bytes:
    """Read `size` bytes at user `va`, page by page through the MMU. Raises UserFault."""
    out = bytearray()
    while len(out) < size:
        chunk = min(size - len(out), PAGE_SIZE - ((va + len(out)) & (PAGE_SIZE - 1)))
        pa = user_page(mm, mmu, va + len(out), Access.READ)
        out += mm.mem.read(pa, chunk)
    return bytes(out)


def read_user_string(mm: Mm, mmu, va: int, limit: int = 4096) -> bytes:
    out = bytearray()
    while len(out) < limit:
        byte = copy_from_user(mm, mmu, va + len(out), 1)
        if byte == b"\0":
            return bytes(out)
        out += byte
    raise UserFault(va)
