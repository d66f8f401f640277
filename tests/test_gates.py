"""The CPU's gates from ring 3: `int $N` for all 256 vectors, int3, icebp, TF, I/O
instructions and sysenter give what Linux gives, natively compared (guest/libc/int_vectors.c).

Two lines differ from this host by design (docs/kernel.md, "Exceptions from user mode"):
- `int $0x80`: emu has no 32-bit system call entry, as Linux booted with ia32_emulation=0
  (gate 0x80 has DPL 0: #GP, SIGSEGV); a Linux with IA32 emulation runs a 32-bit call.
- `sysenter`: emu's CPU is an Intel one (CPUID), where Linux without IA32 emulation makes
  SYSENTER #GP (SIGSEGV); an AMD host raises #UD (SIGILL).
"""

import re
import subprocess

import pytest

from tests.emu_runner import SIGNAL_STATUS, run_emu, run_native

pytestmark = pytest.mark.usefixtures("guests")
ELF = "guest/libc/int_vectors.elf"
GP_LINE = "SEGV si_code 128 si_addr 0 rip insn"          # #GP: SIGSEGV, SI_KERNEL, rip at the insn
BY_DESIGN = {
    "int $0x80": ({"no signal, rax -38", GP_LINE}, GP_LINE),
    "sysenter": ({"ILL si_code 2 si_addr insn rip insn", GP_LINE}, GP_LINE),
}


def lines_by_probe(output: str) -> dict:
    return dict(line.split(": ", 1) for line in output.splitlines())


@pytest.fixture(scope="module")
def emulated():
    return run_emu("run", "--timeout", "60", ELF)


@pytest.fixture(scope="module")
def emulated_probes(emulated):
    return lines_by_probe(emulated.stdout)


def test_all_vectors_and_traps_as_native(emulated):
    native = run_native(ELF)
    assert emulated.returncode == native.returncode == 0, emulated.stderr
    expected, got = lines_by_probe(native.stdout), lines_by_probe(emulated.stdout)
    assert list(got) == list(expected)           # every probe ran, in order: the machine never stopped
    assert len([name for name in got if name.startswith("int $")]) == 256
    for name, (linux_answers, emu_answer) in BY_DESIGN.items():
        assert expected.pop(name) in linux_answers
        assert got.pop(name) == emu_answer
    assert got == expected


@pytest.mark.parametrize("probe,line", [
    ("int3", "TRAP si_code 128 si_addr 0 rip next"),                  # do_int3: force_sig, SI_KERNEL
    ("icebp", "TRAP si_code 1 si_addr next rip next"),                # #DB without DR6_BS: TRAP_BRKPT
    ("in al, 0x60", GP_LINE), ("in al, dx", GP_LINE), ("insb", GP_LINE), ("out 0x80, al", GP_LINE),
    ("int3 with a returning handler", "TRAP, rip next, handler ran 1 time(s), continued"),
    ("TF after popf; nop", "TRAP si_code 2 si_addr next rip next, handler ran 1 time(s), continued"),
    ("TF over a syscall (getpid)", "traps before-syscall after-nop later"),     # no trap at the syscall's end
    ("int $0x8", GP_LINE), ("int $0xe", GP_LINE), ("int $0", GP_LINE), ("int $0x6", GP_LINE),
    # QEMU keeps the last exception in flight until it delivers one, which Unicorn never
    # does: a second contributory fault (#DE, #GP) became a #DF that stopped the machine.
    ("div by 0", "FPE si_code 1 si_addr insn rip insn"), ("div by 0 again", "FPE si_code 1 si_addr insn rip insn"),
    ("int $0x3", "TRAP si_code 128 si_addr 0 rip next"), ("int $0x4", "SEGV si_code 128 si_addr 0 rip next"),
])
def test_linux_answers(probe, line, emulated_probes):
    """What Linux x86-64 answers, spelled out (a host-independent statement of the above)."""
    assert emulated_probes[probe] == line


def probe_address(vector: int) -> int:
    """Where `int $vector` sits in int_vectors.elf (int_probes + 8 * N + 5)."""
    symbols = subprocess.run(["nm", ELF], capture_output=True, text=True, check=True).stdout
    base = int(re.search(r"^([0-9a-f]+) T int_probes$", symbols, re.M).group(1), 16)
    return base + 8 * vector + 5


@pytest.mark.parametrize("vector", [8, 14, 0x41])
def test_gp_report_names_the_int_instruction(vector):
    """No handler: killed by SIGSEGV; the rip printed is the INT's (a #GP is a fault), not the next one."""
    result = run_emu("run", ELF, "raw", str(vector))
    assert result.returncode == run_native(ELF, "raw", str(vector)).returncode == SIGNAL_STATUS["SIGSEGV"]
    assert "killed by SIGSEGV (SI_KERNEL): general protection fault (#GP)" in result.stderr
    insn = re.search(rf"rip {probe_address(vector):#018x}: int (\S+)", result.stderr)
    assert insn and int(insn.group(1), 0) == vector, result.stderr


def test_int3_without_handler_is_sigtrap():
    result = run_emu("run", ELF, "raw", "3")
    assert result.returncode == run_native(ELF, "raw", "3").returncode == 128 + 5
    assert "killed by SIGTRAP (SI_KERNEL): breakpoint (#BP, int3)" in result.stderr
