"""The hardware MMU: the 4-level page walk, its protection checks, and the TLB-fill hook.

This is the CPU's side of paging. It reads paging structures from guest RAM, sets their
Accessed and Dirty bits as the processor does, and either produces a Translation or
raises a fault object (PageFault, GeneralProtection). It never edits a mapping: that
is the guest kernel's job (emu/kernel/mm/pagetable.py). It never delivers a fault either:
emu/hardware/cpu.py does that, the way the CPU would, through the guest's IDT.

Unicorn runs the guest in UC_TLB_VIRTUAL mode: QEMU's own x86 page walker is off, and
whenever QEMU's software TLB misses it calls `Mmu.tlb_fill`, which serves the
translation from emu's architectural TLB (emu/hardware/tlb.py) or walks the page tables.

Coherence: Unicorn's TLB is a cache below emu's TLB
------------------------------------------------------
QEMU keeps every translation `tlb_fill` returns, per 4 KiB page and privilege level,
until its TLB is flushed; the host can flush it only as a whole (UC_CTL_TLB_FLUSH).
emu guarantees that Unicorn never uses a translation emu's TLB no longer holds:

1. Unicorn holds only translations handed out by `tlb_fill` since its last flush.
2. Each flush of Unicorn's TLB starts a new *generation* (`Mmu.gen`), and every TLB
   entry records the generation in which it was last handed to Unicorn (`entry.gen`).
3. Whenever an entry of the current generation leaves emu's TLB, for any reason (LRU
   eviction, INVLPG, a CR3 write, a CR4.PGE change), Unicorn's TLB is flushed and the
   generation moves on. Entries of older generations may leave freely: Unicorn cannot
   hold them.

So every translation in Unicorn's TLB is also in emu's, with the same permissions.
A change to a PTE therefore reaches the guest exactly when emu's TLB drops the old
translation, as on hardware: the kernel must INVLPG (or reload CR3) after changing an
entry, and a forgotten invalidation leaves the old translation in use (tested).

Writes and the Dirty bit: a translation is handed to Unicorn writable only if the
leaf's D bit is already set. The first write to a clean page therefore comes back
through `tlb_fill` as a write, and the walk sets D in guest memory (SDM 4.8).

Privilege: the hook is not told the CPL, and reading CS costs microseconds, so the
MMU keeps `cpl`, a hint that is 0 only while the CPU is surely in ring 0 (from exception
delivery to the end of the stub's hypercall). After the hypercall the stub, still in
ring 0, only restores the trap frame and irets: all its accesses are to the kernel
half. So a hint of 3 that would fault on a kernel-half address is checked against the
real CS (one register read) before a fault is raised.
"""

import enum
import struct
from time import perf_counter
from dataclasses import dataclass

from unicorn import UC_MEM_FETCH, UC_MEM_READ, UC_MEM_WRITE, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_TLB_VIRTUAL

from .paging import (CR0_PG, CR0_WP, CR3_ADDR_MASK, CR4_PGE, EFER_NXE, ENTRY_SIZE, HPAGE_SHIFT, HPAGE_SIZE, HUGE_PHYS_MASK,
                     PAGE_SHIFT, PAGE_SIZE, PHYS_ADDR_MASK, PTE_A, PTE_D, PTE_G, PTE_NX, PTE_P, PTE_PS, PTE_RW,
                     PTE_US, RSVD_HIGH, RSVD_PDE_2M, PFErr, is_canonical, pf_error_str, table_index)
from .tlb import Tlb, TlbEntry


class Access(enum.IntEnum):
    READ = 0
    WRITE = 1
    FETCH = 2


# The members under plain names, for hot paths: in CPython 3.11 every `Access.READ`
# goes through a descriptor call.
READ, WRITE, FETCH = Access.READ, Access.WRITE, Access.FETCH


# Unicorn's access codes, and the permission each one needs.
ACCESS_FROM_UC = {UC_MEM_READ: READ, UC_MEM_WRITE: WRITE, UC_MEM_FETCH: FETCH}
PROT_NEEDED = {UC_MEM_READ: UC_PROT_READ, UC_MEM_WRITE: UC_PROT_WRITE, UC_MEM_FETCH: UC_PROT_EXEC}
PROT_FOR_ACCESS = (UC_PROT_READ, UC_PROT_WRITE, UC_PROT_EXEC)      # indexed by Access

# Reserved bits per level (SDM 4.5, tables 4-15..4-20), on top of NX when EFER.NXE=0.
# PS is reserved in a PML4E, and in a PDPTE because emu's CPU (like QEMU's default
# qemu64) reports no 1 GiB pages: CPUID.80000001H:EDX.Page1GB = 0 (SDM 4.1.4).
RSVD_BY_LEVEL = {4: RSVD_HIGH | PTE_PS, 3: RSVD_HIGH | PTE_PS, 2: RSVD_HIGH, 1: RSVD_HIGH}

# walk_fast's test of an upper entry: P, A, PS and the reserved bits (NX is reserved
# without EFER.NXE). It passes when, of these, exactly P and A are set.
UPPER_CHECKED_NXE = PTE_P | PTE_A | PTE_PS | RSVD_HIGH
UPPER_CHECKED = UPPER_CHECKED_NXE | PTE_NX

UNBACKED = (1 << 64) - 1
_unpack_u64 = struct.Struct("<Q").unpack_from     # a read of physical memory beyond RAM returns all ones
_pack_u64 = struct.Struct("<Q").pack_into


class PageFault(Exception):
    """#PF (vector 14): the walk of `va` failed; `error_code` as the CPU pushes it."""
    vector = 14

    def __init__(self, va: int, error_code: int, reason: str):
        # (BaseException.__new__ has set self.args already: no super().__init__ needed.)
        self.va = va
        self.error_code = error_code      # an int: compare with PFErr flags, show with pf_error_str
        self.reason = reason

    def __str__(self) -> str:              # made only when shown: faults are a hot path
        return f"#PF at {self.va:#018x} ({pf_error_str(self.error_code)}): {self.reason}"


class GeneralProtection(Exception):
    """#GP(0) (vector 13), here for a non-canonical linear address (SDM 3.3.7.1)."""
    vector = 13
    error_code = 0

    def __init__(self, va: int):
        super().__init__(f"#GP: non-canonical address {va:#018x}")
        self.va = va
        self.reason = "non-canonical address"


@dataclass(frozen=True)
class PagingRegs:
    """The control registers the walk depends on."""
    cr3: int
    cr0: int
    cr4: int
    efer: int


@dataclass(frozen=True)
class WalkStep:
    """One level of a walk, for traces and explanations."""
    level: int           # 4 = PML4 ... 1 = PT
    table_pa: int
    index: int
    entry_pa: int
    entry: int


@dataclass(frozen=True)
class Translation:
    """A successful walk: `va` maps to `pa` inside a page of `page_size` bytes."""
    va: int
    pa: int
    page_size: int
    writable: bool
    user: bool
    nx: bool
    dirty: bool
    global_: bool

    @property
    def frame_pa(self) -> int:
        return self.pa & ~(self.page_size - 1)


def fault_error_code(access: Access, cpl: int, nxe: bool, *, present: bool, rsvd: bool = False) -> int:
    """The #PF error code for a failed `access` (SDM 4.7, figure 4-12)."""
    code = 0                    # plain ints here: IntFlag arithmetic is slow on the fault path
    if present:
        code |= PFErr.P.value
    if rsvd:
        code |= PFErr.RSVD.value | PFErr.P.value
    if access == WRITE:
        code |= PFErr.W.value
    if cpl == 3:
        code |= PFErr.U.value
    if access == FETCH and nxe:
        code |= PFErr.I.value
    return code


# The error code of a not-present fault, by (Unicorn access, CPL, EFER.NXE): the hook's
# common refusal looks it up instead of computing it.
NOT_PRESENT_CODE = {(uc_access, cpl, nxe): fault_error_code(ACCESS_FROM_UC[uc_access], cpl, nxe, present=False)
                    for uc_access in ACCESS_FROM_UC for cpl in (0, 3) for nxe in (False, True)}


def walk(mem, va: int, access: Access, regs: PagingRegs, *, cpl: int,
         update_ad: bool = True, steps: list | None = None) -> Translation:
    """Translate `va` for `access` at privilege `cpl` as the CPU does (SDM 4.5, 4.6, 4.8).

    Reads the PML4E, PDPTE, PDE and (for a 4 KiB page) PTE from `mem` starting at CR3.
    With `update_ad`, sets Accessed in every entry used and Dirty in the leaf for a
    write, in guest memory. Appends a WalkStep per level to `steps` if given.
    Raises GeneralProtection for a non-canonical `va`, PageFault if the walk fails.
    Like QEMU, Accessed is set on each non-leaf entry as the walk passes it, and on
    the leaf only once the access is allowed.
    """
    if not is_canonical(va):
        raise GeneralProtection(va)
    nxe = bool(regs.efer & EFER_NXE)
    rsvd_nx = 0 if nxe else PTE_NX
    writable = user = True
    nx = False
    table_pa = regs.cr3 & CR3_ADDR_MASK
    for level in (4, 3, 2, 1):
        entry_pa = table_pa + table_index(va, level) * ENTRY_SIZE
        entry = read_entry(mem, entry_pa)
        if steps is not None:
            steps.append(WalkStep(level, table_pa, table_index(va, level), entry_pa, entry))
        if not entry & PTE_P:
            raise PageFault(va, fault_error_code(access, cpl, nxe, present=False),
                            f"not present at level {level}")
        is_leaf = level == 1 or (level == 2 and entry & PTE_PS)
        reserved = (RSVD_PDE_2M if level == 2 and is_leaf else RSVD_BY_LEVEL[level]) | rsvd_nx
        if entry & reserved:
            raise PageFault(va, fault_error_code(access, cpl, nxe, present=True, rsvd=True),
                            f"reserved bits {entry & reserved:#x} set at level {level}")
        writable = writable and bool(entry & PTE_RW)
        user = user and bool(entry & PTE_US)
        nx = nx or (nxe and bool(entry & PTE_NX))
        if is_leaf:
            break
        if update_ad and not entry & PTE_A:
            mem.write_u64(entry_pa, entry | PTE_A)
        table_pa = entry & PHYS_ADDR_MASK

    reason = protection_violation(access, cpl, regs.cr0, writable=writable, user=user, nx=nx)
    if reason:
        raise PageFault(va, fault_error_code(access, cpl, nxe, present=True), reason)

    page_size = PAGE_SIZE if level == 1 else HPAGE_SIZE
    dirty = bool(entry & PTE_D) or access == WRITE
    if update_ad:
        updated = entry | PTE_A | (PTE_D if access == WRITE else 0)
        if updated != entry:
            mem.write_u64(entry_pa, updated)
    frame_pa = entry & (PHYS_ADDR_MASK if page_size == PAGE_SIZE else HUGE_PHYS_MASK)
    return Translation(va, frame_pa + (va & (page_size - 1)), page_size,
                       writable, user, nx, dirty, bool(entry & PTE_G))


def protection_violation(access: Access, cpl: int, cr0: int, *, writable: bool, user: bool, nx: bool) -> str:
    """Why `access` at `cpl` is refused by the combined permissions (SDM 4.6), or ''."""
    if cpl == 3 and not user:
        return "user access to a supervisor page"
    if access == FETCH and nx:
        return "instruction fetch from a no-execute page"
    if access == WRITE and not writable and (cpl == 3 or cr0 & CR0_WP):
        return "write to a read-only page"
    return ""


def read_entry(mem, entry_pa: int) -> int:
    try:
        return mem.read_u64(entry_pa)
    except Exception:        # beyond RAM: nothing answers, the bus reads all ones
        return UNBACKED


def unicorn_perms(writable: bool, user: bool, nx: bool, dirty: bool, wp: bool) -> tuple:
    """UC_PROT_* bits to hand Unicorn at CPL 0 and at CPL 3 for a page with these rights.

    WRITE is given only once the page is Dirty, so the first store comes back to the
    MMU to set D. A supervisor may write a read-only page when CR0.WP=0 (SDM 4.6.1).
    """
    kernel = UC_PROT_READ if nx else UC_PROT_READ | UC_PROT_EXEC
    if dirty and (writable or not wp):
        kernel |= UC_PROT_WRITE
    if not user:
        return kernel, 0
    return kernel, kernel if writable else kernel & ~UC_PROT_WRITE


@dataclass
class MmuCounters:
    faults: int = 0
    gp_faults: int = 0
    unicorn_flushes: int = 0
    fills: int = 0
    miss_seconds: float = 0.0     # time in tlb_fill when emu's TLB could not serve it (walks, faults)


class Mmu:
    """The MMU of one CPU: paging registers, the TLB, and Unicorn's TLB-fill hook."""

    def __init__(self, mem, tlb: Tlb | None = None, *, tracer=None, timed: bool = False):
        self.mem = mem
        self.timed = timed            # --stats: time the fills that miss (timed_tlb_fill)
        self.tlb = tlb or Tlb()
        self.tracer = tracer
        self.trace_tlb = bool(tracer and tracer.wants("tlb"))
        self.trace_walk = bool(tracer and tracer.wants("walk"))
        self.tracing = self.trace_tlb or self.trace_walk
        self.cr3 = self.cr0 = self.cr4 = self.efer = 0
        self.cpl = 3
        self.gen = 0
        self.uc = None
        self.read_cpl = None          # callable giving the real CPL (reads CS)
        self.pending_fault = None     # the fault tlb_fill refused, for the CPU to deliver
        self.counters = MmuCounters()

    # -- attaching to Unicorn -------------------------------------------------------

    def attach(self, uc, read_cpl) -> None:
        """Take over address translation of `uc` (UC_TLB_VIRTUAL + the fill hook)."""
        from unicorn import UC_HOOK_TLB_FILL
        self.uc = uc
        self.read_cpl = read_cpl
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        # The handle lets a debugger swap in a watching hook (emu/debug/gdbstub.py).
        self.fill_callback = self.timed_tlb_fill if self.timed else self.tlb_fill
        self.fill_hook = uc.hook_add(UC_HOOK_TLB_FILL, self.fill_callback)

    @property
    def regs(self) -> PagingRegs:
        return PagingRegs(self.cr3, self.cr0, self.cr4, self.efer)

    # -- the hot path ---------------------------------------------------------------

    def tlb_fill(self, uc, va, uc_access, entry, _user_data) -> bool:
        """UC_HOOK_TLB_FILL: give Unicorn the translation of the 4 KiB page at `va`.

        Served from emu's TLB when it holds an entry that allows the access; otherwise
        the page tables are walked (`walk_fast` for the common case). On a fault, record
        it and return False: Unicorn stops with RIP at the faulting instruction and
        emu/hardware/cpu.py delivers it. The 4 KiB lookup is written out here (it is
        SetAssociativeTlb.lookup) because this hook runs on every Unicorn TLB miss.
        """
        self.counters.fills += 1
        small = self.tlb.small
        vpn = va >> PAGE_SHIFT
        tlb_set = small.sets[vpn & small.set_mask]
        cached = tlb_set.get(vpn)
        if cached is not None:
            tlb_set.move_to_end(vpn)
        elif self.tlb.huge.count:                # (most programs have no 2 MiB page at all)
            cached = self.tlb.huge.lookup(va)
        if cached is not None:
            perms = cached.perms_user if self.cpl == 3 else cached.perms_kernel
            if perms & PROT_NEEDED[uc_access]:
                self.tlb.by_size[cached.page_size].counters.hits += 1
                cached.gen = self.gen
                entry.paddr = cached.pa + (va & (cached.page_size - 1))
                entry.perms = perms
                if self.trace_tlb:
                    self.tracer.tlb_hit(va, cached, uc_access, self.cpl)
                return True
        elif not self.tracing:
            try:
                new = self.walk_fast(va, uc_access)
            except PageFault as fault:
                self.pending_fault = (fault, ACCESS_FROM_UC[uc_access])
                return False
            if new is not None:
                new.gen = self.gen
                entry.paddr = new.pa
                entry.perms = new.perms_user if self.cpl == 3 else new.perms_kernel
                return True
        return self.fill_slow(va, uc_access, entry, cached)

    def timed_tlb_fill(self, uc, va, uc_access, entry, user_data) -> bool:
        """tlb_fill for --stats, which also reports the time spent in fills emu's TLB
        could not serve (walks and faults). Installed instead of tlb_fill only then:
        the hot path itself takes no timestamps."""
        hits = self.tlb.small.counters.hits + self.tlb.huge.counters.hits
        start = perf_counter()
        served = self.tlb_fill(uc, va, uc_access, entry, user_data)
        if self.tlb.small.counters.hits + self.tlb.huge.counters.hits == hits:
            self.counters.miss_seconds += perf_counter() - start
        return served

    def walk_fast(self, va: int, uc_access: int):
        """The common TLB miss, walked quickly: a 4 KiB page whose PML4E, PDPTE and PDE are
        present, already Accessed and free of reserved bits, and whose PTE allows the access.
        Then no fault is possible and at most the leaf changes (A, and D for a write: the
        retry after a demand fault is this case), so the walk reduces to four reads and
        perhaps one write. Caches and returns the new TlbEntry; returns None, having changed
        nothing, for everything else (an upper A bit to set, a 2 MiB page, a protection
        fault), which `fill_slow` handles with the full `walk`. A PTE that is not present
        raises the PageFault the full walk would raise. The two agree
        (tests/test_walk_fast.py).
        """
        if (va >> 47) not in (0, 0x1FFFF):
            return None
        nxe = self.efer & EFER_NXE
        # An upper entry (PML4E, PDPTE, PDE) passes if, of these bits, exactly P and A are set.
        upper_bits = UPPER_CHECKED_NXE if nxe else UPPER_CHECKED
        upper_ok = PTE_P | PTE_A
        buf = self.mem.buf
        try:                            # (va >> shift) & 0xff8 is the level's index * 8
            pml4e = _unpack_u64(buf, (self.cr3 & PHYS_ADDR_MASK) | ((va >> 36) & 0xFF8))[0]
            if pml4e & upper_bits != upper_ok:
                return None
            pdpte = _unpack_u64(buf, (pml4e & PHYS_ADDR_MASK) | ((va >> 27) & 0xFF8))[0]
            if pdpte & upper_bits != upper_ok:
                return None
            pde = _unpack_u64(buf, (pdpte & PHYS_ADDR_MASK) | ((va >> 18) & 0xFF8))[0]
            if pde & upper_bits != upper_ok:
                return None
            pte_pa = (pde & PHYS_ADDR_MASK) | ((va >> 9) & 0xFF8)
            pte = _unpack_u64(buf, pte_pa)[0]
        except struct.error:             # a table beyond RAM: the full walk explains it
            return None
        if not pte & PTE_P:              # the demand-paging case: the full walk would say the same
            raise PageFault(va, NOT_PRESENT_CODE[uc_access, self.cpl, bool(nxe)], "not present at level 1")
        if pte & (RSVD_HIGH if nxe else RSVD_HIGH | PTE_NX):
            return None                  # a reserved bit in the PTE
        both = pml4e & pdpte & pde & pte          # the combined rights (SDM 4.6)
        writable, user = bool(both & PTE_RW), bool(both & PTE_US)
        nx = bool(nxe and (pml4e | pdpte | pde | pte) & PTE_NX)
        write = uc_access == UC_MEM_WRITE
        dirty = write or bool(pte & PTE_D)   # a permitted write sets D (SDM 4.8)
        perms = unicorn_perms(writable, user, nx, dirty, self.cr0 & CR0_WP)
        if not perms[self.cpl == 3] & PROT_NEEDED[uc_access]:
            return None
        updated = pte | PTE_A | (PTE_D if write else 0)
        if updated != pte:
            _pack_u64(buf, pte_pa, updated)
        counters = self.tlb.small.counters
        counters.walks += 1
        counters.misses += 1
        return self.cache(va, pte & PHYS_ADDR_MASK, PAGE_SIZE, writable, user, nx, dirty,
                          bool(pte & PTE_G), perms)

    def fill_slow(self, va, uc_access, entry, cached) -> bool:
        """The TLB could not serve `va`: walk, cache the result, or record the fault."""
        access = ACCESS_FROM_UC[uc_access]
        if cached is not None:
            # A cached entry that does not allow the access (or is not yet Dirty for a
            # write) is dropped and the walk redone: a #PF also invalidates the
            # faulting page's TLB entries (SDM 4.10.4.1).
            self.drop(self.tlb.invalidate_page(va))
        try:
            tr, cached = self.translate_entry(va, access, cpl=self.cpl, count_miss=cached is None)
        except (PageFault, GeneralProtection) as fault:
            # A stale hint is possible only in the stub's return path, whose accesses are
            # to the kernel half: only a fault there is worth reading CS for.
            if self.cpl == 3 and va >> 63 and self.read_cpl and self.read_cpl() == 0:
                self.cpl = 0            # the hint was stale (inside iretq): retry as ring 0
                return self.fill_slow(va, uc_access, entry, None)
            # Keep the last refusal: QEMU also asks for translations it only probes (it
            # may look up code pages it will not run) and goes on when refused; the fill
            # that stops emulation is the last one before emu_start returns.
            self.pending_fault = (fault, access)
            return False
        cached.gen = self.gen
        entry.paddr = tr.pa
        entry.perms = cached.perms_user if self.cpl == 3 else cached.perms_kernel
        return True

    # -- translation for everyone (hook, kernel, debugger) --------------------------

    def translate(self, va: int, access: Access, *, cpl: int) -> Translation:
        """Translate `va` through the TLB, walking and filling it on a miss.

        The kernel uses this for its own accesses to guest memory, so they see (and
        fill) the same TLB a ring-0 instruction would. Raises PageFault/GeneralProtection.
        """
        return self.translate_entry(va, access, cpl=cpl)[0]

    def pa(self, va: int, access: Access, *, cpl: int) -> int:
        """The physical address of `va` for `access`: `translate` without building a
        Translation when the TLB already allows the access (the kernel's common case)."""
        small = self.tlb.small
        vpn = va >> PAGE_SHIFT
        tlb_set = small.sets[vpn & small.set_mask]
        cached = tlb_set.get(vpn)           # SetAssociativeTlb.lookup, written out as in tlb_fill
        if cached is not None:
            tlb_set.move_to_end(vpn)
        else:
            cached = self.tlb.huge.lookup(va)
        if cached is not None:
            perms = cached.perms_user if cpl == 3 else cached.perms_kernel
            if perms & PROT_FOR_ACCESS[access]:
                return cached.pa + (va & (cached.page_size - 1))
        return self.translate(va, access, cpl=cpl).pa

    def translate_entry(self, va: int, access: Access, *, cpl: int, count_miss: bool = True):
        """`translate`, also returning the TLB entry that now holds the translation."""
        page = va & ~(PAGE_SIZE - 1)
        cached = self.tlb.lookup(page)
        if cached is not None:
            reason = protection_violation(access, cpl, self.cr0, writable=cached.writable,
                                          user=cached.user, nx=cached.nx)
            if not reason and (access != WRITE or cached.dirty):
                return Translation(va, cached.pa + (va & (cached.page_size - 1)), cached.page_size,
                                   cached.writable, cached.user, cached.nx, cached.dirty,
                                   cached.global_), cached
            self.drop(self.tlb.invalidate_page(va))
        steps = [] if self.trace_walk else None
        try:
            tr = walk(self.mem, va, access, self.regs, cpl=cpl, steps=steps)
        except (PageFault, GeneralProtection) as fault:
            if steps is not None:
                self.tracer.walk(va, access, cpl, steps, fault=fault)
            raise
        if steps is not None:
            self.tracer.walk(va, access, cpl, steps, tr=tr)
        size_tlb = self.tlb.by_size[tr.page_size]
        size_tlb.counters.walks += 1
        if count_miss:
            size_tlb.counters.misses += 1
        return tr, self.fill_tlb(page, tr)

    def fill_tlb(self, va: int, tr: Translation) -> TlbEntry:
        """Cache the walk's result `tr` for the page at `va`; return the new entry."""
        return self.cache(va, tr.frame_pa, tr.page_size, tr.writable, tr.user, tr.nx, tr.dirty, tr.global_)

    def cache(self, va: int, frame_pa: int, page_size: int, writable: bool, user: bool,
              nx: bool, dirty: bool, global_: bool, perms: tuple | None = None) -> TlbEntry:
        """Put a translation in the TLB; `perms` are its Unicorn rights if already worked out."""
        kernel_perms, user_perms = perms or unicorn_perms(writable, user, nx, dirty, self.cr0 & CR0_WP)
        if page_size == PAGE_SIZE:
            size_tlb, vpn = self.tlb.small, va >> PAGE_SHIFT
        else:
            size_tlb, vpn = self.tlb.huge, va >> HPAGE_SHIFT
        new = TlbEntry(vpn, frame_pa, page_size, writable, user, nx, dirty, global_ and bool(self.cr4 & CR4_PGE),
                       kernel_perms, user_perms)
        victim = size_tlb.insert(new)
        if self.trace_tlb:
            self.tracer.tlb_fill(va, new, victim)
        if victim is not None and victim.gen == self.gen:
            self.flush_unicorn()            # `drop` for one entry: Unicorn may hold the victim
        return new

    # -- invalidation (SDM 4.10.4) --------------------------------------------------

    def drop(self, entries) -> None:
        """Entries just left emu's TLB: if Unicorn may hold one, flush Unicorn's TLB."""
        if any(e.gen == self.gen for e in entries):
            self.flush_unicorn()

    def flush_unicorn(self) -> None:
        if self.uc is not None:
            self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        self.gen += 1
        self.counters.unicorn_flushes += 1

    def take_pending_fault(self):
        """The fault that stopped emulation, (fault, Access), counted and cleared."""
        fault, access = self.pending_fault
        self.pending_fault = None
        if isinstance(fault, GeneralProtection):
            self.counters.gp_faults += 1
        else:
            self.counters.faults += 1
        return fault, access

    def invlpg(self, va: int) -> None:
        """INVLPG va: drop the translation covering va, 4 KiB or the whole 2 MiB page."""
        dropped = self.tlb.invalidate_page(va)
        if self.trace_tlb:
            self.tracer.tlb_invalidate(f"invlpg {va:#018x}", dropped)
        self.drop(dropped)

    def load_cr3(self, cr3: int) -> None:
        """MOV to CR3: switch address space; non-global translations are flushed."""
        self.cr3 = cr3
        dropped = self.tlb.flush(keep_global=bool(self.cr4 & CR4_PGE))
        if self.trace_tlb:
            self.tracer.tlb_invalidate(f"cr3 <- {cr3:#x}", dropped)
        self.flush_unicorn()

    def load_cr0(self, cr0: int) -> None:
        """MOV to CR0. The permissions cached in TLB entries (and handed to Unicorn)
        depend on CR0.WP, so a change of WP or PG flushes everything."""
        changed = (self.cr0 ^ cr0) & (CR0_WP | CR0_PG)
        self.cr0 = cr0
        if changed:
            self.drop(self.tlb.flush(keep_global=False))
            self.flush_unicorn()

    def load_cr4(self, cr4: int) -> None:
        """MOV to CR4: a change of PGE flushes everything, global entries included."""
        changed = (self.cr4 ^ cr4) & CR4_PGE
        self.cr4 = cr4
        if changed:
            dropped = self.tlb.flush(keep_global=False)
            if self.trace_tlb:
                self.tracer.tlb_invalidate("cr4.pge changed", dropped)
            self.flush_unicorn()

    def flush_all(self) -> None:
        self.drop(self.tlb.flush(keep_global=False))

