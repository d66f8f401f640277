"""Guest-physical RAM (one host buffer) and the frame allocator that hands it out.

RAM is an anonymous host mmap that Unicorn maps at guest-physical address 0 with
`mem_map_ptr`, so Python reads a page-table entry with `struct.unpack_from` on the
same bytes the guest CPU sees, with no copy and no Unicorn call.

The allocator thinks in 2 MiB chunks. A chunk is free, a whole huge frame, or split
into 512 small 4 KiB frames. Small frames come from split chunks; a chunk whose small
frames are all free again is joined back, so huge frames stay available after
small-frame churn. Every allocated frame has a reference count (frames are shared
between address spaces by copy-on-write); `put_frame` frees it at zero.
"""

import ctypes
import mmap
import struct
from dataclasses import dataclass

from .paging import HPAGE_SIZE, PAGE_SIZE

MIN_MEMORY = 16 * 1024 * 1024          # room for the kernel stub, page tables and a program
FRAMES_PER_CHUNK = HPAGE_SIZE // PAGE_SIZE
U64 = struct.Struct("<Q")          # a page-table entry; compiled once (struct.unpack_from("<Q") looks it up per call)
ZERO_PAGE = bytes(PAGE_SIZE)
ZERO_HPAGE = bytes(HPAGE_SIZE)


class OutOfMemory(Exception):
    """No free frame of the size asked for."""


def parse_size(text: str) -> int:
    """Parse '512M', '1G', '64m' or a byte count into bytes; ValueError if malformed."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip()
    scale = units.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale != 1 else text
    if not digits.isdigit():
        raise ValueError(f"bad size {text!r} (use e.g. 512M or 1G)")
    return int(digits) * scale


def check_memory_size(size: int) -> None:
    """Raise ValueError unless `size` is a usable guest RAM size."""
    if size % HPAGE_SIZE:
        raise ValueError(f"memory size {size:#x} is not a multiple of 2 MiB")
    if size < MIN_MEMORY:
        raise ValueError(f"memory size {size >> 20} MiB is too small (at least {MIN_MEMORY >> 20} MiB)")


class PhysicalMemory:
    """`size` bytes of guest RAM at guest-physical address 0."""

    def __init__(self, size: int):
        check_memory_size(size)
        self.size = size
        self.buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.view = memoryview(self.buf)
        self.host_address = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))

    def read_u64(self, pa: int) -> int:
        return U64.unpack_from(self.buf, pa)[0]

    def write_u64(self, pa: int, value: int) -> None:
        U64.pack_into(self.buf, pa, value)

    def read(self, pa: int, size: int) -> bytes:
        return self.buf[pa:pa + size]

    def write(self, pa: int, data: bytes) -> None:
        self.buf[pa:pa + len(data)] = data

    def zero(self, pa: int, size: int) -> None:
        zeros = ZERO_PAGE if size == PAGE_SIZE else ZERO_HPAGE if size == HPAGE_SIZE else bytes(size)
        self.buf[pa:pa + size] = zeros

    def copy(self, dst_pa: int, src_pa: int, size: int) -> None:
        self.buf[dst_pa:dst_pa + size] = self.buf[src_pa:src_pa + size]


@dataclass
class FrameStats:
    small_in_use: int = 0
    huge_in_use: int = 0


class FrameAllocator:
    """4 KiB and 2 MiB frames with reference counts, over [first_pa, end_pa)."""

    def __init__(self, first_pa: int, end_pa: int):
        first_chunk = -(-first_pa // HPAGE_SIZE)
        self.free_chunks = set(range(first_chunk, end_pa // HPAGE_SIZE))
        self.total_chunks = len(self.free_chunks)
        self.free_small: dict[int, set[int]] = {}   # split chunk -> its free frame pas
        self.refcount: dict[int, int] = {}           # frame pa -> references
        self.huge: set[int] = set()                  # pas of frames handed out as 2 MiB
        self.stats = FrameStats()
        # RAM nobody has written yet is zero: guest RAM is anonymous host memory.
        self.unused_chunks = set(self.free_chunks)   # chunks never handed out
        self.pristine: set[int] = set()              # 4 KiB frames never handed out
        # A frame that held executable code was freed: QEMU may still have translations
        # keyed by its physical address, which would run in place of the frame's next
        # contents (written by emu from the host, which QEMU's self-modifying-code
        # tracking never sees). The kernel flushes them before the guest runs again.
        self.code_freed = False

    def alloc_frame(self, *, clear_in=None) -> int:
        """Return the pa of a fresh 4 KiB frame with one reference. Not zeroed, unless
        `clear_in` (the PhysicalMemory) is given: then it is filled with zeros (Linux's __GFP_ZERO).

        A frame never handed out before is zero already and is not cleared again. Besides
        the clearing, that saves committing the host's page here: the guest's first store
        to it does that instead (a host page fault costs microseconds on its own).
        """
        chunk = next(iter(self.free_small), None)
        if chunk is None:
            chunk = self._take_chunk()
            base = chunk * HPAGE_SIZE
            self.free_small[chunk] = set(range(base, base + HPAGE_SIZE, PAGE_SIZE))
            if chunk in self.unused_chunks:
                self.unused_chunks.discard(chunk)
                self.pristine.update(self.free_small[chunk])
        frames = self.free_small[chunk]
        pa = frames.pop()
        if not frames:
            del self.free_small[chunk]
        if pa in self.pristine:
            self.pristine.discard(pa)
        elif clear_in is not None:
            clear_in.zero(pa, PAGE_SIZE)
        self.refcount[pa] = 1
        self.stats.small_in_use += 1
        return pa

    def written(self, pa: int) -> None:
        """RAM at `pa` was written without being allocated (a debugger's physical write):
        it is no longer known to be zero."""
        self.pristine.discard(pa & ~(PAGE_SIZE - 1))
        self.unused_chunks.discard(pa // HPAGE_SIZE)

    def alloc_huge_frame(self) -> int:
        """Return the pa of a fresh 2 MiB-aligned 2 MiB frame with one reference."""
        pa = self._take_chunk() * HPAGE_SIZE
        self.unused_chunks.discard(pa // HPAGE_SIZE)
        self.huge.add(pa)
        self.refcount[pa] = 1
        self.stats.huge_in_use += 1
        return pa

    def get_frame(self, pa: int) -> int:
        """Take one more reference on an allocated frame; return the new count."""
        self.refcount[pa] += 1
        return self.refcount[pa]

    def put_frame(self, pa: int) -> int:
        """Drop one reference; free the frame when none is left. Return the new count."""
        count = self.refcount[pa] - 1
        if count:
            self.refcount[pa] = count
            return count
        del self.refcount[pa]
        if pa in self.huge:
            self.huge.discard(pa)
            self.free_chunks.add(pa // HPAGE_SIZE)
            self.stats.huge_in_use -= 1
        else:
            self._free_small(pa)
        return 0

    def page_count(self, pa: int) -> int:
        return self.refcount.get(pa, 0)

    def free_bytes(self) -> int:
        small = sum(len(frames) for frames in self.free_small.values())
        return len(self.free_chunks) * HPAGE_SIZE + small * PAGE_SIZE

    def _take_chunk(self) -> int:
        if not self.free_chunks:
            raise OutOfMemory("guest RAM exhausted (no free 2 MiB chunk); try a larger --memory")
        chunk = min(self.free_chunks)
        self.free_chunks.remove(chunk)
        return chunk

    def _free_small(self, pa: int) -> None:
        chunk = pa // HPAGE_SIZE
        frames = self.free_small.setdefault(chunk, set())
        frames.add(pa)
        self.stats.small_in_use -= 1
        if len(frames) == FRAMES_PER_CHUNK:      # the whole chunk is free: join it
            del self.free_small[chunk]
            self.free_chunks.add(chunk)
            self.pristine.difference_update(frames)   # it may become a huge page and be written
