"""Guest RAM sizes and the frame allocator: 4 KiB and 2 MiB frames, reference counts."""

import pytest

from emu.hardware.paging import HPAGE_SIZE, PAGE_SIZE
from emu.hardware.physmem import FrameAllocator, OutOfMemory, PhysicalMemory, check_memory_size, parse_size


@pytest.mark.parametrize("text,size", [("512M", 512 << 20), ("1G", 1 << 30), ("64m", 64 << 20),
                                       ("16777216", 16 << 20)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "abc", "1.5G", "-2M"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize("size,phrase", [(3 << 20, "multiple of 2 MiB"), (2 << 20, "too small"), (0, "too small")])
def test_bad_memory_sizes(size, phrase):
    with pytest.raises(ValueError, match=phrase):
        check_memory_size(size)


def test_ram_is_shared_with_the_host_buffer():
    mem = PhysicalMemory(16 << 20)
    mem.write_u64(0x1000, 0x1122334455667788)
    assert mem.buf[0x1000] == 0x88 and mem.read_u64(0x1000) == 0x1122334455667788


def test_small_and_huge_frames_are_aligned_and_distinct():
    frames = FrameAllocator(4 << 20, 16 << 20)
    small = {frames.alloc_frame() for _ in range(600)}       # more than one 2 MiB chunk
    assert len(small) == 600 and all(pa % PAGE_SIZE == 0 and pa >= 4 << 20 for pa in small)
    huge = frames.alloc_huge_frame()
    assert huge % HPAGE_SIZE == 0
    assert not any(huge <= pa < huge + HPAGE_SIZE for pa in small)
    assert frames.stats.small_in_use == 600 and frames.stats.huge_in_use == 1


def test_reference_counts_free_at_zero():
    frames = FrameAllocator(4 << 20, 16 << 20)
    pa = frames.alloc_frame()
    assert frames.get_frame(pa) == 2
    assert frames.put_frame(pa) == 1 and frames.page_count(pa) == 1
    assert frames.put_frame(pa) == 0 and frames.page_count(pa) == 0
    assert frames.stats.small_in_use == 0


def test_freed_small_frames_join_back_into_a_huge_frame():
    frames = FrameAllocator(4 << 20, 8 << 20)                 # exactly two chunks
    small = [frames.alloc_frame() for _ in range(1024)]        # both chunks split
    with pytest.raises(OutOfMemory):
        frames.alloc_huge_frame()
    for pa in small:
        frames.put_frame(pa)
    assert frames.free_bytes() == 4 << 20
    assert {frames.alloc_huge_frame(), frames.alloc_huge_frame()} == {4 << 20, 6 << 20}


def test_out_of_memory_is_reported():
    frames = FrameAllocator(4 << 20, 6 << 20)
    frames.alloc_huge_frame()
    with pytest.raises(OutOfMemory, match="--memory"):
        frames.alloc_frame()


def dirty_everything(mem, frames, pas):
    for pa in pas:
        mem.write(pa, b"\xAA" * PAGE_SIZE)


def test_zeroed_frames_are_zero_whether_or_not_they_were_used_before():
    """alloc_frame(clear_in=mem) skips the clearing only for RAM never handed out (still the
    host's zero fill); a frame used before comes back cleared."""
    mem, frames = PhysicalMemory(16 << 20), FrameAllocator(4 << 20, 16 << 20)
    first = frames.alloc_frame(clear_in=mem)
    assert first not in frames.pristine and mem.read(first, PAGE_SIZE) == bytes(PAGE_SIZE)
    assert len(frames.pristine) == 511                     # the rest of its chunk
    used = [frames.alloc_frame() for _ in range(8)]
    dirty_everything(mem, frames, used)
    for pa in used:
        frames.put_frame(pa)
    again = [frames.alloc_frame(clear_in=mem) for _ in range(600)]   # the used ones and fresh ones
    assert set(used) <= set(again)
    assert all(mem.read(pa, PAGE_SIZE) == bytes(PAGE_SIZE) for pa in again)


def test_a_chunk_used_as_a_huge_frame_is_not_pristine_afterwards():
    mem, frames = PhysicalMemory(16 << 20), FrameAllocator(4 << 20, 8 << 20)   # two chunks
    small = [frames.alloc_frame() for _ in range(513)]      # splits both chunks
    for pa in small:
        frames.put_frame(pa)                                 # both join back, unused frames too
    huge = frames.alloc_huge_frame()
    mem.write(huge, b"\xAA" * (2 << 20))
    frames.put_frame(huge)
    assert not frames.pristine
    fresh = [frames.alloc_frame(clear_in=mem) for _ in range(1024)]
    assert all(mem.read(pa, PAGE_SIZE) == bytes(PAGE_SIZE) for pa in fresh)


def test_a_physical_write_to_a_free_frame_is_remembered():
    """A debugger's physical-mode write to free RAM: that frame is cleared when allocated."""
    mem, frames = PhysicalMemory(16 << 20), FrameAllocator(4 << 20, 8 << 20)
    frames.alloc_frame()                                     # split the first chunk
    victim = max(frames.pristine)
    mem.write(victim, b"gdb")
    frames.written(victim)
    mem.write(6 << 20, b"gdb")                               # in the chunk not yet split
    frames.written(6 << 20)
    fresh = [frames.alloc_frame(clear_in=mem) for _ in range(1023)]
    assert victim in fresh and (6 << 20) in fresh
    assert all(mem.read(pa, PAGE_SIZE) == bytes(PAGE_SIZE) for pa in fresh)
