"""Devices and /proc: a registry of paths to openers, /dev/null, /dev/zero, /proc/meminfo, /proc/self/*.

`DeviceRegistry.register(path, opener)` adds a file to the guest's namespace; a plugin
(a later issue's /dev/hugepages, say) extends it the same way. An opener is called as
`opener(kernel, proc, flags)` and returns an OpenFile (emu/kernel/fs/vfs.py) or -errno.
Registered paths shadow the host directory given with --root; the directories above
them (/dev, /proc, /proc/self) exist only as far as they hold registered files.
"""

import errno
import os
import stat as st

from ...hardware.paging import HPAGE_SIZE
from .vfs import DT_CHR, DT_DIR, DT_LNK, O_ACCMODE, O_RDONLY, O_WRONLY, SeekableFile, Stat, next_ino
from ..mm.memory import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, make_shared_anon

MEM_MAJOR = 1                   # drivers/char/mem.c: /dev/null is 1:3, /dev/zero 1:5
PROC_DEV = os.makedev(0, 22)    # procfs is mounted on an anonymous device number


class DeviceRegistry:
    """Guest paths -> openers, plus symlinks (/proc/self/exe) answered by a function."""

    def __init__(self):
        self.openers = {}
        self.links = {}

    def register(self, path: str, opener, *, link=None) -> None:
        """Add `path`; `link(kernel, proc)`, if given, is what readlink says about it."""
        self.openers[path] = opener
        if link is not None:
            self.links[path] = link

    def lookup(self, path: str):
        return self.openers.get(path)

    def is_directory(self, path: str) -> bool:
        """A directory that exists because registered files are inside it (/dev, /proc)."""
        return path != "/" and any(p.startswith(path + "/") for p in self.openers)

    def children(self, path: str) -> dict:
        """The names directly inside directory `path` that registered files make: each a
        file (DT_CHR, or DT_LNK for a link) or a directory of them (DT_DIR)."""
        prefix = path.rstrip("/") + "/"
        names = {}
        for registered in self.openers:
            if registered.startswith(prefix):
                name, _, rest = registered[len(prefix):].partition("/")
                names[name] = DT_DIR if rest else DT_LNK if registered in self.links else DT_CHR
        return names

    def readlink(self, path: str, kernel, proc):
        link = self.links.get(path)
        return None if link is None else link(kernel, proc)


# ---- /dev/null and /dev/zero --------------------------------------------------------------

class CharDevice(SeekableFile):
    """A character device of drivers/char/mem.c: lseek always gives 0 (null_lseek)."""
    minor = 0

    def lseek(self, offset, whence):
        self.offset = 0
        return 0

    def stat(self):
        return Stat(st.S_IFCHR | 0o666, rdev=os.makedev(MEM_MAJOR, self.minor), ino=self.minor,
                    dev=os.makedev(0, 5))


class NullFile(CharDevice):
    """/dev/null: reads are EOF, writes vanish."""
    minor = 3

    def pread(self, offset, count):
        return b""

    def pwrite(self, offset, data):
        return len(data)


class ZeroFile(CharDevice):
    """/dev/zero: reads give zeros, writes vanish, a private mapping is anonymous memory."""
    minor = 5

    def pread(self, offset, count):
        return bytes(min(count, 1 << 20))    # at most 1 MiB a call: a short read, as read(2) allows

    def pwrite(self, offset, data):
        return len(data)

    def mmap(self, kernel, proc, vma) -> int:
        """mmap_zero: a private mapping becomes anonymous memory (vma_set_anonymous); a
        shared one becomes shared anonymous memory, as MAP_SHARED|MAP_ANONYMOUS does
        (Linux's shmem_zero_setup)."""
        vma.name = ""
        if vma.shared:
            make_shared_anon(vma)
        else:
            vma.backing = None
        return 0


# ---- /proc files ------------------------------------------------------------------------

class ProcFile(SeekableFile):
    """A read-only /proc file whose text is made on the first read (seq_file-like)."""

    def __init__(self, kernel, proc, flags, path, generate):
        super().__init__(flags, path)
        self.kernel, self.proc, self.generate = kernel, proc, generate
        self.text = None
        self.ino = next_ino()

    def content(self) -> bytes:
        if self.text is None or self.offset == 0:
            self.text = self.generate(self.kernel, self.proc).encode()
        return self.text

    def size(self):
        return 0                     # /proc files report size 0, as Linux's do

    def pread(self, offset, count):
        return self.content()[offset:offset + count]

    def stat(self):
        return Stat(st.S_IFREG | 0o444, dev=PROC_DEV, ino=self.ino, blksize=1024)


def proc_opener(path: str, generate, write_error: int):
    """Files are 0444, but the guest runs as root, which may open them for writing (DAC
    override); the write then fails: -EIO from procfs's proc_reg_write for a file without
    a write op, -EINVAL from vfs_write for seq files like maps (FMODE_CAN_WRITE unset)."""
    def opener(kernel, proc, flags):
        file = ProcFile(kernel, proc, flags, path, generate)
        file.pwrite = lambda offset, data: -write_error
        return file
    return opener


# The fields of /proc/meminfo in Linux 6.x's order (fs/proc/meminfo.c, x86-64 config).
MEMINFO_FIELDS = [
    "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active",
    "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)",
    "Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty",
    "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable",
    "SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce",
    "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed",
    "VmallocChunk", "Percpu", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped",
    "FileHugePages", "FilePmdMapped", "Balloon", "HugePages_Total", "HugePages_Free",
    "HugePages_Rsvd", "HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k",
    "DirectMap2M", "DirectMap1G",
]
HUGEPAGE_COUNTS = ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp")


def meminfo_values(kernel) -> dict:
    """Sizes in bytes (counts for HugePages_*) from the frame allocator and the hugetlb pool.

    MemTotal is the RAM the frame allocator manages: like Linux's totalram_pages it leaves
    out the kernel image (emu's first 4 MiB). The hugetlb pool, once a later issue adds
    `kernel.hugetlb_pool`, is read through Linux's hstate field names.
    """
    frames = kernel.frames
    total = frames.total_chunks * HPAGE_SIZE
    free = frames.free_bytes()
    pool = getattr(kernel, "hugetlb_pool", None)
    counts = [getattr(pool, name, 0) if pool is not None else 0
              for name in ("nr_huge_pages", "free_huge_pages", "resv_huge_pages", "surplus_huge_pages")]
    values = dict.fromkeys(MEMINFO_FIELDS, 0)
    values.update(MemTotal=total, MemFree=free, MemAvailable=free, CommitLimit=total,
                  VmallocTotal=34359738367 << 10, Hugepagesize=HPAGE_SIZE,
                  Hugetlb=counts[0] * HPAGE_SIZE, DirectMap2M=kernel.mem.size
                  if hasattr(kernel.mem, "size") else total)
    values.update(zip(HUGEPAGE_COUNTS, counts))
    return values


def format_meminfo(values: dict) -> str:
    """Linux's layout: the name and colon padded to 16 columns, the value right-aligned in 8.

    show_val_kb prints `%-16s%8lu kB`; the HugePages_* counts are `%-16s%8lu` with no unit.
    """
    lines = []
    for name in MEMINFO_FIELDS:
        value = values[name]
        if name in HUGEPAGE_COUNTS:
            lines.append(f"{name + ':':<16}{value:>8}")
        else:
            lines.append(f"{name + ':':<16}{value >> 10:>8} kB")
    return "\n".join(lines) + "\n"


def generate_meminfo(kernel, proc) -> str:
    return format_meminfo(meminfo_values(kernel))


def format_maps_line(start: int, end: int, flags: int, offset: int, dev: int, ino: int, name: str) -> str:
    """One line of /proc/PID/maps (fs/proc/task_mmu.c, show_vma_header_prefix).

    `%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ` and, if the mapping has a name, spaces
    up to column 73 (seq_setwidth(25 + 6 * sizeof(void *) - 1), then seq_pad's one
    space) before the name. An anonymous line keeps the trailing space.
    """
    perms = "".join(c if flags & bit else "-" for c, bit in (("r", VM_READ), ("w", VM_WRITE), ("x", VM_EXEC)))
    perms += "s" if flags & VM_SHARED else "p"
    line = f"{start:08x}-{end:08x} {perms} {offset:08x} {os.major(dev):02x}:{os.minor(dev):02x} {ino} "
    if name:
        line = f"{line[:-1]:<72} {name}"
    return line


def vma_file_identity(kernel, vma) -> tuple:
    """(dev, ino) of a file-backed mapping's file on the host, (0, 0) for anonymous memory."""
    if vma.backing is None or not vma.name or vma.name.startswith("["):
        return 0, 0
    try:
        fd = open_host(kernel, vma.name, os.O_PATH)
    except OSError:
        return 0, 0
    try:
        s = os.fstat(fd)
    finally:
        os.close(fd)
    return s.st_dev, s.st_ino


def open_host(kernel, path: str, flags: int) -> int:
    """os.open of a host path emu keeps, never following a link a guest planted in the
    root (HostRoot.open_host_path). Raises OSError."""
    if kernel.root is None:
        return os.open(path, flags | os.O_CLOEXEC)
    return kernel.root.open_host_path(path, flags)


def generate_maps(kernel, proc) -> str:
    """Every VMA of the process, lowest address first (fs/proc/task_mmu.c show_map_vma)."""
    lines = []
    for vma in proc.mm.vmas:
        dev, ino = vma_file_identity(kernel, vma)
        name = vma.name if not vma.name or vma.name.startswith("[") else os.path.abspath(vma.name)
        lines.append(format_maps_line(vma.start, vma.end, vma.flags, vma.offset, dev, ino, name))
    return "".join(line + "\n" for line in lines)


# ---- /proc/self/exe -----------------------------------------------------------------------

def exe_target(kernel, proc) -> str:
    """The program's absolute host path (the guest cannot see it under --root; Linux's
    answer would be its path inside the chroot)."""
    return os.path.abspath(proc.path)


def open_exe(kernel, proc, flags):
    """Opening /proc/self/exe opens the program file itself, read-only."""
    from .hostfs import HostFile
    if flags & O_ACCMODE != O_RDONLY:
        return -errno.ETXTBSY if flags & O_ACCMODE == O_WRONLY else -errno.EACCES
    try:
        fd = open_host(kernel, proc.path, os.O_RDONLY)
    except OSError as err:
        return -err.errno
    return HostFile(fd, flags, exe_target(kernel, proc))


def open_comm(kernel, proc, flags):
    """/proc/self/comm: the task's name and a newline; a write renames it (fs/proc/base.c's
    comm_write: the first 15 bytes, taken as they are)."""
    file = ProcFile(kernel, proc, flags, "/proc/self/comm", lambda kernel, proc: proc.comm + "\n")

    def rename(offset, data):
        proc.comm = bytes(data[:15]).split(b"\0")[0].decode(errors="replace")
        return len(data)
    file.pwrite = rename
    return file


def standard_devices() -> DeviceRegistry:
    registry = DeviceRegistry()
    registry.register("/dev/null", lambda kernel, proc, flags: NullFile(flags, "/dev/null"))
    registry.register("/dev/zero", lambda kernel, proc, flags: ZeroFile(flags, "/dev/zero"))
    registry.register("/proc/meminfo", proc_opener("/proc/meminfo", generate_meminfo, errno.EIO))
    registry.register("/proc/self/maps", proc_opener("/proc/self/maps", generate_maps, errno.EINVAL))
    registry.register("/proc/self/exe", open_exe, link=exe_target)
    registry.register("/proc/self/comm", open_comm)
    return registry

