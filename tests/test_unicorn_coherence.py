"""test_unicorn_coherence: the Mmu attached to a real Unicorn (UC_TLB_VIRTUAL + fill hook).

Small ring-0 code sequences run on Unicorn while emu's MMU serves every translation.
The key property (emu/hardware/mmu.py, "Coherence") is checked both ways with a tiny TLB:
a translation emu's TLB has evicted is never used by Unicorn again, and one it still
holds stays in use, stale, until INVLPG, as on hardware (SDM Vol. 3A, 4.10.4).
"""

import struct

import pytest
from unicorn import (UC_ARCH_X86, UC_MEM_READ, UC_MEM_WRITE, UC_MODE_64, UC_PROT_ALL, UC_PROT_WRITE,
                     Uc, UcError)
from unicorn.x86_const import (UC_X86_REG_CR0, UC_X86_REG_CR3, UC_X86_REG_CR4, UC_X86_REG_RAX,
                               UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RIP)

from emu.hardware.mmu import Access, Mmu, PageFault
from emu.hardware.paging import (CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, PAGE_SIZE, PTE_A, PTE_D,
                        PTE_P, PTE_RW, PFErr)
from emu.hardware.physmem import PhysicalMemory
from emu.hardware.tlb import Tlb

MiB = 1 << 20
PML4_PA, PDPT_PA, PD_PA, PT_PA = 0x1000, 0x2000, 0x3000, 0x4000
SMALL_BASE = 0x10_0000            # va i*4K (i < 512) -> pa SMALL_BASE + i*4K
OTHER_FRAME = 0xC0_0000
CODE_VA = 0x1000                  # vpn 1: TLB set 1 of 4
DATA_VA = 0x2_0000                # vpn 0x20: TLB set 0 of 4
SET0_STRIDE = 0x4000              # with 4 sets, pages this far apart share a set
UPPER = PTE_P | PTE_RW
LEAF = PTE_P | PTE_RW | PTE_A | PTE_D

MOV_RAX_FROM_RBX = bytes.fromhex("488b03")           # mov rax, [rbx]
MOV_RAX_TO_RBX = bytes.fromhex("488903")             # mov [rbx], rax
# loop: mov rax, [rbx]; add rbx, SET0_STRIDE; dec rcx; jnz loop
SWEEP = (MOV_RAX_FROM_RBX + bytes.fromhex("4881c3") + struct.pack("<i", SET0_STRIDE)
         + bytes.fromhex("48ffc9") + bytes([0x75, (-(3 + 7 + 3 + 2)) & 0xff]))


def tag(pa: int) -> int:
    """The 8-byte value stored at the start of each frame: names the frame."""
    return 0x7A6 << 48 | pa


def pte_pa(va: int) -> int:
    return PT_PA + ((va >> 12) & 0x1ff) * 8


class Machine:
    """Guest RAM, page tables for va 0..2 MiB, a Unicorn, and an attached Mmu."""

    def __init__(self, geometry=None):
        self.mem = mem = PhysicalMemory(16 * MiB)
        mem.write_u64(PML4_PA, PDPT_PA | UPPER)
        mem.write_u64(PDPT_PA, PD_PA | UPPER)
        mem.write_u64(PD_PA, PT_PA | UPPER)
        for i in range(512):
            pa = SMALL_BASE + i * PAGE_SIZE
            mem.write_u64(PT_PA + 8 * i, pa | LEAF)
            mem.write_u64(pa, tag(pa))
        mem.write_u64(OTHER_FRAME, tag(OTHER_FRAME))
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map_ptr(0, mem.size, UC_PROT_ALL, mem.host_address)
        uc.reg_write(UC_X86_REG_CR4, uc.reg_read(UC_X86_REG_CR4) | CR4_PAE)
        uc.reg_write(UC_X86_REG_CR3, PML4_PA)
        uc.reg_write(UC_X86_REG_CR0, uc.reg_read(UC_X86_REG_CR0) | CR0_PG | CR0_PE | CR0_WP)
        self.mmu = mmu = Mmu(mem, Tlb(geometry))
        mmu.cr0, mmu.cr3, mmu.cr4 = CR0_PE | CR0_PG | CR0_WP, PML4_PA, CR4_PAE
        mmu.efer = EFER_LME | EFER_LMA
        mmu.cpl = 0
        self.fills = []               # (va, uc_access, result, perms) of every hook call
        hook = mmu.tlb_fill

        def recording_fill(uc, va, access, entry, user_data):
            ok = hook(uc, va, access, entry, user_data)
            self.fills.append((va, access, ok, entry.perms if ok else None))
            return ok
        mmu.tlb_fill = recording_fill
        mmu.attach(uc, lambda: 0)

    def run(self, code: bytes, *, rbx=0, rax=0, rcx=0) -> int:
        """Run `code` at CODE_VA in ring 0; return rax."""
        self.mem.write(SMALL_BASE + CODE_VA, code)
        self.uc.reg_write(UC_X86_REG_RBX, rbx)
        self.uc.reg_write(UC_X86_REG_RAX, rax)
        self.uc.reg_write(UC_X86_REG_RCX, rcx)
        self.uc.emu_start(CODE_VA, CODE_VA + len(code))
        return self.uc.reg_read(UC_X86_REG_RAX)

    def load(self, va: int) -> int:
        return self.run(MOV_RAX_FROM_RBX, rbx=va)


@pytest.fixture
def machine():
    return Machine()


@pytest.fixture
def tiny():
    return Machine({"4k": (4, 1)})


# --- (a) the hook serves the translations -------------------------------------------

def test_load_goes_through_the_hook(machine):
    assert machine.load(DATA_VA + 8 * 0) == tag(SMALL_BASE + DATA_VA)
    hooked = {(va, access) for va, access, ok, _ in machine.fills if ok}
    assert (DATA_VA, UC_MEM_READ) in hooked
    assert machine.mmu.tlb.lookup(DATA_VA).pa == SMALL_BASE + DATA_VA


def test_remapped_pte_changes_what_the_guest_reads(machine):
    """Proof that Unicorn's own walker is off: the frame comes from our PTE."""
    machine.mem.write_u64(pte_pa(DATA_VA), OTHER_FRAME | LEAF)
    assert machine.load(DATA_VA) == tag(OTHER_FRAME)


# --- (b) Dirty bit via a second, WRITE fill --------------------------------------------

def test_clean_page_is_read_only_until_first_store(machine):
    mem = machine.mem
    mem.write_u64(pte_pa(DATA_VA), SMALL_BASE + DATA_VA | PTE_P | PTE_RW)    # A=0, D=0
    machine.load(DATA_VA)
    first = [f for f in machine.fills if f[0] == DATA_VA]
    assert first == [(DATA_VA, UC_MEM_READ, True, first[0][3])]
    assert not first[0][3] & UC_PROT_WRITE
    assert mem.read_u64(pte_pa(DATA_VA)) & (PTE_A | PTE_D) == PTE_A
    machine.fills.clear()
    machine.run(MOV_RAX_TO_RBX, rbx=DATA_VA + 16, rax=0x1234)
    writes = [f for f in machine.fills if f[0] == DATA_VA]
    assert writes and writes[-1][1] == UC_MEM_WRITE and writes[-1][3] & UC_PROT_WRITE
    assert mem.read_u64(pte_pa(DATA_VA)) & (PTE_A | PTE_D) == PTE_A | PTE_D
    assert mem.read_u64(SMALL_BASE + DATA_VA + 16) == 0x1234


def test_dirty_page_is_writable_from_the_first_fill(machine):
    machine.run(MOV_RAX_TO_RBX, rbx=DATA_VA, rax=7)
    fills = [f for f in machine.fills if f[0] == DATA_VA]
    assert len(fills) == 1 and fills[0][3] & UC_PROT_WRITE


# --- (c) coherence ---------------------------------------------------------------------

def test_page_evicted_from_our_tlb_is_not_used_by_unicorn(tiny):
    """Unicorn never uses a translation our TLB no longer holds (mmu.py invariant)."""
    pages = 8                                     # > 4 entries; all in set 0 (1 way)
    tiny.run(SWEEP, rbx=DATA_VA, rcx=pages)
    assert tiny.uc.reg_read(UC_X86_REG_RAX) == tag(SMALL_BASE + DATA_VA + (pages - 1) * SET0_STRIDE)
    assert tiny.mmu.tlb.lookup(DATA_VA) is None               # evicted by the sweep
    assert tiny.mmu.tlb.small.counters.evictions >= pages - 1
    tiny.mem.write_u64(pte_pa(DATA_VA), OTHER_FRAME | LEAF)   # no INVLPG
    assert tiny.load(DATA_VA) == tag(OTHER_FRAME)


def test_control_unicorn_caches_what_it_was_given(tiny):
    """Control for the test above: with the flush of Unicorn's TLB disabled, Unicorn
    does keep serving the evicted translation, so the test above is not vacuous."""
    tiny.mmu.flush_unicorn = lambda: None
    tiny.run(SWEEP, rbx=DATA_VA, rcx=8)
    tiny.mem.write_u64(pte_pa(DATA_VA), OTHER_FRAME | LEAF)
    assert tiny.load(DATA_VA) == tag(SMALL_BASE + DATA_VA)


def test_page_still_in_our_tlb_stays_stale_until_invlpg(tiny):
    pages = 8
    last = DATA_VA + (pages - 1) * SET0_STRIDE
    tiny.run(SWEEP, rbx=DATA_VA, rcx=pages)
    assert tiny.mmu.tlb.lookup(last) is not None              # the sweep's last page
    tiny.mem.write_u64(pte_pa(last), OTHER_FRAME | LEAF)      # no INVLPG
    assert tiny.load(last) == tag(SMALL_BASE + last)           # stale, like hardware
    tiny.mmu.invlpg(last)
    assert tiny.load(last) == tag(OTHER_FRAME)


def test_stale_translation_survives_many_unicorn_refills(machine):
    """Even when Unicorn asks again (here after a flush of its TLB), the hook
    answers from our TLB, so the stale translation stays until INVLPG."""
    machine.load(DATA_VA)
    machine.mem.write_u64(pte_pa(DATA_VA), OTHER_FRAME | LEAF)
    machine.mmu.flush_unicorn()
    assert machine.load(DATA_VA) == tag(SMALL_BASE + DATA_VA)
    machine.mmu.load_cr3(PML4_PA)
    assert machine.load(DATA_VA) == tag(OTHER_FRAME)


# --- (d) a fault -----------------------------------------------------------------------

@pytest.mark.parametrize("code, pte_flags, access, error_code", [
    (MOV_RAX_FROM_RBX, 0, Access.READ, PFErr(0)),
    (MOV_RAX_TO_RBX, 0, Access.WRITE, PFErr.W),
    (MOV_RAX_TO_RBX, PTE_P | PTE_A | PTE_D, Access.WRITE, PFErr.P | PFErr.W),
    (MOV_RAX_FROM_RBX, PTE_P | PTE_RW | (1 << 45), Access.READ, PFErr.P | PFErr.RSVD),
], ids=["read-not-present", "write-not-present", "write-read-only-WP1", "read-rsvd-bit45"])
def test_fault_stops_unicorn_and_is_recorded(machine, code, pte_flags, access, error_code):
    machine.mem.write_u64(pte_pa(DATA_VA), SMALL_BASE + DATA_VA | pte_flags)
    with pytest.raises(UcError):
        machine.run(code, rbx=DATA_VA + 0x28)
    fault, fault_access = machine.mmu.pending_fault
    assert isinstance(fault, PageFault)
    assert (fault.va & ~0xfff, fault.error_code, fault_access) == (DATA_VA, error_code, access)
    assert machine.fills[-1][:3] == (DATA_VA, {Access.READ: UC_MEM_READ, Access.WRITE: UC_MEM_WRITE}[access], False)
    assert machine.uc.reg_read(UC_X86_REG_RIP) == CODE_VA      # at the faulting instruction
