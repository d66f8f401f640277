"""--trace: one readable line per event (walk, tlb, fault, syscall, sched), to stderr or a file.

Every line starts with its category in brackets and shows virtual and physical
addresses both, as fixed-width hex, so a line can be read on its own.
"""

import sys

from .paging import ENTRY_NAMES, PAGE_SIZE, entry_flags_str

CATEGORIES = ("walk", "tlb", "fault", "syscall", "sched")
ACCESS_NAMES = {0: "read", 1: "write", 2: "fetch", 16: "read", 17: "write", 18: "fetch"}


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
    def __init__(self, categories=(), stream=None):
        self.categories = set(categories)
        self.stream = stream or sys.stderr

    def wants(self, category: str) -> bool:
        return category in self.categories

    def line(self, category: str, text: str) -> None:
        if category in self.categories:
            print(f"[{category}] {text}", file=self.stream)

    # -- MMU events ------------------------------------------------------------------

    def walk(self, va: int, access, cpl: int, steps) -> None:
        levels = "  ".join(f"{ENTRY_NAMES[s.level]}[{s.index}]@{s.entry_pa:#x}={s.entry:#x}({entry_flags_str(s.entry)})"
                           for s in steps)
        self.line("walk", f"va {va:#018x} {ACCESS_NAMES[int(access)]} cpl{cpl}: {levels}")

    def tlb_hit(self, va: int, entry, uc_access, cpl: int) -> None:
        pa = entry.pa + (va & (entry.page_size - 1))
        self.line("tlb", f"hit  va {va:#018x} -> pa {pa:#012x} {size_name(entry.page_size)} "
                         f"{ACCESS_NAMES[uc_access]} cpl{cpl}")

    def tlb_fill(self, va: int, entry, victim) -> None:
        text = (f"fill va {va:#018x} -> pa {entry.pa + (va & (entry.page_size - 1)):#012x} "
                f"{size_name(entry.page_size)} {'W' if entry.writable else 'R'}{'U' if entry.user else 'S'}"
                f"{'X' if not entry.nx else '-'}{' D' if entry.dirty else ''}{' G' if entry.global_ else ''}")
        if victim is not None:
            text += f" (evicts va {victim.vpn * victim.page_size:#018x})"
        self.line("tlb", text)

    def tlb_invalidate(self, why: str, dropped) -> None:
        self.line("tlb", f"flush {why}: {len(dropped)} entr{'y' if len(dropped) == 1 else 'ies'} dropped")


def size_name(page_size: int) -> str:
    return "4K" if page_size == PAGE_SIZE else "2M"
