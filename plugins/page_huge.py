"""/dev/page-huge: MAP_PRIVATE huge pages from a /dev/zero-like device, with a huge zero page.

This is drivers/char/page.c from the 2007 pagetable_operations patch (shared/seed/),
as an emu plugin. Its mappings get their own pagetable_operations: `page_fault` is the
device's, the rest are the kernel's hugetlb code (emu/kernel/mm/hugetlb.py), under the
seed's names:

    seed (2007)                          emu                        later Linux
    page_pagetable_ops.fault             page_fault (here)          hugetlb_fault
    .copy_vma                            copy_hugetlb_page_range    copy_hugetlb_page_range
    .pin_pages                           follow_hugetlb_page        follow_hugetlb_page (GUP)
    .unmap_page_range                    unmap_hugepage_range       unmap_hugepage_range
    .change_protection                   hugetlb_change_protection  hugetlb_change_protection
    .free_pgtable_range                  hugetlb_free_pgd_range     hugetlb_free_pgd_range
    page_file_operations.get_unmapped_area  hugetlb_get_unmapped_area

What this plugin adds to the seed is its promised follow-up, the huge zero page: a
first read maps one shared, read-only, all-zero huge page, so nothing is allocated or
cleared until the first write (`emu run --no-zero-page` turns it off: the seed as posted).
The seed's two bugs are not reproduced (docs/page-huge.md shows them): its OOM path
returned with hugetlb_instantiation_mutex held, and `ret` was returned uninitialised
for a present entry without a write.
"""

import errno
import os
import stat as st

from emu.kernel.fs.devices import CharDevice
from emu.kernel.fs.vfs import Stat
from emu.kernel.mm.hugetlb import (PAGES_PER_HPAGE, alloc_huge_page, clear_huge_page, copy_hugetlb_page_range,
                                follow_hugetlb_page, huge_pte_alloc, huge_pte_none, huge_pte_write, hugetlb_change_protection,
                                hugetlb_cow, hugetlb_free_pgd_range, hugetlb_get_unmapped_area, hugetlb_may_split,
                                make_huge_pte, set_huge_pte_at, unmap_hugepage_range)
from emu.kernel.mm.memory import VM_HUGETLB, VM_SHARED, PagetableOps, VmFault
from emu.hardware.paging import HPAGE_MASK, HPAGE_SIZE

DESCRIPTION = "/dev/page-huge: the 2007 hugetlb character device, with a huge zero page"
DEVICE_PATH = "/dev/page-huge"
PAGE_MAJOR, PAGE_MINOR = 254, 1          # register_chrdev(0, ...) gives a dynamic major


def page_fault(mm, vma, va: int, write_access: bool) -> VmFault:
    """The device's fault op: map the huge page covering `va`.

    Not present: a read maps the zero page (read-only, nothing allocated); a write, or
    any access without the zero page, allocates a page from the pool and clears it; a
    write maps it writable, a read read-only (the VMA check already refused writes to a
    read-only mapping). An empty pool is SIGBUS (the device has no reservations). A write to a
    present read-only entry is hugetlb_cow: copy, or reuse in place, or replace the zero page.
    """
    pool = mm.hugetlb_pool
    haddr = va & HPAGE_MASK
    ptep = huge_pte_alloc(mm, haddr)
    if ptep is None:
        return VmFault.OOM
    with pool.mutex:                       # released on every return (the seed leaked it on OOM)
        entry = mm.mem.read_u64(ptep)
        if huge_pte_none(entry):
            mm.rss += PAGES_PER_HPAGE      # the seed's add_mm_counter(mm, file_rss, ...)
            if not write_access and pool.zero_page_pa is not None:
                set_huge_pte_at(mm, haddr, ptep, make_huge_pte(vma, pool.zero_page_pa, writable=False))
                return VmFault.MINOR
            page = alloc_huge_page(mm, vma, haddr)
            if page is None:
                mm.rss -= PAGES_PER_HPAGE
                return VmFault.SIGBUS
            clear_huge_page(mm.mem, page)
            # Writable for a write; a read maps it read-only (the seed's make_huge_pte(vma,
            # page, 0)) and the first write then keeps it in place (hugetlb_cow, count 1).
            set_huge_pte_at(mm, haddr, ptep, make_huge_pte(vma, page, writable=write_access))
            return VmFault.MINOR
        if write_access and not huge_pte_write(entry):
            return hugetlb_cow(mm, vma, haddr, ptep, entry)
        return VmFault.MINOR               # present and allowed: the seed returned `ret` unset here


class PagePagetableOps(PagetableOps):
    """page_pagetable_ops: the seed's table, op for op."""
    name = "page-huge"
    copy_vma = staticmethod(copy_hugetlb_page_range)
    pin_pages = staticmethod(follow_hugetlb_page)
    unmap_page_range = staticmethod(unmap_hugepage_range)
    change_protection = staticmethod(hugetlb_change_protection)
    free_pgtable_range = staticmethod(hugetlb_free_pgd_range)
    fault = staticmethod(page_fault)
    may_split = staticmethod(hugetlb_may_split)   # today's vm_ops->may_split: 2 MiB boundaries only
    sigbus_reason = "the huge page pool is empty (/dev/page-huge has no reservations)"


page_pagetable_ops = PagePagetableOps()


def page_mmap(kernel, proc, vma) -> int:
    """The device's mmap: private, offset 0, 2 MiB aligned, at least one huge page."""
    if vma.flags & VM_SHARED:
        return -errno.EINVAL
    if vma.pgoff:
        return -errno.EINVAL
    if vma.start & ~HPAGE_MASK:
        return -errno.EINVAL
    if vma.end & ~HPAGE_MASK:
        return -errno.EINVAL
    if vma.end - vma.start < HPAGE_SIZE:
        return -errno.EINVAL
    vma.flags |= VM_HUGETLB
    vma.ops = page_pagetable_ops
    vma.backing = None                     # no file contents, no reservation
    return 0


class PageHugeFile(CharDevice):
    """An open /dev/page-huge (page_file_operations: mmap and get_unmapped_area only)."""

    def mmap(self, kernel, proc, vma) -> int:
        return page_mmap(kernel, proc, vma)

    def get_unmapped_area(self, mm, hint, length, flags, *, fixed):
        return hugetlb_get_unmapped_area(mm, hint, length, flags, fixed=fixed)

    def pread(self, offset, count):
        return -errno.EINVAL               # the device has no read or write

    def pwrite(self, offset, data):
        return -errno.EINVAL

    def stat(self):
        return Stat(st.S_IFCHR | 0o666, rdev=os.makedev(PAGE_MAJOR, PAGE_MINOR), ino=PAGE_MINOR,
                    dev=os.makedev(0, 5))


def register(kernel) -> None:
    """chr_dev_init: create /dev/page-huge."""
    kernel.devices.register(DEVICE_PATH, lambda kernel, proc, flags: PageHugeFile(flags, DEVICE_PATH))
