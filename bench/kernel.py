"""Kernel benchmarks: page-fault round trip, fork + copy-on-write, system calls; emu vs native.

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


def emu_seconds(elf: str, *args: str) -> float:
    """Wall time of Machine.run for `elf args` (best of REPEAT); the guest must exit 0."""
    best = float("inf")
    for _ in range(REPEAT):
        machine = Machine(Options(stdout=io.BytesIO(), stderr=io.BytesIO()))
        start = time.perf_counter()
        report = machine.run(str(REPO / elf), [elf, *args], [])
        elapsed = time.perf_counter() - start
        if report.status != 0:
            raise SystemExit(f"{elf} {' '.join(args)} exited {report.status} under emu: {report.lines}")
        best = min(best, elapsed)
    return best


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
    print(f"(took {time.perf_counter() - started:.0f} s)")
    print(f"SUMMARY fault: {fault_emu * 1e6:.1f} us per 4 KiB demand fault (target <= 25 us): "
          f"{'MET' if fault_emu <= 25e-6 else 'MISSED'}; native {fault_native * 1e6:.2f} us, "
          f"ratio {fault_emu / fault_native:.0f}x")
    print(f"SUMMARY fork+cow: {cow_emu * cow_pages * 1e3:.0f} ms vs native {cow_native * cow_pages * 1e3:.1f} ms "
          f"({cow_emu / cow_native:.0f}x)")
    print(f"SUMMARY syscall: {sys_emu * 1e6:.1f} us per write to /dev/null (native {sys_native * 1e6:.2f} us)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
