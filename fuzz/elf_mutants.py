"""The ELF mutator: mutants of small guest ELFs, each run with `emu run`.

A mutant is one of the seed programs (guest/hello.elf, the static-pie guest/auxv_pie.elf)
with one to three mutations: an ELF header field or a program header field set to an
absurd value (p_offset/p_filesz/p_memsz/p_vaddr/p_align/p_flags/p_type, e_entry anywhere,
e_phnum huge), two segments made to overlap, a PT_INTERP or PT_DYNAMIC planted with
garbage, section headers garbage, a truncation at an interesting offset, bit flips.

Fine: a clean refusal (status 2, one line "emu: ..."), a clean guest error (a signal,
with emu's report, or --timeout's 124), a normal run. A failure: a traceback, a hang past
the wall-clock limit, peak RSS over its bound. Besides: a refusal that is not one line,
or any guest-controlled byte printed raw (a control character on emu's stderr), is
counted in the figures (each is a bug of the messages, not of the loader).
"""

import random
import struct
import tempfile
import time
from pathlib import Path

from .common import REPO, Budget, Outcome, Tally, classify, collect_forked, fork_emu

SEEDS = [REPO / "guest" / "hello.elf", REPO / "guest" / "auxv_pie.elf"]
EMU_TIMEOUT = 3          # emu's own --timeout: a mutant that loops ends with status 124
WALL_TIMEOUT = 20        # past this the run is a hang
RSS_BOUND = 600 << 20    # --memory 32M + Python, Unicorn and lief
WORKERS = 2

EHDR_FIELDS = [  # (offset, size) of each Elf64_Ehdr field after e_ident
    (16, 2), (18, 2), (20, 4), (24, 8), (32, 8), (40, 8), (48, 4), (52, 2), (54, 2), (56, 2),
    (58, 2), (60, 2), (62, 2),
]
PHDR_FIELDS = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)]
PT_TYPES = [0, 1, 2, 3, 4, 6, 7, 0x6474E550, 0x6474E551, 0x6474E552, 0x70000000, 0xFFFFFFFF]
GARBAGE_INTERP = [b"/lib64/ld-linux-x86-64.so.2\0", b"\x1b[31mred\x1b[0m\nsecond line\r\0",
                  b"", b"\0" * 8, b"/" * 300, bytes(range(1, 40))]


def interesting(rng: random.Random, size: int, file_size: int) -> int:
    """An absurd or edge value for a field of `size` bytes."""
    top = (1 << (8 * size)) - 1
    pool = [0, 1, top, top >> 1, (top >> 1) + 1, 0x1000, 0xFFF, 0x200000, file_size, file_size + 1,
            file_size - 1, rng.getrandbits(8 * size), 0x400000, 0x7FFF_FFFF_F000, 0x8000_0000_0000,
            0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FFFF_F000, 1 << 40, 56, 64, 0xFFFF]
    return rng.choice(pool) & top


def put(data: bytearray, offset: int, size: int, value: int) -> None:
    if 0 <= offset and offset + size <= len(data):
        data[offset:offset + size] = value.to_bytes(size, "little")


def phdrs(data: bytes) -> tuple[int, int, int]:
    """(e_phoff, e_phentsize, e_phnum) as the mutant says now (0s if it has no header)."""
    if len(data) < 64:
        return 0, 0, 0
    return struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from("<HH", data, 54)


def phdr_table(data: bytes, at_least: int = 1):
    """(e_phoff, e_phnum) if the mutant still has at least `at_least` 56-byte program
    headers to mutate, else None (the mutators then mutate the ELF header instead)."""
    phoff, phentsize, phnum = phdrs(data)
    return (phoff, phnum) if phnum >= at_least and phentsize == 56 else None


def mutate_ehdr(rng, data):
    if len(data) < 64:
        return mutate_truncate(rng, data) if data else "empty"
    if rng.random() < 0.15:
        i = rng.randrange(16)
        data[i] = rng.choice([0, 1, 2, 3, 0xFF, rng.randrange(256)])
        return f"e_ident[{i}]={data[i]:#x}"
    offset, size = rng.choice(EHDR_FIELDS)
    value = interesting(rng, size, len(data))
    put(data, offset, size, value)
    return f"ehdr@{offset}={value:#x}"


def mutate_phdr(rng, data):
    if (table := phdr_table(data)) is None:
        return mutate_ehdr(rng, data)
    phoff, phnum = table
    index = rng.randrange(phnum)
    offset, size = rng.choice(PHDR_FIELDS)
    value = rng.choice(PT_TYPES) if offset == 0 and rng.random() < 0.6 else interesting(rng, size, len(data))
    put(data, phoff + index * 56 + offset, size, value)
    return f"phdr{index}@{offset}={value:#x}"


def mutate_overlap(rng, data):
    if (table := phdr_table(data, 2)) is None:
        return mutate_ehdr(rng, data)
    phoff, phnum = table
    a, b = rng.sample(range(phnum), 2)
    va = data[phoff + a * 56 + 16:phoff + a * 56 + 24]
    put(data, phoff + b * 56 + 16, 8, int.from_bytes(va, "little") + rng.choice([0, 8, 0x1000, -8 & 0xFFF]))
    return f"phdr{b}.vaddr~phdr{a}"


def mutate_interp(rng, data):
    """Turn a program header into PT_INTERP or PT_DYNAMIC over garbage bytes at the end."""
    if (table := phdr_table(data)) is None:
        return mutate_ehdr(rng, data)
    phoff, phnum = table
    index = rng.randrange(phnum)
    blob = rng.choice(GARBAGE_INTERP)
    offset = len(data)
    data += blob
    kind = rng.choice([3, 3, 2])
    base = phoff + index * 56
    put(data, base, 4, kind)
    put(data, base + 8, 8, offset if rng.random() < 0.8 else interesting(rng, 8, len(data)))
    put(data, base + 32, 8, len(blob) if rng.random() < 0.8 else interesting(rng, 8, len(data)))
    return f"phdr{index}=PT_{'INTERP' if kind == 3 else 'DYNAMIC'}({blob[:12]!r})"


def mutate_sections(rng, data):
    shoff = struct.unpack_from("<Q", data, 40)[0] if len(data) >= 64 else 0
    if rng.random() < 0.5 or not 0 < shoff < len(data):
        put(data, 40, 8, interesting(rng, 8, len(data)))
        return "e_shoff"
    for _ in range(rng.randrange(1, 64)):
        i = rng.randrange(shoff, len(data)) if shoff < len(data) else rng.randrange(len(data))
        data[i] = rng.randrange(256)
    return "section headers garbage"


def mutate_truncate(rng, data):
    phoff, _, phnum = phdrs(data)
    points = [0, 1, 4, 5, 16, 17, 52, 63, 64, phoff + 56 * max(phnum - 1, 0), phoff + 56 * phnum - 1,
              rng.randrange(len(data) + 1)]
    for i in range(min(phnum, 16)):
        p_offset = struct.unpack_from("<Q", data, phoff + i * 56 + 8)[0] if phoff + i * 56 + 16 <= len(data) else 0
        points += [p_offset, p_offset + 1]
    cut = min(rng.choice(points), len(data))
    del data[cut:]
    return f"truncate@{cut}"


def mutate_bits(rng, data):
    if not data:
        return "empty"
    span = min(len(data), 4096 if rng.random() < 0.7 else len(data))
    flips = [rng.randrange(span) for _ in range(rng.randrange(1, 9))]
    for i in flips:
        data[i] ^= 1 << rng.randrange(8)
    return f"flip@{flips}"


def mutate_entry(rng, data):
    value = rng.choice([0, 1, 0x400000, 0x401000, 0x404000, 0x403000, 0x7FFF_FFFF_FFFF,
                        0xFFFF_8000_0000_0000, rng.getrandbits(64), 0x4010B7 + rng.randrange(-64, 64)])
    put(data, 24, 8, value)
    return f"e_entry={value:#x}"


def mutate_phnum(rng, data):
    value = rng.choice([0, 0xFFFF, 0xFFFE, 1000, 200, 64, 1])
    put(data, 56, 2, value)
    return f"e_phnum={value}"


MUTATIONS = [mutate_ehdr, mutate_phdr, mutate_phdr, mutate_phdr, mutate_overlap, mutate_interp,
             mutate_sections, mutate_truncate, mutate_bits, mutate_bits, mutate_entry, mutate_phnum]


def make_mutant(rng: random.Random, seeds: dict[Path, bytes]) -> tuple[bytes, str]:
    """A mutant's bytes and the list of what was done to it (the reproducer)."""
    path = rng.choice(list(seeds))
    data = bytearray(seeds[path])
    steps = [path.name]
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        steps.append(rng.choice(MUTATIONS)(rng, data))
    return bytes(data), " ".join(steps)


def message_faults(run) -> list[str]:
    """What is wrong with emu's messages, if anything: a refusal in more than one line,
    a raw control character (guest-controlled bytes printed as they are)."""
    faults = []
    err = run.stderr
    if any(b < 0x20 and b not in (0x0A, 0x09) for b in err) or 0x7F in err:
        faults.append("raw control character in emu's message")
    if run.returncode == 2 and not (err.startswith(b"emu: ") and err.count(b"\n") <= 1):
        faults.append("refusal not in one line")
    return faults


def campaign(rng: random.Random, budget: Budget) -> Tally:
    tally = Tally("elf")
    seeds = {path: path.read_bytes() for path in SEEDS}
    faults: dict[str, int] = {}
    examples: dict[str, str] = {}
    running = {}
    with tempfile.TemporaryDirectory(prefix="fuzz-elf-") as tmp:
        serial = 0
        while True:
            while len(running) < WORKERS and budget.spend():
                data, recipe = make_mutant(rng, seeds)
                serial += 1
                path = Path(tmp) / f"m{serial}.elf"
                path.write_bytes(data)
                path.chmod(0o755)
                started = time.monotonic()
                pid, files = fork_emu(["run", "--memory", "32M", "--timeout", EMU_TIMEOUT, path])
                running[pid] = (files, started, recipe, path)
            if not running:
                break
            pid = next(iter(running))           # the oldest: runs are short and alike
            files, started, recipe, path = running.pop(pid)
            run = collect_forked(pid, files, started, started + WALL_TIMEOUT)
            path.unlink()
            tally.add(classify(run, rss_bound=RSS_BOUND), recipe, run.tail())
            for fault in message_faults(run):
                faults[fault] = faults.get(fault, 0) + 1
                examples.setdefault(fault, f"{recipe}: {run.stderr[:160]!r}")
    tally.figures.update(faults)
    for fault, example in examples.items():
        tally.figures[f"e.g. ({fault})"] = example
    return tally
