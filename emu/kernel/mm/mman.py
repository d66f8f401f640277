"""Memory system calls: mmap, munmap, mprotect, brk, madvise, mremap (Linux mm/mmap.c, mm/mprotect.c ...).

These edit an address space's VMAs (emu/kernel/mm/memory.py) and leave every page-table
change to the VMAs' pagetable_ops, called through `pt_ops` (the seed's has_pt_op).
Argument checks follow Linux's order, so that a call with several wrong arguments
fails with the errno Linux gives; guest/mm_syscalls.c pins them against the host.

Where a new mapping goes (no MAP_FIXED): the hint if that range is free, else the
highest free range below `mmap_base` (top-down, arch/x86/mm/mmap.c), else the lowest
one above TASK_UNMAPPED_BASE (bottom-up fallback). Simplification: no randomisation,
so mmap_base is Linux's value for a process with ADDR_NO_RANDOMIZE.
"""

import errno

from ..arch.syscall import SyscallError
from ...hardware.mmu import Access
from ...hardware.paging import HPAGE_MASK, PAGE_SHIFT, PAGE_SIZE
from ..fs.vfs import O_PATH
from .hugetlb import hugetlb_mmap_anon, restore_reservations
from .memory import (VM_ACCESS_FLAGS, VM_EXEC, VM_GROWSDOWN, VM_HUGETLB, VM_MAYEXEC, VM_MAYREAD,
                 VM_MAYSHARE, VM_MAYWRITE, VM_READ, VM_SHARED, VM_WRITE, VM_DONTCOPY, VM_WIPEONFORK,
                 MAX_MAP_COUNT, RESOLVED, STACK_GUARD_GAP, FileBacking, Mm, Vma, handle_mm_fault, make_shared_anon,
                 can_merge, page_up, pt_ops, vma_open)

# Linux include/uapi/asm-generic/mman-common.h, mman.h and arch/x86/include/uapi/asm/mman.h.
PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM = 0x0, 0x1, 0x2, 0x4, 0x8
PROT_GROWSDOWN, PROT_GROWSUP = 0x01000000, 0x02000000
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE = 0x01, 0x02, 0x03, 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_32BIT = 0x40
MAP_GROWSDOWN = 0x0100
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_FIXED_NOREPLACE = 0x100000
MAP_UNINITIALIZED = 0x4000000
MAP_HUGE_2MB, MAP_HUGE_1GB = 21 << 26, 30 << 26
MAP_ABOVE4G = 0x80
# include/linux/mman.h: the flags MAP_SHARED_VALIDATE accepts (file mappings).
LEGACY_MAP_MASK = (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE
                   | MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED
                   | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB
                   | MAP_32BIT | MAP_ABOVE4G | MAP_HUGE_2MB | MAP_HUGE_1GB)

MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4

# madvise advice (mman-common.h) and what emu does with each valid one.
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = 0, 1, 2, 3, 4
MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK = 8, 9, 10, 11
MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE = 12, 13, 14, 15
MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK = 16, 17, 18, 19
MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE = 20, 21, 22, 23
MADV_DONTNEED_LOCKED, MADV_COLLAPSE = 24, 25
MADV_HINTS = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_MERGEABLE,
              MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
              MADV_COLD, MADV_PAGEOUT, MADV_COLLAPSE}        # valid; nothing to do in emu
MADV_ZAP = {MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE}
MADV_FORK_FLAGS = {MADV_DONTFORK: (VM_DONTCOPY, True), MADV_DOFORK: (VM_DONTCOPY, False),
                   MADV_WIPEONFORK: (VM_WIPEONFORK, True), MADV_KEEPONFORK: (VM_WIPEONFORK, False)}

# The x86-64 user address space (4-level paging) and Linux's placement constants.
TASK_SIZE = 0x7FFF_FFFF_F000                 # arch/x86/include/asm/page_64_types.h
TASK_UNMAPPED_BASE = page_up(TASK_SIZE // 3)  # the bottom-up search starts here
MMAP_MIN_ADDR = 0x10000                      # vm.mmap_min_addr default (hints are raised to it)
RLIMIT_STACK_DEFAULT = 8 << 20
SIZE_128M = 128 << 20
MAP_32BIT_RANGE = (0x4000_0000, 0x8000_0000)  # arch/x86/kernel/sys_x86_64.c find_start_end
U64 = (1 << 64) - 1


def mmap_base(stack_rlimit: int = RLIMIT_STACK_DEFAULT) -> int:
    """Where top-down placement starts: below the stack and its gap (arch/x86/mm/mmap.c mmap_base).

    gap = RLIMIT_STACK + stack_guard_gap (+ the stack's random range, 0 here),
    clamped to [128 MiB, 5/6 of the address space]: 0x7ffff7fff000 by default.
    """
    gap = min(max(stack_rlimit + STACK_GUARD_GAP, SIZE_128M), TASK_SIZE // 6 * 5)
    return page_up(TASK_SIZE - gap)


def unmapped_area_topdown(mm: Mm, length: int, low: int, high: int) -> int:
    """The highest free [va, va+length) inside [low, high), or -ENOMEM (vm_unmapped_area)."""
    va = mm.vmas.unmapped_area_topdown(length, low, high)
    return -errno.ENOMEM if va is None else va


def unmapped_area(mm: Mm, length: int, low: int, high: int) -> int:
    """The lowest free [va, va+length) inside [low, high), or -ENOMEM."""
    va = mm.vmas.unmapped_area(length, low, high)
    return -errno.ENOMEM if va is None else va


def range_is_free(mm: Mm, va: int, length: int) -> bool:
    """No VMA within [va, va+length), nor the guard gap below the next VMA."""
    return mm.vmas.range_is_free(va, length)


def get_unmapped_area(mm: Mm, hint: int, length: int, flags: int) -> int:
    """Choose (or, with MAP_FIXED, check) where a mapping of `length` bytes goes; or -errno.

    Linux's __get_unmapped_area with arch_get_unmapped_area_topdown (x86):
    a length beyond the address space is -ENOMEM; MAP_FIXED takes the address as it
    is (an unaligned one is -EINVAL, one that does not fit -ENOMEM); a free hint is
    used; otherwise top-down below mmap_base, then bottom-up from TASK_UNMAPPED_BASE.
    """
    if length > TASK_SIZE:
        return -errno.ENOMEM
    if flags & MAP_FIXED:
        va = hint
    else:
        va = choose_area(mm, hint, length, flags)
        if va < 0:
            return va
    if va > TASK_SIZE - length:
        return -errno.ENOMEM
    if va & (PAGE_SIZE - 1):
        return -errno.EINVAL
    return va


def choose_area(mm: Mm, hint: int, length: int, flags: int) -> int:
    """Placement without MAP_FIXED: the hint if free, else a search (see get_unmapped_area)."""
    if flags & MAP_32BIT:
        return unmapped_area(mm, length, *MAP_32BIT_RANGE)
    if hint and hint <= TASK_SIZE - length and range_is_free(mm, hint, length):
        return hint
    base = mm.mmap_base if mm.mmap_base is not None else mmap_base()
    va = unmapped_area_topdown(mm, length, PAGE_SIZE, base)
    if va < 0:
        va = unmapped_area(mm, length, TASK_UNMAPPED_BASE, TASK_SIZE)
    return va


def round_hint_to_min(hint: int) -> int:
    """A hint is page-aligned down, and raised to mmap_min_addr (mm/mmap.c)."""
    hint &= ~(PAGE_SIZE - 1)
    if hint and hint < MMAP_MIN_ADDR:
        return MMAP_MIN_ADDR
    return hint


def calc_vm_prot_bits(prot: int) -> int:
    return ((VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0)
            | (VM_EXEC if prot & PROT_EXEC else 0))


# ---- mmap -----------------------------------------------------------------------


def sys_mmap(kernel, proc, va, length, prot, flags, fd, off):
    """mmap(2): Linux's sys_mmap (x86) -> ksys_mmap_pgoff -> do_mmap, in their order of checks."""
    fd = fd & 0xFFFF_FFFF
    fd = fd - (1 << 32) if fd & 0x8000_0000 else fd      # an int in the ABI
    prot, flags = prot & 0xFFFF_FFFF, flags & 0xFFFF_FFFF
    if off & (PAGE_SIZE - 1):
        raise SyscallError(errno.EINVAL)
    file = None
    if not flags & MAP_ANONYMOUS:
        files = getattr(proc, "files", None)
        file = files.get(fd) if files is not None and fd >= 0 else None
        if file is None or file.flags & O_PATH:      # fdget: an O_PATH fd is no file to map
            raise SyscallError(errno.EBADF)
        if flags & MAP_HUGETLB:
            raise SyscallError(errno.EINVAL)
    elif flags & MAP_HUGETLB:
        return hugetlb_mmap_anon(kernel, proc, va, length, prot, flags)
    return do_mmap(kernel, proc, file, va, length, prot, flags, off >> PAGE_SHIFT)


def do_mmap(kernel, proc, file, va, length, prot, flags, pgoff):
    mm = proc.mm
    if not length:
        return -errno.EINVAL
    if flags & MAP_FIXED_NOREPLACE:
        flags |= MAP_FIXED
    if not flags & MAP_FIXED:
        va = round_hint_to_min(va)
    length = page_up(length) & U64
    if not length:
        return -errno.ENOMEM
    if pgoff + (length >> PAGE_SHIFT) > U64 >> PAGE_SHIFT:
        return -errno.EOVERFLOW
    if mm.map_count > MAX_MAP_COUNT:    # sic: '>', so the count may reach MAX_MAP_COUNT + 1
        return -errno.ENOMEM
    file_area = getattr(file, "get_unmapped_area", None) if file is not None else None
    if file_area is not None:           # a device with its own placement (hugetlb_get_unmapped_area)
        va = file_area(mm, va, length, flags, fixed=bool(flags & MAP_FIXED))
    else:
        va = get_unmapped_area(mm, va, length, flags)
    if va < 0:
        return va
    if flags & MAP_FIXED_NOREPLACE and mm.vmas_in(va, va + length):
        return -errno.EEXIST
    vm_flags = (calc_vm_prot_bits(prot) | (VM_GROWSDOWN if flags & MAP_GROWSDOWN else 0)
                | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)
    if file is None:
        vm_flags, pgoff = anon_vm_flags(flags, vm_flags, va)
    else:
        vm_flags = file_vm_flags(file, prot, flags, vm_flags)
    if vm_flags < 0:
        return vm_flags
    return mmap_region(kernel, proc, file, va, length, vm_flags, pgoff, flags)


def anon_vm_flags(flags: int, vm_flags: int, va: int):
    """The MAP_TYPE switch of do_mmap for anonymous memory: (vm_flags, pgoff) or (-errno, 0)."""
    kind = flags & MAP_TYPE
    if kind == MAP_SHARED:
        if vm_flags & VM_GROWSDOWN:
            return -errno.EINVAL, 0
        return vm_flags | VM_SHARED | VM_MAYSHARE, 0
    if kind == MAP_PRIVATE:
        return vm_flags, va >> PAGE_SHIFT      # anon_vma's index: the address
    return -errno.EINVAL, 0


def file_vm_flags(file, prot: int, flags: int, vm_flags: int) -> int:
    """The MAP_TYPE switch of do_mmap for a file: vm_flags or -errno.

    The file's access mode decides: a shared writable mapping needs a file open for
    writing (-EACCES), every mapping one open for reading (-EACCES), and the file must
    be mappable at all (-ENODEV). A shared mapping of a read-only file may not be
    made writable later (no VM_MAYWRITE).
    """
    kind = flags & MAP_TYPE
    readable = file.readable() if hasattr(file, "readable") else True
    writable = file.writable() if hasattr(file, "writable") else True
    if kind == MAP_SHARED_VALIDATE and flags & ~LEGACY_MAP_MASK:
        return -errno.EOPNOTSUPP
    if kind in (MAP_SHARED, MAP_SHARED_VALIDATE):
        if prot & PROT_WRITE and not writable:
            return -errno.EACCES
        vm_flags |= VM_SHARED | VM_MAYSHARE
        if not writable:
            vm_flags &= ~(VM_MAYWRITE | VM_SHARED)
    elif kind != MAP_PRIVATE:
        return -errno.EINVAL
    if not readable:
        return -errno.EACCES
    if getattr(file, "mmap", None) is None:
        return -errno.ENODEV
    if vm_flags & VM_GROWSDOWN:
        return -errno.EINVAL
    return vm_flags


def mmap_region(kernel, proc, file, va, length, vm_flags, pgoff, flags):
    """Replace whatever is at [va, va+length) with a new VMA (Linux's mmap_region)."""
    mm = proc.mm
    error = do_munmap(mm, va, length)
    if error:
        return error
    vma = Vma(va, va + length, vm_flags, pgoff=pgoff, file=file,
              name=getattr(file, "path", "") if file is not None else "")
    if file is not None:
        error = file.mmap(kernel, proc, vma)     # may set vma.ops (a device's own pagetable_ops)
        if error < 0:
            return error
    elif vm_flags & VM_SHARED:
        make_shared_anon(vma)
    mm.insert_vma(vma)
    mm.merge_around(va, va + length)
    if flags & MAP_POPULATE:
        populate(mm, va, va + length)
    return va


def populate(mm: Mm, start: int, end: int) -> None:
    """MAP_POPULATE: fault every page in now, for writing if the mapping is private and writable."""
    for vma in mm.vmas_in(start, end):
        write = vma.flags & (VM_WRITE | VM_SHARED) == VM_WRITE
        if not vma.flags & VM_ACCESS_FLAGS:
            continue
        for va in range(max(start, vma.start), min(end, vma.end), PAGE_SIZE):
            if handle_mm_fault(mm, vma, va, write) not in RESOLVED:
                return


# ---- munmap ---------------------------------------------------------------------

def sys_munmap(kernel, proc, va, length, *_):
    """munmap(2): unaligned or out-of-range arguments are -EINVAL; nothing mapped is fine (0)."""
    if va & (PAGE_SIZE - 1) or va > TASK_SIZE or length > TASK_SIZE - va:
        raise SyscallError(errno.EINVAL)
    length = page_up(length)
    if not length:
        raise SyscallError(errno.EINVAL)
    return do_munmap(proc.mm, va, length)


def check_splits(mm: Mm, start: int, end: int) -> int:
    """0, or -errno if a VMA may not be cut at `start` or `end` (Linux's vm_ops->may_split:
    a huge page mapping only on a 2 MiB boundary). Checked before anything changes."""
    for vma in mm.vmas_in(start, end):
        may_split = getattr(vma.ops, "may_split", None)
        for cut in (start, end):
            if may_split is not None and vma.start < cut < vma.end:
                error = may_split(vma, cut)
                if error:
                    return error
    return 0


def do_munmap(mm: Mm, start: int, length: int) -> int:
    """Remove [start, start+length) from the address space (Linux's do_vmi_munmap); 0 or -errno.

    Refused before anything changes: a VMA cut in three (the range strictly inside it)
    when the address space has MAX_MAP_COUNT VMAs already (-ENOMEM,
    vms_gather_munmap_vmas), and a cut a VMA may not take (check_splits). Otherwise
    split the VMAs at both ends, clear their entries through each VMA's
    unmap_page_range (frames lose a reference, the TLB is invalidated), drop the
    VMAs, then free the page-table pages that became empty.
    """
    end = start + length
    vma = mm.find_vma(start)
    if vma is not None and vma.start < start and end < vma.end and mm.map_count >= MAX_MAP_COUNT:
        return -errno.ENOMEM
    error = check_splits(mm, start, end)
    if error:
        return error
    victims = mm.split_range(start, end)
    for vma in victims:
        pt_ops(vma, "unmap_page_range").unmap_page_range(mm, vma, vma.start, vma.end)
        mm.remove_vma(vma)
    for vma in victims:
        pt_ops(vma, "free_pgtable_range").free_pgtable_range(mm, vma.start, vma.end)
    return 0


# ---- mprotect -------------------------------------------------------------------

def sys_mprotect(kernel, proc, start, length, prot, *_):
    """mprotect(2): Linux's do_mprotect_pkey, including its partial effect before a hole."""
    prot &= 0xFFFF_FFFF
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    prot &= ~grows
    if grows == PROT_GROWSDOWN | PROT_GROWSUP:
        raise SyscallError(errno.EINVAL)
    if start & (PAGE_SIZE - 1):
        raise SyscallError(errno.EINVAL)
    if not length:
        return 0
    end = (start + page_up(length)) & U64
    if end <= start:
        raise SyscallError(errno.ENOMEM)
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM):      # arch_validate_prot
        raise SyscallError(errno.EINVAL)
    mm = proc.mm
    vmas = mm.vmas_in(start, end)
    if not vmas:
        raise SyscallError(errno.ENOMEM)
    if grows & PROT_GROWSDOWN:
        start = vmas[0].start
        if not vmas[0].flags & VM_GROWSDOWN:
            raise SyscallError(errno.EINVAL)
    elif vmas[0].start > start:
        raise SyscallError(errno.ENOMEM)
    if grows & PROT_GROWSUP:
        raise SyscallError(errno.EINVAL)               # no VM_GROWSUP mappings on x86
    error = check_splits(mm, start, end)
    if error:
        return error
    return mprotect_vmas(mm, start, end, calc_vm_prot_bits(prot))


def mprotect_vmas(mm: Mm, start: int, end: int, new_prot: int) -> int:
    """Apply `new_prot` VMA by VMA from `start`; stop with -ENOMEM at a hole, -EACCES at a VM_MAY* refusal."""
    done = start
    for vma in mm.vmas_in(start, end):
        if vma.start > done:
            return -errno.ENOMEM
        new_flags = (vma.flags & ~VM_ACCESS_FLAGS) | new_prot
        if new_flags & ~(new_flags >> 4) & VM_ACCESS_FLAGS:      # VM_MAYx sits 4 bits above VM_x
            return -errno.EACCES
        done = min(vma.end, end)
        error = mprotect_fixup(mm, vma, max(start, vma.start), done, new_flags)
        if error:
            return error
    return 0 if done >= end else -errno.ENOMEM


def mprotect_fixup(mm: Mm, vma: Vma, start: int, end: int, new_flags: int) -> int:
    """Give [start, end) of `vma` the flags `new_flags`: split, change_protection, merge; 0 or -ENOMEM."""
    if new_flags == vma.flags:
        return 0
    part = split_for_change(mm, vma, start, end, new_flags)
    if part is None:
        return -errno.ENOMEM
    pt_ops(part, "change_protection").change_protection(mm, part, start, end, new_flags)
    part.flags = new_flags
    mm.merge_around(start, end)
    return 0


def split_for_change(mm: Mm, vma: Vma, start: int, end: int, new_flags: int) -> Vma | None:
    """Cut `vma` so that [start, end) (inside it) is one VMA, and return that VMA, which the
    caller gives `new_flags` and then merges (Linux's vma_modify).

    Each cut needs fewer than MAX_MAP_COUNT VMAs (split_vma): None if one is refused, with
    the cuts made before it left in place, as Linux leaves them. A range at one edge of
    `vma` that will merge into the neighbour on that side makes no new VMA (Linux merges
    it first, vma_merge_existing_range), so its one cut is not counted.
    """
    joins = joins_neighbour(mm, vma, start, end, new_flags)
    if vma.start < start:
        if mm.map_count >= MAX_MAP_COUNT and not joins:
            return None
        vma = mm.split_vma(vma, start)
    if vma.end > end:
        if mm.map_count >= MAX_MAP_COUNT and not joins:
            return None
        mm.split_vma(vma, end)
    return vma


def joins_neighbour(mm: Mm, vma: Vma, start: int, end: int, new_flags: int) -> bool:
    """Will [start, end), at one edge of `vma` and no more than it, merge into the VMA
    beyond that edge once it has `new_flags`?"""
    if (start == vma.start) == (end == vma.end):
        return False                    # the whole VMA (no cut) or its middle (two cuts)
    part = Vma(start, end, new_flags, name=vma.name, backing=vma.backing, ops=vma.ops,
               pgoff=vma.page_offset(start), file=vma.file)
    if start == vma.start:
        prev = mm.find_vma(start - 1) if start else None
        return prev is not None and can_merge(prev, part)
    nxt = mm.find_vma(end)
    return nxt is not None and can_merge(part, nxt)


# ---- brk ------------------------------------------------------------------------

def initial_brk(mm: Mm) -> int:
    """The break a new program starts with: the page-aligned end of its highest segment.

    (binfmt_elf's elf_brk; no randomisation.) exec's segments are the VMAs backed by
    the program file.
    """
    ends = [v.end for v in mm.vmas if isinstance(v.backing, FileBacking)]
    return page_up(max(ends, default=0))


def sys_brk(kernel, proc, brk, *_):
    """brk(2): Linux returns the new break, or the old one when it refuses."""
    mm = proc.mm
    if mm.start_brk is None:
        mm.start_brk = mm.brk = initial_brk(mm)
    if brk < mm.start_brk:
        return mm.brk
    new_end, old_end = page_up(brk), page_up(mm.brk)
    if new_end == old_end:
        mm.brk = brk
    elif brk <= mm.brk:                    # shrinking: refused only where munmap would be
        if not do_munmap(mm, new_end, old_end - new_end):
            mm.brk = brk
    elif grow_heap(mm, old_end, new_end):
        mm.brk = brk
    return mm.brk


def grow_heap(mm: Mm, old_end: int, new_end: int) -> bool:
    """Extend (or create) the [heap] VMA to `new_end`; False if that would touch a mapping.

    Linux keeps a page free above the heap (and the guard gap below a stack).
    """
    if new_end > TASK_SIZE or not range_is_free(mm, old_end, new_end - old_end + PAGE_SIZE):
        return False
    if mm.map_count > MAX_MAP_COUNT:        # do_brk_flags, even when the heap only grows
        return False
    heap = mm.find_vma(old_end - 1) if old_end > mm.start_brk else None
    if heap is not None and heap.name == "[heap]" and heap.end == old_end:
        heap.end = new_end
    else:
        mm.insert_vma(Vma(old_end, new_end, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
                          name="[heap]", pgoff=old_end >> PAGE_SHIFT))
    return True


# ---- madvise --------------------------------------------------------------------

MADV_VALID = MADV_HINTS | MADV_ZAP | set(MADV_FORK_FLAGS) | {MADV_REMOVE, MADV_POPULATE_READ,
                                                              MADV_POPULATE_WRITE}


def sys_madvise(kernel, proc, start, length, advice, *_):
    """madvise(2): Linux's do_madvise order of checks; -ENOMEM if part of the range is unmapped."""
    advice &= 0xFFFF_FFFF
    if advice not in MADV_VALID:
        raise SyscallError(errno.EINVAL)
    if start & (PAGE_SIZE - 1):
        raise SyscallError(errno.EINVAL)
    rounded = page_up(length) & U64
    if length and not rounded:
        raise SyscallError(errno.EINVAL)
    end = start + rounded
    if end > U64:
        raise SyscallError(errno.EINVAL)
    if end == start:
        return 0
    mm = proc.mm
    vmas = mm.vmas_in(start, end)
    if not vmas:
        raise SyscallError(errno.ENOMEM)
    unmapped = vmas[0].start > start or any(a.end < b.start for a, b in zip(vmas, vmas[1:])) \
        or vmas[-1].end < end
    for vma in vmas:
        error = madvise_vma(mm, vma, max(start, vma.start), min(end, vma.end), advice)
        if error:
            return error
    return -errno.ENOMEM if unmapped else 0


def madvise_vma(mm: Mm, vma: Vma, start: int, end: int, advice: int) -> int:
    """Apply one advice to [start, end) inside `vma`; 0 or -errno."""
    if advice in MADV_ZAP and vma.flags & VM_HUGETLB:
        return madvise_dontneed_huge(mm, vma, start, end, advice)
    if advice in MADV_ZAP:
        if advice == MADV_FREE and (vma.shared or vma.file is not None):
            return -errno.EINVAL
        # MADV_DONTNEED: the next touch maps a fresh zero page (private anonymous),
        # the file's page, or the shared object's page again. MADV_FREE may keep the data until memory is short;
        # emu frees at once, which is one of its allowed outcomes.
        pt_ops(vma, "unmap_page_range").unmap_page_range(mm, vma, start, end)
        return 0
    if advice in MADV_FORK_FLAGS:
        flag, on = MADV_FORK_FLAGS[advice]
        split_error = check_splits(mm, start, end)        # a huge page splits on 2 MiB only
        if split_error:
            return split_error
        if advice == MADV_WIPEONFORK and (vma.shared or vma.file is not None):
            return -errno.EINVAL
        new_flags = vma.flags | flag if on else vma.flags & ~flag
        if new_flags == vma.flags:            # madvise_update_vma: nothing to cut
            return 0
        part = split_for_change(mm, vma, start, end, new_flags)
        if part is None:
            return -errno.EAGAIN              # madvise_vma_behavior turns vma_modify's -ENOMEM into -EAGAIN
        part.flags = part.flags | flag if on else part.flags & ~flag
        mm.merge_around(start, end)
        return 0
    if advice == MADV_REMOVE:
        if vma.flags & VM_HUGETLB and not vma.shared:
            return -errno.EACCES              # madvise_remove needs VM_SHARED|VM_WRITE
        return -errno.EINVAL if not vma.shared else -errno.EOPNOTSUPP   # simplification
    if advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        write = advice == MADV_POPULATE_WRITE
        if not vma.allows(Access.WRITE if write else Access.READ):
            return -errno.EINVAL
        for va in range(start, end, PAGE_SIZE):
            if handle_mm_fault(mm, vma, va, write) not in RESOLVED:
                return -errno.EFAULT
    return 0


def madvise_dontneed_huge(mm: Mm, vma: Vma, start: int, end: int, advice: int) -> int:
    """MADV_DONTNEED on huge pages (Linux >= 5.18): the start must be 2 MiB aligned, the end
    is rounded down; the pages are unmapped and an owner's reservations restored, so the
    next touch gets a fresh page. MADV_FREE is not supported for hugetlb (-EINVAL)."""
    if advice not in (MADV_DONTNEED, MADV_DONTNEED_LOCKED) or start & ~HPAGE_MASK:
        return -errno.EINVAL
    end &= HPAGE_MASK
    if end > start:
        pt_ops(vma, "unmap_page_range").unmap_page_range(mm, vma, start, end)
        restore_reservations(mm, vma, start, end)
    return 0


# ---- mremap ---------------------------------------------------------------------

def mremap_huge(mm: Mm, vma: Vma, va: int, old_len: int, new_len: int, flags: int) -> int:
    """mremap of huge pages (Linux's hugetlb rules): the address must be 2 MiB aligned and
    both lengths are rounded up to 2 MiB; growing is -EINVAL, shrinking unmaps whole huge
    pages. Simplification: moving a huge mapping is not supported (-EINVAL)."""
    if va & ~HPAGE_MASK:
        return -errno.EINVAL
    old_len = (old_len + ~HPAGE_MASK) & HPAGE_MASK
    new_len = (new_len + ~HPAGE_MASK) & HPAGE_MASK
    if new_len > old_len or flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        return -errno.EINVAL
    if new_len < old_len:
        error = do_munmap(mm, va + new_len, old_len - new_len)
        if error:
            return error
    return va


def sys_mremap(kernel, proc, va, old_len, new_len, flags, new_va, *_):
    """mremap(2): shrink in place, grow in place, or move (MREMAP_MAYMOVE / MREMAP_FIXED)."""
    mm = proc.mm
    flags &= 0xFFFF_FFFF
    if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
        raise SyscallError(errno.EINVAL)
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise SyscallError(errno.EINVAL)
    if flags & MREMAP_DONTUNMAP and (not flags & MREMAP_MAYMOVE or old_len != new_len):
        raise SyscallError(errno.EINVAL)
    if va & (PAGE_SIZE - 1):
        raise SyscallError(errno.EINVAL)
    old_len, new_len = page_up(old_len) & U64, page_up(new_len) & U64
    if not new_len:
        raise SyscallError(errno.EINVAL)
    huge = mm.find_vma(va)
    if huge is not None and huge.flags & VM_HUGETLB:
        return mremap_huge(mm, huge, va, old_len, new_len, flags)
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        return mremap_to(mm, va, old_len, new_len, flags, new_va)
    if old_len >= new_len:                  # shrinking always works: unmap the tail
        if old_len == new_len:
            return va
        tail = va + new_len
        if tail > TASK_SIZE or old_len - new_len > TASK_SIZE - tail:     # do_vmi_munmap's checks
            raise SyscallError(errno.EINVAL)
        error = do_munmap(mm, tail, old_len - new_len)
        return error if error else va
    vma = vma_to_resize(mm, va, old_len, new_len)
    if isinstance(vma, int):
        return vma
    if old_len == vma.end - va and vma_expandable(mm, vma, new_len - old_len):
        vma.end = va + new_len
        mm.merge_around(vma.start, vma.end)
        return va
    if not flags & MREMAP_MAYMOVE:
        raise SyscallError(errno.ENOMEM)
    new_va = get_unmapped_area(mm, 0, new_len, MAP_SHARED if vma.flags & VM_MAYSHARE else 0)
    if new_va < 0:
        return new_va
    return move_vma(mm, vma, va, old_len, new_len, new_va, keep_old=False)


def mremap_to(mm: Mm, va, old_len, new_len, flags, new_va) -> int:
    """MREMAP_FIXED / MREMAP_DONTUNMAP: move to `new_va` (Linux's mremap_to)."""
    if flags & MREMAP_FIXED:
        if new_va & (PAGE_SIZE - 1):
            return -errno.EINVAL
        if new_len > TASK_SIZE or new_va > TASK_SIZE - new_len:
            return -errno.EINVAL
        if va + old_len > new_va and new_va + new_len > va:      # the ranges may not overlap
            return -errno.EINVAL
    # check_mremap_params: both ranges may be cut in three before anything can fail
    if mm.map_count + 2 >= MAX_MAP_COUNT - 3:
        return -errno.ENOMEM
    if flags & MREMAP_FIXED:
        error = do_munmap(mm, new_va, new_len)
        if error:
            return error
    if old_len > new_len:
        error = do_munmap(mm, va + new_len, old_len - new_len)
        if error:
            return error
        old_len = new_len
    vma = vma_to_resize(mm, va, old_len, new_len)
    if isinstance(vma, int):
        return vma
    if flags & MREMAP_DONTUNMAP and (vma.shared or vma.file is not None or vma.backing is not None):
        return -errno.EINVAL                # simplification: private anonymous memory only
    place = MAP_FIXED if flags & MREMAP_FIXED else 0
    place |= MAP_SHARED if vma.flags & VM_MAYSHARE else 0
    found = get_unmapped_area(mm, new_va, new_len, place)
    if found < 0:
        return found
    return move_vma(mm, vma, va, old_len, new_len, found, keep_old=bool(flags & MREMAP_DONTUNMAP))


def vma_to_resize(mm: Mm, va: int, old_len: int, new_len: int):
    """The VMA at `va` that [va, va+old_len) lies in, or -errno (Linux's vma_to_resize)."""
    vma = mm.find_vma(va)
    if vma is None:
        return -errno.EFAULT
    if not old_len and not vma.flags & (VM_SHARED | VM_MAYSHARE):
        return -errno.EINVAL               # "duplicating" a private mapping makes no sense
    if old_len > vma.end - va:
        return -errno.EFAULT               # no remapping across VMA boundaries
    if new_len == old_len:
        return vma
    if vma.flags & VM_HUGETLB:
        return -errno.EINVAL
    return vma


def vma_expandable(mm: Mm, vma: Vma, delta: int) -> bool:
    """Can `vma` grow by `delta` bytes in place? Nothing may be mapped there."""
    end = vma.end + delta
    return end <= TASK_SIZE and not mm.vmas_in(vma.end, end)


def move_vma(mm: Mm, vma: Vma, va: int, old_len: int, new_len: int, new_va: int, *, keep_old: bool) -> int:
    """Move [va, va+old_len) of `vma` to a new VMA at `new_va` of `new_len` bytes (Linux's move_vma).

    The entries move as they are (frames keep their references), each old one
    invalidated; then the old range is unmapped (it is empty by then), unless
    MREMAP_DONTUNMAP keeps it as an empty mapping. Pages of a program-file segment
    that were never touched are read in first: FileBacking is addressed by va.
    Refused (-ENOMEM) with MAX_MAP_COUNT - 3 VMAs or more: the unmap may cut in three.
    """
    if mm.map_count >= MAX_MAP_COUNT - 3:
        return -errno.ENOMEM
    if isinstance(vma.backing, FileBacking):
        populate(mm, va, va + old_len)
    moved = Vma(new_va, new_va + new_len, vma.flags,
                name="" if vma.name in ("[heap]", "[stack]") else vma.name,
                backing=None if isinstance(vma.backing, FileBacking) else vma.backing,
                ops=vma.ops, pgoff=vma.page_offset(va), file=vma.file)
    mm.insert_vma(moved)
    vma_open(moved)
    move_page_tables(mm, va, new_va, old_len)
    if not keep_old:
        do_munmap(mm, va, old_len)        # cannot fail: below MAX_MAP_COUNT - 3, and no huge page
    else:
        for part in mm.split_range(va, va + old_len):
            pt_ops(part, "free_pgtable_range").free_pgtable_range(mm, part.start, part.end)
    mm.merge_around(new_va, new_va + new_len)
    return new_va


def move_page_tables(mm: Mm, old_va: int, new_va: int, length: int) -> None:
    """Move the present 4 KiB entries of [old_va, old_va+length) to new_va (Linux's move_ptes)."""
    for va, leaf in list(mm.pt.leaves(old_va, old_va + length)):
        mm.pt.clear_entry(leaf)
        mm.flush_tlb_page(va)
        mm.pt.set_pte(new_va + (va - old_va), leaf.entry)
