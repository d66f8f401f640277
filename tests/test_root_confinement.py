"""--root confinement: a guest under --root-writable cannot change or read anything
outside the root through directory fds, the working directory, symlinks or renames.

The attacks run as scripts of guest/libc/root_escape.elf (see fuzz/root_escape.py, whose
Tree plants a secret dir and file next to the root with atimes set to show a read).
"""

import random

import pytest

from fuzz.common import Budget, Outcome
from fuzz.root_escape import Tree, campaign, run_script

pytestmark = pytest.mark.usefixtures("guests")


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path)


def ran(tree, ops):
    run, escaped = run_script(tree, ops)
    assert run.returncode == 0, run.tail()
    assert escaped == []
    return run.stdout.decode().splitlines()


def test_a_directory_fd_stays_on_its_directory_after_a_swap(tree):
    """Issue 10 point 1: open /d, rename it, put a link to the secret dir at /d: getdents64,
    fchmod, futimens and fsync through the old fd act on /d_old, as on Linux."""
    out = ran(tree, ["mkdir /d", "open /d/inner wc 1", "open /d d 0", "rename /d /d_old",
                     f"symlink {tree.secret} /d", "getdents 0", "fchmod 0 700", "futimens 0", "fsync 0",
                     "openat 0 inner r 2", "openat 0 secret.txt r 3"])
    listing = next(line for line in out if line.startswith("getdents"))
    assert "inner" in listing.split()
    assert "fchmod = 0" in out and "futimens = 0" in out and "fsync = 0" in out
    assert (tree.root / "d_old").stat().st_mode & 0o777 == 0o700
    assert out[-1] == "openat = -2"                         # no secret.txt in /d_old


def test_the_working_directory_stays_on_its_directory_after_a_swap(tree):
    """chdir /w, rename it, link /w to the secret dir: relative paths still start at /w_old,
    and getcwd says where it is now."""
    out = ran(tree, ["mkdir /w", "chdir /w", "rename /w /w_old", f"symlink {tree.secret} /w",
                     "openat cwd secret.txt r 1", "read 1", "mkdirat cwd made", "getcwd", "utimensat cwd . 0"])
    assert "openat = -2" in out
    assert "getcwd = 7 /w_old" in out
    assert (tree.root / "w_old" / "made").is_dir()


def test_getcwd_of_a_removed_directory_is_enoent(tree):
    out = ran(tree, ["mkdir /gone", "chdir /gone", "rmdir /gone", "getcwd", "open /gone_fd d 0"])
    assert "getcwd = -2 " in out


def test_utimensat_nofollow_with_null_times_sets_the_links_own_times(tree):
    """Issue 10 point 2: utimensat(AT_FDCWD, "/link", NULL, AT_SYMLINK_NOFOLLOW) on a link
    to a file outside the root changes the link, never the target."""
    link = tree.root / "link"
    out = ran(tree, [f"symlink {tree.secret / 'secret.txt'} /link", "utimensat cwd /link 1"])
    assert out[-1] == "utimensat = 0"
    assert link.lstat().st_mtime_ns > 2_000_000_000


def test_a_slice_of_the_escape_generator(tree):
    """Two random scripts of the fuzz campaign (a fixed seed): no escape, no traceback."""
    tally = campaign(random.Random(10), Budget(count=2))
    assert tally.failures == [], tally.failures[0].detail
    assert tally.outcomes[Outcome.OK] == 2


REMOVED_AND_O_PATH = ["mkdir d", "open d pd 0", "fchmod 0 700", "futimens 0", "fsync 0", "getdents 0",
                      "open d d 1", "rmdir d", "getdents 1", "fchmod 1 755", "fsync 1", "openat 1 x r 2",
                      "mkdir e", "chdir e", "rmdir ../e", "getcwd", "fstatat cwd . 0", "openat cwd x r 3",
                      "mkdirat cwd x", "chdir ..", "mkdir w", "chdir w", "rename ../w ../w2",
                      "mkdirat cwd made", "fstatat cwd made 0"]


def test_o_path_and_removed_directories_match_native(tmp_path):
    """Through an O_PATH directory fd, fchmod/futimens/fsync/getdents64 are -EBADF; a
    removed directory lists -ENOENT and a removed cwd's getcwd is -ENOENT (as natively)."""
    from fuzz.common import REPO, run_emu
    import subprocess
    (tmp_path / "native").mkdir()
    (tmp_path / "emu").mkdir()
    for side in ("native", "emu"):
        (tmp_path / side / ".script").write_text("\n".join(REMOVED_AND_O_PATH) + "\n")
    native = subprocess.run([REPO / "guest/libc/root_escape.elf", ".script"], cwd=tmp_path / "native",
                            capture_output=True, text=True)
    emulated = run_emu("run", "--root", tmp_path / "emu", "--root-writable", "guest/libc/root_escape.elf", "/.script")
    assert emulated.stdout.decode() == native.stdout
    assert "getdents = -2" in native.stdout and "fchmod = -9" in native.stdout


def test_proc_self_exe_does_not_follow_a_link_put_in_the_programs_place(tree):
    """The running program lies in the root; the guest renames it and puts a link to the
    secret file in its place: /proc/self/exe must not open the secret (emu opens the
    program's host path from the root fd without following links: -ELOOP here, where
    Linux would open the renamed file itself)."""
    import shutil
    from fuzz.common import run_emu
    from fuzz.root_escape import GUEST
    shutil.copy(GUEST, tree.root / "re.elf")
    (tree.root / ".script").write_text(f"rename /re.elf /re_old.elf\nsymlink {tree.top / 'secret_file.txt'} /re.elf\n"
                                       "open /proc/self/exe r 0\nread 0\n")
    before = tree.snapshot()
    run = run_emu("run", "--root", tree.root, "--root-writable", tree.root / "re.elf", "/.script")
    assert run.returncode == 0, run.tail()
    assert tree.token not in run.stdout.decode()
    assert tree.snapshot() == before
