"""The architectural TLB: set-associative caches of translations, one per page size, LRU.

A TLB entry remembers what the walk found for one page: the frame, the page size, the
permissions combined over all levels (R/W, U/S, NX), whether the leaf was Dirty and
whether it was Global. Like hardware, the TLB is not coherent with the page tables:
after a PTE changes, the old translation keeps being used until it is invalidated
(INVLPG, a CR3 write, a CR4.PGE change) or evicted (SDM Vol. 3A, 4.10.4).

Default geometry, from Intel Skylake (Intel 64 and IA-32 Optimization Reference
Manual, table 2-5): 4 KiB pages: the second-level TLB, 1536 entries, 12-way;
2 MiB pages: the first-level data TLB for large pages, 32 entries, 4-way.
(Skylake's STLB also holds 2 MiB entries; emu keeps the two page sizes apart.)
Both are set by `emu run --tlb 4k=ENTRIES/WAYS,2m=ENTRIES/WAYS`.

How this TLB and Unicorn's own stay coherent is explained in emu/hardware/mmu.py.
"""

from collections import OrderedDict
from dataclasses import dataclass, field

from .paging import HPAGE_SHIFT, PAGE_SHIFT

DEFAULT_GEOMETRY = {"4k": (1536, 12), "2m": (32, 4)}


@dataclass(slots=True)
class TlbEntry:
    """One cached translation. `vpn` is va >> page_shift; `pa` the frame's base."""
    vpn: int
    pa: int
    page_size: int
    writable: bool       # R/W=1 at every level
    user: bool           # U/S=1 at every level
    nx: bool             # NX=1 at some level (with EFER.NXE)
    dirty: bool          # the leaf's D bit was set when this entry was filled
    global_: bool        # the leaf's G bit (kept across CR3 writes when CR4.PGE=1)
    # Unicorn permissions this entry grants at CPL 0 and CPL 3 (UC_PROT_* bits),
    # computed once at fill time so a hit costs one AND.
    perms_kernel: int = 0
    perms_user: int = 0
    # The Unicorn-flush generation in which this entry was last handed to Unicorn
    # (see "coherence" in emu/hardware/mmu.py).
    gen: int = -1


@dataclass
class TlbCounters:
    hits: int = 0
    misses: int = 0
    walks: int = 0
    flushes: int = 0         # entries dropped by invalidation
    evictions: int = 0       # entries dropped to make room (LRU)


@dataclass
class SetAssociativeTlb:
    """`entries` translations of one page size in `entries // ways` sets of `ways` each."""
    page_shift: int
    entries: int
    ways: int
    sets: list = field(init=False)
    counters: TlbCounters = field(default_factory=TlbCounters)

    def __post_init__(self):
        if self.entries <= 0 or self.ways <= 0 or self.entries % self.ways:
            raise ValueError(f"TLB of {self.entries} entries cannot be {self.ways}-way")
        nsets = self.entries // self.ways
        if nsets & (nsets - 1):
            raise ValueError(f"TLB set count {nsets} is not a power of two")
        self.set_mask = nsets - 1
        self.sets = [OrderedDict() for _ in range(nsets)]
        self.count = 0                  # entries held now (lets the fill hook skip an empty TLB)

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    def lookup(self, va: int):
        """The entry covering `va`, marked most recently used; None on a miss."""
        vpn = va >> self.page_shift
        tlb_set = self.sets[vpn & self.set_mask]
        entry = tlb_set.get(vpn)
        if entry is not None:
            tlb_set.move_to_end(vpn)
        return entry

    def insert(self, entry: TlbEntry):
        """Cache `entry`; return the entry evicted to make room, or None."""
        tlb_set = self.sets[entry.vpn & self.set_mask]
        if tlb_set.pop(entry.vpn, None) is not None:
            self.count -= 1
        victim = None
        if len(tlb_set) >= self.ways:
            _, victim = tlb_set.popitem(last=False)      # least recently used
            self.counters.evictions += 1
            self.count -= 1
        tlb_set[entry.vpn] = entry
        self.count += 1
        return victim

    def invalidate(self, va: int):
        """Drop the entry covering `va`; return it (or None)."""
        vpn = va >> self.page_shift
        entry = self.sets[vpn & self.set_mask].pop(vpn, None)
        if entry is not None:
            self.counters.flushes += 1
            self.count -= 1
        return entry

    def flush(self, *, keep_global: bool) -> list:
        """Drop every entry (but global ones if `keep_global`); return those dropped."""
        dropped = []
        for tlb_set in self.sets:
            for vpn, entry in list(tlb_set.items()):
                if not (keep_global and entry.global_):
                    del tlb_set[vpn]
                    dropped.append(entry)
        self.counters.flushes += len(dropped)
        self.count -= len(dropped)
        return dropped

    def entries_list(self) -> list:
        return [entry for tlb_set in self.sets for entry in tlb_set.values()]


class Tlb:
    """The two per-page-size TLBs, looked up 4 KiB first, as one unit."""

    def __init__(self, geometry: dict | None = None):
        geometry = {**DEFAULT_GEOMETRY, **(geometry or {})}
        self.small = SetAssociativeTlb(PAGE_SHIFT, *geometry["4k"])
        self.huge = SetAssociativeTlb(HPAGE_SHIFT, *geometry["2m"])
        self.by_size = {self.small.page_size: self.small, self.huge.page_size: self.huge}

    def lookup(self, va: int):
        return self.small.lookup(va) or self.huge.lookup(va)

    def insert(self, entry: TlbEntry):
        return self.by_size[entry.page_size].insert(entry)

    def invalidate_page(self, va: int) -> list:
        """INVLPG: drop whatever entry covers `va`, of either size (SDM 4.10.4.1)."""
        return [entry for entry in (self.small.invalidate(va), self.huge.invalidate(va)) if entry]

    def flush(self, *, keep_global: bool) -> list:
        return self.small.flush(keep_global=keep_global) + self.huge.flush(keep_global=keep_global)


def parse_geometry(text: str) -> dict:
    """Parse '4k=1536/12,2m=32/4' (either part optional) into {'4k': (1536, 12), ...}."""
    geometry = {}
    for part in filter(None, text.split(",")):
        size, _, spec = part.partition("=")
        size = size.strip().lower()
        entries, _, ways = spec.partition("/")
        if size not in DEFAULT_GEOMETRY or not entries.isdigit() or not ways.isdigit():
            raise ValueError(f"bad --tlb part {part!r} (use e.g. 4k=1536/12,2m=32/4)")
        geometry[size] = (int(entries), int(ways))
        SetAssociativeTlb(PAGE_SHIFT, *geometry[size])   # validate the shape now
    return geometry
