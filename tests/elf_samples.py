"""elf_samples: build good and bad guest files in a directory, for the loader and CLI tests."""

# Good samples are compiled with the host gcc at test time; most bad samples are
# copies of the tiny static one with one field patched, so each is wrong in
# exactly one way.  BAD_PHRASES says what the refusal must contain, so a CLI
# test can reuse the table: `emu run BAD` should print that one line and exit 2.

import shutil
import struct
import subprocess
from pathlib import Path

TINY_C = "void _start(void){for(;;);}\n"
# A libc program: a real symtab, PT_TLS, .bss, and IFUNCs in static glibc.
LIBC_C = ('#include <stdio.h>\n'
          'int counter = 3;\n'
          'static int hidden(void) { return 1; }\n'
          'int main(void) { printf("%d\\n", counter + hidden()); return 0; }\n')

# Offsets into Elf64_Ehdr and Elf64_Phdr (gABI), for patching.
EI_CLASS, EI_DATA = 4, 5
E_TYPE, E_MACHINE, E_PHOFF, E_PHNUM = 16, 18, 32, 56
PHDR_SIZE = 56
P_TYPE, P_OFFSET, P_VADDR, P_FILESZ, P_MEMSZ = 0, 8, 16, 32, 40
PT_NULL, PT_LOAD = 0, 1
ET_CORE = 4
EM_AARCH64 = 183

# name -> a phrase the ElfError message must contain.
BAD_PHRASES = {
    "missing": "no such file",
    "directory": "is a directory",
    "text": "not an ELF file (bad magic)",
    "script": "not an ELF file (bad magic)",
    "empty": "not an ELF file",
    "trunc_ident": "truncated ELF",
    "trunc_in_phdrs": "truncated ELF (program headers end at",
    "trunc_after_phdrs": "truncated ELF (segment 0 data ends at",
    "trunc_mid_segment": "truncated ELF (segment 1 data ends at",
    "aarch64": "ELF for AArch64, not x86-64",
    "unknown_machine": "ELF for machine 4660, not x86-64",
    "elf32_patched": "32-bit ELF (ELFCLASS32); emu runs x86-64 programs only",
    "big_endian": "big-endian ELF",
    "core": "core dump (ET_CORE), not an executable",
    "object": "object file (ET_REL), not an executable",
    "dynamic": "dynamically linked (needs /lib64/ld-linux-x86-64.so.2); link with -static",
    "no_load": "no loadable segments (PT_LOAD)",
    "memsz_lt_filesz": "segment 1: p_memsz 0x0 < p_filesz",
    "overlap": "segments 1 and 2 overlap",
    "kernel_half": "segment 2 at 0xffff800000002000",
    "wraps": "segment 2 at 0x0000000000402000 wraps past the end of the address space",
    "misaligned": "differ within a page",
}
# Only where `gcc -m32` can link (multilib installed); else the test skips.
BAD_PHRASES_M32 = {"elf32_gcc": BAD_PHRASES["elf32_patched"]}


def gcc(out: Path, source: str, *flags: str) -> Path:
    """Compile C source text to out with the host gcc; raise CalledProcessError on failure."""
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", *flags, "-o", str(out), str(src)],
                   check=True, capture_output=True, text=True)
    return out


def make_good_samples(d: Path) -> dict[str, Path]:
    """Build the programs the loader must accept: tiny static, tiny static-pie, libc static."""
    d = Path(d)
    return {
        "tiny": gcc(d / "tiny.elf", TINY_C, "-static", "-nostdlib", "-no-pie"),
        "tiny_pie": gcc(d / "tiny_pie.elf", TINY_C, "-static-pie", "-nostdlib", "-fPIE"),
        "libc": gcc(d / "libc.elf", LIBC_C, "-static", "-no-pie"),
    }


def make_bad_samples(d: Path, tiny: Path) -> dict[str, Path]:
    """Build one file per entry of BAD_PHRASES (plus BAD_PHRASES_M32 where gcc -m32 works)."""
    d = Path(d)
    good = tiny.read_bytes()
    phend = _u64(good, E_PHOFF) + _u16(good, E_PHNUM) * PHDR_SIZE
    text = _first_exec_load(good)  # phdr index of .text's segment (1 in the tiny program)
    out = {
        "missing": d / "missing.elf",
        "directory": _mkdir(d / "dir.elf"),
        "text": _write(d / "text.elf", b"hello, I am not a program\n"),
        "script": _write(d / "script.elf", b"#!/bin/sh\necho hi\n"),
        "empty": _write(d / "empty.elf", b""),
        "trunc_ident": _write(d / "trunc_ident.elf", good[:10]),
        "trunc_in_phdrs": _write(d / "trunc_in_phdrs.elf", good[:phend - 20]),
        "trunc_after_phdrs": _write(d / "trunc_after_phdrs.elf", good[:phend]),
        "trunc_mid_segment": _write(d / "trunc_mid_segment.elf",
                                    good[:_phdr_field(good, text, P_OFFSET) + 3]),
        "aarch64": _patched(d / "aarch64.elf", good, (E_MACHINE, "<H", EM_AARCH64)),
        "unknown_machine": _patched(d / "unknown_machine.elf", good, (E_MACHINE, "<H", 0x1234)),
        "elf32_patched": _patched(d / "elf32_patched.elf", good, (EI_CLASS, "<B", 1)),
        "big_endian": _patched(d / "big_endian.elf", good, (EI_DATA, "<B", 2)),
        "core": _patched(d / "core.elf", good, (E_TYPE, "<H", ET_CORE)),
        "object": gcc(d / "object.o", TINY_C, "-c"),
        "dynamic": gcc(d / "dynamic.elf", "int main(void){return 0;}\n"),
        "no_load": _patched(d / "no_load.elf", good, *[
            (_phdr_off(good, i) + P_TYPE, "<I", PT_NULL) for i in _loads(good)]),
        "memsz_lt_filesz": _patched(d / "memsz_lt_filesz.elf", good,
                                    (_phdr_off(good, text) + P_MEMSZ, "<Q", 0)),
        # The segment after .text moved onto .text's bytes (same page offset).
        "overlap": _patched(d / "overlap.elf", good,
                            (_phdr_off(good, text + 1) + P_VADDR, "<Q",
                             _phdr_field(good, text, P_VADDR))),
        "kernel_half": _patched(d / "kernel_half.elf", good,
                                (_phdr_off(good, text + 1) + P_VADDR, "<Q",
                                 0xFFFF_8000_0000_0000 + _phdr_field(good, text + 1, P_OFFSET))),
        "wraps": _patched(d / "wraps.elf", good,
                          (_phdr_off(good, text + 1) + P_MEMSZ, "<Q", 0xFFFF_FFFF_FFFF_0000)),
        "misaligned": _patched(d / "misaligned.elf", good,
                               (_phdr_off(good, text + 1) + P_VADDR, "<Q",
                                _phdr_field(good, text + 1, P_VADDR) + 8)),
    }
    try:
        out["elf32_gcc"] = gcc(d / "elf32_gcc.elf", TINY_C, "-m32", "-static", "-nostdlib")
    except subprocess.CalledProcessError:
        pass  # no 32-bit multilib on this host
    return out


def make_samples(d: Path) -> dict[str, Path]:
    """Build every good and bad sample in d; return name -> path (names as in BAD_PHRASES)."""
    good = make_good_samples(d)
    return {**good, **make_bad_samples(d, good["tiny"])}


def _u16(b: bytes, off: int) -> int:
    return struct.unpack_from("<H", b, off)[0]


def _u64(b: bytes, off: int) -> int:
    return struct.unpack_from("<Q", b, off)[0]


def _phdr_off(b: bytes, i: int) -> int:
    """Return the file offset of program header i."""
    return _u64(b, E_PHOFF) + i * PHDR_SIZE


def _phdr_field(b: bytes, i: int, field: int) -> int:
    """Return one 64-bit field of program header i (P_OFFSET, P_VADDR, ...)."""
    return _u64(b, _phdr_off(b, i) + field)


def _loads(b: bytes) -> list[int]:
    """Return the indexes of the PT_LOAD program headers."""
    return [i for i in range(_u16(b, E_PHNUM))
            if struct.unpack_from("<I", b, _phdr_off(b, i) + P_TYPE)[0] == PT_LOAD]


def _first_exec_load(b: bytes) -> int:
    """Return the index of the first PT_LOAD with PF_X (p_flags is the word after p_type)."""
    return next(i for i in _loads(b) if struct.unpack_from("<I", b, _phdr_off(b, i) + 4)[0] & 1)


def _patched(path: Path, good: bytes, *patches: tuple[int, str, int]) -> Path:
    """Write a copy of good with each (offset, struct format, value) patched in."""
    data = bytearray(good)
    for off, fmt, value in patches:
        struct.pack_into(fmt, data, off, value)
    return _write(path, bytes(data))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def have_gcc() -> bool:
    """True when a host gcc is on PATH (the samples need it)."""
    return shutil.which("gcc") is not None
