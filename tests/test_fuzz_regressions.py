"""What `make fuzz` found, pinned; and a small fixed-seed slice of each campaign of mine
(syscalls, ELF mutants, exhaustion), so `make test` runs the harness itself.

Each reproducer is the smallest input found: a case of guest/fuzz_repro.c (which passes
natively too) or an exhaustion case of guest/libc/fuzz_exhaust.c.
"""

import random

import pytest

from emu_runner import REPO, run_native
from fuzz import elf_mutants, exhaustion, syscalls
from fuzz.common import FAILURES, Budget, Outcome, run_forked

REPRO = REPO / "guest" / "fuzz_repro.elf"
EXHAUST = REPO / "guest" / "libc" / "fuzz_exhaust.elf"


def run_emu(*args):
    """emu ARGS forked from this process (emu is imported once: fast); text output."""
    run = run_forked(*args, timeout=60)
    assert not run.traceback, run.stderr.decode(errors="replace")
    run.stdout, run.stderr = run.stdout.decode(errors="replace"), run.stderr.decode(errors="replace")
    return run


@pytest.mark.parametrize("case", ["reparent_exit_signal", "sendmsg_name"])
def test_repro_matches_native(guests, case):
    """reparent_exit_signal: a child made with clone(SIGUSR1) and orphaned was reparented
    with its exit signal, so the new parent got SIGUSR1 (the fuzzer's clone(SIGKILL) killed
    process 1) and a plain wait4 could not reap it. sendmsg_name: any sendmsg with a name
    was a NameError traceback."""
    native = run_native(REPRO, case)
    assert native.returncode == 0 and "not ok" not in native.stdout, native.stdout
    emu = run_emu("run", REPRO, case)
    assert emu.returncode == 0 and "not ok" not in emu.stdout, emu.stdout + emu.stderr
    assert emu.stdout.count("\nok ") == native.stdout.count("\nok ")


def test_fork_out_of_memory_leaks_no_frame(guests):
    """fork whose copy of the page tables runs out of memory took a frame reference before
    writing the child's entry: 'memory leaked at exit' (an EmulatorBug traceback) once
    process 1 was OOM-killed."""
    result = run_emu("run", "--memory", "16M", EXHAUST, "forks", 400, 6)
    assert result.stderr.startswith("emu: "), result.stderr
    assert result.returncode in (0, 128 + 9), result.stderr


def test_threads_max(guests):
    """clone past threads-max (RAM / 128 KiB, Linux's set_max_threads) is EAGAIN: under
    --memory 16M (12 MiB of RAM for the guest) 96 tasks, so 95 threads besides main.
    A thread or fork bomb used to go on until emu ran out of time or host memory."""
    result = run_emu("run", "--memory", "16M", EXHAUST, "threads", 1000)
    assert result.returncode == 0, result.stderr
    assert "fuzz_exhaust threads: 95 threads then EAGAIN" in result.stdout


def test_syscall_fuzzer_slice(guests):
    """A few thousand fuzzed calls, with and without a writable --root, and one call
    replayed alone with the log: the harness runs and emu survives it."""
    for seed in (2, 3):
        run = syscalls.run_guest(seed, 0, 1500, runner=run_forked)
        assert syscalls.outcome_of(run) is Outcome.OK, run.tail()
        assert syscalls.SUMMARY.search(run.stdout)
    one = syscalls.run_guest(2, 1234, 1, chunk=1, verbose=True, runner=run_forked)
    assert syscalls.CALL_LINE.findall(one.stdout) == [b"1234"]


def test_elf_mutants_slice(guests):
    tally = elf_mutants.campaign(random.Random("test"), Budget(count=24))
    assert tally.tried == 24
    assert not any(tally.outcomes[o] for o in FAILURES), tally.failures


@pytest.mark.parametrize("case", ["fds", "stack", "page_huge"])
def test_exhaustion_slice(guests, case):
    run, bound = exhaustion.run_case(case, 32, runner=run_forked)
    assert not run.traceback and run.returncode is not None and run.max_rss <= bound, run.tail()
    assert exhaustion.ended_as_expected(case, run), run.tail()
