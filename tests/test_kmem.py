"""Kernel memory (emu/kernel/mm/kmem.py) and the fd table's lowest-free search.

Kernel buffers (pipe pages, socket skbs, epoll items, files, fd tables) are charged to
the frames `--memory` sizes; running out fails the guest's call (ENOMEM, ENOBUFS,
ENFILE, ENOSPC), never emu, and emu's own memory stays bounded. Guests compare the
limits Linux shows with a native run.
"""

import random

import pytest

from emu.kernel.fs import vfs as fs
from emu.kernel.mm.kmem import KernelMemory
from emu.hardware.physmem import FrameAllocator
from fuzz.common import run_emu as run_emu_measured
from tests.emu_runner import run_emu, run_native

MiB = 1 << 20


class File(fs.OpenFile):
    pass


class CountingDict(dict):
    """An fd table's `entries` that counts membership probes (a search by scanning)."""
    probes = 0

    def __contains__(self, key):
        CountingDict.probes += 1
        return super().__contains__(key)


def fd_search_work(table) -> int:
    return CountingDict.probes + getattr(type(table), "probes", 0)


def test_lowest_free_fd_takes_a_few_steps_for_200000_fds():
    """fs/file.c find_next_fd: a search skips full words through full_fds_bits, so
    each allocation looks at a bounded number of words (it was a scan from 0 over
    every open fd: quadratic, 5000 fds cost 12.5 million probes). The work counted is
    the words find_next_fd looks at and any membership probe of the fd map."""
    table = fs.FdTable()
    table.entries = CountingDict(table.entries)
    table.nofile = 1 << 20
    file = File(fs.O_RDONLY)
    fs.FdTable.probes = CountingDict.probes = 0
    for expected in range(5000):
        assert table.install(file) == expected
    assert fd_search_work(table) <= 2 * 5000
    for expected in range(5000, 200_000):
        assert table.install(file) == expected
    assert fd_search_work(table) <= 2 * 200_000
    fs.FdTable.probes = CountingDict.probes = 0
    for fd in range(0, 200_000, 7):
        table.close(fd)
    for fd in range(0, 200_000, 7):
        assert table.install(file) == fd
    assert table.install(file, lowest=150_000) == 200_000
    assert fd_search_work(table) <= 2 * (200_000 // 7 + 2)


def test_lowest_free_fd_matches_a_plain_search_under_random_churn():
    """install, install(lowest=), install_at and close in a random mix: always the lowest
    free fd at or above `lowest`, as a plain search finds it."""
    rng = random.Random(10)
    table, file, used = fs.FdTable(), File(fs.O_RDONLY), set()
    table.nofile = 1 << 20
    for _ in range(5000):
        action = rng.random()
        if action < 0.55:
            lowest = rng.choice((0, 0, rng.randrange(700)))
            expected = lowest
            while expected in used:
                expected += 1
            assert table.install(file, lowest=lowest) == expected
            used.add(expected)
        elif action < 0.9 and used:
            fd = rng.choice(sorted(used))
            assert table.close(fd) == 0
            used.discard(fd)
        else:
            fd = rng.randrange(800)
            table.install_at(fd, file)
            used.add(fd)
    assert set(table.entries) == used


def test_kernel_memory_takes_frames_and_gives_them_back():
    frames = FrameAllocator(0, 4 * MiB)
    kmem = KernelMemory(frames)
    assert kmem.charge(10_000) and frames.stats.small_in_use == 3
    assert not kmem.charge(4 * MiB)                  # more than there is: nothing taken
    assert kmem.used == 10_000 and frames.stats.small_in_use <= 3 + 16
    kmem.uncharge(10_000)
    assert frames.stats.small_in_use == 0            # nothing charged: every frame back


def test_a_pipe_charges_its_pages_and_fails_a_write_without_memory():
    """pipe_write allocates a page per buffer (-ENOMEM when none is left); a read that
    empties a page gives it back."""
    frames = FrameAllocator(0, 2 * MiB)
    kmem = KernelMemory(frames)
    pipe = fs.Pipe(kmem)
    assert kmem.charge(pipe.cost())                   # as sys_pipe2 does
    table = fs.FdTable()
    reader, writer = table.install(fs.PipeReader(pipe, 0)), table.install(fs.PipeWriter(pipe, fs.O_NONBLOCK))
    assert pipe.resize(1 << 20) == 1 << 20
    before = kmem.used
    assert writer_call(table, writer, bytes(3 * 4096)) == 3 * 4096 and kmem.used == before + 3 * 4096
    hog = KernelMemory(frames)
    while hog.charge(4096):
        pass
    assert writer_call(table, writer, b"x" * 5000) == -12           # ENOMEM: no page for it
    assert writer_call(table, writer, b"x" * 100) == -12            # nor room in the last (full) page
    assert table.get(reader).read(None, None, 4096, lambda data: None) == 4096
    assert writer_call(table, writer, b"x" * 100) == 100            # the freed page
    table.close_all()
    hog.uncharge(hog.used)
    assert frames.stats.small_in_use == 0


def writer_call(table, fd, data):
    return table.get(fd).write(None, None, data)


@pytest.mark.usefixtures("guests")
@pytest.mark.parametrize("name", ["kmem_limits", "fd_lowest", "sock_cycle"])
def test_same_as_native(name):
    """Socket fill counts by skb truesize, F_SETPIPE_SZ and pipe pages; lowest-free fds
    among 18 000; closed socket cycles collected (3000 of them under 64 MiB)."""
    native = run_native(f"guest/libc/{name}.elf")
    emulated = run_emu("run", "--memory", "64M", "--timeout", "60", f"guest/libc/{name}.elf")
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode == 0


@pytest.mark.usefixtures("guests")
def test_kernel_buffers_exhaust_the_guests_memory_not_emus():
    """Socket pairs with full queues, pipes of 1 MiB filled, epoll watches: under 64 MiB
    each stops with the errno Linux gives when its allocation fails, twice as far (the
    memory came back), and emu's peak RSS stays near the guest RAM plus its own."""
    result = run_emu_measured("run", "--memory", "64M", "guest/libc/kmem_exhaust.elf", timeout=60)
    assert b"Traceback" not in result.stderr, result.stderr
    assert result.stdout.decode().splitlines() == [
        "socket pairs: ENOBUFS, then ENOBUFS; second round as far",
        "pipes: ENOMEM, then ENOMEM; second round as far",
        "epoll watches: ENOSPC, then ENOSPC; second round as far",
        "16 MiB malloc'd and touched after all that",
    ]
    assert result.returncode == 0
    assert result.max_rss < 400 * MiB, result.max_rss
