"""--trace: one event per walk, TLB fill/hit/flush, page fault, system call or switch.

Two formats. `text` (the default) is one line per event for a person: it starts with
the category in brackets and can be read on its own (virtual and physical addresses,
the access, the pid, the instruction, the pagetable_op that ran, as fixed-width hex).
`jsonl` is one JSON object per line for tools: the keys of an event are fixed by its
category and kind (EVENT_FIELDS), values are numbers, strings or null, and "text" holds
the line the text format would print.

    [fault] #PF va 0x00007ffff7a00000 write error 0x7 (P|W|U) pid 1 rip 0x0000000000401167 (mov byte ptr [rax], 0x41): write to a read-only page  [fault 3]
    {"category": "fault", "kind": "pf", "id": 3, "pid": 1, "va": 140737347846144, ...}

A fault and the kernel's answer to it are two events with the same `id`.
"""

import json
import sys

from ..hardware.paging import ENTRY_NAMES, PAGE_SIZE, entry_flags_str
from ..text import printable

CATEGORIES = ("walk", "tlb", "fault", "syscall", "sched")
FORMATS = ("text", "jsonl")
ACCESS_NAMES = {0: "read", 1: "write", 2: "fetch", 16: "read", 17: "write", 18: "fetch"}

# The keys of every JSONL event besides "category", "kind" and "text", per (category, kind).
EVENT_FIELDS = {
    ("walk", "walk"): ("va", "access", "cpl", "pml4e", "pdpte", "pde", "pte", "pa", "page_size", "result"),
    ("tlb", "hit"): ("va", "pa", "page_size", "access", "cpl"),
    ("tlb", "fill"): ("va", "pa", "page_size", "perms", "dirty", "global", "evicted_va"),
    ("tlb", "flush"): ("reason", "dropped", "entries"),
    ("fault", "pf"): ("id", "pid", "va", "access", "error_code", "error", "rip", "insn", "reason"),
    ("fault", "handled"): ("id", "pid", "va", "access", "vma_start", "vma_end", "vma_perms", "vma_name",
                           "op", "function", "result"),
    ("syscall", "syscall"): ("pid", "nr", "name", "a0", "a1", "a2", "a3", "a4", "a5", "result", "note"),
    ("sched", "sched"): ("what",),
    (None, "text"): (),            # Tracer.line: free text in any category
}


def parse_categories(text: str) -> set:
    """'walk,tlb' -> {'walk', 'tlb'}; 'all' -> every category; ValueError if unknown."""
    wanted = set(filter(None, (part.strip() for part in text.split(","))))
    if "all" in wanted:
        return set(CATEGORIES)
    unknown = wanted - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown --trace category {sorted(unknown)[0]!r} (choose from {', '.join(CATEGORIES)})")
    return wanted


class Tracer:
    """Writes trace events of the wanted categories to `stream` (stderr by default)."""

    def __init__(self, categories=(), stream=None, *, fmt: str = "text"):
        if fmt not in FORMATS:
            raise ValueError(f"unknown trace format {fmt!r} (text or jsonl)")
        self.categories = set(categories)
        self.stream = stream or sys.stderr
        self.jsonl = fmt == "jsonl"
        self.fault_id = 0             # numbers the #PF events; the kernel's answer reuses it

    def wants(self, category: str) -> bool:
        return category in self.categories

    def event(self, category: str, kind: str, text: str, **fields) -> None:
        """One event: a text line, or a JSON object with the keys EVENT_FIELDS gives."""
        if category not in self.categories:
            return
        if self.jsonl:
            record = {"category": category, "kind": kind, **fields, "text": text}
            print(json.dumps(record), file=self.stream)
        else:
            print(f"[{category}] {printable(text)}", file=self.stream)   # guest paths in it: escaped

    def line(self, category: str, text: str) -> None:
        """Free text (kind "text"), for events without a method of their own."""
        self.event(category, "text", text)

    # -- MMU events ------------------------------------------------------------------

    def walk(self, va: int, access, cpl: int, steps, *, tr=None, fault=None) -> None:
        """A full page walk: every entry read, then the pa (`tr`) or why it failed (`fault`)."""
        levels = "  ".join(f"{ENTRY_NAMES[s.level]}[{s.index}]@{s.entry_pa:#x}={s.entry:#x}({entry_flags_str(s.entry)})"
                           for s in steps)
        if tr is not None:
            outcome = f" -> pa {tr.pa:#012x} {size_name(tr.page_size)}"
        else:
            outcome = f" -> {'#GP' if getattr(fault, 'vector', 14) == 13 else '#PF'}: {getattr(fault, 'reason', '?')}"
        entries = {ENTRY_NAMES[level]: None for level in (4, 3, 2, 1)}
        entries.update((ENTRY_NAMES[s.level], s.entry) for s in steps)
        self.event("walk", "walk", f"va {va:#018x} {ACCESS_NAMES[int(access)]} cpl{cpl}: {levels}{outcome}",
                   va=va, access=ACCESS_NAMES[int(access)], cpl=cpl, **entries,
                   pa=tr.pa if tr else None, page_size=tr.page_size if tr else None,
                   result="ok" if tr else getattr(fault, "reason", "?"))

    def tlb_hit(self, va: int, entry, uc_access, cpl: int) -> None:
        pa = entry.pa + (va & (entry.page_size - 1))
        self.event("tlb", "hit", f"hit  va {va:#018x} -> pa {pa:#012x} {size_name(entry.page_size)} "
                                 f"{ACCESS_NAMES[uc_access]} cpl{cpl}",
                   va=va, pa=pa, page_size=entry.page_size, access=ACCESS_NAMES[uc_access], cpl=cpl)

    def tlb_fill(self, va: int, entry, victim) -> None:
        pa = entry.pa + (va & (entry.page_size - 1))
        perms = f"{'W' if entry.writable else 'R'}{'U' if entry.user else 'S'}{'X' if not entry.nx else '-'}"
        text = (f"fill va {va:#018x} -> pa {pa:#012x} {size_name(entry.page_size)} {perms}"
                f"{' D' if entry.dirty else ''}{' G' if entry.global_ else ''}")
        evicted = victim.vpn * victim.page_size if victim is not None else None
        if victim is not None:
            text += (f" (evicts va {evicted:#018x} -> pa {victim.pa:#012x} {size_name(victim.page_size)})")
        self.event("tlb", "fill", text, va=va, pa=pa, page_size=entry.page_size, perms=perms,
                   dirty=entry.dirty, **{"global": entry.global_}, evicted_va=evicted)

    def tlb_invalidate(self, why: str, dropped) -> None:
        """A flush: INVLPG, a CR3 write, a CR4.PGE change; lists up to 4 dropped translations."""
        pages = ", ".join(f"va {e.vpn * e.page_size:#x} -> pa {e.pa:#x} {size_name(e.page_size)}" for e in dropped[:4])
        more = f", +{len(dropped) - 4} more" if len(dropped) > 4 else ""
        shown = f" ({pages}{more})" if dropped else ""
        self.event("tlb", "flush", f"flush {why}: {len(dropped)} entr{'y' if len(dropped) == 1 else 'ies'} dropped{shown}",
                   reason=why, dropped=len(dropped), entries=pages + more)

    # -- kernel events -----------------------------------------------------------------

    def page_fault(self, *, pid: int, va: int, access: str, error_code: int, error: str, rip: int,
                   insn: str, reason: str) -> int:
        """A #PF on its way to the IDT; returns its id (for `fault_handled`)."""
        self.fault_id += 1
        if insn == "(unreadable)" and access == "fetch":
            insn = "the instruction itself is on the missing page"
        self.event("fault", "pf", f"#PF va {va:#018x} {access} error {error_code:#x} ({error}) pid {pid} "
                                  f"rip {rip:#018x} ({insn}): {reason}  [fault {self.fault_id}]",
                   id=self.fault_id, pid=pid, va=va, access=access, error_code=error_code, error=error,
                   rip=rip, insn=insn, reason=reason)
        return self.fault_id

    def fault_handled(self, *, pid: int, va: int, access: str, vma, op: str | None, function: str | None,
                      result: str) -> None:
        """The kernel's answer to the last #PF: the VMA, the pagetable_op that ran, the outcome."""
        if vma is None:
            where = "no VMA"
            start = end = perms = name = None
        else:
            start, end, perms, name = vma.start, vma.end, vma_perms(vma), vma.name or "anon"
            where = f"{name} {start:#x}-{end:#x} {perms}"
        how = f"by {op} = {function}()" if op else "before any op"
        self.event("fault", "handled", f"  handled {how} in {where}: {result}  "
                                       f"[fault {self.fault_id}: pid {pid} va {va:#018x} {access}]",
                   id=self.fault_id, pid=pid, va=va, access=access, vma_start=start, vma_end=end,
                   vma_perms=perms, vma_name=name, op=op, function=function, result=result)

    def syscall(self, *, pid: int, nr: int, name: str, args: tuple, result, note: str = "") -> None:
        shown = ", ".join(f"{a:#x}" for a in args[:3])
        self.event("syscall", "syscall", f"pid {pid} {name}({shown}, ...) = {result}{note}",
                   pid=pid, nr=nr, name=name, **{f"a{i}": a for i, a in enumerate(args)},
                   result=result if isinstance(result, int) else str(result), note=note.strip())

    def sched(self, what: str) -> None:
        self.event("sched", "sched", what, what=what)


def vma_perms(vma) -> str:
    """'rw-p' as in /proc/self/maps."""
    from ..kernel.mm.memory import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE
    rwx = "".join(c if vma.flags & bit else "-" for c, bit in (("r", VM_READ), ("w", VM_WRITE), ("x", VM_EXEC)))
    return rwx + ("s" if vma.flags & VM_SHARED else "p")


def size_name(page_size: int) -> str:
    return "4K" if page_size == PAGE_SIZE else "2M"
