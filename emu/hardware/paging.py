"""x86-64 4-level paging formats: entry bits, table indices, masks and the #PF error code.

Both sides of the machine use this file: the hardware walk (emu/hardware/mmu.py) reads
entries in this format, and the guest kernel (emu/kernel/mm/pagetable.py) writes them.

    63  62..52  51 ........ M  M-1 ............ 12  11..9  8  7  6  5  4   3   2  1  0
    NX  avail   reserved (0)   physical address       avail G PS  D  A PCD PWT U RW P
                               of the next table or page frame

    SDM Vol. 3A, section 4.5 (4-level paging), tables 4-15 to 4-20.
"""

import enum

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT            # 4 KiB
PAGE_MASK = ~(PAGE_SIZE - 1)
HPAGE_SHIFT = 21
HPAGE_SIZE = 1 << HPAGE_SHIFT          # 2 MiB, mapped by a PDE with PS=1
HPAGE_MASK = ~(HPAGE_SIZE - 1)
PTRS_PER_TABLE = 512                   # every table is one 4 KiB page of 8-byte entries
ENTRY_SIZE = 8

# Entry bits (SDM Vol. 3A, tables 4-15..4-20; Linux arch/x86/include/asm/pgtable_types.h).
PTE_P = 1 << 0      # present
PTE_RW = 1 << 1     # writable (else read-only)
PTE_US = 1 << 2     # user (else supervisor only)
PTE_PWT = 1 << 3    # page-level write-through (cache attribute; not modelled)
PTE_PCD = 1 << 4    # page-level cache disable (not modelled)
PTE_A = 1 << 5      # accessed: set by the walk on every entry it uses
PTE_D = 1 << 6      # dirty: set by the walk on the leaf for a write
PTE_PS = 1 << 7     # page size: in a PDE, maps a 2 MiB page; in a PDPTE, 1 GiB
PTE_G = 1 << 8      # global: survives a CR3 write (CR4.PGE=1)
PTE_NX = 1 << 63    # execute-disable (reserved unless EFER.NXE=1)

# emu models a CPU with MAXPHYADDR = 40, like QEMU's default "qemu64" CPU that Unicorn
# emulates, so entry bits 51:40 are reserved (SDM 4.5: "Reserved bits 51:M").
MAXPHYADDR = 40
PHYS_ADDR_MASK = ((1 << MAXPHYADDR) - 1) & PAGE_MASK     # bits 39:12 of a 4 KiB-aligned entry
RSVD_HIGH = ((1 << 52) - 1) & ~((1 << MAXPHYADDR) - 1)   # bits 51:40 in every entry
# A PDE with PS=1 holds a 2 MiB-aligned address; its bits 20:13 are reserved
# (bit 12 is PAT for a large page). SDM table 4-18.
RSVD_PDE_2M = RSVD_HIGH | (((1 << 21) - 1) & ~((1 << 13) - 1))
HUGE_PHYS_MASK = ((1 << MAXPHYADDR) - 1) & HPAGE_MASK

# Level numbers as the SDM counts them: the PML4 is level 4, a PT is level 1.
LEVEL_NAMES = {4: "pml4", 3: "pdpt", 2: "pd", 1: "pt"}
ENTRY_NAMES = {4: "pml4e", 3: "pdpte", 2: "pde", 1: "pte"}

# Control registers and EFER, the bits the walk looks at.
CR0_PE = 1 << 0
CR0_WP = 1 << 16    # supervisor writes honour R/W (SDM 4.6.1)
CR0_PG = 1 << 31
CR4_PAE = 1 << 5
CR4_PGE = 1 << 7    # global pages enabled
EFER_SCE = 1 << 0
EFER_LME = 1 << 8
EFER_LMA = 1 << 10
EFER_NXE = 1 << 11  # execute-disable enabled; without it bit 63 is reserved
CR3_ADDR_MASK = PHYS_ADDR_MASK

# Canonical addresses: bits 63:47 all equal (SDM 3.3.7.1). A non-canonical access is
# #GP (or #SS for a stack access), never #PF.
USER_TOP = 0x0000_8000_0000_0000


class PFErr(enum.IntFlag):
    """The page-fault error code pushed by the CPU (SDM 4.7; Linux X86_PF_*)."""
    P = 1 << 0      # 0: not present; 1: protection violation
    W = 1 << 1      # the access was a write
    U = 1 << 2      # the access was made with CPL=3
    RSVD = 1 << 3   # a reserved bit was set in some paging-structure entry
    I = 1 << 4      # instruction fetch (with EFER.NXE=1 or CR4.SMEP=1)
    PK = 1 << 5     # protection key (not modelled: PKE is never enabled)


def table_index(va: int, level: int) -> int:
    """Index into the level-`level` table (4 = PML4 ... 1 = PT) for `va`.

    va bits: 47..39 PML4, 38..30 PDPT, 29..21 PD, 20..12 PT, 11..0 offset.
    """
    return (va >> (PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_TABLE - 1)


def pml4_index(va: int) -> int:
    return table_index(va, 4)


def pdpt_index(va: int) -> int:
    return table_index(va, 3)


def pd_index(va: int) -> int:
    return table_index(va, 2)


def pt_index(va: int) -> int:
    return table_index(va, 1)


def is_canonical(va: int) -> bool:
    """True if bits 63:47 of the 64-bit `va` are all 0 or all 1."""
    top = va >> 47
    return top == 0 or top == (1 << 17) - 1


def entry_flags_str(entry: int) -> str:
    """Flags of an entry as a short readable string, e.g. 'P RW US A D NX'."""
    names = [("P", PTE_P), ("RW", PTE_RW), ("US", PTE_US), ("PWT", PTE_PWT),
             ("PCD", PTE_PCD), ("A", PTE_A), ("D", PTE_D), ("PS", PTE_PS),
             ("G", PTE_G), ("NX", PTE_NX)]
    return " ".join(name for name, bit in names if entry & bit) or "-"


def pf_error_str(code: int) -> str:
    """A #PF error code as its flag names, e.g. 'P|W|U' (or 'none' for 0)."""
    return "|".join(flag.name for flag in PFErr if code & flag) or "none"
