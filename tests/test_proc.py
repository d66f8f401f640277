"""Processes and signals: fork/wait/kill/COW and signal handlers, natively and under emu.

Both guests check themselves (TAP); each must print the same lines and exit with the
same status on the host's Linux and under emu. Frames must all come back at exit.
"""

import io

import pytest

from emu.machine import Machine, Options
from tests.emu_runner import run_emu, run_native

pytestmark = pytest.mark.usefixtures("guests")


@pytest.mark.parametrize("name", ["proc_fork", "signals"])
def test_same_as_native(name):
    native = run_native(f"guest/{name}.elf")
    emulated = run_emu("run", "--timeout", "60", f"guest/{name}.elf")
    assert "not ok" not in emulated.stdout, emulated.stdout + emulated.stderr
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode == 0


def test_every_frame_comes_back_after_fork_and_exit(guests):
    """Reference counts return to their start when all processes have exited."""
    machine = Machine(Options(stdout=io.BytesIO()))
    before = (machine.frames.stats.small_in_use, machine.frames.stats.huge_in_use)
    report = machine.run(str(guests / "proc_fork.elf"), ["proc_fork.elf"], [])
    assert report.status == 0
    assert (machine.frames.stats.small_in_use, machine.frames.stats.huge_in_use) == before


def test_a_busy_loop_is_preempted(guests):
    """A child spinning for ever does not starve its parent (the parent kills it)."""
    result = run_emu("run", "--timeout", "60", "guest/proc_fork.elf")
    assert "ok 8 - the spinning child died of SIGTERM" in result.stdout


def test_sse_registers_survive_page_faults():
    """Exception entry changes CPL, CS, SS, RSP and RFLAGS only: XMM state must stay."""
    native = run_native("guest/sse_fault.elf")
    emulated = run_emu("run", "guest/sse_fault.elf")
    assert emulated.stdout == native.stdout and emulated.returncode == 0


def test_process_and_signal_corners():
    """SIGPIPE while blocked, wait4(-1), IOPL via sigreturn, real-time signals, SA_RESTART."""
    native = run_native("guest/proc_edges.elf")
    emulated = run_emu("run", "--timeout", "60", "guest/proc_edges.elf")
    assert emulated.stdout == native.stdout and emulated.returncode == native.returncode == 0


def test_timeout_stops_a_sleeping_guest():
    """With every process asleep, emu waits for the earliest wake-up, but --timeout still
    ends the run on time (status 124, one line)."""
    import time
    started = time.monotonic()
    result = run_emu("run", "--timeout", "1", "guest/sleep.elf", "10")
    assert result.returncode == 124
    assert result.stderr.strip().endswith("stopped after 1 s (--timeout)")
    assert time.monotonic() - started < 8
    assert run_emu("run", "guest/sleep.elf", "0").returncode == 0


def test_a_woken_process_is_not_starved_by_a_spinning_one():
    """A write that wakes a blocked reader makes time slices necessary at once: the
    writer, spinning afterwards, is preempted and the reader answers."""
    native = run_native("guest/wake.elf")
    emulated = run_emu("run", "--timeout", "60", "guest/wake.elf")
    assert emulated.stdout == native.stdout and emulated.returncode == native.returncode == 0
