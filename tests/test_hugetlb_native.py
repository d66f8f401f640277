"""MAP_HUGETLB|MAP_ANONYMOUS: the guests check Linux's rules themselves, under emu and natively.

guest/hugetlb_reserve.c (reservations at mmap, ENOMEM, MAP_NORESERVE, refusals, MAP_FIXED,
MAP_POPULATE) and guest/hugetlb_fork.c (copy-on-write after fork, SIGBUS with a full pool,
unmap_ref_private, MAP_SHARED) print only counters relative to their start, so their
output must be the same on the host's Linux as under emu.

Each guest needs an unused pool of exactly POOL huge pages: emu gets `--hugepages POOL`;
the host gets vm.nr_hugepages = POOL for the native run (as root), and its old value back
afterwards, whatever happens. The native runs are skipped, with the reason, when the host
cannot or must not be changed.
"""

import fcntl
import os
from pathlib import Path

import pytest

from tests.emu_runner import run_emu, run_native

pytestmark = pytest.mark.usefixtures("guests")
# The host's pool is one for the whole machine: pytest-xdist workers (and any other test
# run on this machine) take turns with it under this lock.
HOST_POOL_LOCK = Path("/tmp/emu-tests-host-hugepages.lock")

POOL = 8
GUESTS = ["hugetlb_reserve", "hugetlb_fork"]
NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
NR_OVERCOMMIT = Path("/proc/sys/vm/nr_overcommit_hugepages")


def meminfo(name: str) -> int | None:
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return int(value.split()[0])
    return None


def run_under_emu(name: str):
    return run_emu("run", "--timeout", "60", "--hugepages", str(POOL), f"guest/{name}.elf", timeout=90)


@pytest.mark.parametrize("name", GUESTS)
def test_under_emu(name):
    result = run_under_emu(name)
    assert "not ok" not in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\n1.." in result.stdout


@pytest.fixture(scope="module")
def host_pool():
    """The host's hugetlb pool set to exactly POOL pages for the module; restored afterwards.
    Held under HOST_POOL_LOCK, so a second worker waits instead of finding it in use."""
    with open(HOST_POOL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from set_host_pool()


def set_host_pool():
    if os.geteuid() != 0:
        pytest.skip("native MAP_HUGETLB runs need root (to set /proc/sys/vm/nr_hugepages)")
    if not os.access(NR_HUGEPAGES, os.W_OK):
        pytest.skip(f"{NR_HUGEPAGES} is not writable here (read-only /proc/sys, a container?)")
    if meminfo("Hugepagesize") != 2048:
        pytest.skip(f"the host's default huge page size is {meminfo('Hugepagesize')} kB, not 2048 kB")
    total = meminfo("HugePages_Total")
    if total != 0:
        pytest.skip(f"the host already has HugePages_Total = {total}: another user of huge pages, "
                    "left alone")
    if NR_OVERCOMMIT.exists() and NR_OVERCOMMIT.read_text().strip() != "0":
        pytest.skip("vm.nr_overcommit_hugepages is not 0: surplus pages would change the rules")
    old = NR_HUGEPAGES.read_text().strip()
    try:
        try:
            NR_HUGEPAGES.write_text(f"{POOL}\n")
        except OSError as error:
            pytest.skip(f"cannot write {NR_HUGEPAGES}: {error}")
        got = meminfo("HugePages_Total")
        if got != POOL or meminfo("HugePages_Free") != POOL:
            pytest.skip(f"the host gave {got} huge pages of the {POOL} asked for "
                        "(memory too fragmented?)")
        yield POOL
    finally:
        NR_HUGEPAGES.write_text(f"{old}\n")
        assert NR_HUGEPAGES.read_text().strip() == old, "nr_hugepages was not restored"


@pytest.mark.parametrize("name", GUESTS)
def test_same_as_native(name, host_pool):
    native = run_native(f"guest/{name}.elf", timeout=60)
    assert meminfo("HugePages_Free") == host_pool and meminfo("HugePages_Rsvd") == 0, \
        "the native run left huge pages in use"
    emulated = run_under_emu(name)
    assert "not ok" not in native.stdout, "Linux disagrees with the guest:\n" + native.stdout
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode == 0
