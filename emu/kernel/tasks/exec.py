"""execve: turn an ElfImage into a fresh address space and the program's first registers.

The first program is made this way at boot (Kernel.exec_first); later ones by the
execve system call (sys_execve here, Kernel.exec_image for the point of no return).

The PT_LOAD segments become VMAs backed by the file (paged in on first touch); the
stack is a VMA below STACK_TOP that grows on demand. The initial stack is laid out
as the System V x86-64 ABI (section 3.4.1) and Linux's fs/binfmt_elf.c build it:

    rsp ->  argc
            argv[0] ... argv[argc-1], NULL
            envp[0] ... envp[n-1], NULL
            auxv pairs (AT_PHDR, AT_PHNUM, ...), AT_NULL
            ... padding, 16 random bytes (AT_RANDOM), the strings ...   <- STACK_TOP
"""

import errno
import os
import stat as st
import struct
import dataclasses
from dataclasses import dataclass

from ..arch.syscall import SyscallError
from ...elf import ElfError, ElfImage, load_elf
from ...hardware.physmem import OutOfMemory
from ..fs.devices import open_host
from ..fs.vfs import lookup
from ..arch.uaccess import UserFault, copy_from_user, copy_to_user, read_user_string, user_path
from ..mm.memory import (VM_EXEC, VM_GROWSDOWN, VM_READ, VM_WRITE, FileBacking, Mm, Vma, page_down, page_up)
from ..mm.pagetable import PageTables

STACK_TOP = 0x7FFF_FFFF_F000      # Linux x86-64 without randomisation
STACK_SIZE = 8 << 20              # RLIMIT_STACK default, 8 MiB

# Auxiliary vector types (Linux include/uapi/linux/auxvec.h).
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_EXECFN = 23, 25, 31


@dataclass(frozen=True)
class StartState:
    """Where the new program starts: its first rip and rsp."""
    entry: int
    rsp: int


def segment_vmas(image: ElfImage) -> list:
    """One file-backed VMA per PT_LOAD segment, page-rounded.

    Simplification: if two segments share a page, the later VMA starts at the next
    page and the shared page gets the first segment's rights (static binaries made by
    GNU ld keep segments on separate pages).
    """
    backing = FileBacking([(seg.va, seg.data) for seg in image.segments])
    vmas = []
    for seg in image.segments:
        flags = (VM_READ if seg.read else 0) | (VM_WRITE if seg.write else 0) | (VM_EXEC if seg.execute else 0)
        start = page_down(seg.va)
        if vmas and start < vmas[-1].end:
            start = vmas[-1].end
        end = page_up(seg.va + seg.memsz)
        if start < end:
            file_offset = seg.offset - (seg.va - start)     # the file offset at the VMA's start
            vmas.append(Vma(start, end, flags, name=image.path, backing=backing,
                            pgoff=max(file_offset, 0) >> 12))
    return vmas


def build_mm(mem, frames, kernel_pt: PageTables, image: ElfImage, mmu, kernel=None) -> Mm:
    pt = PageTables(mem, frames)
    pt.share_kernel_half(kernel_pt)
    mm = Mm(mem, frames, pt, mmu=mmu, kernel=kernel,
            hugetlb_pool=getattr(kernel, "hugetlb_pool", None))
    for vma in segment_vmas(image):
        mm.insert_vma(vma)
    mm.insert_vma(Vma(STACK_TOP - STACK_SIZE, STACK_TOP, VM_READ | VM_WRITE | VM_GROWSDOWN, name="[stack]"))
    return mm


def build_stack(mm: Mm, mmu, image: ElfImage, argv: list, envp: list, execfn: str | None = None) -> StartState:
    """Write argc, argv, envp and auxv on the new stack (through the MMU); return the start.
    `execfn` is the path AT_EXECFN names (execve's first argument; the image's path by default)."""
    strings = bytearray()
    offsets = []
    for text in list(argv) + list(envp) + [image.path if execfn is None else execfn]:
        offsets.append(len(strings))
        strings += text if isinstance(text, bytes) else os.fsencode(text)
        strings += b"\0"
    strings_va = (STACK_TOP - len(strings)) & ~0xF
    random_va = strings_va - 16
    addresses = [strings_va + off for off in offsets]
    argv_vas, envp_vas, execfn_va = addresses[:len(argv)], addresses[len(argv):-1], addresses[-1]

    auxv = [(AT_PHDR, image.phdr_va), (AT_PHENT, image.phent), (AT_PHNUM, image.phnum),
            (AT_PAGESZ, 4096), (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, image.entry),
            (AT_UID, 0), (AT_EUID, 0), (AT_GID, 0), (AT_EGID, 0), (AT_HWCAP, 0x178BFBFF),
            (AT_CLKTCK, 100), (AT_SECURE, 0), (AT_RANDOM, random_va), (AT_EXECFN, execfn_va),
            (AT_NULL, 0)]
    words = [len(argv), *argv_vas, 0, *envp_vas, 0]
    for key, value in auxv:
        words += [key, value]
    rsp = (random_va - 8 * len(words)) & ~0xF      # rsp is 16-byte aligned at _start
    copy_to_user(mm, mmu, strings_va, bytes(strings))
    copy_to_user(mm, mmu, random_va, os.urandom(16))
    copy_to_user(mm, mmu, rsp, struct.pack(f"<{len(words)}Q", *words))
    return StartState(image.entry, rsp)


# -- the execve system call --------------------------------------------------------------

MAX_ARG_STRLEN = 32 * 4096        # one argument or environment string, NUL included (Linux)
ARG_MAX = STACK_SIZE // 4         # all of them, with their pointers: a quarter of the stack limit


def user_string_array(kernel, proc, va: int, budget: list):
    """The strings of a NULL-terminated array of pointers at `va` (argv or envp), as bytes;
    -EFAULT for a bad pointer, -E2BIG past MAX_ARG_STRLEN or the shared ARG_MAX `budget`."""
    strings = []
    if not va:
        return strings                   # Linux takes a NULL argv or envp as empty
    try:
        while True:
            pointer = struct.unpack("<Q", copy_from_user(proc.mm, kernel.mmu, va + 8 * len(strings), 8))[0]
            if not pointer:
                return strings
            text = read_user_string(proc.mm, kernel.mmu, pointer, MAX_ARG_STRLEN)
            if text is None:
                return -errno.E2BIG
            budget[0] -= len(text) + 1 + 8
            if budget[0] < 0:
                return -errno.E2BIG
            strings.append(text)
    except UserFault:
        return -errno.EFAULT


def executable_path(kernel, proc, path: str):
    """The host file execve(`path`) runs, or -errno: a regular file with an execute bit,
    inside --root, or /proc/self/exe (the running program)."""
    found = lookup(kernel, path, base=proc.fs.cwd)
    if isinstance(found, int):
        return found
    if found.path == "/proc/self/exe":
        return proc.path
    if found.device is not None or found.dir is None or not found.parts:
        return -errno.EACCES             # a device, a directory: nothing to run
    try:                                 # the lookup followed every link inside the root
        info = os.stat(found.name, dir_fd=found.dir.fd, follow_symlinks=False)
    except OSError as err:
        return -err.errno
    if not st.S_ISREG(info.st_mode) or not info.st_mode & 0o111:
        return -errno.EACCES
    return kernel.root.host_path(found.parts)     # a name: read through open_host only


MAX_INTERPRETERS = 4              # Linux's BINPRM_MAX_RECURSION: scripts run by scripts


def interpreter_line(kernel, host: str):
    """A `#!` script's (interpreter, argument or b""), as Linux's binfmt_script reads its
    first line (everything after the interpreter's name is one argument); None for any
    other file."""
    try:
        with os.fdopen(open_host(kernel, host, os.O_RDONLY), "rb") as file:
            head = file.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip()
    name, _, argument = line.replace(b"\t", b" ").partition(b" ")
    return (os.fsdecode(name), argument.strip()) if name else None


def load_program(kernel, host: str):
    """The ElfImage of the program at `host`, read through an fd opened without
    following any link (devices.open_host) and named by `host`; or -errno."""
    try:
        fd = open_host(kernel, host, os.O_RDONLY)
    except OSError as err:
        return -err.errno
    try:
        image = load_elf(f"/proc/self/fd/{fd}")
    except ElfError:
        return -errno.ENOEXEC            # not an ELF emu can run (the file is fine as data)
    finally:
        os.close(fd)
    return dataclasses.replace(image, path=host)


def sys_execve(kernel, proc, path_va, argv_va, envp_va, *_):
    """Replace the calling program (fs/exec.c): everything up to loading the file can
    still fail with -errno; after that the old address space is gone."""
    path = user_path(kernel, proc, path_va)
    if isinstance(path, int):
        return path
    budget = [ARG_MAX]
    argv = user_string_array(kernel, proc, argv_va, budget)
    if isinstance(argv, int):
        return argv
    envp = user_string_array(kernel, proc, envp_va, budget)
    if isinstance(envp, int):
        return envp
    host = executable_path(kernel, proc, path)
    for _ in range(MAX_INTERPRETERS + 1):           # a script's interpreter may be a script
        if isinstance(host, int):
            return host
        script = interpreter_line(kernel, host)
        if script is None:
            break
        interpreter, argument = script
        argv = [os.fsencode(interpreter)] + ([argument] if argument else []) + [os.fsencode(path)] + argv[1:]
        host = executable_path(kernel, proc, interpreter)
    else:
        raise SyscallError(errno.ELOOP)
    image = load_program(kernel, host)
    if isinstance(image, int):
        return image
    try:
        kernel.exec_image(proc, image, argv, envp, execfn=path)
    except OutOfMemory:
        raise SyscallError(errno.ENOMEM)
    return 0
