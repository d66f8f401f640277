"""elf: load a static x86-64 Linux ELF executable into an ElfImage, or refuse it in one line."""

# The checks a guest must pass are made here, on the raw bytes, with `struct`:
# every field is read where the ELF-64 spec puts it (System V gABI, ch. 4 and 5),
# so a refusal can name the exact field.  lief is used only after that, for what
# it does well: segment contents and the symbol table.  lief 1.0.0 accepts some
# broken files silently (a file cut after its ELF header parses, with no
# segments) and throws on others (a directory raises MemoryError), so it never
# sees a file these checks have not passed, and nothing it raises gets out.
#
# Simplifications, said where they are made:
# - only ELF-64, little-endian, EM_X86_64, ET_EXEC or static-pie ET_DYN;
# - no PT_INTERP (no dynamic linker), no relocation of a static-pie: its own
#   startup code (_dl_relocate_static_pie) applies its relocations;
# - overlap is checked on bytes [va, va+memsz); two segments may still share a
#   page, as Linux allows: the mapper decides what the shared page's rights are.

import os
import struct
from dataclasses import dataclass

import lief

PAGE_SIZE = 4096
# The user half of the 48-bit canonical address space: [0, USER_TOP).
USER_TOP = 0x0000_8000_0000_0000
DEFAULT_PIE_BASE = 0x5555_5555_4000  # where Linux (x86-64, no ASLR) puts a PIE

# e_ident (gABI "ELF Identification"):
#   0..3 magic  4 EI_CLASS  5 EI_DATA  6 EI_VERSION  7 EI_OSABI ... 16 EI_NIDENT
ELF_MAGIC = b"\x7fELF"
EI_CLASS, EI_DATA, EI_NIDENT = 4, 5, 16
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2

# Elf64_Ehdr after e_ident: e_type e_machine e_version e_entry e_phoff e_shoff
# e_flags e_ehsize e_phentsize e_phnum e_shentsize e_shnum e_shstrndx.
EHDR64 = struct.Struct("<16sHHIQQQIHHHHHH")
# Elf64_Phdr: p_type p_flags p_offset p_vaddr p_paddr p_filesz p_memsz p_align.
PHDR64 = struct.Struct("<IIQQQQQQ")

ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
EM_X86_64 = 62
PN_XNUM = 0xFFFF  # e_phnum overflow marker: the real count is in section 0

PT_LOAD, PT_INTERP, PT_PHDR = 1, 3, 6
PF_X, PF_W, PF_R = 0x1, 0x2, 0x4

SHN_UNDEF, SHN_ABS = 0, 0xFFF1

# Machines a user might plausibly hand us by mistake; others print as a number.
MACHINE_NAMES = {
    2: "SPARC", 3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64",
    22: "S/390", 40: "ARM", 43: "SPARC V9", 183: "AArch64", 243: "RISC-V",
    258: "LoongArch",
}


class ElfError(Exception):
    """A guest program the loader refuses; str(e) is one clear line for the user (no traceback)."""


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD segment: map [va, va+memsz), file bytes first, zeros after (.bss)."""
    va: int          # p_vaddr, after the load bias for ET_DYN
    memsz: int
    data: bytes      # the file bytes (p_filesz long); the rest up to memsz is zero
    offset: int      # p_offset
    read: bool
    write: bool
    execute: bool


@dataclass(frozen=True)
class ElfImage:
    """A checked executable, ready for the kernel to map and start."""
    path: str
    entry: int                      # after the load bias
    segments: tuple[Segment, ...]   # the PT_LOAD segments, in file order
    phdr_va: int                    # AT_PHDR: where the program headers are in memory
    phnum: int                      # AT_PHNUM
    phent: int                      # AT_PHENT
    is_pie: bool                    # ET_DYN static-pie
    load_bias: int                  # 0 for ET_EXEC
    symbols: dict[str, int]         # name -> address (after bias); {} if stripped


@dataclass(frozen=True)
class _Ehdr:
    """The Elf64_Ehdr fields the loader uses."""
    e_type: int
    e_machine: int
    e_entry: int
    e_phoff: int
    e_phentsize: int
    e_phnum: int


@dataclass(frozen=True)
class _Phdr:
    """An Elf64_Phdr as read from the file; index is its place in the table (as readelf numbers it)."""
    index: int
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


def load_elf(path, *, pie_base=DEFAULT_PIE_BASE) -> ElfImage:
    """Return the ElfImage of the static x86-64 executable at path, or raise ElfError.

    A static-pie (ET_DYN without PT_INTERP) is placed so that its lowest page is
    at pie_base, which must be page aligned (a ValueError otherwise: that is a
    caller's bug, not the guest's).
    """
    if pie_base % PAGE_SIZE:
        raise ValueError(f"pie_base {pie_base:#x} is not page aligned")
    path = os.fspath(path)
    raw = _read_file(path)
    ehdr = _check_ehdr(path, raw)
    phdrs = _read_phdrs(path, raw, ehdr)
    _check_not_dynamic(path, raw, phdrs)
    loads = [p for p in phdrs if p.type == PT_LOAD]
    _check_loads(path, raw, loads)
    is_pie = ehdr.e_type == ET_DYN
    # Linux load_elf_binary: an ET_DYN goes where its first page lands on the base.
    lowest = min(p.vaddr for p in loads) & ~(PAGE_SIZE - 1)
    load_bias = pie_base - lowest if is_pie else 0
    _check_placement(path, loads, load_bias)
    entry = ehdr.e_entry + load_bias
    _check_entry(path, loads, load_bias, entry)
    phdr_at = _phdr_va(phdrs, loads, ehdr.e_phoff, len(phdrs) * PHDR64.size)
    segments, symbols = _read_with_lief(path, raw, loads, load_bias)
    return ElfImage(
        path=path, entry=entry, segments=segments,
        phdr_va=0 if phdr_at is None else phdr_at + load_bias,
        phnum=len(phdrs), phent=PHDR64.size, is_pie=is_pie,
        load_bias=load_bias, symbols=symbols)


def _read_file(path) -> bytes:
    """Return the whole file; turn every reason it cannot be read into an ElfError."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ElfError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ElfError(f"{path}: is a directory, not a program") from None
    except PermissionError:
        raise ElfError(f"{path}: permission denied") from None
    except OSError as e:
        raise ElfError(f"{path}: cannot read it ({e.strerror or e})") from None


def _check_ehdr(path, raw) -> _Ehdr:
    """Return the unpacked Elf64_Ehdr after checking it describes an x86-64 executable."""
    if not raw:
        raise ElfError(f"{path}: not an ELF file (empty file)")
    if raw[:4] != ELF_MAGIC:
        raise ElfError(f"{path}: not an ELF file (bad magic)")
    if len(raw) < EI_NIDENT:
        raise ElfError(f"{path}: truncated ELF (file is {len(raw)} bytes, "
                       f"e_ident needs {EI_NIDENT})")
    # Class and data encoding first: they decide how the rest of the header reads.
    if raw[EI_CLASS] == ELFCLASS32:
        raise ElfError(f"{path}: 32-bit ELF (ELFCLASS32); emu runs x86-64 programs only")
    if raw[EI_CLASS] != ELFCLASS64:
        raise ElfError(f"{path}: bad ELF class {raw[EI_CLASS]}")
    if raw[EI_DATA] == ELFDATA2MSB:
        raise ElfError(f"{path}: big-endian ELF (ELFDATA2MSB); "
                       "emu runs little-endian x86-64 programs only")
    if raw[EI_DATA] != ELFDATA2LSB:
        raise ElfError(f"{path}: bad ELF data encoding {raw[EI_DATA]}")
    if len(raw) < EHDR64.size:
        raise ElfError(f"{path}: truncated ELF (file is {len(raw)} bytes, "
                       f"the ELF header needs {EHDR64.size})")
    (_ident, e_type, e_machine, _version, e_entry, e_phoff, _shoff, _flags,
     _ehsize, e_phentsize, e_phnum, _shentsize, _shnum, _shstrndx) = EHDR64.unpack_from(raw)
    if e_machine != EM_X86_64:
        name = MACHINE_NAMES.get(e_machine, f"machine {e_machine}")
        raise ElfError(f"{path}: ELF for {name}, not x86-64")
    _check_type(path, e_type)
    return _Ehdr(e_type, e_machine, e_entry, e_phoff, e_phentsize, e_phnum)


def _check_type(path, e_type):
    """Refuse every e_type but an executable or a (possibly static-pie) ET_DYN."""
    if e_type == ET_REL:
        raise ElfError(f"{path}: object file (ET_REL), not an executable; link it first")
    if e_type == ET_CORE:
        raise ElfError(f"{path}: core dump (ET_CORE), not an executable")
    if e_type not in (ET_EXEC, ET_DYN):
        raise ElfError(f"{path}: ELF type {e_type} is not an executable")


def _read_phdrs(path, raw, ehdr) -> list[_Phdr]:
    """Return the program header table after checking it is whole and well formed."""
    e_phoff, e_phentsize, e_phnum = ehdr.e_phoff, ehdr.e_phentsize, ehdr.e_phnum
    if e_phnum == 0:
        raise ElfError(f"{path}: no program headers; not an executable")
    if e_phnum == PN_XNUM:
        raise ElfError(f"{path}: too many program headers (PN_XNUM)")
    if e_phentsize != PHDR64.size:
        raise ElfError(f"{path}: bad program header size {e_phentsize} "
                       f"(ELF-64 uses {PHDR64.size})")
    end = e_phoff + e_phnum * e_phentsize
    if end > len(raw):
        raise ElfError(f"{path}: truncated ELF (program headers end at {end:#x}, "
                       f"file is {len(raw):#x} bytes)")
    phdrs = []
    for i in range(e_phnum):
        (p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz,
         _align) = PHDR64.unpack_from(raw, e_phoff + i * e_phentsize)
        phdrs.append(_Phdr(i, p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz))
    return phdrs


def _check_not_dynamic(path, raw, phdrs):
    """Refuse a program that asks for a dynamic linker (has PT_INTERP), naming it."""
    for p in phdrs:
        if p.type != PT_INTERP:
            continue
        name = raw[p.offset:p.offset + p.filesz].split(b"\0")[0]
        needs = name.decode("utf-8", "surrogateescape") or "an interpreter"   # printed escaped (emu/text.py)
        raise ElfError(f"{path}: dynamically linked (needs {needs}); link with -static")


def _check_loads(path, raw, loads):
    """Check each PT_LOAD on its own: sizes, file extent, and page congruence."""
    if not loads:
        raise ElfError(f"{path}: no loadable segments (PT_LOAD)")
    for p in loads:
        if p.memsz < p.filesz:
            raise ElfError(f"{path}: segment {p.index}: p_memsz {p.memsz:#x} "
                           f"< p_filesz {p.filesz:#x}")
        end = p.offset + p.filesz
        if end > len(raw):
            raise ElfError(f"{path}: truncated ELF (segment {p.index} data ends at "
                           f"{end:#x}, file is {len(raw):#x} bytes)")
        # mmap maps whole pages, so file and memory must agree within a page.
        if p.vaddr % PAGE_SIZE != p.offset % PAGE_SIZE:
            raise ElfError(f"{path}: segment {p.index}: p_vaddr {p.vaddr:#x} and "
                           f"p_offset {p.offset:#x} differ within a page")


def _check_placement(path, loads, load_bias):
    """Check that the segments, once biased, lie in the user half and do not overlap."""
    spans = []
    for p in loads:
        va = p.vaddr + load_bias
        end = va + p.memsz
        # Python ints do not wrap: a segment that would wrap in 64 bits has end >= 2**64.
        if end >= 1 << 64:
            raise ElfError(f"{path}: segment {p.index} at {va:#018x} wraps past "
                           "the end of the address space")
        if end > USER_TOP:
            raise ElfError(f"{path}: segment {p.index} at {va:#018x}..{end:#018x} "
                           f"is outside user space (below {USER_TOP:#018x})")
        spans.append((va, end, p.index))
    spans.sort()
    for (_, end_a, a), (va_b, _, b) in zip(spans, spans[1:]):
        if va_b < end_a:
            raise ElfError(f"{path}: segments {a} and {b} overlap")


def _check_entry(path, loads, load_bias, entry):
    """Refuse an entry point outside every executable segment (e.g. a shared library's 0)."""
    for p in loads:
        va = p.vaddr + load_bias
        if p.flags & PF_X and va <= entry < va + p.memsz:
            return
    raise ElfError(f"{path}: entry point {entry:#x} is not in an executable segment")


def _phdr_va(phdrs, loads, e_phoff, size):
    """Return the unbiased AT_PHDR: PT_PHDR's p_vaddr, else where a PT_LOAD maps e_phoff.

    None when no loaded segment holds the whole table (the program then cannot
    find its own headers; AT_PHDR is passed as 0).
    """
    for p in phdrs:
        if p.type == PT_PHDR:
            return p.vaddr
    for p in loads:
        if p.offset <= e_phoff and e_phoff + size <= p.offset + p.filesz:
            return p.vaddr + (e_phoff - p.offset)
    return None


def _read_with_lief(path, raw, loads, load_bias):
    """Return (segments, symbols) read by lief from the already-checked bytes.

    lief's own view of the PT_LOADs must agree with ours; any lief failure, and
    any disagreement, is an ElfError rather than a lief exception or a None.
    """
    try:
        # lief logs parse complaints to stderr; the user gets our one line instead.
        with lief.logging.level_scope(lief.logging.LEVEL.OFF):
            binary = lief.ELF.parse(raw)
            if binary is None:
                raise ElfError(f"{path}: lief cannot parse it")
            segments = _lief_segments(path, binary, loads, load_bias)
            symbols = _lief_symbols(binary, load_bias)
    except ElfError:
        raise
    except Exception as e:  # lief raises MemoryError, RuntimeError, ... on bad input
        raise ElfError(f"{path}: lief cannot parse it ({type(e).__name__}: {e})") from None
    return segments, symbols


def _lief_segments(path, binary, loads, load_bias) -> tuple[Segment, ...]:
    """Return our Segments with contents from lief, after cross-checking each with its phdr."""
    lief_loads = [s for s in binary.segments if s.type == lief.ELF.Segment.TYPE.LOAD]
    if len(lief_loads) != len(loads):
        raise ElfError(f"{path}: lief sees {len(lief_loads)} PT_LOAD segments, "
                       f"the header has {len(loads)}")
    segments = []
    for p, s in zip(loads, lief_loads):
        data = bytes(s.content)
        if (s.virtual_address, s.file_offset, s.virtual_size, len(data)) != \
                (p.vaddr, p.offset, p.memsz, p.filesz):
            raise ElfError(f"{path}: lief and the program header disagree "
                           f"about segment {p.index}")
        segments.append(Segment(
            va=p.vaddr + load_bias, memsz=p.memsz, data=data, offset=p.offset,
            read=bool(p.flags & PF_R), write=bool(p.flags & PF_W),
            execute=bool(p.flags & PF_X)))
    return tuple(segments)


# When one name is defined twice (static functions in two files), the one the
# linker would resolve to wins: GLOBAL over WEAK over LOCAL, then the first.
_BINDING_RANK = {"GLOBAL": 0, "WEAK": 1, "LOCAL": 2}


def _lief_symbols(binary, load_bias) -> dict[str, int]:
    """Return name -> address of the defined functions and objects in .symtab ({} if none)."""
    wanted = (lief.ELF.Symbol.TYPE.FUNC, lief.ELF.Symbol.TYPE.OBJECT)
    best: dict[str, tuple[int, int]] = {}   # name -> (rank, address)
    for sym in binary.symtab_symbols:
        if not sym.name or sym.type not in wanted or sym.shndx == SHN_UNDEF:
            continue
        # An absolute symbol is a number, not a place in the image: no bias.
        va = sym.value if sym.shndx == SHN_ABS else sym.value + load_bias
        rank = _BINDING_RANK.get(sym.binding.name, len(_BINDING_RANK))
        if sym.name not in best or rank < best[sym.name][0]:
            best[sym.name] = (rank, va)
    return {name: va for name, (_, va) in best.items()}
