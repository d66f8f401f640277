"""User-memory access: the one place where the kernel reads and writes user memory.

Linux's uaccess.h and gVisor's CopyIn/CopyOut: every copy goes page by page through the
MMU as a ring-0 copy instruction would (so Accessed/Dirty bits are set and copy-on-write
happens), and a bad user pointer raises UserFault, a SyscallError with errno EFAULT.

- copy_from_user / copy_to_user: bytes in and out;
- put_user: copy_to_user for handlers that return its result (0, or -EFAULT);
- read_user_string (strncpy_from_user) and user_path (getname: a path as a str);
- user_page: the physical address behind one user address, faulting it in.
"""

import errno
import os

from ...hardware.mmu import Access, GeneralProtection, PageFault
from ...hardware.paging import PAGE_SIZE, USER_TOP
from ..mm.memory import Mm, pt_ops
from .syscall import UserFault

PATH_MAX = 4096                  # bytes, with the NUL (include/uapi/linux/limits.h)


def user_page(mm: Mm, mmu, va: int, access: Access) -> int:
    """Physical address of user `va` for a kernel `access`, faulting the page in.

    access_ok() and the VMA's rights first (so PROT_NONE memory is -EFAULT for the kernel
    too). Then, if `mm` is the loaded address space, the MMU translates it as a ring-0
    copy instruction would (TLB, walk, Accessed/Dirty); if that faults (not present,
    copy-on-write) or `mm` is not loaded, the VMA's `pin_pages` op (has_pt_op dispatch: a
    hugetlb mapping may supply its own) faults the page in. Raises UserFault where a
    user access would be refused.
    """
    if not 0 <= va < USER_TOP:           # access_ok(): never a kernel address
        raise UserFault(va)
    vma = mm.find_vma(va)
    if vma is None or not vma.allows(access):
        raise UserFault(va)
    if mm.active:
        try:
            return mmu.pa(va, access, cpl=0)
        except (PageFault, GeneralProtection):
            pass                          # not present or write-protected: pin_pages resolves it
    return pt_ops(vma, "pin_pages").pin_pages(mm, vma, va, access == Access.WRITE)


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


def read_user_string(mm: Mm, mmu, va: int, limit: int = 4096) -> bytes | None:
    """The NUL-terminated string at `va`, without its NUL; None if no NUL comes within
    `limit` bytes. Reads up to page ends and `limit` only (Linux's strnlen_user), so a
    string that ends just before an unmapped page is fine. Raises UserFault."""
    out = bytearray()
    while len(out) < limit:
        chunk = copy_from_user(mm, mmu, va + len(out),
                               min(limit - len(out), PAGE_SIZE - ((va + len(out)) & (PAGE_SIZE - 1))))
        nul = chunk.find(b"\0")
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
    return None


def put_user(kernel, proc, va: int, data: bytes) -> int:
    """copy_to_user returning 0 or -EFAULT."""
    try:
        copy_to_user(proc.mm, kernel.mmu, va, data)
    except UserFault:
        return -errno.EFAULT
    return 0


def user_path(kernel, proc, va: int, *, empty_ok: bool = False):
    """The NUL-terminated path at `va` as a str, or -EFAULT / -ENAMETOOLONG / -ENOENT (empty).

    Like Linux's getname: at most PATH_MAX bytes with the NUL, read up to page ends only,
    so a path that ends just before an unmapped page is fine.
    """
    try:
        out = read_user_string(proc.mm, kernel.mmu, va, PATH_MAX)
    except UserFault:
        return -errno.EFAULT
    if out is None:
        return -errno.ENAMETOOLONG
    if not out and not empty_ok:
        return -errno.ENOENT
    return os.fsdecode(out)
