"""test_cli: `emu run` on bad programs and bad flags, --version/--help, tracing, --stats."""

import re

import pytest

from tests.elf_samples import BAD_PHRASES, BAD_PHRASES_M32, have_gcc, make_bad_samples, make_good_samples
from tests.emu_runner import run_emu, stderr_lines

HELLO = "guest/hello.elf"
PF_ROUNDTRIP = "guest/pf_roundtrip.elf"
USAGE_ERROR = 2


@pytest.fixture(scope="module")
def bad_samples(tmp_path_factory):
    if not have_gcc():
        pytest.skip("the samples are built with gcc")
    d = tmp_path_factory.mktemp("bad")
    return make_bad_samples(d, make_good_samples(d)["tiny"])


# --- programs emu refuses ------------------------------------------------------------

@pytest.mark.parametrize("name", [*BAD_PHRASES, *BAD_PHRASES_M32])
def test_bad_elf_one_line_exit_2(bad_samples, name):
    if name not in bad_samples:
        pytest.skip(f"{name}: no sample on this host (gcc -m32 cannot link)")
    phrase = {**BAD_PHRASES, **BAD_PHRASES_M32}[name]
    r = run_emu("run", bad_samples[name])
    assert r.returncode == USAGE_ERROR, r.stderr
    lines = stderr_lines(r)
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("emu: ")
    assert phrase in lines[0]
    assert r.stdout == ""


# --- bad flags -----------------------------------------------------------------------

BAD_FLAGS = {
    "memory_not_2m_multiple": (["run", "--memory", "3M", HELLO], "--memory"),
    "memory_too_small": (["run", "--memory", "2M", HELLO], "--memory"),
    "memory_not_a_size": (["run", "--memory", "abc", HELLO], "--memory"),
    "tlb_bad_ways": (["run", "--tlb", "4k=100/7", HELLO], "--tlb"),
    "tlb_bad_page_size": (["run", "--tlb", "9k=1/1", HELLO], "--tlb"),
    "trace_bogus": (["run", "--trace", "bogus", HELLO], "--trace"),
    "timeout_negative": (["run", "--timeout", "-1", HELLO], "--timeout"),
    "timeout_nan": (["run", "--timeout", "nan", HELLO], "--timeout"),
    "timeout_inf": (["run", "--timeout", "inf", HELLO], "--timeout"),
    "max_insns_zero": (["run", "--max-insns", "0", HELLO], "--max-insns"),
    "no_elf": (["run"], "ELF"),
    "unknown_command": (["frob", HELLO], "frob"),
    "no_command": ([], "COMMAND"),
}


@pytest.mark.parametrize("name", BAD_FLAGS)
def test_bad_flags_exit_2(name):
    argv, mention = BAD_FLAGS[name]
    r = run_emu(*argv)
    assert r.returncode == USAGE_ERROR, r.stderr
    assert r.stdout == ""
    lines = stderr_lines(r)
    # argparse's usage (a few lines) and one "error:" line; nothing long.
    assert 1 <= len(lines) <= 8, r.stderr
    errors = [line for line in lines if "error" in line]
    assert len(errors) == 1 and mention in errors[0], r.stderr


@pytest.mark.parametrize("argv, missing", [(["run"], "ELF"), (["walk"], "ELF, VA"),
                                           (["walk", HELLO], "VA")])
def test_a_missing_program_names_only_what_is_required(argv, missing):
    """The program's arguments are optional: argparse must not call ARGS required."""
    r = run_emu(*argv)
    assert r.returncode == USAGE_ERROR
    assert stderr_lines(r)[-1].endswith(f"error: the following arguments are required: {missing}"), r.stderr


def test_version():
    r = run_emu("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == "emu 0.1.0"


def test_help_lists_commands():
    r = run_emu("--help")
    assert r.returncode == 0
    assert "run" in r.stdout and "--version" in r.stdout


def test_run_help_lists_options():
    r = run_emu("run", "--help")
    assert r.returncode == 0
    for option in ("--memory", "--tlb", "--timeout", "--max-insns", "--trace", "--trace-file",
                   "--stats", "--env", "ELF"):
        assert option in r.stdout, option


def test_unwritable_trace_file(tmp_path):
    r = run_emu("run", "--trace", "syscall", "--trace-file", tmp_path / "no" / "such" / "dir", HELLO)
    assert r.returncode == USAGE_ERROR
    lines = stderr_lines(r)
    assert len(lines) == 1 and lines[0].startswith("emu: ") and "trace file" in lines[0]


# --- tracing -------------------------------------------------------------------------

@pytest.mark.usefixtures("guests")
def test_trace_syscall_on_stderr():
    r = run_emu("run", "--trace", "syscall", HELLO)
    assert r.returncode == 0, r.stderr
    lines = stderr_lines(r)
    assert lines and all(line.startswith("[syscall] ") for line in lines), r.stderr
    assert any("write(" in line for line in lines)
    assert "exit_group(" in lines[-1]
    assert r.stdout.startswith("Hello from a guest in ring 3!\n")


@pytest.mark.usefixtures("guests")
def test_trace_file(tmp_path):
    out = tmp_path / "trace.txt"
    r = run_emu("run", "--trace", "syscall", "--trace-file", out, HELLO)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    text = out.read_text()
    assert "write(" in text and "exit_group(" in text
    assert all(line.startswith("[syscall] ") for line in text.splitlines())
    assert r.stdout.startswith("Hello from a guest in ring 3!\n")


WALK_LEVELS = ("pml4e", "pdpte", "pde", "pte")


@pytest.mark.usefixtures("guests")
def test_trace_walk_tlb_fault():
    r = run_emu("run", "--trace", "walk,tlb,fault", PF_ROUNDTRIP)
    assert r.returncode == 0, r.stderr
    assert "not ok" not in r.stdout
    lines = stderr_lines(r)
    assert lines and all(re.match(r"\[(walk|tlb|fault)\] ", line) for line in lines), \
        [line for line in lines if not re.match(r"\[(walk|tlb|fault)\] ", line)][:5]
    walks = [line for line in lines if line.startswith("[walk] ")]
    tlbs = [line for line in lines if line.startswith("[tlb] ")]
    faults = [line for line in lines if line.startswith("[fault] ")]
    assert walks and tlbs and faults

    full = 0
    for line in walks:
        assert re.match(r"\[walk\] va 0x[0-9a-f]{16} ", line), line
        entries = re.findall(r"\b(pml4e|pdpte|pde|pte)\[\d+\]@0x[0-9a-f]+=0x[0-9a-f]+\(([^)]*)\)", line)
        names = [name for name, _ in entries]
        assert names == list(WALK_LEVELS[:len(names)]) and names, line
        if len(names) == 4:
            full += 1
        else:
            # A walk stops early only at a not-present entry (or a large page's PS entry).
            last_flags = entries[-1][1]
            assert "P" not in last_flags.split() or "PS" in last_flags.split(), line
    assert full, "no walk showed all of pml4e/pdpte/pde/pte"

    # Each page fault: one '#PF va ... error 0x..' line; the handler's verdict may follow.
    pf = [line for line in faults if line.startswith("[fault] #PF ")]
    assert pf
    for line in pf:
        assert re.match(r"\[fault\] #PF va 0x[0-9a-f]{16} \w+ error 0x[0-9a-f]+ ", line), line
    for line in faults:
        assert line.startswith("[fault] #PF va ") or line.startswith("[fault]   handled by "), line


# --- stats, memory and TLB geometry -----------------------------------------------------

def stats_rows(stderr: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"^\s*(TLB 4K|TLB 2M)\b.*$", stderr, re.M)}


@pytest.mark.usefixtures("guests")
def test_stats_table():
    r = run_emu("run", "--stats", HELLO)
    assert r.returncode == 0, r.stderr
    rows = stats_rows(r.stderr)
    assert set(rows) == {"TLB 4K", "TLB 2M"}, r.stderr
    for header in ("hits", "misses"):
        assert header in r.stderr
    assert "Hello from a guest" in r.stdout


@pytest.mark.usefixtures("guests")
def test_memory_1g():
    r = run_emu("run", "--memory", "1G", HELLO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Hello from a guest in ring 3!\n")
    assert r.stderr == ""


@pytest.mark.usefixtures("guests")
def test_tlb_geometry_in_stats():
    r = run_emu("run", "--tlb", "4k=64/4,2m=8/2", "--stats", PF_ROUNDTRIP)
    assert r.returncode == 0, r.stderr
    assert "not ok" not in r.stdout and "1..4" in r.stdout
    rows = stats_rows(r.stderr)
    assert "64/4-way" in rows["TLB 4K"], r.stderr
    assert "8/2-way" in rows["TLB 2M"], r.stderr


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_to_emu_ends_a_spinning_guest_in_one_line(sig):
    """Ctrl-C (or kill) while the guest spins in Unicorn, running no Python code: emu
    stops at once, says so in one line and exits 128+N; --stats is still printed."""
    import signal
    import subprocess
    import sys
    from tests.emu_runner import REPO
    proc = subprocess.Popen([sys.executable, "-m", "emu", "run", "--stats", "guest/spin.elf"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("spin:")          # the guest is running
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 128 + getattr(signal, sig)
    assert "Traceback" not in err
    assert f"stopped: emu got {sig}" in err
    assert "emu stats:" in err
