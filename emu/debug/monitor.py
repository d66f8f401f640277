"""gdb's `monitor` commands (qRcmd) for emu: the MMU and the kernel seen from the debugger.

Every command reads state; none sets an A/D bit, fills a TLB or faults a page in. Page
tables are those of the process gdb follows (process 1), even while another runs.

    monitor help            this list
    monitor walk VA         the 4-level walk of VA, level by level, and where it stopped
    monitor tlb             emu's TLB contents per page size, and its counters
    monitor vmas            the VMAs, as /proc/PID/maps, with each VMA's pagetable_ops
    monitor pool            the huge page pool's counters
    monitor pt              the page-table tree, compact (runs of like leaves on one line)
    monitor idt             the IDT's 32 gates, the stub symbols they point at, their DPL
    monitor proc            the processes
    monitor phys on|off     gdb's memory accesses use physical addresses (as QEMU's
                            `maintenance packet Qqemu.PhyMemMode:1`)
    monitor stepping machine|user
                            where a step of a faulting user instruction ends: at the
                            stub's handler (machine, the default, as on hardware), or
                            after the instruction, the fault handled unseen (user, as
                            gdb on Linux)
"""

from ..kernel.fs.devices import format_maps_line
from ..kernel.mm.memory import PT_OPS, has_pt_op
from ..hardware.mmu import Access, GeneralProtection, PageFault, WalkStep, walk
from ..hardware.paging import (ENTRY_NAMES, ENTRY_SIZE, HPAGE_SIZE, HUGE_PHYS_MASK, LEVEL_NAMES, PAGE_SIZE,
                     PHYS_ADDR_MASK, PTE_P, PTE_PS, PTRS_PER_TABLE, entry_flags_str)
from ..kernel.mm.pagetable import level_span
from .gdbstub import REG_NUMBER

REG_NAMES = set(REG_NUMBER)


def run_monitor_command(stub, line: str) -> str:
    """The output of one `monitor` command line (an error message for a bad one)."""
    words = line.split()
    if not words:
        return HELP
    command = COMMANDS.get(words[0])
    if command is None:
        return f"unknown monitor command {words[0]!r}; try `monitor help`"
    try:
        return command(stub, words[1:])
    except ValueError as err:
        return f"monitor {words[0]}: {err}"


def cmd_help(stub, args) -> str:
    return HELP


def cmd_walk(stub, args) -> str:
    """Each level: table pa, index, entry pa, raw entry, flags; then the result or the fault."""
    if len(args) != 1:
        raise ValueError("usage: monitor walk VA")
    va = walk_address(stub, args[0])
    regs = stub.paging_regs()
    steps: list[WalkStep] = []
    lines = [f"walk of va {va:#018x} (cr3 {regs.cr3:#x}), as a ring-0 read; no A/D bit is set"]
    try:
        tr = walk(stub.machine.mem, va, Access.READ, regs, cpl=0, update_ad=False, steps=steps)
    except (PageFault, GeneralProtection) as fault:
        lines += [format_step(step) for step in steps]
        lines.append(f"stopped: {fault.reason}" + (f" ({ENTRY_NAMES[steps[-1].level]})" if steps else ""))
        return "\n".join(lines)
    lines += [format_step(step) for step in steps]
    size = "2M" if tr.page_size == HPAGE_SIZE else "4K"
    lines.append(f"stopped: leaf {ENTRY_NAMES[steps[-1].level]} maps a {size} page at pa {tr.frame_pa:#012x}; "
                 f"va {va:#018x} -> pa {tr.pa:#012x} ({'RW' if tr.writable else 'RO'}, "
                 f"{'user' if tr.user else 'supervisor'}, {'NX' if tr.nx else 'exec'}"
                 f"{', dirty' if tr.dirty else ''}{', global' if tr.global_ else ''})")
    return "\n".join(lines)


def walk_address(stub, word: str) -> int:
    """VA as `monitor walk` takes it: a number (0x... or decimal) or a register ($rsp,
    the low 64 bits of a wider one). Raises ValueError for anything else."""
    name = word.lstrip("$")
    if name in REG_NAMES:
        return int.from_bytes(stub.read_register(REG_NUMBER[name])[:8], "little")
    va = int(word, 0)
    if not 0 <= va < 1 << 64:
        raise ValueError(f"{word} is not a 64-bit address")
    return va


def format_step(step: WalkStep) -> str:
    return (f"  {LEVEL_NAMES[step.level]:4} @ {step.table_pa:#012x}  {ENTRY_NAMES[step.level]}[{step.index:3}] "
            f"@ {step.entry_pa:#012x} = {step.entry:#018x}  ({entry_flags_str(step.entry)})")


def cmd_tlb(stub, args) -> str:
    mmu = stub.mmu
    lines = []
    for label, tlb in (("4K", mmu.tlb.small), ("2M", mmu.tlb.huge)):
        c = tlb.counters
        entries = sorted(tlb.entries_list(), key=lambda e: e.vpn)
        lines.append(f"TLB {label}: {len(entries)}/{tlb.entries} entries, {tlb.ways}-way; hits {c.hits}, "
                     f"misses {c.misses}, walks {c.walks}, flushes {c.flushes}, evictions {c.evictions}")
        for e in entries:
            rights = f"{'W' if e.writable else 'R'}{'U' if e.user else 'S'}{'-' if e.nx else 'X'}"
            lines.append(f"  va {e.vpn * e.page_size:#018x} -> pa {e.pa:#012x} {rights}"
                         f"{' D' if e.dirty else ''}{' G' if e.global_ else ''}"
                         f"{' (in Unicorn)' if e.gen == mmu.gen else ''}")
    m = mmu.counters
    lines.append(f"Unicorn TLB fills {m.fills}, Unicorn TLB flushes {m.unicorn_flushes} (generation {mmu.gen}), "
                 f"#PF {m.faults}, #GP {m.gp_faults}")
    return "\n".join(lines)


def cmd_vmas(stub, args) -> str:
    """/proc/PID/maps lines, then the VMA's pagetable_ops: its own ops, or `default`."""
    proc = stub.proc
    lines = [f"pid {proc.pid} {proc.path}"]
    for vma in proc.mm.vmas:
        own = [op for op in PT_OPS if has_pt_op(vma, op) and vma.ops is not None and vma.ops.name != "default"]
        ops = f"{vma.ops.name}: {', '.join(own)}" if own else getattr(vma.ops, "name", "default")
        line = format_maps_line(vma.start, vma.end, vma.flags, vma.offset, 0, 0, vma.name)
        lines.append(f"{line:<90} ops={ops}")
    return "\n".join(lines)


def cmd_pool(stub, args) -> str:
    pool = stub.kernel.hugetlb_pool
    if pool is None:
        return "no huge page pool"
    zero = f"{pool.zero_page_pa:#x}" if pool.zero_page_pa is not None else "off"
    return (f"HugePages_Total {pool.nr_huge_pages}\nHugePages_Free  {pool.free_huge_pages}\n"
            f"HugePages_Rsvd  {pool.resv_huge_pages}\nHugePages_Surp  {pool.surplus_huge_pages}\n"
            f"pages in use    {len(pool.refcount)}\nzero page       {zero}\n"
            f"allocations     {pool.allocations}\nfound empty     {pool.exhausted}")


def cmd_pt(stub, args) -> str:
    """The tree under CR3: one line per present table entry; the leaves of one table as
    runs of consecutive pages with the same flags. The kernel half is shown as one line."""
    mem = stub.machine.mem
    cr3 = stub.paging_regs().cr3
    lines = [f"pml4 @ {cr3 & PHYS_ADDR_MASK:#012x} (pid {stub.proc.pid})"]
    tree(mem, cr3 & PHYS_ADDR_MASK, 4, 0, lines)
    return "\n".join(lines)


def tree(mem, table_pa: int, level: int, base_va: int, lines: list) -> None:
    indent = "  " * (5 - level)
    runs = []
    for index in range(PTRS_PER_TABLE):
        entry = mem.read_u64(table_pa + index * ENTRY_SIZE)
        if not entry & PTE_P:
            continue
        va = sign_extend(base_va + index * level_span(level))
        if level == 4 and index >= 256:
            lines.append(f"{indent}{ENTRY_NAMES[level]}[{index}] {va:#018x}: kernel half (the stub), shared")
            continue
        if level == 1 or (level == 2 and entry & PTE_PS):
            size = PAGE_SIZE if level == 1 else HPAGE_SIZE
            pa = entry & (PHYS_ADDR_MASK if level == 1 else HUGE_PHYS_MASK)
            flags = entry_flags_str(entry)
            last = runs[-1] if runs else None
            if last and last[4] == flags and last[1] + size == va and last[3] + size * last[5] == pa:
                last[1] = va
                last[5] += 1
            else:
                runs.append([va, va, size, pa, flags, 1, index])
            continue
        flush_runs(runs, indent, level, lines)
        runs = []
        lines.append(f"{indent}{ENTRY_NAMES[level]}[{index}] {va:#018x} -> {LEVEL_NAMES[level - 1]} "
                     f"@ {entry & PHYS_ADDR_MASK:#012x} ({entry_flags_str(entry)})")
        tree(mem, entry & PHYS_ADDR_MASK, level - 1, va, lines)
    flush_runs(runs, indent, level, lines)


def flush_runs(runs, indent, level, lines) -> None:
    for first, last, size, pa, flags, count, index in runs:
        kind = "4K" if size == PAGE_SIZE else "2M"
        span = f"{first:#018x}" if count == 1 else f"{first:#018x}-{last + size:#018x}"
        lines.append(f"{indent}{ENTRY_NAMES[level]}[{index}{'' if count == 1 else f'+{count}'}] {span} "
                     f"{count} x {kind} -> pa {pa:#012x} ({flags})")


def sign_extend(va: int) -> int:
    return va | ~((1 << 48) - 1) & (2**64 - 1) if va & (1 << 47) else va


def cmd_idt(stub, args) -> str:
    cpu = stub.cpu
    if getattr(cpu, "idtr", None) is None:
        return "the stub has not loaded the IDT yet"
    names = {va: name for name, va in stub.machine.stub.symbols.items()}
    base, limit = cpu.idtr
    lines = [f"IDTR base {base:#018x} limit {limit:#x}"]
    from ..hardware.cpu import DeliveryFault, VECTOR_NAMES
    for vector in range(min(32, (limit + 1) // 16)):
        try:
            handler = cpu.idt_gate(vector)
        except DeliveryFault as why:
            lines.append(f"  {vector:2} {VECTOR_NAMES.get(vector, ''):4} {why}")
            continue
        symbol = names.get(handler, '?')
        lines.append(f"  {vector:2} {VECTOR_NAMES.get(vector, ''):4} {handler:#018x} {symbol:8} DPL {cpu.gate_dpl(vector)}")
    return "\n".join(lines)


def cmd_proc(stub, args) -> str:
    kernel = stub.kernel
    lines = ["  pid   tid  ppid  state     cr3           rss  path"]
    for proc in sorted(kernel.procs.values(), key=lambda task: (task.tgid, task.pid)):
        marks = ("*" if proc is kernel.current else " ") + ("g" if proc is stub.proc else " ")
        waits = f"  (in {proc.block.what})" if proc.block is not None and getattr(proc.block, "what", "") else ""
        lines.append(f"{marks}{proc.tgid:3} {proc.pid:5} {proc.leader.ppid:5}  {proc.state:8}  "
                     f"{proc.mm.pt.pml4_pa:#010x} {getattr(proc.mm, 'rss', 0):5}  {proc.path}{waits}")
    lines.append("(* on the CPU, g followed by gdb; a process's threads share its pid and CR3)")
    return "\n".join(lines)


def cmd_phys(stub, args) -> str:
    if args and args[0] in ("on", "1"):
        stub.phys_mode = True
    elif args and args[0] in ("off", "0"):
        stub.phys_mode = False
    return f"gdb memory accesses use {'physical' if stub.phys_mode else 'virtual'} addresses"


def cmd_stepping(stub, args) -> str:
    if args and args[0] in ("user", "machine"):
        stub.user_steps = args[0] == "user"
    elif args:
        raise ValueError("usage: monitor stepping machine|user")
    if stub.user_steps:
        return "stepping user: a step ends after the user instruction; faults are handled unseen"
    return "stepping machine: a step of a faulting instruction ends in the stub's handler"


COMMANDS = {"help": cmd_help, "walk": cmd_walk, "tlb": cmd_tlb, "vmas": cmd_vmas, "pool": cmd_pool,
            "pt": cmd_pt, "idt": cmd_idt, "proc": cmd_proc, "phys": cmd_phys, "stepping": cmd_stepping}
HELP = __doc__.split("\n\n", 2)[2].rstrip()
