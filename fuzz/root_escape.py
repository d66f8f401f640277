"""The --root escape generator: random scripts of symlinks, renames and fd tricks.

Each input is one emu run of guest/libc/root_escape.elf under `--root T/root
--root-writable`, with a script of operations (see the guest's comment) drawn from the
seed. Outside the root, T/secret holds a secret file and a file named by a secret; every
symlink target the generator plants aims there (absolute host paths, `..` chains, paths
through the guest's own names) or dangles. After the run nothing outside the root may
have changed (content, mode, times with atime made sensitive to reads, listings), and
no secret may appear in the guest's output: either is Outcome.ESCAPE.
"""

import os
import random
import secrets
import shutil
import tempfile
from pathlib import Path

from .common import REPO, Budget, Outcome, Tally, classify, run_emu

GUEST = REPO / "guest/libc/root_escape.elf"
OPS_PER_RUN = 120
NAMES = ["/d", "/d_old", "/e", "/l", "/m", "/dir/x", "/dir/l", "d", "l", "x", "dir", "dir/d", "/f.txt",
         "dir/f.txt", "/new", "/dir/new"]
SLOTS = "0123"
FLAGS = ["r", "d", "p", "pd", "n", "b", "bc", "wct", "wce", "bcn", "pn", "rd"]


class Tree:
    """T/root (the guest's /) and T/secret outside it, with the secrets to look for."""

    def __init__(self, top: Path):
        self.top = top
        self.root = top / "root"
        self.secret = top / "secret"
        self.token = "SECRET" + secrets.token_hex(8)          # the secret file's content
        self.name_token = "NAMED" + secrets.token_hex(8)      # a file name in the secret dir
        (self.root / "dir").mkdir(parents=True)
        (self.root / "f.txt").write_text("inside\n")
        (self.root / "dir" / "f.txt").write_text("inside dir\n")
        self.secret.mkdir()
        (self.secret / "secret.txt").write_text(self.token + "\n")
        (self.secret / self.name_token).write_text("x")
        (top / "secret_file.txt").write_text(self.token + "\n")
        for path in self.outside_paths():
            os.utime(path, ns=(1_000_000_000, 2_000_000_000), follow_symlinks=False)   # atime < mtime: a read shows

    def outside_paths(self):
        yield self.top
        yield self.top / "secret_file.txt"
        yield self.secret
        yield self.secret / "secret.txt"
        yield self.secret / self.name_token

    def snapshot(self) -> dict:
        """lstat of everything outside the root a guest could change or read: a change of
        content or of a listing moves mtime/ctime, a read or a listing moves atime (it
        was set older than mtime, so relatime updates it). Only lstat: reading here
        would move the atimes itself."""
        seen = {}
        for path in self.outside_paths():
            s = os.lstat(path)
            seen[str(path)] = (s.st_mode, s.st_size, s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)
        return seen

    def targets(self) -> list[str]:
        """Symlink targets: at the secrets by every route, inside the root, dangling."""
        return [str(self.secret), str(self.secret / "secret.txt"), str(self.top / "secret_file.txt"),
                "../secret", "../secret/secret.txt", "../../secret", "../../../secret/secret.txt",
                "/../secret", "/../../secret_file.txt", "..", "../..", "/", "/dir", "dir", "d", "l",
                "/nowhere/at/all", "dangling", str(self.top), str(self.root / ".." / "secret")]


def random_op(rng: random.Random, tree: Tree) -> str:
    name, other = rng.choice(NAMES), rng.choice(NAMES)
    slot, slot2 = rng.choice(SLOTS), rng.choice(SLOTS + "c")
    dirfd = "cwd" if slot2 == "c" else slot2
    target = rng.choice(tree.targets())
    choices = [
        (8, f"symlink {target} {name}"),
        (5, f"open {name} {rng.choice(FLAGS)} {slot}"),
        (4, f"openat {dirfd} {rng.choice(['secret.txt', 'x', 'f.txt', '..', '.', 'l', 'd', '../secret'])} "
            f"{rng.choice(FLAGS)} {slot}"),
        (5, f"rename {name} {other}"),
        (3, f"mkdir {name}"),
        (2, f"rmdir {name}"),
        (3, f"unlink {name}"),
        (3, f"getdents {slot}"),
        (3, f"read {slot}"),
        (2, f"write {slot} overwritten"),
        (2, f"fchmod {slot} {rng.choice(['777', '0', '4755'])}"),
        (2, f"futimens {slot}"),
        (1, f"fsync {slot}"),
        (1, f"ftruncate {slot} 0"),
        (2, f"fchdir {slot}"),
        (2, f"chdir {rng.choice(NAMES + ['..', '/', 'secret'])}"),
        (1, "getcwd"),
        (2, f"link {name} {other}" + (" follow" if rng.random() < 0.5 else "")),
        (1, f"linkfd {slot} {other}"),
        (2, f"truncate {name} 0"),
        (2, f"chmod {name} {rng.choice(['777', '0'])}"),
        (3, f"utimensat {dirfd} {rng.choice(NAMES + ['secret.txt', 'l'])} {rng.randrange(2)}"),
        (2, f"utimes {dirfd} {rng.choice(NAMES + ['secret.txt', 'l'])} {rng.randrange(2)}"),
        (2, f"fstatat {dirfd} {rng.choice(NAMES + ['-', 'secret.txt'])} {rng.choice(['', 'n', 'e', 'ne']) or '0'}"),
        (1, f"readlink {name}"),
        (1, f"unlinkat {dirfd} {rng.choice(['x', 'l', 'd', 'secret.txt'])}"),
        (1, f"renameat {dirfd} {rng.choice(['x', 'l', 'd'])} {rng.choice(SLOTS + 'c').replace('c', 'cwd')} "
            f"{rng.choice(['x', 'l', 'd', 'y'])}"),
        (1, f"close {slot}"),
    ]
    return rng.choices([op for _, op in choices], weights=[w for w, _ in choices])[0]


def swap_trick(rng: random.Random, tree: Tree) -> list[str]:
    """The classic: hold a directory (an fd or the cwd), move it away, put a link to the
    secrets where it was, then act through what is held."""
    name, slot = rng.choice(["/d", "/dir/d", "/e"]), rng.choice(SLOTS)
    ops = [f"mkdir {name}", f"open {name} {rng.choice(['d', 'pd', 'r'])} {slot}", f"chdir {name}",
           f"rename {name} {name}_old", f"symlink {rng.choice(tree.targets()[:8])} {name}"]
    ops += rng.sample([f"getdents {slot}", f"fchmod {slot} 777", f"futimens {slot}", f"fsync {slot}",
                       f"openat {slot} secret.txt r 9", "read 9", "openat cwd secret.txt r 8", "read 8",
                       f"utimensat {slot} secret.txt 0", "utimensat cwd secret.txt 1", "getcwd",
                       f"mkdirat {slot} planted", "open secret.txt wct 7", f"fchdir {slot}",
                       f"openat {slot} .. d 6", "getdents 6"], 8)
    return ops


def script(rng: random.Random, tree: Tree, count: int = OPS_PER_RUN) -> list[str]:
    ops = []
    while len(ops) < count:
        ops += swap_trick(rng, tree) if rng.random() < 0.15 else [random_op(rng, tree)]
    return ops


def run_script(tree: Tree, ops: list[str], *, timeout: float = 60):
    """(EmuRun, what escaped: a list of changes or leaks, empty if none)."""
    (tree.root / ".script").write_text("\n".join(ops) + "\n")
    before = tree.snapshot()
    run = run_emu("run", "--root", tree.root, "--root-writable", GUEST, "/.script", timeout=timeout)
    after = tree.snapshot()
    escaped = [f"{key}: {before[key]!r} -> {after.get(key)!r}" for key in before if before[key] != after.get(key)]
    escaped += [f"new outside: {key}" for key in after if key not in before]
    output = run.stdout.decode(errors="replace")
    escaped += [f"{token} in the guest's output" for token in (tree.token, tree.name_token) if token in output]
    return run, escaped


def campaign(rng: random.Random, budget: Budget) -> Tally:
    tally = Tally("root")
    runs = ops_done = 0
    while budget.spend():
        top = Path(tempfile.mkdtemp(prefix="emu-root-escape-"))
        try:
            tree = Tree(top)
            ops = script(rng, tree)
            run, escaped = run_script(tree, ops)
            runs += 1
            ops_done += len(ops)
            outcome = Outcome.ESCAPE if escaped else classify(run)
            tally.add(outcome, reproducer="\n".join(ops), detail="\n".join(escaped) or run.tail())
        finally:
            shutil.rmtree(top, ignore_errors=True)
    tally.figures.update(runs=runs, operations=ops_done)
    return tally
