"""Page tables as the kernel edits them: allocate tables on the way down, set and clear entries.

This is software, kept apart from the hardware walk in emu/hardware/mmu.py: the kernel writes
entries in the format of emu/hardware/paging.py, and then must invalidate the TLB itself
(`Mmu.invlpg`, or a CR3 reload) exactly as a real kernel must. Nothing here touches
the TLB.

Intermediate entries are made present, writable and user-accessible (P|RW|US, like
Linux's _PAGE_TABLE): permissions are decided by the leaf entries, the combined rule
of SDM 4.6 then gives exactly the leaf's rights.
"""

from typing import NamedTuple

from ...hardware.physmem import U64
from ...hardware.paging import (ENTRY_SIZE, PAGE_SHIFT, PAGE_SIZE, PHYS_ADDR_MASK, PTE_P, PTE_PS, PTE_RW, PTE_US,
                      PTRS_PER_TABLE, USER_TOP, table_index)

TABLE_FLAGS_USER = PTE_P | PTE_RW | PTE_US
TABLE_FLAGS_KERNEL = PTE_P | PTE_RW
LEVEL_SHIFT = {level: PAGE_SHIFT + 9 * (level - 1) for level in (1, 2, 3, 4)}   # va bits of each level's index
INDEX_MASK = PTRS_PER_TABLE - 1
PD_SHIFT = LEVEL_SHIFT[2]
# The levels a walk down to a level-N entry passes through, as index shifts: PML4 ... N+1.
SHIFTS_ABOVE = {leaf: tuple(LEVEL_SHIFT[level] for level in range(4, leaf, -1)) for leaf in (1, 2, 3, 4)}


def level_span(level: int) -> int:
    """Bytes of address space one entry of a level-`level` table covers (4 KiB ... 512 GiB)."""
    return 1 << (PAGE_SHIFT + 9 * (level - 1))


class LeafSlot(NamedTuple):
    """Where the entry mapping a va lives: its physical address, value and level."""
    entry_pa: int
    entry: int
    level: int           # 1: a PTE (4 KiB page); 2: a PDE (2 MiB page when PS=1)


# Bit 0 (P) of each byte of a table's low bytes, as one integer: table_is_empty's mask.
PRESENT_BITS = int.from_bytes(bytes([PTE_P]) * PTRS_PER_TABLE, "little")


class PageTables:
    """The paging structures of one address space, rooted at `pml4_pa`."""

    def __init__(self, mem, frames, pml4_pa: int | None = None):
        self.mem = mem
        self.frames = frames
        self.pml4_pa = self.alloc_table() if pml4_pa is None else pml4_pa

    def alloc_table(self) -> int:
        """A zeroed 4 KiB frame for a table (all 512 entries not present)."""
        return self.frames.alloc_frame(clear_in=self.mem)

    def entry_pa(self, va: int, leaf_level: int = 1, *, create: bool, user: bool = True) -> int | None:
        """The physical address of the level-`leaf_level` entry for `va`.

        Walks from the PML4 down to the table at `leaf_level`; with `create`, allocates
        the missing tables on the way (xv6's walk(alloc=1), Linux's pte_alloc). Returns
        None if a table is missing and not `create`d, or if a larger page maps `va`.
        """
        table_pa = self.pml4_pa
        buf = self.mem.buf
        for shift in SHIFTS_ABOVE[leaf_level]:           # (va >> shift) & 511: the index at that level
            slot = table_pa + ((va >> shift) & INDEX_MASK) * ENTRY_SIZE
            entry = U64.unpack_from(buf, slot)[0]
            if entry & PTE_P:
                if shift == PD_SHIFT and entry & PTE_PS:
                    return None                          # a 2 MiB page maps va
            elif not create:
                return None
            else:
                entry = self.alloc_table() | (TABLE_FLAGS_USER if user else TABLE_FLAGS_KERNEL)
                self.mem.write_u64(slot, entry)
            table_pa = entry & PHYS_ADDR_MASK
        return table_pa + ((va >> LEVEL_SHIFT[leaf_level]) & INDEX_MASK) * ENTRY_SIZE

    def lookup(self, va: int) -> LeafSlot | None:
        """The present leaf entry mapping `va` (a PTE, or a PDE with PS=1), or None."""
        table_pa = self.pml4_pa
        for level in (4, 3, 2, 1):
            slot = table_pa + table_index(va, level) * ENTRY_SIZE
            entry = self.mem.read_u64(slot)
            if not entry & PTE_P:
                return None
            if level == 1 or (level == 2 and entry & PTE_PS):
                return LeafSlot(slot, entry, level)
            table_pa = entry & PHYS_ADDR_MASK
        return None

    def set_pte(self, va: int, entry: int, *, user: bool = True) -> int:
        """Write the 4 KiB leaf entry for `va`, creating tables; return its address."""
        slot = self.entry_pa(va, 1, create=True, user=user)
        self.mem.write_u64(slot, entry)
        return slot

    def clear_entry(self, slot: LeafSlot) -> None:
        self.mem.write_u64(slot.entry_pa, 0)

    def leaves(self, start: int, end: int):
        """Yield (va, LeafSlot) for every present leaf entry mapping a page in [start, end).

        In address order. A missing table skips the whole span it would cover, so a
        walk over a large, sparsely mapped range costs what is mapped, not its size
        (Linux's zap_p4d_range ... zap_pte_range do the same with pXd_none checks).
        The entry is read when it is yielded: the caller may change it in between.
        """
        va = start
        while va < end:
            table_pa = self.pml4_pa
            for level in (4, 3, 2):
                span = level_span(level)
                slot = table_pa + table_index(va, level) * ENTRY_SIZE
                entry = self.mem.read_u64(slot)
                if entry & PTE_P and level == 2 and entry & PTE_PS:
                    yield va - va % span, LeafSlot(slot, entry, level)
                if not entry & PTE_P or (level == 2 and entry & PTE_PS):
                    va = va - va % span + span          # on to the next entry at this level
                    break
                table_pa = entry & PHYS_ADDR_MASK
            else:
                # A page table: its entries from va's to the end of the table (or of the range).
                va -= va % PAGE_SIZE
                table_end = min(end, va - va % level_span(2) + level_span(2))
                slot = table_pa + table_index(va, 1) * ENTRY_SIZE
                while va < table_end:
                    entry = self.mem.read_u64(slot)
                    if entry & PTE_P:
                        yield va, LeafSlot(slot, entry, 1)
                    va += PAGE_SIZE
                    slot += ENTRY_SIZE

    def free_empty_tables(self, start: int, end: int) -> int:
        """Free every page-table page below the PML4 that maps part of [start, end) and is empty.

        A table is empty when none of its 512 entries is present; freeing one clears the
        entry that points to it, which may empty its parent in turn (so the walk goes
        bottom-up). Returns how many tables were freed. The PML4 itself stays, and so
        does the kernel half: it is shared by every address space.
        """
        return self._free_empty(self.pml4_pa, 4, start, min(end, USER_TOP))

    def _free_empty(self, table_pa: int, level: int, start: int, end: int) -> int:
        """Free the empty tables under the level-`level` table at `table_pa`, in [start, end)."""
        if level == 1:
            return 0                  # a PT points to pages, not tables
        freed = 0
        span = level_span(level)
        va = start
        while va < end:
            slot = table_pa + table_index(va, level) * ENTRY_SIZE
            entry = self.mem.read_u64(slot)
            next_va = va - va % span + span
            if level > 1 and entry & PTE_P and not (level == 2 and entry & PTE_PS):
                child_pa = entry & PHYS_ADDR_MASK
                freed += self._free_empty(child_pa, level - 1, va, min(end, next_va))
                if self.table_is_empty(child_pa):
                    self.mem.write_u64(slot, 0)
                    self.frames.put_frame(child_pa)
                    freed += 1
            va = next_va
        return freed

    def table_is_empty(self, table_pa: int) -> bool:
        """True if no entry of the table at `table_pa` is present."""
        low_bytes = self.mem.read(table_pa, PAGE_SIZE)[::ENTRY_SIZE]   # entries are little-endian: P is bit 0 of byte 0
        return not int.from_bytes(low_bytes, "little") & PRESENT_BITS    # one test of 512 bytes (exit with many VMAs)

    def share_kernel_half(self, kernel: "PageTables") -> None:
        """Point this PML4's upper-half entries at the kernel's tables (every space has them)."""
        for index in range(PTRS_PER_TABLE // 2, PTRS_PER_TABLE):
            entry = self.mem.read_u64(kernel.pml4_pa + index * ENTRY_SIZE)
            self.mem.write_u64(self.pml4_pa + index * ENTRY_SIZE, entry)
