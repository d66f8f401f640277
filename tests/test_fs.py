"""test_fs: files, pipes, devices, /proc and --root; guests run natively and under emu.

The guest/fs_*.c programs check themselves (TAP) and print only host-independent
values, so the host's Linux is the reference: same stdout, same exit status. The
native runs get what emu gives a guest: cwd /, RLIMIT_NOFILE 1024, and for fs_root a
chroot into the same directory (skipped when not root).
"""

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emu.kernel.fs import devices, vfs as fs
from emu.kernel.syscalls import SYSCALLS
from tests.emu_runner import REPO, run_emu

pytestmark = pytest.mark.usefixtures("guests")


def limit_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


def native(argv, *, chroot=None):
    """Run a guest on the host as emu runs it: cwd /, 1024 fds; 128+N for a signal death."""
    def setup():
        limit_fds()
        if chroot:
            os.chroot(chroot)
        os.chdir("/")
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30,
                            preexec_fn=setup, cwd="/")
    if result.returncode < 0:
        result.returncode = 128 - result.returncode
    return result


def tap_ok(result) -> bool:
    lines = result.stdout.splitlines()
    return bool(lines) and lines[-1].startswith("1..") and not any(l.startswith("not ok") for l in lines)


# ---- differential: guests natively and under emu -------------------------------------------

@pytest.mark.parametrize("name", ["fs_fd", "fs_pipe", "fs_dev"])
def test_same_as_native(name):
    elf = REPO / "guest" / f"{name}.elf"
    emulated = run_emu("run", f"guest/{name}.elf")
    assert tap_ok(emulated), emulated.stdout + emulated.stderr
    reference = native([elf])
    assert tap_ok(reference), reference.stdout
    assert emulated.stdout == reference.stdout
    assert emulated.returncode == reference.returncode == 0


@pytest.mark.skipif(57 not in SYSCALLS, reason="needs fork")
def test_pipe_between_processes():
    """A 100000-byte write through a 64 KiB pipe: the writer blocks until the reader reads."""
    emulated = run_emu("run", "guest/fs_pipe_fork.elf", timeout=60)
    reference = native([REPO / "guest/fs_pipe_fork.elf"])
    assert tap_ok(reference), reference.stdout
    assert emulated.stdout.splitlines()[:4] == reference.stdout.splitlines()[:4]


@pytest.mark.skipif(57 not in SYSCALLS, reason="needs fork")
def test_pipe_between_processes_whole_guest():
    emulated = run_emu("run", "guest/fs_pipe_fork.elf", timeout=60)
    reference = native([REPO / "guest/fs_pipe_fork.elf"])
    assert emulated.stdout == reference.stdout


def test_write_to_pipe_without_readers_is_sigpipe():
    emulated = run_emu("run", "guest/fs_sigpipe.elf")
    reference = native([REPO / "guest/fs_sigpipe.elf"])
    assert emulated.returncode == reference.returncode == 128 + 13
    assert emulated.stdout == reference.stdout
    assert "not ok" not in emulated.stdout


@pytest.mark.skipif(13 not in SYSCALLS, reason="needs rt_sigaction (signals)")
def test_write_to_pipe_without_readers_ignoring_sigpipe_is_epipe():
    emulated = run_emu("run", "guest/fs_sigpipe.elf", "ignore")
    reference = native([REPO / "guest/fs_sigpipe.elf", "ignore"])
    assert tap_ok(emulated) and emulated.stdout == reference.stdout


# ---- --root ----------------------------------------------------------------------------------

@pytest.fixture
def root(tmp_path):
    """DIR/root as the guest's /, with symlinks that try to leave it; DIR/secret.txt outside."""
    (tmp_path / "secret.txt").write_text("secret\n")
    top = tmp_path / "root"
    (top / "dir").mkdir(parents=True)
    (top / "hello.txt").write_text("hello, root\n")
    (top / "dir/inner.txt").write_text("inner\n")
    links = {"link_rel": "hello.txt", "link_abs": "/hello.txt", "dir/link_up": "../../../hello.txt",
             "link_out": "../secret.txt", "link_etc": "/etc/passwd", "loop1": "loop2", "loop2": "loop1",
             "dangling": "nothing"}
    for name, target in links.items():
        os.symlink(target, top / name)
    shutil.copy(REPO / "guest/fs_root.elf", top / "fs_root.elf")
    return top


def test_root_read_only(root):
    result = run_emu("run", "--root", root, "guest/fs_root.elf", "ro")
    assert tap_ok(result), result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("1..40")


@pytest.mark.skipif(os.geteuid() != 0, reason="the native side needs chroot (root)")
def test_root_same_as_native_chroot(root):
    emulated = run_emu("run", "--root", root, "guest/fs_root.elf")
    reference = native(["/fs_root.elf"], chroot=root)
    assert tap_ok(reference), reference.stdout
    assert emulated.stdout == reference.stdout


def test_without_root_there_are_no_host_files():
    result = run_emu("run", "guest/fs_cat.elf", "/etc/passwd")
    assert result.returncode == 1
    assert result.stdout == "fs_cat: /etc/passwd: error 2\n"          # ENOENT


def test_root_writable(root):
    result = run_emu("run", "--root", root, "--root-writable", "guest/fs_cat.elf", "/hello.txt")
    assert result.returncode == 0 and result.stdout == "hello, root\n"


def test_root_must_be_a_directory(tmp_path):
    result = run_emu("run", "--root", tmp_path / "missing", "guest/hello.elf")
    assert result.returncode == 2 and "not a directory" in result.stderr


def test_lookup_never_leaves_the_root(root):
    """fs.lookup's canonical paths for escaping names stay inside (checked without a guest)."""
    class K:
        pass
    kernel = K()
    kernel.devices = devices.standard_devices()
    from emu.kernel.fs.hostfs import HostRoot
    kernel.root = HostRoot(str(root))
    cases = {"/../secret.txt": ("secret.txt",), "/link_out": ("secret.txt",),
             "/dir/link_up": ("hello.txt",), "../../dir/..": (), "/dev/../link_abs": ("hello.txt",)}
    for path, parts in cases.items():
        assert fs.lookup(kernel, path).parts == parts, path
    assert fs.lookup(kernel, "/loop1") == -40
    assert fs.lookup(kernel, "/link_etc") == -2                  # the root has no /etc
    assert fs.lookup(kernel, "/x/..") == -2                      # x must exist, as in Linux
    assert fs.lookup(kernel, "/hello.txt/x") == -20


# ---- /proc formats -----------------------------------------------------------------------------

MEMINFO_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_()]+):\s+(?P<value>\d+)(?P<unit> kB)?$")


def meminfo_names(text: str) -> list:
    return [MEMINFO_LINE.match(line).group("name") for line in text.splitlines()]


def test_meminfo_layout_is_linux():
    result = run_emu("run", "--memory", "64M", "--hugepages", "5", "guest/fs_cat.elf", "/proc/meminfo")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    for line in lines:
        m = MEMINFO_LINE.match(line)
        assert m, line
        value_end = len(line) - (3 if m.group("unit") else 0)
        assert value_end >= 24 and (value_end == 24 or len(m.group("value")) > 8), f"misaligned: {line!r}"
        assert bool(m.group("unit")) == (not m.group("name").startswith("HugePages_")), line
    values = {MEMINFO_LINE.match(l).group("name"): int(MEMINFO_LINE.match(l).group("value")) for l in lines}
    assert values["MemTotal"] == (64 - 4) * 1024          # RAM above emu's 4 MiB kernel image
    assert 0 < values["MemFree"] < values["MemTotal"]
    assert values["Hugepagesize"] == 2048
    assert [values[n] for n in devices.HUGEPAGE_COUNTS] == [5, 5, 0, 0]     # Total Free Rsvd Surp


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="the host has no /proc/meminfo")
def test_meminfo_field_names_and_order_match_the_host():
    host = meminfo_names(Path("/proc/meminfo").read_text())
    ours = devices.MEMINFO_FIELDS
    common = [name for name in host if name in ours]
    assert common == [name for name in ours if name in host], "fields in a different order"
    for name in ("MemTotal", "MemFree", "MemAvailable", "HugePages_Total", "HugePages_Free",
                 "HugePages_Rsvd", "HugePages_Surp", "Hugepagesize"):
        assert name in host and name in ours


def test_meminfo_reads_the_hugetlb_pool():
    class Pool:
        nr_huge_pages, free_huge_pages, resv_huge_pages, surplus_huge_pages = 8, 5, 2, 1

    class K:
        frames = type("F", (), {"total_chunks": 8, "free_bytes": lambda self: 1 << 20})()
        mem = type("M", (), {"size": 16 << 20})()
        hugetlb_pool = Pool()
    text = devices.format_meminfo(devices.meminfo_values(K()))
    assert "HugePages_Total:       8\nHugePages_Free:        5\nHugePages_Rsvd:        2\n" in text
    assert "HugePages_Surp:        1\nHugepagesize:       2048 kB\nHugetlb:           16384 kB\n" in text


# fs/proc/task_mmu.c: "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then the name at column 73.
MAPS_LINE = re.compile(r"^(?P<start>[0-9a-f]{8,})-(?P<end>[0-9a-f]{8,}) (?P<perms>[r-][w-][x-][ps]) "
                       r"(?P<offset>[0-9a-f]{8,}) (?P<dev>[0-9a-f]{2,}:[0-9a-f]{2,}) (?P<inode>\d+) "
                       r"(?:\s*(?P<name>\S.*))?$")


def test_proc_self_maps_format():
    result = run_emu("run", "guest/fs_cat.elf", "/proc/self/maps")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    starts = []
    for line in lines:
        m = MAPS_LINE.match(line)
        assert m, repr(line)
        starts.append(int(m.group("start"), 16))
        if m.group("name"):
            assert line.index(m.group("name")) == 73, repr(line)
        else:
            assert line.endswith(" 0 "), repr(line)            # an anonymous line keeps its space
    assert starts == sorted(starts)
    assert any(line.endswith(" [stack]") and " rw-p " in line for line in lines)
    assert any(line.endswith("/guest/fs_cat.elf") and " r-xp " in line for line in lines)


def test_maps_line_matches_a_linux_line():
    """Lines as a Linux 6.x /proc/self/maps shows them (copied from this host)."""
    named = devices.format_maps_line(0x55e121e71000, 0x55e121e73000, 0x1, 0, os.makedev(0xfe, 0), 260131,
                                     "/usr/bin/cat")
    assert named == "55e121e71000-55e121e73000 r--p 00000000 fe:00 260131                     /usr/bin/cat"
    anon = devices.format_maps_line(0x7ff458e23000, 0x7ff458e45000, 0x3, 0, 0, 0, "")
    assert anon == "7ff458e23000-7ff458e45000 rw-p 00000000 00:00 0 "
    short = devices.format_maps_line(0x400000, 0x401000, 0x5 | 0x8, 0x1000, 0, 0, "[heap]")
    assert short == "00400000-00401000 r-xs 00001000 00:00 0" + " " * 34 + "[heap]"


# ---- the fd table in Python --------------------------------------------------------------------

class Counted(fs.OpenFile):
    released = 0

    def release(self):
        self.released += 1


def test_fd_table_refcounts_fork_and_cloexec():
    table = fs.FdTable()
    file = Counted(fs.O_RDONLY)
    assert table.install(file) == 0 and file.refcount == 1
    assert table.install(file, cloexec=True) == 1 and file.refcount == 2
    child = table.fork()
    assert file.refcount == 4 and child.entries[1].cloexec
    child.close_on_exec()
    assert 1 not in child.entries and file.refcount == 3
    child.close_all()
    table.close(0)
    assert file.refcount == 1 and not file.released
    table.close(1)
    assert file.released == 1
    assert table.close(1) == -9


def test_fd_table_grows_like_linux_and_a_fork_child_gets_a_fitting_table():
    """fs/file.c: 64 fds at first; alloc_fdtable rounds up to 128 << k; dup_fd sizes the
    child's table from its highest open fd. select's cut-off depends on this (poll.c)."""
    assert [fs.fdtable_size(fd) for fd in (64, 99, 127, 128, 255, 256, 600, 1023)] == \
        [128, 128, 128, 256, 256, 512, 1024, 1024]
    table = fs.FdTable()
    assert table.max_fds == 64
    file = Counted(fs.O_RDONLY)
    table.install_at(99, file)
    assert table.max_fds == 128
    table.close(99)
    assert table.max_fds == 128                # never shrinks
    table.install(file, lowest=70)
    assert table.fork().max_fds == 128         # fd 70 open: 128 in the child
    table.close(70)
    table.install(file)
    assert table.fork().max_fds == 64          # only fd 0: a fresh 64
    table.install_at(300, file)
    assert table.max_fds == 512 and table.fork().max_fds == 512


def test_pipe_ends_count_readers_and_writers():
    pipe = fs.Pipe()
    table = fs.FdTable()
    r = table.install(fs.PipeReader(pipe, 0))
    w = table.install(fs.PipeWriter(pipe, 0))
    child = table.fork()
    table.close(w)
    assert pipe.writers == 1                  # the child still holds the write end
    child.close_all()
    assert (pipe.readers, pipe.writers) == (1, 0)
    blocked = table.get(r).read(None, None, 10, lambda data: None)
    assert blocked == 0                       # no writers: EOF, not a wait


def test_empty_pipe_with_a_writer_blocks_until_data():
    pipe = fs.Pipe()
    reader, writer = fs.PipeReader(pipe, 0).get(), fs.PipeWriter(pipe, 0).get()
    got = []
    block = fs.do_read(None, None, reader, 10, got.append)
    assert block.ready() is False
    assert writer.write(None, None, b"abc") == 3
    assert block.ready() is True and block.complete() == 3 and got == [b"abc"]


def test_struct_stat_is_144_bytes():
    packed = fs.Stat(0o20666, rdev=0x103, size=5, mtime_ns=1_500_000_000).pack()
    assert len(packed) == 144
    assert int.from_bytes(packed[24:28], "little") == 0o20666          # st_mode at 24
    assert int.from_bytes(packed[40:48], "little") == 0x103            # st_rdev at 40
    assert int.from_bytes(packed[48:56], "little") == 5                # st_size at 48
    assert int.from_bytes(packed[88:96], "little") == 1                # st_mtime at 88
    assert int.from_bytes(packed[96:104], "little") == 500_000_000     # st_mtime_nsec


def test_listing_a_directory_inside_the_root_matches_native(tmp_path):
    """opendir/readdir (getdents64, several calls for 900 entries) and rewinddir."""
    directory = tmp_path / "d"
    (directory / "sub").mkdir(parents=True)
    for i in range(900):
        (directory / f"file-with-a-long-name-{i}").write_text("")
    (directory / "alink").symlink_to("sub")
    native = subprocess.run([REPO / "guest/libc/listdir.elf", directory], capture_output=True, text=True)
    emulated = run_emu("run", "--root", tmp_path, "guest/libc/listdir.elf", "/d")
    assert emulated.returncode == native.returncode == 0
    assert emulated.stdout == native.stdout
    assert "after rewinddir: 904 entries, the same count" in emulated.stdout


def test_listing_the_directories_emu_makes():
    """Without --root, / holds only /dev and /proc, and /dev only emu's devices."""
    root = run_emu("run", "guest/libc/listdir.elf", "/").stdout.splitlines()
    dev = run_emu("run", "guest/libc/listdir.elf", "/dev").stdout.splitlines()
    assert root[:-1] == [". dir", ".. dir", "dev dir", "proc dir"]
    assert dev[:-1] == [". dir", ".. dir", "null char", "page-huge char", "zero char"]


def test_changing_the_tree_in_a_writable_root_matches_native(tmp_path):
    """chdir, getcwd, mkdir, rmdir, unlink, rename, link, symlink, truncate, chmod, umask,
    utimensat and their errors (guest/libc/files.c), in a scratch directory natively and
    in a writable --root under emu; the guest prints only relative names."""
    (tmp_path / "native").mkdir()
    (tmp_path / "emu").mkdir()
    native = subprocess.run([REPO / "guest/libc/files.elf", tmp_path / "native"], capture_output=True, text=True)
    emulated = run_emu("run", "--root", tmp_path / "emu", "--root-writable", "guest/libc/files.elf", "/")
    assert emulated.returncode == native.returncode == 0
    assert emulated.stdout == native.stdout
    assert "rmdir sub (not empty)                        -1 ENOTEMPTY" in emulated.stdout
    assert sorted(p.name for p in (tmp_path / "emu").iterdir()) == ["work"]     # the guest cleaned up


def test_a_read_only_root_refuses_every_change(tmp_path):
    (tmp_path / "existing").write_text("x")
    result = run_emu("run", "--root", tmp_path, "guest/libc/files.elf", "/", "read-only")
    assert result.returncode == 0
    lines = [line.split() for line in result.stdout.splitlines()]
    assert [line[-1] for line in lines] == ["EROFS"] * 5 + ["EPERM", "EEXIST"]   # emu's own files: EPERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


@pytest.mark.parametrize("program", ["edge_fs_slashes", "edge_fs_calls", "edge_fs_opath"])
def test_file_tree_corner_cases_match_native(tmp_path, program):
    """Trailing slashes, /, dangling symlinks, AT_EMPTY_PATH ... (guest/libc/edge_fs_*.c)."""
    (tmp_path / "native").mkdir()
    (tmp_path / "emu").mkdir()
    native = subprocess.run([REPO / f"guest/libc/{program}.elf", tmp_path / "native"], capture_output=True, text=True)
    emulated = run_emu("run", "--root", tmp_path / "emu", "--root-writable", f"guest/libc/{program}.elf", "/")
    assert emulated.returncode == native.returncode == 0
    assert emulated.stdout == native.stdout


@pytest.mark.parametrize("args", [(), ("poll",)])
def test_epoll_and_poll_on_stdin_wait_for_late_input(args):
    """A wait on the host's stdin with no timeout is no deadlock: the input comes 0.5 s later."""
    emu = subprocess.Popen([sys.executable, "-m", "emu", "run", "--timeout", "20", "guest/libc/edge_stdin_wait.elf", *args],
                           cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    out, err = emu.communicate("hi\n", timeout=30)
    assert emu.returncode == 0, err
    assert out.splitlines()[-1].split()[:2] == ["read", "3"]
