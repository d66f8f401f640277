"""--stats: the machine's counters at exit, as a compact table (TLB, MMU, faults, pool, time).

What is measured, and what it costs:
- TLB hits/misses/walks/flushes/evictions per page size: counted by emu/hardware/tlb.py and
  emu/hardware/mmu.py as they happen (an integer increment).
- Time in the MMU: with --stats the fill hook is Mmu.timed_tlb_fill, which times the
  fills emu's TLB did not serve (a walk, a refused fill). Kernel accesses to guest
  memory are not counted.
- The fault path: Cpu.after_unicorn_error (CR2 from the instruction, delivery through
  the IDT) and Kernel.do_page_fault (VMA lookup, the fault op), each timed whole, and
  every user fault counted by kind and op. The stub's own instructions and the iretq
  are Unicorn's time, not counted.
- Without --stats none of this is kept (Kernel.accounting, Mmu.timed): the fault path
  takes no timestamps. The MMU's and the TLB's counters always count.
- Instructions: Unicorn counts none unless a per-instruction hook runs, which is slow.
  emu counts them only with --max-insns; otherwise the table says "not counted".
"""

from collections import Counter
from dataclasses import dataclass, field

from ..hardware.paging import PFErr


@dataclass
class FaultStats:
    """User page faults as the kernel answered them (Kernel.fault_answered).

    The fault path only counts a raw key; names and kinds are worked out when the table
    is printed, so --stats costs the fault path a dict update, not string work.
    """
    raw: Counter = field(default_factory=Counter)   # (error & P|W, result, fault op or None, huge zero) -> n
    handler_seconds: float = 0.0        # in Kernel.do_page_fault
    delivery_seconds: float = 0.0       # in Cpu.after_unicorn_error: CR2, IDT delivery

    def record(self, error: int, result, ops, huge_zero: bool, seconds: float) -> None:
        """`result`: the fault op's VmFault, or a string saying what the kernel did instead."""
        self.raw[error & 3, result, ops, huge_zero] += 1
        self.handler_seconds += seconds

    @property
    def by_kind(self) -> Counter:
        kinds = Counter()
        for (error, result, _, huge_zero), count in self.raw.items():
            kinds[fault_kind(error, result_name(result), huge_zero=huge_zero)] += count
        return kinds

    @property
    def by_op(self) -> Counter:
        """(op name, result) -> count, for the faults a pagetable_op answered."""
        ops = Counter()
        for (_, result, op, _), count in self.raw.items():
            if op is not None:
                ops[f"{op.name}.fault", result_name(result)] += count
        return ops

    @property
    def total(self) -> int:
        return sum(self.raw.values())


def result_name(result) -> str:
    """A fault's result as shown: a VmFault's name (MINOR ...), or the kernel's words."""
    return getattr(result, "name", result)


def fault_kind(error: int, result: str, *, huge_zero: bool = False) -> str:
    """The kind of a user #PF from its error code and the kernel's answer, in a few words."""
    if result.startswith("SIGSEGV (SEGV_MAPERR"):
        return "no VMA"
    if result.startswith("SIGSEGV (SEGV_ACCERR"):
        return "access denied"
    if result.startswith("panic"):
        return "reserved bit"
    if not error & PFErr.P:
        if huge_zero:
            return "huge zero page"
        return "not present (file)" if result == "MAJOR" else "not present"
    if error & PFErr.W:
        return "write-protect (COW)"
    return "spurious"


def table(rows: list) -> list:
    """Rows of cells as right-aligned columns (the first column left-aligned)."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [str(row[0]).ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def counted(pairs) -> str:
    """'a 3, b 1' from (name, count) pairs, largest first; '-' if none."""
    pairs = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
    return ", ".join(f"{name} {count}" for name, count in pairs) or "-"


def format_stats(machine) -> str:
    """The table printed by --stats."""
    mmu, cpu, kernel = machine.mmu, machine.cpu, machine.kernel
    lines = ["emu stats:"]
    if cpu.max_insns is not None:
        lines.append(f"  instructions: {cpu.insn_count} (counted one by one because of --max-insns)")
    elif getattr(cpu, "block_insns", None) is not None:
        lines.append(f"  instructions: {cpu.insn_count} (counted per executed block: --stats slows emu down)")
    else:
        lines.append("  instructions: not counted")
    rows = [("", "hits", "misses", "walks", "flushes", "evictions", "entries")]
    for label, tlb in (("TLB 4K", mmu.tlb.small), ("TLB 2M", mmu.tlb.huge)):
        c = tlb.counters
        rows.append((label, c.hits, c.misses, c.walks, c.flushes, c.evictions, f"{tlb.entries}/{tlb.ways}-way"))
    lines += table(rows)
    m = mmu.counters
    lines.append(f"  MMU: {m.fills} TLB-fill calls from Unicorn, {m.unicorn_flushes} Unicorn TLB flushes, "
                 f"{ms(m.miss_seconds)} in the fill hook's miss path")
    faults = kernel.fault_stats
    lines.append(f"  faults: {m.faults} #PF and {m.gp_faults} #GP raised by the MMU; {faults.total} user #PF "
                 f"handled, {ms(faults.delivery_seconds)} delivering, {ms(faults.handler_seconds)} in do_page_fault")
    lines.append(f"    by kind: {counted(faults.by_kind.items())}")
    ops = Counter()
    for (op, _), count in faults.by_op.items():
        ops[op] += count
    by_op = [f"{op} {count} ({counted((r, n) for (o, r), n in faults.by_op.items() if o == op)})"
             for op, count in ops.most_common()]
    lines.append(f"    by op:   {', '.join(by_op) or '-'}")
    frames = machine.frames.stats
    lines.append(f"  frames in use at exit: {frames.small_in_use} x 4K, {frames.huge_in_use} x 2M "
                 f"(the huge page pool and zero page included)")
    pool = kernel.hugetlb_pool
    if pool is not None:
        lines.append(f"  huge page pool: HugePages_Total {pool.nr_huge_pages}, HugePages_Free {pool.free_huge_pages}, "
                     f"HugePages_Rsvd {pool.resv_huge_pages}, HugePages_Surp {pool.surplus_huge_pages}, "
                     f"zero page {'on' if pool.zero_page_pa is not None else 'off'}, "
                     f"faults that found it empty {pool.exhausted}")
    return "\n".join(lines)
