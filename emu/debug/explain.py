"""The page walk of one address, explained level by level in words (for `emu walk`, the gdb monitor).

    explain_walk(mmu, mem, va, Access.READ, cpl=3) -> list of lines

walks the page tables exactly as the hardware walk does (emu.hardware.mmu.walk, with
update_ad=False: explaining changes no Accessed or Dirty bit), then says for each level
which bits of `va` index the table, where the table and the entry are in physical
memory, what every flag of the entry means, and why the walk goes on or stops. It ends
with the physical address (or the fault and its error code), the rights combined over
the levels (SDM 4.6), and what emu's TLB holds for the page. It reads the TLB without
touching its LRU order, so a debugger may call it at any time.

    va bits:  63..48 sign | 47..39 PML4 | 38..30 PDPT | 29..21 PD | 20..12 PT | 11..0 offset
              (a 2 MiB page: the PD entry is the leaf and bits 20..0 are the offset)
"""

from ..hardware.mmu import Access, GeneralProtection, PageFault, walk
from ..text import printable
from ..hardware.paging import (CR0_WP, EFER_NXE, ENTRY_NAMES, HUGE_PHYS_MASK, LEVEL_NAMES, PAGE_SHIFT, PAGE_SIZE,
                     PHYS_ADDR_MASK, PTE_A, PTE_D, PTE_G, PTE_NX, PTE_P, PTE_PCD, PTE_PS, PTE_PWT, PTE_RW, PTE_US,
                     RSVD_HIGH, pf_error_str, table_index)

ACCESS_WORDS = {Access.READ: "read", Access.WRITE: "write", Access.FETCH: "instruction fetch"}
UNBACKED = (1 << 64) - 1                 # what a read beyond RAM returns (emu.hardware.mmu.read_entry)


def va_bits(level: int) -> tuple:
    """(high, low): the bits of a va that index the level-`level` table, e.g. (47, 39)."""
    low = PAGE_SHIFT + 9 * (level - 1)
    return low + 8, low


def split_va(va: int) -> str:
    """'va 0x...401126 = PML4 0 | PDPT 0 | PD 2 | PT 1 | offset 0x126' (the sign bits too if set)."""
    parts = [f"{LEVEL_NAMES[level].upper()} {table_index(va, level)}" for level in (4, 3, 2, 1)]
    sign = f"sign {va >> 48:#06x} | " if va >> 48 else ""
    return f"va {va:#018x} = {sign}{' | '.join(parts)} | offset {va & (PAGE_SIZE - 1):#05x}"


def is_leaf(level: int, entry: int) -> bool:
    return level == 1 or (level == 2 and bool(entry & PTE_PS))


def flag_lines(level: int, entry: int, *, nxe: bool) -> list:
    """One line per flag of `entry`, spelled out for a student."""
    if not entry & PTE_P:
        return ["P=0   not present: the walk stops here; the CPU ignores every other bit "
                "(the OS may keep its own data there)"]
    leaf = is_leaf(level, entry)
    on = lambda bit: 1 if entry & bit else 0           # noqa: E731  (bit -> 0/1 for display)
    lines = [
        "P=1   present",
        f"RW={on(PTE_RW)}  " + ("writable (if every level allows it)" if on(PTE_RW)
                              else "read-only: no write through this entry" + ("" if leaf else " (for everything below it)")),
        f"US={on(PTE_US)}  " + ("user: ring 3 may use it (if every level allows it)" if on(PTE_US)
                              else "supervisor: ring 0 only" + ("" if leaf else " (for everything below it)")),
        f"PWT={on(PTE_PWT)} PCD={on(PTE_PCD)}  cache attributes (not modelled by emu)",
        f"A={on(PTE_A)}   " + ("accessed: the CPU has used this entry" if on(PTE_A)
                             else "not accessed yet: the next real walk sets A"),
    ]
    if leaf:
        lines.append(f"D={on(PTE_D)}   " + ("dirty: the page has been written" if on(PTE_D)
                                          else "clean: no write yet; the first write sets D"))
    if level == 2 and leaf:
        lines.append("PS=1  this PDE maps a 2 MiB page: the walk ends here, bits 20..0 of the va are the offset")
    elif level == 2:
        lines.append("PS=0  this PDE points to a page table: the walk goes on")
    elif level == 3 and entry & PTE_PS:
        lines.append("PS=1  a 1 GiB page: emu's CPU has none (CPUID Page1GB=0), so PS is a reserved bit here")
    elif level == 4 and entry & PTE_PS:
        lines.append("PS=1  reserved in a PML4E")
    if leaf:
        lines.append(f"G={on(PTE_G)}   " + ("global: kept in the TLB across CR3 writes (CR4.PGE=1)" if on(PTE_G)
                                          else "not global: a CR3 write flushes it from the TLB"))
    if nxe:
        lines.append(f"NX={on(PTE_NX)}  " + ("no execute" + ("" if leaf else " (for everything below it)")
                                            if on(PTE_NX) else "execution allowed (if every level allows it)"))
    else:
        lines.append(f"NX={on(PTE_NX)}  EFER.NXE=0: bit 63 is reserved")
    if entry & RSVD_HIGH:
        lines.append(f"reserved bits 51..40 = {(entry & RSVD_HIGH) >> 40:#x}: must be 0 (MAXPHYADDR = 40)")
    return lines


def explain_step(step, va: int, *, nxe: bool, cr3: bool) -> list:
    """The lines for one WalkStep: index bits, table, entry, flags, where it leads."""
    high, low = va_bits(step.level)
    name, entry = ENTRY_NAMES[step.level], step.entry
    where = " (from CR3)" if cr3 else ""
    lines = [f"{LEVEL_NAMES[step.level].upper()} (level {step.level}): va bits {high}..{low} = "
             f"{step.index:#05x} = {step.index}",
             f"  table at pa {step.table_pa:#012x}{where}; {name}[{step.index}] at pa "
             f"{step.entry_pa:#012x} = {entry:#018x}"]
    if entry == UNBACKED:
        lines.append("  (beyond RAM: nothing answers, the read returns all ones)")
    lines += [f"    {line}" for line in flag_lines(step.level, entry, nxe=nxe)]
    if not entry & PTE_P:
        return lines
    if step.level == 1:
        lines.append(f"  -> 4 KiB page frame at pa {entry & PHYS_ADDR_MASK:#012x} (entry bits 39..12)")
    elif is_leaf(step.level, entry):
        lines.append(f"  -> 2 MiB page frame at pa {entry & HUGE_PHYS_MASK:#012x} (entry bits 39..21)")
    else:
        lines.append(f"  -> next table ({LEVEL_NAMES[step.level - 1].upper()}) at pa "
                     f"{entry & PHYS_ADDR_MASK:#012x} (entry bits 39..12)")
    return lines


def combined_rights(steps, *, nxe: bool) -> tuple:
    """(writable, user, nx) over every level walked: AND of RW and US, OR of NX (SDM 4.6)."""
    writable = all(s.entry & PTE_RW for s in steps)
    user = all(s.entry & PTE_US for s in steps)
    nx = nxe and any(s.entry & PTE_NX for s in steps)
    return writable, user, nx


def rights_lines(steps, cr0: int, *, nxe: bool) -> list:
    """The combined rights, and what ring 3 and ring 0 may do with them (SDM 4.6.1)."""
    writable, user, nx = combined_rights(steps, nxe=nxe)
    levels = len(steps)
    wp = bool(cr0 & CR0_WP)
    fetch = "no execute" if nx else "execute"
    lines = [f"Rights combined over the {levels} levels (SDM 4.6): "
             f"{'RW=1 at every level -> writable' if writable else 'RW=0 at some level -> read-only'}; "
             f"{'US=1 at every level -> user' if user else 'US=0 at some level -> supervisor'}; "
             f"{'NX=1 at some level' if nx else 'NX=0 at every level'} -> {fetch}"]
    if user:
        lines.append(f"  ring 3 may read{', write' if writable else ''}{', execute' if not nx else ''}"
                     f"{'' if writable else '; a write is a #PF (P=1 W=1 U=1)'}")
    else:
        lines.append("  ring 3 may do nothing: every access is a #PF (P=1 U=1)")
    kernel_write = writable or not wp
    lines.append(f"  ring 0 may read{', write' if kernel_write else ''}{', execute' if not nx else ''}"
                 f"{'' if writable else (' (CR0.WP=1: ring 0 obeys RW too)' if wp else ' (CR0.WP=0: ring 0 ignores RW)')}")
    return lines


def peek_tlb_entry(tlb, va: int):
    """The TLB entry covering `va` ((entry, 'the 4K TLB'|'the 2M TLB', set number)) or None,
    without marking it used: looking must not change which entry LRU evicts next."""
    for part, label in ((tlb.small, "4K"), (tlb.huge, "2M")):
        vpn = va >> part.page_shift
        entry = part.sets[vpn & part.set_mask].get(vpn)
        if entry is not None:
            return entry, label, vpn & part.set_mask
    return None


def perms_str(entry) -> str:
    return (f"{'W' if entry.writable else 'R'}{'U' if entry.user else 'S'}{'-' if entry.nx else 'X'}"
            f"{' D' if entry.dirty else ''}{' G' if entry.global_ else ''}")


def tlb_lines(mmu, va: int) -> list:
    """What emu's TLB holds for the page of `va`: entry, page size, rights, D, G, which TLB."""
    found = peek_tlb_entry(mmu.tlb, va)
    if found is None:
        return [f"TLB: no entry for this page in either TLB (4K: {mmu.tlb.small.entries} entries, "
                f"2M: {mmu.tlb.huge.entries}): the next access misses and walks as above"]
    entry, label, set_no = found
    part = mmu.tlb.small if label == "4K" else mmu.tlb.huge
    page_va = entry.vpn << part.page_shift
    size = "4 KiB" if entry.page_size == PAGE_SIZE else "2 MiB"
    lines = [f"TLB: the {label} TLB holds va {page_va:#018x} -> pa {entry.pa:#012x}, a {size} page, "
             f"set {set_no} of {part.set_mask + 1} ({part.ways}-way)",
             f"  rights {'writable' if entry.writable else 'read-only'}, {'user' if entry.user else 'supervisor'}, "
             f"{'no execute' if entry.nx else 'executable'}; {'dirty' if entry.dirty else 'clean'}; "
             f"{'global' if entry.global_ else 'not global'}  ({perms_str(entry)})"]
    if not entry.dirty and entry.writable:
        lines.append("  clean: Unicorn got the page without write permission, so the first write "
                     "comes back to the MMU to set D")
    if entry.gen == mmu.gen:
        lines.append("  handed to Unicorn's own TLB since its last flush (it may hold it too)")
    return lines


def explain_walk(mmu, mem, va: int, access: Access = Access.READ, cpl: int = 3) -> list:
    """The walk of `va` for `access` at privilege `cpl`, explained: a list of lines.

    Uses the MMU's current CR3, CR0 and EFER; changes nothing (no A/D bit, no TLB
    fill, no LRU update). Works for any va: non-canonical, not present, reserved bits,
    permission faults are each explained where the walk stops.
    """
    regs = mmu.regs
    nxe = bool(regs.efer & EFER_NXE)
    lines = [split_va(va),
             f"{ACCESS_WORDS[Access(access)]} at CPL {cpl}, CR3 {regs.cr3:#012x}"]
    steps = []
    fault = None
    try:
        tr = walk(mem, va, Access(access), regs, cpl=cpl, update_ad=False, steps=steps)
    except GeneralProtection:
        return lines + ["not canonical: bits 63..47 must be all 0 or all 1 (SDM 3.3.7.1);"
                        " the CPU raises #GP(0) and walks nothing"]
    except PageFault as err:
        fault, tr = err, None
    for number, step in enumerate(steps):
        lines += explain_step(step, va, nxe=nxe, cr3=number == 0)
    if fault is not None and not steps[-1].entry & PTE_P:
        lines.append(f"Result: #PF, {fault.reason}: error code {fault.error_code:#x} "
                     f"({pf_error_str(fault.error_code)}), CR2 = {va:#018x}")
        lines.append("  a not-present entry is where the kernel's page-fault handler comes in "
                     "(demand paging), or SIGSEGV if no VMA covers the address")
        return lines + tlb_lines(mmu, va)
    if fault is not None and "reserved" in fault.reason:
        lines.append(f"Result: #PF, {fault.reason}: error code {fault.error_code:#x} "
                     f"({pf_error_str(fault.error_code)}): corrupt page tables")
        return lines + tlb_lines(mmu, va)
    lines += rights_lines(steps, regs.cr0, nxe=nxe)
    if fault is not None:
        lines.append(f"Result: #PF, {fault.reason}: error code {fault.error_code:#x} "
                     f"({pf_error_str(fault.error_code)}), CR2 = {va:#018x}")
    else:
        size = "4 KiB" if tr.page_size == PAGE_SIZE else "2 MiB"
        offset_bits = "11..0" if tr.page_size == PAGE_SIZE else "20..0"
        lines.append(f"Result: va {va:#018x} -> pa {tr.pa:#012x} (frame {tr.frame_pa:#012x} + offset "
                     f"{va & (tr.page_size - 1):#x}, va bits {offset_bits}; a {size} page, {len(steps)} levels)")
    return lines + tlb_lines(mmu, va)


def parse_access(text: str) -> Access:
    """'read' | 'write' | 'fetch' (or r/w/x) -> Access; ValueError otherwise."""
    names = {"read": Access.READ, "r": Access.READ, "write": Access.WRITE, "w": Access.WRITE,
             "fetch": Access.FETCH, "exec": Access.FETCH, "x": Access.FETCH}
    try:
        return names[text.lower()]
    except KeyError:
        raise ValueError(f"unknown access {text!r} (read, write or fetch)") from None


# -- running a program to the point where a walk is explained (`emu walk`) ----------------

EXIT_SYSCALLS = {60: "exit", 231: "exit_group"}


class StopPoint:
    """Where `run_until` stopped the machine: a sentence, the pid, rip and instructions run."""

    def __init__(self):
        self.why = ""
        self.pid = None
        self.rip = None
        self.insns = None            # counted only with after_insns


def run_until(machine, path: str, argv: list, envp: list, *, at_va: int | None = None,
              after_insns: int | None = None) -> StopPoint:
    """Load and run `path` on `machine` until rip reaches `at_va`, or after `after_insns`
    instructions, or (always, as a fallback) when process 1 calls exit/exit_group, before
    the kernel tears its address space down. The machine is left stopped with the address
    space of the process that reached the point loaded (CR3) and intact.

    Costs: `at_va` is a UC_HOOK_CODE hook on that one address (QEMU instruments only
    that instruction); `after_insns` hooks every instruction, which is slow.
    """
    from unicorn import UC_HOOK_CODE
    from ..elf import load_elf
    kernel, cpu = machine.kernel, machine.cpu
    point = StopPoint()

    def stop(why: str, rip: int) -> None:
        point.why, point.pid, point.rip = why, kernel.current.pid, rip
        cpu.stop()

    if at_va is not None:
        def on_at(uc, address, size, _data):
            if not cpu.stopped:
                stop(f"rip reached {at_va:#018x}", address)
        cpu.uc.hook_add(UC_HOOK_CODE, on_at, begin=at_va, end=at_va)
    if after_insns is not None:
        point.insns = 0

        def on_insn(uc, address, size, _data):
            point.insns += 1
            if point.insns >= after_insns and not cpu.stopped:
                stop(f"after {point.insns} instructions", address)
        cpu.uc.hook_add(UC_HOOK_CODE, on_insn)
    real_on_syscall = kernel.on_syscall

    def on_syscall(cpu_):
        # At process 1's exit the kernel frees its memory: stop just before, in the call.
        nr = cpu_.reg("rax")
        if nr in EXIT_SYSCALLS and kernel.current is kernel.init:
            stop(f"process 1 called {EXIT_SYSCALLS[nr]}({cpu_.reg('rdi')}) (stopped before the "
                 f"kernel frees its memory)", cpu_.reg("rip"))
            return
        real_on_syscall(cpu_)
    kernel.on_syscall = on_syscall        # Cpu.on_syscall calls kernel.on_syscall: this one first
    image = load_elf(path)
    kernel.exec_first(cpu, image, argv, envp)
    cpu.run(timeout=machine.options.timeout)
    if not point.why:
        point.why = "the machine stopped " + (kernel.report.lines[0] if kernel.report.lines else "")
        point.pid = kernel.current.pid if kernel.current else None
    return point


def parse_va(text: str, symbols: dict) -> int:
    """A va on the command line: a number (0x..., decimal) or a symbol of the ELF; ValueError."""
    if text in symbols:
        return symbols[text]
    try:
        return int(text, 0) & ((1 << 64) - 1)
    except ValueError:
        raise ValueError(f"{text!r} is neither a number nor a symbol of the program") from None


def walk_command(args, new_machine) -> int:
    """`emu walk ELF VA [ARGS...]`: run to the point asked for, print the explanation.

    `new_machine()` builds the Machine to run in (emu/cli.py hands it in: the debug
    tools sit below the machine and do not build one themselves).

    The guest's own output goes to stderr so that stdout holds only the explanation.
    Returns the exit status: 0, or 2 for a VA or symbol emu cannot use.
    """
    import sys
    from ..hardware import insn
    from ..elf import load_elf
    image = load_elf(args.elf)                # ElfError: the caller prints it
    try:
        va = parse_va(args.va, image.symbols)
        at_va = parse_va(args.at, image.symbols) if args.at else None
    except ValueError as err:
        print(f"emu: {err}", file=sys.stderr)
        return 2
    machine = new_machine()
    point = run_until(machine, args.elf, [args.elf, *args.args], args.env, at_va=at_va,
                      after_insns=args.after_insns)
    kernel = machine.kernel
    if at_va is not None and point.rip != at_va:
        print(f"emu: {args.at} was never reached", file=sys.stderr)
    elif at_va is not None:
        point.why = f"rip reached {args.at}"
    print(printable(f"emu walk: {args.elf} stopped: {point.why}"))     # the guest's path in it
    if point.rip is not None:
        code = insn.disassemble(machine.cpu.read_code(point.rip), point.rip)
        print(f"  pid {point.pid}, rip {point.rip:#018x}: {code}")
    if kernel.current is None or not kernel.current.alive:
        print("emu: no process is left whose address space could be walked", file=sys.stderr)
        return 1
    for line in explain_walk(machine.mmu, machine.mem, va, args.access, args.cpl):
        print(line)
    return 0
