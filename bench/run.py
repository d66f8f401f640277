"""emu's MMU against bare Unicorn: two benchmarks, one run.  `make bench` runs this file.

1. compute: a TLB-resident loop (sums and rewrites an 8 KiB array, ~51 M instructions)
   (a) on bare Unicorn: flat memory, paging off, QEMU's own TLB (UC_TLB_CPU), no hook;
   (b) under emu's MMU: real 4-level page tables, paging on, UC_TLB_VIRTUAL + Mmu.tlb_fill.
   Ratio = time (b) / time (a).  Target: <= 1.2x.

2. refill: one load per 4 KiB page over 64 MiB (16384 pages), 4 passes, so that
   every load misses Unicorn's (QEMU's) TLB and calls the fill hook
   (a) with a trivial Python hook: paddr = vaddr + DELTA, perms = UC_PROT_ALL;
   (b) with emu's Mmu.tlb_fill and its default TLB geometry (Tlb()).
   Ratio = time per fill (b) / time per fill (a).  Target: <= 1.5x.

The guest code is assembled at run time with binutils (`as`, `objcopy`), the same
bytes for both sides of each benchmark.  Each timing is the best of REPEATS runs of
`emu_start` on one Unicorn instance (the first run, which also translates the code,
is a warm-up and is not timed).  Not part of pytest (tests/ only).
"""

import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import unicorn                                                        # noqa: E402
from unicorn import (UC_ARCH_X86, UC_HOOK_TLB_FILL, UC_MODE_64, UC_PROT_ALL,  # noqa: E402
                     UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE, Uc)
from unicorn import x86_const as ux                                   # noqa: E402
from unicorn.unicorn_const import UC_TLB_VIRTUAL                      # noqa: E402

from emu.kernel.mm.pagetable import PageTables                           # noqa: E402
from emu.hardware.mmu import Mmu                                               # noqa: E402
from emu.hardware.paging import (CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE,  # noqa: E402
                        PAGE_SIZE, PTE_A, PTE_D, PTE_NX, PTE_P, PTE_RW)
from emu.hardware.physmem import FrameAllocator, PhysicalMemory                # noqa: E402
from emu.hardware.tlb import Tlb                                               # noqa: E402

REPEATS = 5
MSR_EFER = 0xC000_0080
CR0_ET = 1 << 4

# -- benchmark 1: compute ---------------------------------------------------------------
C_CODE_VA = 0x0040_0000
C_DATA_VA = 0x0060_0000
C_DATA_SIZE = 8 << 10                      # 8 KiB: two pages, 1024 quadwords
C_OUTER = 10_000
C_INNER = C_DATA_SIZE // 8
C_INSNS = 2 + C_OUTER * (2 + C_INNER * 5 + 2)      # mov rcx; ...; the final nop

COMPUTE_ASM = f"""
    .intel_syntax noprefix
    .text
    mov ecx, {C_OUTER}
    xor eax, eax
1:  mov esi, {C_DATA_VA}
    mov edx, {C_INNER}
2:  add rax, [rsi]          # load
    mov [rsi], rax          # store
    add rsi, 8
    dec edx
    jnz 2b
    dec ecx
    jnz 1b
done:
    nop
"""

# -- benchmark 2: refill sweep ----------------------------------------------------------
S_CODE_VA = 0x0FE0_0000
S_DATA_VA = 0x1000_0000
S_DATA_SIZE = 64 << 20                     # 64 MiB = 16384 pages of 4 KiB
S_PAGES = S_DATA_SIZE // PAGE_SIZE
S_PASSES = 4
S_MEMORY = 128 << 20                       # guest RAM for the sweep (emu side and trivial side)
TRIVIAL_DELTA = 0x0020_0000 - S_CODE_VA    # code at pa 2 MiB, data at pa 4..68 MiB

SWEEP_ASM = f"""
    .intel_syntax noprefix
    .text
    mov r8d, {S_PASSES}
1:  mov esi, {S_DATA_VA}
    mov ecx, {S_PAGES}
2:  mov rax, [rsi]          # one load per 4 KiB page
    add rsi, {PAGE_SIZE}
    dec ecx
    jnz 2b
    dec r8d
    jnz 1b
done:
    nop
"""


def assemble(source: str, tmp: str, name: str) -> tuple[bytes, int]:
    """Assemble `source`; return the code bytes and the offset of the `done` label."""
    src, obj, binary = (os.path.join(tmp, name + ext) for ext in (".s", ".o", ".bin"))
    with open(src, "w") as f:
        f.write(source)
    subprocess.run(["as", "--64", "-o", obj, src], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", obj, binary], check=True)
    syms = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
    done = next(int(line.split()[0], 16) for line in syms.splitlines() if line.endswith(" done"))
    with open(binary, "rb") as f:
        return f.read(), done


# -- machines -------------------------------------------------------------------------

def enable_paging(uc: Uc, cr3: int):
    """Long mode, 4-level paging, NX, WP: in the CPU, then return (cr0, cr4, efer)."""
    cr4 = uc.reg_read(ux.UC_X86_REG_CR4) | CR4_PAE
    efer = EFER_LME | EFER_LMA | EFER_NXE
    cr0 = CR0_PE | CR0_ET | CR0_WP | CR0_PG
    uc.reg_write(ux.UC_X86_REG_CR4, cr4)
    uc.reg_write(ux.UC_X86_REG_MSR, (MSR_EFER, efer))
    uc.reg_write(ux.UC_X86_REG_CR3, cr3)
    uc.reg_write(ux.UC_X86_REG_CR0, cr0)
    return cr0, cr4, efer


class EmuMachine:
    """Unicorn + PhysicalMemory + real page tables + emu's Mmu (default Tlb())."""

    CODE_FLAGS = PTE_P | PTE_A                              # supervisor, read-only, executable
    DATA_FLAGS = PTE_P | PTE_RW | PTE_A | PTE_D | PTE_NX    # supervisor, writable, no-execute

    def __init__(self, memory: int, code_va: int, code: bytes, data_va: int, data_size: int):
        self.mem = PhysicalMemory(memory)
        self.frames = FrameAllocator(0x10_0000, memory)
        self.pt = PageTables(self.mem, self.frames)
        self.data_pas = []
        for off in range(0, len(code), PAGE_SIZE):
            pa = self.frames.alloc_frame()
            self.mem.write(pa, code[off:off + PAGE_SIZE].ljust(PAGE_SIZE, b"\xcc"))
            self.pt.set_pte(code_va + off, pa | self.CODE_FLAGS, user=False)
        for off in range(0, data_size, PAGE_SIZE):
            pa = self.frames.alloc_frame()
            self.data_pas.append(pa)
            self.pt.set_pte(data_va + off, pa | self.DATA_FLAGS, user=False)
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self.uc.mem_map_ptr(0, memory, UC_PROT_ALL, self.mem.host_address)
        self.mmu = Mmu(self.mem, Tlb())
        cr0, cr4, efer = enable_paging(self.uc, self.pt.pml4_pa)
        self.mmu.attach(self.uc, lambda: self.uc.reg_read(ux.UC_X86_REG_CS) & 3)
        self.mmu.cr0, self.mmu.cr4, self.mmu.efer, self.mmu.cr3 = cr0, cr4, efer, self.pt.pml4_pa
        self.mmu.cpl = 0

    def fill_data(self, pattern: bytes) -> None:
        for i, pa in enumerate(self.data_pas):
            self.mem.write(pa, pattern[i * PAGE_SIZE:(i + 1) * PAGE_SIZE])

    def snapshot(self) -> dict:
        small = self.mmu.tlb.small.counters
        huge = self.mmu.tlb.huge.counters
        c = self.mmu.counters
        return dict(fills=c.fills, unicorn_flushes=c.unicorn_flushes, faults=c.faults + c.gp_faults,
                    hits=small.hits + huge.hits, misses=small.misses + huge.misses,
                    walks=small.walks + huge.walks, evictions=small.evictions + huge.evictions)


class BareMachine:
    """Unicorn with flat memory at the code and data addresses, paging off, no hook."""

    def __init__(self, code_va: int, code: bytes, data_va: int, data_size: int):
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64)
        code_size = -(-len(code) // PAGE_SIZE) * PAGE_SIZE
        self.uc.mem_map(code_va, code_size, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.mem_write(code_va, code)
        self.uc.mem_map(data_va, data_size, UC_PROT_READ | UC_PROT_WRITE)
        self.data_va = data_va

    def fill_data(self, pattern: bytes) -> None:
        self.uc.mem_write(self.data_va, pattern)


class TrivialHookMachine:
    """Unicorn, paging on, UC_TLB_VIRTUAL, and a fill hook that only fills (one addition)."""

    def __init__(self, memory: int, code_va: int, code: bytes, delta: int):
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self.uc.mem_map(0, memory, UC_PROT_ALL)
        self.uc.mem_write(code_va + delta, code)
        enable_paging(self.uc, 0)
        self.uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        self.fills = 0

        def fill(uc, vaddr, access, entry, user_data):
            self.fills += 1
            entry.paddr = vaddr + delta
            entry.perms = UC_PROT_ALL
            return True

        self.uc.hook_add(UC_HOOK_TLB_FILL, fill)


def timed_runs(uc: Uc, begin: int, until: int, before=None, after=None) -> list[float]:
    """One untimed warm-up, then REPEATS timed runs of emu_start(begin, until)."""
    times = []
    for i in range(REPEATS + 1):
        if before:
            before()
        t0 = time.perf_counter()
        uc.emu_start(begin, until)
        t1 = time.perf_counter()
        if after:
            after(i)
        if i:
            times.append(t1 - t0)
    return times


# -- the benchmarks ---------------------------------------------------------------------

def bench_compute(tmp: str) -> dict:
    code, done = assemble(COMPUTE_ASM, tmp, "compute")
    pattern = bytes(range(256)) * (C_DATA_SIZE // 256)
    results = {}

    bare = BareMachine(C_CODE_VA, code, C_DATA_VA, C_DATA_SIZE)
    rax = []

    def reset(m):
        return lambda: m.fill_data(pattern)

    results["bare"] = timed_runs(bare.uc, C_CODE_VA, C_CODE_VA + done, before=reset(bare),
                                 after=lambda i: rax.append(bare.uc.reg_read(ux.UC_X86_REG_RAX)))

    # Bare Unicorn with paging on: QEMU's own page walker (UC_TLB_CPU) on the same tables
    # emu uses (code read-only, data no-execute), no hook.  See docs/BENCHMARKS.md.
    tables = EmuMachine(16 << 20, C_CODE_VA, code, C_DATA_VA, C_DATA_SIZE)
    qemu = Uc(UC_ARCH_X86, UC_MODE_64)
    qemu.mem_map_ptr(0, tables.mem.size, UC_PROT_ALL, tables.mem.host_address)
    enable_paging(qemu, tables.pt.pml4_pa)
    results["qemu_paging"] = timed_runs(qemu, C_CODE_VA, C_CODE_VA + done, before=reset(tables),
                                        after=lambda i: rax.append(qemu.reg_read(ux.UC_X86_REG_RAX)))

    emu = EmuMachine(16 << 20, C_CODE_VA, code, C_DATA_VA, C_DATA_SIZE)
    snaps = []
    results["emu"] = timed_runs(emu.uc, C_CODE_VA, C_CODE_VA + done, before=reset(emu),
                                after=lambda i: (rax.append(emu.uc.reg_read(ux.UC_X86_REG_RAX)),
                                                 snaps.append(emu.snapshot())))
    if len(set(rax)) != 1:
        raise SystemExit(f"compute: bare Unicorn and emu disagree on the result: {sorted(set(rax))}")
    results["emu_counters"] = snaps[-1]           # cumulative, warm-up included
    return results


def sweep_asm(pages: int, passes: int) -> str:
    return (SWEEP_ASM.replace(f"mov ecx, {S_PAGES}", f"mov ecx, {pages}")
                     .replace(f"mov r8d, {S_PASSES}", f"mov r8d, {passes}"))


def bench_sweep(tmp: str, pages: int, passes: int, *, with_bare: bool) -> dict:
    code, done = assemble(sweep_asm(pages, passes), tmp, f"sweep{pages}")
    results = {"pages": pages, "passes": passes}

    if with_bare:
        # Guest time without any hook (QEMU's own TLB, flat memory), for reference.
        bare = BareMachine(S_CODE_VA, code, S_DATA_VA, S_DATA_SIZE)
        results["bare"] = timed_runs(bare.uc, S_CODE_VA, S_CODE_VA + done)
        del bare

    trivial = TrivialHookMachine(S_MEMORY, S_CODE_VA, code, TRIVIAL_DELTA)
    tfills = []
    marks = [0]

    def t_before():
        marks[0] = trivial.fills

    results["trivial"] = timed_runs(trivial.uc, S_CODE_VA, S_CODE_VA + done, before=t_before,
                                    after=lambda i: tfills.append(trivial.fills - marks[0]))
    results["trivial_fills"] = tfills[1:]
    del trivial

    emu = EmuMachine(S_MEMORY, S_CODE_VA, code, S_DATA_VA, S_DATA_SIZE)
    before = [None]
    deltas = []

    def e_before():
        before[0] = emu.snapshot()

    def e_after(i):
        now = emu.snapshot()
        deltas.append({k: now[k] - before[0][k] for k in now})

    results["emu"] = timed_runs(emu.uc, S_CODE_VA, S_CODE_VA + done, before=e_before, after=e_after)
    results["emu_counters"] = deltas[1:]
    return results


# -- report -----------------------------------------------------------------------------

def machine_line() -> str:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} CPUs, {model}; Python {platform.python_version()}, "
            f"unicorn {unicorn.__version__}")


def ms(t: float) -> str:
    return f"{t * 1e3:9.1f} ms"


SWEEPS = (  # (pages, passes, label)
    (S_PAGES, S_PASSES, "64 MiB sweep, 16384 pages x 4 passes: misses emu's TLB (walks)"),
    (1024, 64, "4 MiB sweep, 1024 pages x 64 passes: hits emu's TLB (info)"),
)


def main() -> int:
    print(f"emu benchmarks: {machine_line()}")
    print(f"best of {REPEATS} timed runs (after one warm-up run) per measurement\n")
    with tempfile.TemporaryDirectory(prefix="emu-bench-") as tmp:
        t_start = time.perf_counter()
        comp = bench_compute(tmp)
        sweeps = [bench_sweep(tmp, pages, passes, with_bare=(i == 0))
                  for i, (pages, passes, _) in enumerate(SWEEPS)]
        wall = time.perf_counter() - t_start

    # 1. compute
    bare, qemu, emu = min(comp["bare"]), min(comp["qemu_paging"]), min(comp["emu"])
    ratio1, ratio1_fair = emu / bare, emu / qemu
    c = comp["emu_counters"]
    print(f"1. TLB-resident compute loop: {C_INSNS / 1e6:.1f} M instructions "
          f"({C_OUTER} x sum+rewrite of an {C_DATA_SIZE >> 10} KiB array)")
    print(f"   {'configuration':50} {'best':>10} {'all runs (ms)':>30} {'M insn/s':>9}")
    for label, times in (("(a) bare Unicorn: flat memory, paging off", comp["bare"]),
                         ("(a') bare Unicorn: paging on, QEMU's walker", comp["qemu_paging"]),
                         ("(b) emu MMU: UC_TLB_VIRTUAL + Mmu.tlb_fill", comp["emu"])):
        runs = " ".join(f"{t * 1e3:.1f}" for t in times)
        print(f"   {label:50} {ms(min(times)):>10} {runs:>30} {C_INSNS / min(times) / 1e6:9.0f}")
    print(f"   emu, all {REPEATS + 1} runs: fills {c['fills']} (TLB hits {c['hits']}, misses {c['misses']}, "
          f"walks {c['walks']}), Unicorn TLB flushes {c['unicorn_flushes']}")
    print("   (a) is slow because QEMU takes a slow path for every store to a page it holds")
    print("   executable, and with paging off every page is; see docs/BENCHMARKS.md.")
    met1 = ratio1 <= 1.2
    print()

    # 2. refill sweeps
    print("2. TLB-refill sweeps: one load per 4 KiB page; every load misses Unicorn's TLB")
    print(f"   {'configuration':50} {'best run':>10} {'fills/run':>10} {'us/fill':>8} {'ratio':>7}")
    summary2 = []
    for (pages, passes, label), sw in zip(SWEEPS, sweeps):
        tfills = min(sw["trivial_fills"])
        best_t = min(sw["trivial"])
        i_e = min(range(REPEATS), key=lambda i: sw["emu"][i])
        best_e, ec = sw["emu"][i_e], sw["emu_counters"][i_e]
        per_t, per_e = best_t / tfills, best_e / ec["fills"]
        print(f"   {label}")
        if "bare" in sw:
            print(f"   {'  bare Unicorn (no hook, UC_TLB_CPU, paging off)':50} {ms(min(sw['bare'])):>10} "
                  f"{'-':>10} {'-':>8} {'':>7}")
        print(f"   {'  trivial Python fill hook':50} {ms(best_t):>10} {tfills:>10} {per_t * 1e6:8.2f} {'1.00x':>7}")
        print(f"   {'  emu Mmu.tlb_fill, Tlb() default geometry':50} {ms(best_e):>10} {ec['fills']:>10} "
              f"{per_e * 1e6:8.2f} {per_e / per_t:6.2f}x")
        print(f"     emu per run: TLB hits {ec['hits']}, misses {ec['misses']}, walks {ec['walks']}, "
              f"evictions {ec['evictions']}; Unicorn TLB flushes {ec['unicorn_flushes']}; faults {ec['faults']}")
        summary2.append((per_e / per_t, per_e, per_t))
    print("   (us/fill = run time / fills; the guest's own time is included, about 2 ms per run)")
    ratio2, per_e, per_t = summary2[0]
    met2 = ratio2 <= 1.5
    print(f"\n(all measurements took {wall:.1f} s)\n")
    print(f"SUMMARY compute: emu/bare = {ratio1:.2f}x (target <= 1.2x): {'MET' if met1 else 'MISSED'}"
          f"  [vs bare Unicorn with paging on: {ratio1_fair:.2f}x: {'MET' if ratio1_fair <= 1.2 else 'MISSED'}]")
    print(f"SUMMARY refill:  emu/trivial per fill = {ratio2:.2f}x ({per_e * 1e6:.2f} us vs "
          f"{per_t * 1e6:.2f} us; target <= 1.5x): {'MET' if met2 else 'MISSED'}"
          f"  [emu TLB hits only: {summary2[1][0]:.2f}x]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
