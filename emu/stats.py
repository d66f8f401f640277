"""--stats: the MMU's counters at exit, as a compact table."""


def format_stats(machine) -> str:
    """A table of TLB counters per page size, then fills, faults and frames."""
    mmu = machine.mmu
    rows = [("", "hits", "misses", "walks", "flushes", "evictions", "entries")]
    for label, tlb in (("4K", mmu.tlb.small), ("2M", mmu.tlb.huge)):
        c = tlb.counters
        rows.append((f"TLB {label}", c.hits, c.misses, c.walks, c.flushes, c.evictions,
                     f"{tlb.entries}/{tlb.ways}-way"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["emu stats:"]
    for row in rows:
        lines.append("  " + "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))
    m = mmu.counters
    lines.append(f"  Unicorn TLB fills {m.fills}, Unicorn TLB flushes {m.unicorn_flushes}, "
                 f"#PF raised by the MMU {m.faults}, #GP (non-canonical) {m.gp_faults}")
    frames = machine.frames.stats
    lines.append(f"  frames in use at exit: {frames.small_in_use} x 4K, {frames.huge_in_use} x 2M "
                 f"(the huge page pool and zero page included)")
    pool = machine.kernel.hugetlb_pool
    if pool is not None:
        lines.append(f"  huge page pool: HugePages_Total {pool.nr_huge_pages}, HugePages_Free {pool.free_huge_pages}, "
                     f"HugePages_Rsvd {pool.resv_huge_pages}, HugePages_Surp {pool.surplus_huge_pages}, "
                     f"zero page {'on' if pool.zero_page_pa is not None else 'off'}, "
                     f"faults that found it empty {pool.exhausted}")
    return "\n".join(lines)
