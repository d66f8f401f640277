"""test_guests: every guest program under `emu run`, and the same programs natively on the host.

The guests are real static x86-64 Linux binaries, so the host is the reference: a guest
that stops must print the same stdout and end with the same status natively and under emu.
"""

import re
import signal
import subprocess
import sys

import pytest

from tests.emu_runner import REPO, SIGNAL_STATUS, run_emu, run_native, stderr_lines

pytestmark = pytest.mark.usefixtures("guests")

HEX = r"0x[0-9a-fA-F]+"


def run_emu_run(*args, timeout: float = 30):
    return run_emu("run", *args, timeout=timeout)


def guest(name: str) -> str:
    """The guest's path relative to the repo root (emu and the native run both use it as argv[0])."""
    return f"guest/{name}.elf"


def kill_report(result, signame: str, code: str) -> tuple[str, str]:
    """Check the one- or two-line kill report; return (first line, rip line or '')."""
    lines = stderr_lines(result)
    assert 1 <= len(lines) <= 2, result.stderr
    assert all(line.startswith("emu: ") for line in lines), result.stderr
    assert signame in lines[0] and code in lines[0], lines[0]
    return lines[0], lines[1] if len(lines) > 1 else ""


def report_address(line: str) -> int:
    m = re.search(rf"at address ({HEX})", line)
    assert m, f"no faulting address in {line!r}"
    return int(m.group(1), 16)


def printed_address(stdout: str) -> int:
    m = re.search(rf"page at ({HEX})", stdout)
    assert m, f"the guest printed no address: {stdout!r}"
    return int(m.group(1), 16)


def rip_line(line: str) -> tuple[int, str]:
    """Split 'emu:   rip 0x...: INSN' into (rip, instruction text)."""
    m = re.match(rf"emu:\s+rip ({HEX}): (.+)$", line)
    assert m, f"no rip/instruction line: {line!r}"
    return int(m.group(1), 16), m.group(2).strip()


# --- hello ------------------------------------------------------------------------

def test_hello_no_args():
    r = run_emu_run(guest("hello"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "Hello from a guest in ring 3!",
        "argc = 1",
        "argv[0] = guest/hello.elf",
    ]
    assert r.stderr == ""


def test_hello_args_with_spaces():
    r = run_emu_run(guest("hello"), "two words", "", "  lead and trail  ", "x")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "Hello from a guest in ring 3!",
        "argc = 5",
        "argv[0] = guest/hello.elf",
        "argv[1] = two words",
        "argv[2] = ",
        "argv[3] =   lead and trail  ",
        "argv[4] = x",
    ]
    assert r.stderr == ""


def test_hello_exit_status_from_argv():
    r = run_emu_run(guest("hello"), "42")
    assert r.returncode == 42, r.stderr
    assert r.stdout.splitlines()[-1] == "exiting with status 42"
    assert "argv[1] = 42" in r.stdout
    assert r.stderr == ""


def test_hello_options_after_elf_go_to_the_guest():
    """Everything after ELF is the guest's argv, even if it looks like an emu option."""
    r = run_emu_run(guest("hello"), "--stats")
    assert r.returncode == 0, r.stderr
    assert "argv[1] = --stats" in r.stdout
    assert "TLB" not in r.stderr


# --- pf_roundtrip -----------------------------------------------------------------

def test_pf_roundtrip_tap_all_ok():
    r = run_emu_run(guest("pf_roundtrip"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    tests = [line for line in lines if re.match(r"(not )?ok \d+", line)]
    assert tests and all(line.startswith("ok ") for line in tests), r.stdout
    assert [int(line.split()[1]) for line in tests] == list(range(1, len(tests) + 1))
    assert f"1..{len(tests)}" in lines
    assert not any(line.startswith("not ok") for line in lines)
    assert r.stderr == ""


# --- fault guests -----------------------------------------------------------------

def test_ro_write_sigsegv_accerr_exact_address():
    r = run_emu_run(guest("ro_write"))
    assert r.returncode == SIGNAL_STATUS["SIGSEGV"] == 139, r.stderr
    first, second = kill_report(r, "SIGSEGV", "SEGV_ACCERR")
    printed = printed_address(r.stdout)
    assert printed & 0xFFF, "the test needs a faulting address inside a page"
    assert report_address(first) == printed, "emu must report the byte address, not the page"
    assert "not ok" not in r.stdout
    rip, text = rip_line(second)
    # The store is `mov dword ptr [rip + disp32], 7` (C7 05 disp32 imm32: 10 bytes);
    # its target must be the very address the guest printed.
    m = re.fullmatch(rf"mov dword ptr \[rip \+ ({HEX})\], 7", text)
    assert m, f"unexpected instruction {text!r}"
    assert rip + 10 + int(m.group(1), 16) == printed


def test_nx_sigsegv_accerr_at_ret():
    r = run_emu_run(guest("nx"))
    assert r.returncode == SIGNAL_STATUS["SIGSEGV"], r.stderr
    first, second = kill_report(r, "SIGSEGV", "SEGV_ACCERR")
    m = re.search(rf"data page at ({HEX})", r.stdout)
    assert m, r.stdout
    printed = int(m.group(1), 16)
    assert report_address(first) == printed
    rip, text = rip_line(second)
    assert rip == printed, "an instruction fetch faults at its own rip"
    assert text == "ret"


def test_divzero_sigfpe():
    r = run_emu_run(guest("divzero"))
    assert r.returncode == SIGNAL_STATUS["SIGFPE"] == 136, r.stderr
    _, second = kill_report(r, "SIGFPE", "FPE_INTDIV")
    _, text = rip_line(second)
    assert text.startswith("idiv"), text
    assert "not ok" not in r.stdout


def test_ud_sigill():
    r = run_emu_run(guest("ud"))
    assert r.returncode == SIGNAL_STATUS["SIGILL"] == 132, r.stderr
    _, second = kill_report(r, "SIGILL", "ILL_ILLOPN")
    _, text = rip_line(second)
    assert text == "ud2"
    assert "not ok" not in r.stdout


# --- limits -----------------------------------------------------------------------

def test_spin_timeout():
    r = run_emu_run("--timeout", "1", guest("spin"))
    assert r.returncode == 124, r.stderr
    lines = stderr_lines(r)
    assert len(lines) == 1 and lines[0].startswith("emu: ") and "--timeout" in lines[0], r.stderr
    assert r.stdout == "spin: looping forever\n"


def test_spin_max_insns():
    r = run_emu_run("--max-insns", "100000", guest("spin"))
    assert r.returncode == 124, r.stderr
    lines = stderr_lines(r)
    assert len(lines) == 1 and "--max-insns" in lines[0], r.stderr
    assert r.stdout == "spin: looping forever\n"


# --- differential: the host is the reference ---------------------------------------

DIFFERENTIAL = [
    ("hello", ("hello world", "7")),
    ("hello", ("a  b", "", "c")),
    ("pf_roundtrip", ()),
    ("ro_write", ()),
    ("nx", ()),
    ("divzero", ()),
    ("ud", ()),
    ("auxv", ()),
    ("auxv_pie", ()),
]


@pytest.mark.parametrize("name", ["auxv", "auxv_pie"])
def test_initial_stack_and_first_syscalls(name):
    """argv/envp/auxv per the SysV ABI, writev, -EFAULT and -ENOSYS; ET_EXEC and static-pie."""
    result = run_emu_run(guest(name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not ok" not in result.stdout
    assert result.stdout.rstrip().endswith("1..12")


@pytest.mark.parametrize("name,args", DIFFERENTIAL, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DIFFERENTIAL)])
def test_same_as_native(name, args):
    native = run_native(guest(name), *args)
    emulated = run_emu_run(guest(name), *args)
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode, emulated.stderr


# --- a guest writing to a closed pipe ----------------------------------------------

def test_write_to_closed_pipe_is_sigpipe():
    """`emu run guest/pf_roundtrip.elf | head -0`: Linux kills the writer with SIGPIPE."""
    proc = subprocess.Popen([sys.executable, "-m", "emu", "run", guest("pf_roundtrip")], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()          # long before the guest's first write (emu takes ~0.3 s to start)
    stderr = proc.stderr.read()
    status = proc.wait(timeout=30)
    assert "Traceback" not in stderr, stderr
    assert status == 128 + signal.SIGPIPE


def test_out_of_guest_memory_kills_with_sigkill():
    """No free frame at fault time: VM_FAULT_OOM, the process is killed (SIGKILL, 137)."""
    result = run_emu_run("--memory", "16M", guest("oom"))
    assert result.returncode == 137
    assert "killed by SIGKILL: out of memory" in result.stderr
    assert len(stderr_lines(result)) == 2
