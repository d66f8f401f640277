"""Kernel benchmarks: page-fault round trip, fork + copy-on-write, system calls, task
switches between threads and between processes; emu vs native.

Each figure compares the same static guest binary run natively on the host and under
emu in the same run. Fixed costs (start-up, loading) cancel out: every measurement is
the difference between a run doing N operations and a run doing none, divided by N.
emu runs in this process (Machine.run), the native program as a subprocess.

    .venv/bin/python bench/kernel.py          (also part of `make bench`)
"""

import io
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emu.machine import Machine, Options  # noqa: E402

REPEAT = 3


def emu_seconds(elf: str, *args: str, **options) -> float:
    """Wall time of Machine.run for `elf args` (best of REPEAT); the guest must exit 0."""
    return emu_run(elf, *args, **options)[0]


def emu_run(elf: str, *args: str, **options):
    """(best wall time, huge pages taken from the pool in one run) for `elf args` under emu."""
    best, allocations = float("inf"), 0
    for _ in range(REPEAT):
        machine = Machine(Options(stdout=io.BytesIO(), stderr=io.BytesIO(), **options))
        start = time.perf_counter()
        report = machine.run(str(REPO / elf), [elf, *args], [])
        elapsed = time.perf_counter() - start
        if report.status != 0:
            raise SystemExit(f"{elf} {' '.join(args)} exited {report.status} under emu: {report.lines}")
        best = min(best, elapsed)
        allocations = machine.kernel.hugetlb_pool.allocations
    return best, allocations


def native_seconds(elf: str, *args: str) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run([str(REPO / elf), *args], check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def per_op(measure, elf: str, n: int, *, zero: str = "0", full: str | None = None) -> float:
    """(time with n operations - time with none) / n."""
    return (measure(elf, full or str(n)) - measure(elf, zero)) / n


def per_op_args(measure, elf: str, n: int, with_args: tuple, without_args: tuple) -> float:
    return (measure(elf, *with_args) - measure(elf, *without_args)) / n


def row(name: str, emu: float, native: float, unit: str = "us") -> str:
    return f"  {name:<44} {emu * 1e6:10.2f} {native * 1e6:10.2f}  {emu / native:8.0f}x"


def main() -> int:
    started = time.perf_counter()
    print("emu kernel benchmarks (per operation; emu and native in the same run, best of 3)")
    print(f"  {'operation':<44} {'emu us':>10} {'native us':>10}  {'ratio':>8}")
    pages = 16384
    fault_emu = per_op(emu_seconds, "guest/bench_touch.elf", pages)
    fault_native = per_op(native_seconds, "guest/bench_touch.elf", pages)
    print(row(f"4 KiB demand fault ({pages} fresh pages)", fault_emu, fault_native))
    cow_pages = 16384
    cow_emu = per_op_args(emu_seconds, "guest/bench_forkcow.elf", cow_pages, (), ("touch-only",))
    cow_native = per_op_args(native_seconds, "guest/bench_forkcow.elf", cow_pages, (), ("touch-only",))
    print(row("fork + COW of 64 MiB, per page", cow_emu, cow_native))
    print(f"  {'fork + COW of 64 MiB, whole':<44} {cow_emu * cow_pages * 1e3:8.1f} ms {cow_native * cow_pages * 1e3:8.2f} ms")
    calls = 100_000
    sys_emu = per_op(emu_seconds, "guest/bench_syscall.elf", calls)
    sys_native = per_op(native_seconds, "guest/bench_syscall.elf", calls)
    print(row(f"write(/dev/null, 1 byte) x {calls}", sys_emu, sys_native))
    trips, switch = 2000, {}
    for mode in ("threads", "processes"):
        args = (mode, str(trips)), (mode, "0")
        switch[mode] = (per_op_args(emu_seconds, "guest/libc/bench_switch.elf", trips, *args),
                        per_op_args(native_seconds, "guest/libc/bench_switch.elf", trips, *args))
        print(row(f"pipe round trip, two {mode} (2 switches)", *switch[mode]))
    huge = bench_huge()
    print(f"(took {time.perf_counter() - started:.0f} s)")
    print(f"SUMMARY fault: {fault_emu * 1e6:.1f} us per 4 KiB demand fault (target <= 25 us): "
          f"{'MET' if fault_emu <= 25e-6 else 'MISSED'}; native {fault_native * 1e6:.2f} us, "
          f"ratio {fault_emu / fault_native:.0f}x")
    print(f"SUMMARY fork+cow: {cow_emu * cow_pages * 1e3:.0f} ms vs native {cow_native * cow_pages * 1e3:.1f} ms "
          f"({cow_emu / cow_native:.0f}x)")
    print(f"SUMMARY syscall: {sys_emu * 1e6:.1f} us per write to /dev/null (native {sys_native * 1e6:.2f} us)")
    print(f"SUMMARY switch: a pipe round trip takes {switch['threads'][0] * 1e6:.0f} us between threads and "
          f"{switch['processes'][0] * 1e6:.0f} us between processes (CR3 reload, TLB refills)")
    read_zero, read_plain = huge["read"], huge["read-no-zero-page"]
    print(f"SUMMARY zero page: read-touch of {HUGE_PAGES} huge pages costs {read_zero[0] * 1e6:.0f} us per fault "
          f"and {read_zero[1]} pool pages with the zero page, {read_plain[0] * 1e6:.0f} us and {read_plain[1]} "
          f"pages without: the zero page removes {100 * (1 - read_zero[0] / read_plain[0]):.0f}% of the fault time")
    return 0


HUGE_PAGES = 64


def bench_huge() -> dict:
    """/dev/page-huge: read-touch with and without the zero page, write-touch, fork + COW."""
    n, pool = HUGE_PAGES, 2 * HUGE_PAGES + 2
    print(f"\n/dev/page-huge, {n} huge pages (per huge page; --hugepages {pool})")
    print(f"  {'operation':<44} {'emu us':>10} {'pool pages':>11}")
    results = {}
    for label, mode, zero in (("read", "read", True), ("read-no-zero-page", "read", False),
                              ("write", "write", True), ("forkcow", "forkcow", True)):
        full, taken = emu_run("guest/bench_huge.elf", mode, str(n), hugepages=pool, zero_page=zero)
        empty, _ = emu_run("guest/bench_huge.elf", mode, "0", hugepages=pool, zero_page=zero)
        results[label] = ((full - empty) / n, taken)
        print(f"  {label + ' touch' if mode != 'forkcow' else 'write, fork, child rewrites (COW)':<44} "
              f"{results[label][0] * 1e6:10.1f} {taken:11d}")
    native = native_hugetlb(n, pool)
    if native is None:
        print("  native MAP_HUGETLB: skipped (needs root and a host huge page pool we can set)")
    else:
        for mode, seconds in native.items():
            emu_time = emu_run("guest/bench_huge.elf", f"hugetlb-{mode}", str(n), hugepages=pool)[0]
            emu_zero = emu_run("guest/bench_huge.elf", f"hugetlb-{mode}", "0", hugepages=pool)[0]
            per = (emu_time - emu_zero) / n
            print(f"  MAP_HUGETLB {mode:<32} {per * 1e6:10.1f}   native {seconds * 1e6:8.1f} us  ({per / seconds:.0f}x)")
    return results


def native_hugetlb(n: int, pool: int):
    """Per-page native MAP_HUGETLB times, with the host pool set to `pool` and restored; None if impossible."""
    path = Path("/proc/sys/vm/nr_hugepages")
    try:
        old = path.read_text()
        if int(old) != 0:
            return None                      # someone else uses the host's pool: leave it alone
        path.write_text(str(pool))
    except (OSError, ValueError):
        return None
    try:
        if int(path.read_text()) < pool:
            return None
        return {mode: per_op_args(native_seconds, "guest/bench_huge.elf", n, (f"hugetlb-{mode}", str(n)),
                                  (f"hugetlb-{mode}", "0"))
                for mode in ("read", "write", "forkcow")}
    finally:
        path.write_text(old)


if __name__ == "__main__":
    sys.exit(main())
