"""test_walk_cli: `emu walk` explains a translation level by level, without changing it.

Four cases from the issue: a 4 KiB code page (hello's main), a 2 MiB page of
/dev/page-huge (test_cow at its first fork, after the first write), an unmapped va, and
the stub's supervisor page seen from ring 3. Plus: explain_walk changes no A/D bit and
no TLB LRU order, and bad input gets one line and status 2.
"""

import re

import pytest

from emu.elf import load_elf
from emu.debug.explain import explain_walk, run_until, split_va, va_bits
from emu.machine import Machine, Options
from emu.hardware.mmu import Access
from tests.emu_runner import run_emu

HELLO = "guest/hello.elf"
TEST_COW = "guest/test_cow.elf"
HUGE_VA = "0x7ffff7a00000"        # test_cow's mapping of /dev/page-huge (no randomisation)
KERNEL_VA = "0xffffffff80200000"  # the stub's text: supervisor, global


@pytest.mark.parametrize("level, bits", [(4, (47, 39)), (3, (38, 30)), (2, (29, 21)), (1, (20, 12))])
def test_va_bits_per_level(level, bits):
    assert va_bits(level) == bits


def test_split_va_names_every_index():
    assert split_va(0x00007ffff7a01234) == ("va 0x00007ffff7a01234 = PML4 255 | PDPT 511 | PD 445 | PT 1 | "
                                            "offset 0x234")


@pytest.mark.usefixtures("guests")
def test_4k_page_of_main():
    r = run_emu("walk", HELLO, "main", "--access", "fetch")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Hello from a guest" in r.stderr and "Hello" not in out     # the guest's output is on stderr
    for level, (high, low) in ((4, (47, 39)), (3, (38, 30)), (2, (29, 21)), (1, (20, 12))):
        assert re.search(rf"level {level}\): va bits {high}\.\.{low} = 0x[0-9a-f]{{3}} = \d+", out), out
    assert re.search(r"pte\[1\] at pa 0x[0-9a-f]{10} = 0x[0-9a-f]{16}", out)
    for flag in ("P=1   present", "RW=0  read-only", "US=1  user", "A=1   accessed", "NX=0  execution allowed",
                 "PS=0  this PDE points to a page table"):
        assert flag in out, flag
    assert re.search(r"Result: va 0x0000000000401000 -> pa 0x[0-9a-f]{10} .*a 4 KiB page, 4 levels", out), out
    assert "ring 3 may read, execute; a write is a #PF" in out
    assert re.search(r"TLB: the 4K TLB holds va 0x0000000000401000 -> pa", out), out


@pytest.mark.usefixtures("guests")
def test_2m_page_ends_at_the_pd():
    r = run_emu("walk", TEST_COW, HUGE_VA, "--at", "sys_fork")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith(f"emu walk: {TEST_COW} stopped: rip reached sys_fork\n")
    assert "PS=1  this PDE maps a 2 MiB page: the walk ends here, bits 20..0 of the va are the offset" in out
    assert "PT (level 1)" not in out
    assert "D=1   dirty" in out                       # step 3 wrote the page before the fork
    assert re.search(r"a 2 MiB page, 3 levels", out), out
    assert "TLB: the 2M TLB holds va 0x00007ffff7a00000" in out


@pytest.mark.usefixtures("guests")
def test_huge_va_not_yet_mapped_at_main():
    """At main, test_cow has not mmapped /dev/page-huge: the walk stops at the empty PDE."""
    r = run_emu("walk", TEST_COW, HUGE_VA, "--at", "main")
    assert r.returncode == 0, r.stderr
    assert "Result: #PF, not present at level 2" in r.stdout


@pytest.mark.usefixtures("guests")
def test_unmapped_va():
    r = run_emu("walk", HELLO, "0xdead0000")
    assert r.returncode == 0, r.stderr
    assert "process 1 called exit_group(0)" in r.stdout
    assert "P=0   not present: the walk stops here" in r.stdout
    assert "Result: #PF, not present at level 3: error code 0x4 (U)" in r.stdout
    assert "TLB: no entry for this page in either TLB" in r.stdout


@pytest.mark.usefixtures("guests")
def test_kernel_va_is_supervisor():
    r = run_emu("walk", HELLO, KERNEL_VA)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "US=0  supervisor: ring 0 only" in out and "G=1   global" in out
    assert "ring 3 may do nothing" in out
    assert "Result: #PF, user access to a supervisor page: error code 0x5 (P|U)" in out
    r0 = run_emu("walk", HELLO, KERNEL_VA, "--cpl", "0")
    assert re.search(r"Result: va 0xffffffff80200000 -> pa 0x0000200000", r0.stdout), r0.stdout


@pytest.mark.usefixtures("guests")
def test_after_insns():
    r = run_emu("walk", HELLO, "main", "--after-insns", "300")
    assert r.returncode == 0, r.stderr
    assert "stopped: after 300 instructions" in r.stdout


@pytest.mark.usefixtures("guests")
@pytest.mark.parametrize("args, phrase", [
    (("walk", HELLO, "no_such_symbol"), "neither a number nor a symbol"),
    (("walk", HELLO, "main", "--at", "nowhere"), "neither a number nor a symbol"),
    (("walk", HELLO, "main", "--access", "poke"), "unknown access"),
])
def test_bad_input(args, phrase):
    r = run_emu(*args)
    assert r.returncode == 2
    assert phrase in r.stderr


@pytest.mark.usefixtures("guests")
def test_explaining_changes_nothing():
    """No A/D bit is set, no TLB entry added, no LRU order changed by explain_walk."""
    machine = Machine(Options(memory=64 << 20))
    main = load_elf(HELLO).symbols["main"]
    run_until(machine, HELLO, [HELLO], [], at_va=main)
    ram_before = bytes(machine.mem.buf)
    tlb_before = [list(s.keys()) for part in (machine.mmu.tlb.small, machine.mmu.tlb.huge) for s in part.sets]
    for va in (main, 0x404000, 0xdead0000, 0xffffffff80200000, 1 << 60):
        for access in Access:
            assert explain_walk(machine.mmu, machine.mem, va, access, 3)
    assert bytes(machine.mem.buf) == ram_before
    assert [list(s.keys()) for part in (machine.mmu.tlb.small, machine.mmu.tlb.huge) for s in part.sets] == tlb_before


@pytest.mark.usefixtures("guests")
def test_non_canonical_is_gp():
    r = run_emu("walk", HELLO, "0x1000000000000000")
    assert "not canonical" in r.stdout and "#GP(0)" in r.stdout
