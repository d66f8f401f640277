"""The transcripts in README.md and docs/*.md are run, and their output compared.

How a doc marks a transcript (docs/writing-docs.md says the same for doc writers):

- **A `$` block.** An indented (4 spaces) block whose first line starts with `$ ` is a
  transcript: the command (continued over lines ending in `\\`), then the output it
  prints, all of it. The command runs with bash in the repository's root, stdin from
  /dev/null, stderr merged into stdout (what a terminal shows), so write `2>/dev/null` or
  `2>&1 >/dev/null` as a reader would type it.
- **Elisions.** A line that is only `...` stands for any number of lines (none too); a
  `...` inside a line stands for any text on that line. Everything else is compared
  exactly, ids, guest addresses and counts included.
- **Markers**, an HTML comment on the line just before a block (blank lines between
  are allowed):
  - `<!-- transcript: excerpt -->` before a block without `$`: a part of the output of
    the file's last `$` command above it (its lines one after the other; `...` lines,
    as above, for lines left out).
  - `<!-- transcript: excerpt of CMD -->`: the same, for the output of CMD.
  - `<!-- transcript: server CMD -->` before a `$` block: CMD is started first and runs
    beside it (`emu run --gdb PORT ...` for a gdb transcript); the test gives it a free
    port instead of the doc's (PORT stands in the command and the `target remote :PORT`
    of the transcript). It must end by itself (gdb's `kill`).
  - `<!-- transcript: file PATH = the code block above -->`: the fenced code block above
    is written to a temporary file that stands for PATH in the command and the output.
  - `<!-- transcript: skip REASON -->`: a `$` block that is not run (say why).
- **Normalised**, on both sides, and only this: run times in ms or µs (`0.6 ms` and
  `1.4 ms` compare equal), tabs (expanded), trailing blanks.

Prose that states a number of the code (the count of system calls) is checked against
the code in `test_prose_numbers`. Doc writers: when an output changes, run
`pytest tests/test_docs.py`, and paste what the failing case prints as `got`.
"""

import functools
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emu_runner import REPO

DOCS = [Path(REPO) / "README.md", *sorted((Path(REPO) / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!--\s*transcript:\s*(.*?)\s*-->\s*$")
TIME = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|µs)\b")
GAP = object()                      # a `...` line: any run of lines
TIMEOUT = 120


@dataclass
class Transcript:
    doc: str                        # the doc's path, relative to the repository
    line: int                       # the block's first line (1-based)
    command: str | None             # None for an excerpt
    expected: list                  # lines, GAP for a `...` line
    excerpt_of: str | None = None   # the command an excerpt quotes
    server: str | None = None
    files: dict = field(default_factory=dict)   # PATH in the doc -> the code block's text
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def indented_blocks(lines):
    """(start index, block lines without their 4-space indent) for each indented block."""
    i = 0
    while i < len(lines):
        if lines[i].startswith("    ") and lines[i].strip() and (i == 0 or not lines[i - 1].strip()
                                                               or MARKER.match(lines[i - 1])):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            block = [line[4:] for line in lines[i:j]]
            while block and not block[-1].strip():
                block.pop()
            yield i, block
            i = j
        else:
            i += 1


def marker_before(lines, start):
    """The transcript marker just above line `start` (blank lines skipped), or None."""
    k = start - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    match = MARKER.match(lines[k]) if k >= 0 else None
    return match.group(1) if match else None


def code_block_above(lines, start) -> str:
    """The text of the last fenced (```) block ending above line `start`."""
    end = max(k for k in range(start) if lines[k].strip().startswith("```"))
    begin = max(k for k in range(end) if lines[k].strip().startswith("```"))
    return "\n".join(line.strip("\n") for line in lines[begin + 1:end]) + "\n"


def split_command(block):
    """The `$` block's command (continuation lines joined) and its output lines."""
    command, k = block[0][2:], 1
    while command.endswith("\\") and k < len(block):
        command, k = command[:-1] + " " + block[k].strip(), k + 1
    return command, block[k:]


def expected_lines(block):
    return [GAP if line.strip() == "..." else line for line in block]


def parse(doc: Path):
    """Every transcript of one doc, in order."""
    lines = doc.read_text().splitlines()
    name = str(doc.relative_to(REPO))
    found, last_command = [], None
    for start, block in indented_blocks(lines):
        marker = marker_before(lines, start) or ""
        if block[0].startswith("$ "):
            command, output = split_command(block)
            t = Transcript(name, start + 1, command, expected_lines(output))
            for part in marker.split(";"):
                part = part.strip()
                if part.startswith("server "):
                    t.server = part[len("server "):]
                elif part.startswith("file "):
                    t.files[part[len("file "):].split(" = ")[0].strip()] = code_block_above(lines, start)
                elif part.startswith("skip"):
                    t.skip = part[len("skip"):].strip() or "marked skip"
                elif part:
                    raise ValueError(f"{name}:{start}: unknown transcript marker {part!r}")
            found.append(t)
            last_command = t
        elif marker.startswith("excerpt"):
            of = marker[len("excerpt of "):] if marker.startswith("excerpt of ") else None
            if of is None:
                assert last_command is not None, f"{name}:{start}: an excerpt with no $ command above"
            source = Transcript(name, start + 1, of, []) if of else last_command
            found.append(Transcript(name, start + 1, None, [GAP, *expected_lines(block), GAP],
                                    excerpt_of=source.command, server=source.server, files=source.files))
    return found


TRANSCRIPTS = [t for doc in DOCS for t in parse(doc)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_port(command: str, port: int) -> str:
    """The doc's port (the number after --gdb, or after `target remote :`) replaced."""
    return re.sub(r"(--gdb |target remote :)\d+", rf"\g<1>{port}", command)


@functools.lru_cache(maxsize=None)
def run(command: str, server: str | None, files: tuple) -> str:
    """What `command` prints (stdout and stderr as one stream), with `server` beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        renames = {}
        for path, text in files:
            real = str(Path(tmp) / Path(path).name)
            Path(real).write_text(text)
            renames[path] = real
            command = command.replace(path, real)
        emu = None
        if server is not None:
            port = free_port()
            command = with_port(command, port)
            emu = subprocess.Popen(["bash", "-c", with_port(server, port)], cwd=REPO, text=True,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            line = emu.stderr.readline()
            assert "waiting for gdb" in line, f"the server said: {line!r}"
        try:
            result = subprocess.run(["bash", "-c", command], cwd=REPO, text=True, timeout=TIMEOUT,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if emu is not None:
                err = emu.communicate(timeout=TIMEOUT)[1]
                assert "Traceback" not in err, err
        finally:
            if emu is not None and emu.poll() is None:
                emu.kill()
                emu.communicate()
        output = result.stdout
        for path, real in renames.items():
            output = output.replace(real, path)
        return output


def normalise(line: str) -> str:
    return TIME.sub("<time>", line.expandtabs()).rstrip()


def line_pattern(line: str) -> re.Pattern:
    """An expected line as a regex: `...` inside it matches any text."""
    return re.compile(".*".join(re.escape(part) for part in normalise(line).split("...")))


def matches(expected, got) -> bool:
    """Does `got` (lines) match `expected` (lines and GAPs)? The set of positions in
    `got` each prefix of `expected` can end at, pattern by pattern."""
    got = [normalise(line) for line in got]
    ends = {0}
    for e in expected:
        if e is GAP:
            ends = set(range(min(ends), len(got) + 1)) if ends else ends
        else:
            pattern = line_pattern(e)
            ends = {j + 1 for j in ends if j < len(got) and pattern.fullmatch(got[j])}
    return len(got) in ends


def needs_gdb(t: Transcript) -> bool:
    return (t.command or t.excerpt_of or "").lstrip().startswith("gdb ")


@pytest.mark.parametrize("t", TRANSCRIPTS, ids=[t.id for t in TRANSCRIPTS])
def test_transcript(t: Transcript):
    if t.skip:
        pytest.skip(t.skip)
    if needs_gdb(t) and shutil.which("gdb") is None:
        pytest.skip("no gdb on this machine")
    command = t.command if t.command is not None else t.excerpt_of
    got = run(command, t.server, tuple(sorted(t.files.items())))
    shown = "\n".join("..." if e is GAP else e for e in t.expected)
    ok = matches(t.expected, got.splitlines())
    assert ok, (
        f"{t.id}: the output of\n  $ {command}\nno longer matches the doc.\n"
        f"--- the doc ---\n{shown}\n--- got ---\n{got}")


def test_every_doc_has_its_transcripts_found():
    """The convention is in use: the tutorial's transcripts are all found (a marker typo
    would silently drop one)."""
    tutorial = [t for t in TRANSCRIPTS if t.doc == "docs/tutorial.md"]
    assert sum(t.command is not None for t in tutorial) >= 8
    assert sum(t.command is None for t in tutorial) >= 6


def syscall_count() -> int:
    from emu.kernel.syscalls import SYSCALLS
    return len(SYSCALLS)


def test_prose_numbers():
    """README's and kernel.md's count of system calls, and kernel.md's table of them, are
    the code's."""
    from emu.kernel.syscalls import SYSCALLS, SYSCALL_NAMES
    readme = (Path(REPO) / "README.md").read_text()
    kernel = (Path(REPO) / "docs" / "kernel.md").read_text()
    assert re.findall(r"(\d+) system calls", readme) == [str(syscall_count())]
    assert re.findall(r"\| implemented \((\d+)\) \|", kernel) == [str(syscall_count())]
    table = kernel.split("| implemented (")[1].split("\n\n")[0]
    listed = set(re.findall(r"\b(\d+) ([a-z_0-9]+)", table))
    assert listed == {(str(nr), SYSCALL_NAMES[nr]) for nr in SYSCALLS}
