"""The syscall fuzzer: guest/fuzz_syscalls.elf issues seeded random system calls with
interesting arguments (see its header); each emu run does a few thousand.

An input is one emu run (SEED 0 COUNT). A traceback, a hang or host memory over its
bound is a failure; its reproducer is found by running the same range again with the
guest's log on (the last "call I:" line before emu died is the trigger) and then call I
alone: "fuzz_syscalls.elf SEED I 1 1 v" when it fails by itself.
"""

import random
import re
import shutil
import tempfile
from pathlib import Path

from collections import Counter

from .common import FAILURES, REPO, Budget, Outcome, Tally, classify, run_emu, run_many

GUEST = REPO / "guest" / "fuzz_syscalls.elf"
CALLS_PER_RUN = 6000
CHUNK = 1500
TIMEOUT = 60
# guest RAM (--memory 64M) + Python, Unicorn and lief: far below this unless something grows.
RSS_BOUND = 700 << 20
SUMMARY = re.compile(rb"fuzz_syscalls: seed \d+ calls (\d+) chunks (\d+) killed (\d+) hung (\d+)")
CALL_LINE = re.compile(rb"^call (\d+): .*$", re.M)


def run_guest(seed: int, start: int, count: int, chunk: int = CHUNK, verbose: bool = False, timeout=TIMEOUT,
              runner=run_emu):
    """One emu run of the fuzzer; an odd seed runs it in a fresh writable --root (a file,
    a directory, a symlink), an even one with emu's default files only. `runner` is
    run_emu (a new interpreter) or, from a single-threaded caller, a forked run."""
    args = [seed, start, count, chunk] + (["v"] if verbose else [])
    if seed % 2 == 0:
        return runner("run", "--memory", "64M", GUEST, *args, timeout=timeout)
    root = Path(tempfile.mkdtemp(prefix="fuzz-root-"))
    try:
        (root / "a").write_text("a file\n")
        (root / "d").mkdir()
        (root / "d" / "f").write_text("f\n")
        (root / "l").symlink_to("d/f")
        shutil.copy(GUEST, root / "fuzz_syscalls.elf")
        return runner("run", "--memory", "64M", "--root", root, "--root-writable", GUEST, *args,
                      timeout=timeout)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def outcome_of(run) -> Outcome:
    outcome = classify(run, rss_bound=RSS_BOUND)
    if outcome is Outcome.OK and not SUMMARY.search(run.stdout):
        return Outcome.GUEST_ERROR        # the fuzzer itself was ended: worth a look, not emu's bug
    return outcome


def reproducer(seed: int, count: int, failing: Outcome) -> str:
    """The smallest replay of a failing run found cheaply: one call alone if it fails
    alone, else the range up to the call emu died in."""
    logged = run_guest(seed, 0, count, verbose=True)
    calls = CALL_LINE.findall(logged.stdout)
    lines = [m.group(0).decode(errors="replace") for m in CALL_LINE.finditer(logged.stdout)]
    if not calls:
        return f"fuzz_syscalls.elf {seed} 0 {count} {CHUNK}"
    last = int(calls[-1])
    alone = run_guest(seed, last, 1, chunk=1, verbose=True)
    if outcome_of(alone) is failing:
        return f"fuzz_syscalls.elf {seed} {last} 1 1 v -> {lines[-1]}"
    return f"fuzz_syscalls.elf {seed} 0 {last + 1} {CHUNK} v -> {lines[-1]}"


def campaign(rng: random.Random, budget: Budget) -> Tally:
    tally = Tally("syscalls")
    figures = {"syscalls": 0, "chunks": 0, "chunks killed by a signal": 0, "chunks hung": 0}
    distinct = Counter()
    seeds = iter(lambda: rng.getrandbits(32), None)
    for seed, run in run_many(seeds, lambda s: run_guest(s, 0, CALLS_PER_RUN), budget):
        outcome = outcome_of(run)
        summary = SUMMARY.search(run.stdout)
        if summary:
            for key, value in zip(figures, summary.groups()):
                figures[key] += int(value)
        repro = ""
        if outcome in FAILURES:
            repro = reproducer(seed, CALLS_PER_RUN, outcome)
            distinct[f"{outcome.value}: {where(run)}"] += 1
        tally.add(outcome, repro, run.tail())
        if outcome is Outcome.GUEST_ERROR:
            figures.setdefault("fuzzer ended early (seeds)", []).append(seed)
    tally.figures.update(figures)
    if distinct:
        tally.figures["distinct failures (where emu raised: runs)"] = dict(distinct)
    return tally


def where(run) -> str:
    """A failure's signature: the last three functions of emu/ in the traceback and the
    exception's type ("kernel/proc_calls.py:sys_waitid > ... UserFault")."""
    lines = run.stderr.decode(errors="replace").splitlines()
    frames = [re.search(r'/emu/([^"]+)", line \d+, in (\w+)', line) for line in lines]
    names = [f"{m.group(1)}:{m.group(2)}" for m in frames if m]
    last = lines[-1].split(":")[0].rsplit(".", 1)[-1] if lines else "no output"
    return " > ".join(names[-3:] or ["?"]) + " " + last
