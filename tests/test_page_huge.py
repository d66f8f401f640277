"""/dev/page-huge (plugins/page_huge.py): the guests, the seed's two bugs, the zero page, plugins."""

import io
import subprocess
import sys

import pytest

from emu.kernel.mm.hugetlb import follow_hugetlb_page, hugetlb_change_protection, huge_pte_offset, unmap_hugepage_range
from emu.kernel.mm.memory import VM_HUGETLB, VM_READ, VM_WRITE, Vma, VmFault
from emu.machine import Machine, Options
from emu.hardware.paging import HPAGE_SIZE, PTE_RW
from plugins.page_huge import page_fault, page_pagetable_ops
from tests.emu_runner import REPO, run_emu, stderr_lines

pytestmark = pytest.mark.usefixtures("guests")
HUGE_GUESTS = [("test_cow", (), True), ("huge_device", (), True), ("huge_device", (), False)]


@pytest.mark.parametrize("name,args,zero_page", HUGE_GUESTS,
                         ids=[f"{n}{'' if z else '-no-zero-page'}" for n, _, z in HUGE_GUESTS])
def test_guest_passes_and_the_pool_refills(name, args, zero_page):
    """Every check of the guest holds, and HugePages_Free is back to Total when all have exited."""
    out = io.BytesIO()
    machine = Machine(Options(stdout=out, stderr=out, zero_page=zero_page))
    pool = machine.kernel.hugetlb_pool
    report = machine.run(str(REPO / "guest" / f"{name}.elf"), [name, *args], [])
    text = out.getvalue().decode()
    assert report.status == 0, text + "\n".join(report.lines)
    assert "not ok" not in text
    assert pool.free_huge_pages == pool.nr_huge_pages and pool.resv_huge_pages == 0
    assert not pool.refcount and not pool.mutex.held


def test_make_run_demo_is_test_cow():
    """`emu run guest/test_cow.elf` narrates its steps with the pool counters."""
    result = run_emu("run", "guest/test_cow.elf")
    assert result.returncode == 0
    for step in range(1, 9):
        assert f"step {step}:" in result.stdout
    assert "HugePages_Free" in result.stdout and "not ok" not in result.stdout


def test_pool_exhaustion_is_sigbus_with_a_clear_report():
    result = run_emu("run", "--hugepages", "3", "guest/huge_exhaust.elf", "5")
    assert result.returncode == 128 + 7
    lines = stderr_lines(result)
    assert len(lines) == 2
    assert "SIGBUS (BUS_ADRERR)" in lines[0] and "pool is empty" in lines[0]
    assert "page 2 written" in result.stdout and "page 3 written" not in result.stdout


# ---- the fault op, directly ------------------------------------------------------------------

def huge_vma_in_a_process(*, zero_page=True, hugepages=4):
    """Process 1 of a Machine, and a /dev/page-huge VMA of 2 huge pages in it."""
    machine = Machine(Options(stdout=io.BytesIO(), zero_page=zero_page, hugepages=hugepages))
    from emu.elf import load_elf
    machine.kernel.exec_first(machine.cpu, load_elf(str(REPO / "guest" / "hello.elf")), ["hello"], [])
    mm = machine.kernel.init.mm
    start = 0x4000_0000
    vma = Vma(start, start + 2 * HPAGE_SIZE, VM_READ | VM_WRITE | VM_HUGETLB, ops=page_pagetable_ops)
    mm.insert_vma(vma)
    return machine, mm, vma


def entry_at(mm, va):
    return mm.mem.read_u64(huge_pte_offset(mm, va))


def test_read_maps_the_zero_page_without_allocating():
    machine, mm, vma = huge_vma_in_a_process()
    pool = mm.hugetlb_pool
    assert page_fault(mm, vma, vma.start + 123, False) == VmFault.MINOR
    assert entry_at(mm, vma.start) & ~0xFFF & (2**52 - 1) == pool.zero_page_pa
    assert not entry_at(mm, vma.start) & PTE_RW
    assert pool.free_huge_pages == pool.nr_huge_pages


def test_present_entry_without_write_is_minor():
    """The seed returned `ret` uninitialised for a present entry and a read fault."""
    machine, mm, vma = huge_vma_in_a_process()
    page_fault(mm, vma, vma.start, True)
    assert page_fault(mm, vma, vma.start, False) == VmFault.MINOR


def test_empty_pool_releases_the_instantiation_mutex():
    """The seed returned VM_FAULT_OOM with hugetlb_instantiation_mutex held."""
    machine, mm, vma = huge_vma_in_a_process(hugepages=1)
    assert page_fault(mm, vma, vma.start, True) == VmFault.MINOR
    assert page_fault(mm, vma, vma.start + HPAGE_SIZE, True) == VmFault.SIGBUS
    assert not mm.hugetlb_pool.mutex.held
    unmap_hugepage_range(mm, vma, vma.start, vma.end)
    assert page_fault(mm, vma, vma.start + HPAGE_SIZE, True) == VmFault.MINOR    # no lock left behind


def test_without_the_zero_page_a_read_allocates():
    machine, mm, vma = huge_vma_in_a_process(zero_page=False)
    pool = mm.hugetlb_pool
    assert pool.zero_page_pa is None
    page_fault(mm, vma, vma.start, False)
    assert pool.free_huge_pages == pool.nr_huge_pages - 1
    assert not entry_at(mm, vma.start) & PTE_RW          # a read maps it read-only (the seed's 0)
    page_fault(mm, vma, vma.start, True)
    assert entry_at(mm, vma.start) & PTE_RW and pool.free_huge_pages == pool.nr_huge_pages - 1


def test_zero_page_is_never_writable_nor_freed():
    machine, mm, vma = huge_vma_in_a_process()
    pool = mm.hugetlb_pool
    page_fault(mm, vma, vma.start, False)
    hugetlb_change_protection(mm, vma, vma.start, vma.end, VM_READ | VM_WRITE)
    assert not entry_at(mm, vma.start) & PTE_RW           # mprotect cannot make it writable
    unmap_hugepage_range(mm, vma, vma.start, vma.end)
    assert pool.zero_page_pa not in pool.free_list and pool.free_huge_pages == pool.nr_huge_pages


def test_pin_pages_for_writing_breaks_the_zero_page():
    machine, mm, vma = huge_vma_in_a_process()
    pool = mm.hugetlb_pool
    page_fault(mm, vma, vma.start, False)
    pa = follow_hugetlb_page(mm, vma, vma.start + 4096, True)
    assert pa & ~(HPAGE_SIZE - 1) != pool.zero_page_pa
    assert entry_at(mm, vma.start) & PTE_RW and pool.free_huge_pages == pool.nr_huge_pages - 1


# ---- plugins ---------------------------------------------------------------------------------

def emu(*args):
    return subprocess.run([sys.executable, "-m", "emu", *args], cwd=REPO, capture_output=True, text=True)


def test_emu_plugins_lists_page_huge():
    result = emu("plugins")
    assert result.returncode == 0
    assert "page_huge" in result.stdout and "device /dev/page-huge" in result.stdout


def test_a_plugin_file_adds_a_device(tmp_path):
    plugin = tmp_path / "hello_dev.py"
    plugin.write_text(
        "from emu.kernel.fs.devices import NullFile\n"
        "DESCRIPTION = 'a test device'\n"
        "def register(kernel):\n"
        "    kernel.devices.register('/dev/hello', lambda kernel, proc, flags: NullFile(flags, '/dev/hello'))\n")
    listing = emu("plugins", "--plugin", str(plugin))
    assert "hello_dev" in listing.stdout and "device /dev/hello" in listing.stdout
    run = emu("run", "--plugin", str(plugin), "guest/fs_cat.elf", "/dev/hello")
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("source,phrase", [
    ("import no_such_module\n", "failed to load: ModuleNotFoundError"),
    ("x = 1\n", "has no register(kernel) function"),
    ("def register(kernel):\n    raise RuntimeError('boom')\n", "failed to register: RuntimeError: boom"),
])
def test_a_broken_plugin_is_named_in_one_line(tmp_path, source, phrase):
    plugin = tmp_path / "broken.py"
    plugin.write_text(source)
    result = emu("run", "--plugin", str(plugin), "guest/hello.elf")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "broken" in result.stderr and phrase in result.stderr
    assert "Traceback" not in result.stderr
