"""test_elf: the ELF loader against GNU readelf on real programs, and its refusals of bad ones."""

import re
import subprocess
from pathlib import Path

import pytest

from emu.elf import DEFAULT_PIE_BASE, ElfError, ElfImage, load_elf
from tests.elf_samples import BAD_PHRASES, BAD_PHRASES_M32, have_gcc, make_samples

pytestmark = pytest.mark.skipif(not have_gcc(), reason="the samples are built with gcc")

PF = {"R": "read", "W": "write", "E": "execute"}


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    return make_samples(tmp_path_factory.mktemp("elf"))


# --- GNU readelf as the reference -------------------------------------------

def readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], check=True,
                          capture_output=True, text=True).stdout


def readelf_program_headers(path: Path) -> tuple[int, list[dict]]:
    """Return (entry, program headers) as GNU readelf -lW prints them (unbiased)."""
    out = readelf("-l", str(path))
    entry = int(re.search(r"Entry point (0x[0-9a-f]+)", out).group(1), 16)
    row = re.compile(r"^\s+(\w+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+"
                     r"(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+([RWE ]+?)\s+0x[0-9a-f]+$")
    phdrs = []
    for line in out.splitlines():
        m = row.match(line)
        if m:
            kind, offset, vaddr, filesz, memsz, flags = m.groups()
            phdrs.append(dict(type=kind, offset=int(offset, 16), vaddr=int(vaddr, 16),
                              filesz=int(filesz, 16), memsz=int(memsz, 16),
                              flags=set(flags) - {" "}))
    return entry, phdrs


def readelf_symbols(path: Path) -> dict[str, set[int]]:
    """Return name -> addresses of defined FUNC and OBJECT symbols in .symtab (unbiased)."""
    out = readelf("-s", str(path))
    table = out.split("Symbol table '.symtab'")[1] if ".symtab" in out else ""
    symbols: dict[str, set[int]] = {}
    for line in table.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) == 8 and f[3] in ("FUNC", "OBJECT") and f[6] != "UND":
            bias_free = int(f[1], 16)
            symbols.setdefault(f[7], set()).add(bias_free)
    return symbols


def expected_phdr_va(path: Path, phdrs: list[dict]) -> int:
    """AT_PHDR as Linux computes it: PT_PHDR, else the PT_LOAD holding e_phoff."""
    for p in phdrs:
        if p["type"] == "PHDR":
            return p["vaddr"]
    phoff = int(re.search(r"starting at offset (\d+)", readelf("-l", str(path))).group(1))
    load = next(p for p in phdrs if p["type"] == "LOAD"
                and p["offset"] <= phoff < p["offset"] + p["filesz"])
    return load["vaddr"] + phoff - load["offset"]


# --- programs the loader accepts --------------------------------------------

@pytest.mark.parametrize("name", ["tiny", "tiny_pie", "libc"])
def test_good_program_matches_readelf(samples, name):
    path = samples[name]
    image = load_elf(path)
    entry, phdrs = readelf_program_headers(path)
    loads = [p for p in phdrs if p["type"] == "LOAD"]
    raw = path.read_bytes()
    bias = image.load_bias

    assert isinstance(image, ElfImage)
    assert image.path == str(path)
    assert image.entry == entry + bias
    assert image.phnum == len(phdrs)
    assert image.phent == 56
    assert image.phdr_va == expected_phdr_va(path, phdrs) + bias
    assert len(image.segments) == len(loads)
    for seg, p in zip(image.segments, loads):
        assert (seg.va, seg.offset, seg.memsz, len(seg.data)) == \
            (p["vaddr"] + bias, p["offset"], p["memsz"], p["filesz"])
        assert seg.data == raw[p["offset"]:p["offset"] + p["filesz"]]
        assert {PF[f] for f in p["flags"]} == \
            {k for k in ("read", "write", "execute") if getattr(seg, k)}


def test_symbols_match_readelf(samples):
    for name in ("tiny", "tiny_pie", "libc"):
        image = load_elf(samples[name])
        reference = readelf_symbols(samples[name])
        assert image.symbols.keys() == reference.keys(), name
        for sym, va in image.symbols.items():
            assert va - image.load_bias in reference[sym], (name, sym)


def test_tiny_start_is_entry(samples):
    image = load_elf(samples["tiny"])
    assert not image.is_pie and image.load_bias == 0
    assert image.symbols["_start"] == image.entry


def test_static_pie_is_placed_at_pie_base(samples):
    image = load_elf(samples["tiny_pie"])
    assert image.is_pie
    assert image.load_bias == DEFAULT_PIE_BASE
    assert image.segments[0].va == DEFAULT_PIE_BASE
    assert image.symbols["_start"] == image.entry


def test_static_pie_elsewhere(samples):
    image = load_elf(samples["tiny_pie"], pie_base=0x7000_0000_0000)
    assert image.load_bias == 0x7000_0000_0000
    assert image.symbols["_start"] == image.entry


def test_pie_base_must_be_page_aligned(samples):
    with pytest.raises(ValueError):
        load_elf(samples["tiny_pie"], pie_base=DEFAULT_PIE_BASE + 1)


def test_libc_program_has_bss_and_symbols(samples):
    image = load_elf(samples["libc"])
    assert any(s.memsz > len(s.data) for s in image.segments)  # .bss
    assert {"main", "counter", "hidden", "printf"} <= image.symbols.keys()


def test_image_is_frozen(samples):
    image = load_elf(samples["tiny"])
    with pytest.raises(AttributeError):
        image.entry = 0


# --- programs the loader refuses --------------------------------------------

@pytest.mark.parametrize("name", sorted(BAD_PHRASES))
def test_bad_sample_is_refused_in_one_line(samples, name):
    path = samples[name]
    with pytest.raises(ElfError) as e:
        load_elf(path)
    message = str(e.value)
    assert message.startswith(f"{path}: ")
    assert BAD_PHRASES[name] in message
    assert "\n" not in message
    assert e.value.__cause__ is None  # no lief or OS traceback chained behind it


@pytest.mark.parametrize("name", sorted(BAD_PHRASES_M32))
def test_real_32bit_program_is_refused(samples, name):
    if name not in samples:
        pytest.skip("gcc -m32 cannot link here (no 32-bit multilib)")
    with pytest.raises(ElfError, match=re.escape(BAD_PHRASES_M32[name])):
        load_elf(samples[name])


def test_lief_exception_becomes_elf_error(samples, monkeypatch):
    import emu.elf

    def broken(_):
        raise RuntimeError("boom")
    monkeypatch.setattr(emu.elf.lief.ELF, "parse", broken)
    with pytest.raises(ElfError, match="lief cannot parse it"):
        load_elf(samples["tiny"])


def test_lief_none_becomes_elf_error(samples, monkeypatch):
    import emu.elf
    monkeypatch.setattr(emu.elf.lief.ELF, "parse", lambda _: None)
    with pytest.raises(ElfError, match="lief cannot parse it"):
        load_elf(samples["tiny"])
