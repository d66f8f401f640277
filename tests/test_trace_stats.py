"""test_trace_stats: --trace lines read on their own, --trace-format jsonl, the --stats table."""

import json
import re

import pytest

from emu.debug.trace import EVENT_FIELDS
from tests.emu_runner import run_emu, stderr_lines

HELLO = "guest/hello.elf"
PF_ROUNDTRIP = "guest/pf_roundtrip.elf"
TEST_COW = "guest/test_cow.elf"


def expected_keys(category: str, kind: str) -> set:
    fields = EVENT_FIELDS[(None, "text")] if kind == "text" else EVENT_FIELDS[(category, kind)]
    return {"category", "kind", "text", *fields}


@pytest.mark.usefixtures("guests")
def test_jsonl_every_line_parses_with_fixed_keys(tmp_path):
    out = tmp_path / "trace.jsonl"
    r = run_emu("run", "--trace", "all", "--trace-format", "jsonl", "--trace-file", out, TEST_COW)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = set()
    for event in events:
        assert set(event) == expected_keys(event["category"], event["kind"]), event
        assert all(isinstance(v, (int, str, bool)) or v is None for v in event.values()), event
        kinds.add((event["category"], event["kind"]))
    assert {("walk", "walk"), ("tlb", "fill"), ("tlb", "hit"), ("tlb", "flush"), ("fault", "pf"),
            ("fault", "handled"), ("syscall", "syscall"), ("sched", "sched")} <= kinds, kinds
    huge = [e for e in events if e["kind"] == "handled" and e["op"] == "page-huge.fault"]
    assert huge and all(e["function"] == "page_fault" and e["vma_name"] == "/dev/page-huge" for e in huge)
    fills_2m = [e for e in events if e["kind"] == "fill" and e["page_size"] == 2 << 20]
    assert fills_2m and all(e["va"] >> 21 << 21 == 0x7ffff7a00000 or e["va"] >> 21 << 21 == 0x7ffff7c00000
                            for e in fills_2m)


@pytest.mark.usefixtures("guests")
def test_jsonl_to_stderr():
    r = run_emu("run", "--trace", "syscall", "--trace-format", "jsonl", HELLO)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in stderr_lines(r)]
    assert events[-1]["name"] == "exit_group" and events[-1]["pid"] == 1
    write = next(e for e in events if e["name"] == "write")
    assert write["a0"] == 1 and write["result"] == write["a2"]


@pytest.mark.usefixtures("guests")
def test_fault_lines_are_self_contained():
    r = run_emu("run", "--trace", "fault", TEST_COW)
    assert r.returncode == 0, r.stderr
    lines = stderr_lines(r)
    pf = [line for line in lines if line.startswith("[fault] #PF ")]
    handled = [line for line in lines if line.startswith("[fault]   handled ")]
    assert pf and handled
    pattern = (r"\[fault\] #PF va 0x[0-9a-f]{16} (read|write|fetch) error 0x[0-9a-f]+ \((?:[A-Z|]+|none)\) "
               r"pid \d+ rip 0x[0-9a-f]{16} \((.+)\): .+  \[fault (\d+)\]$")
    ids = []
    for line in pf:
        m = re.match(pattern, line)
        assert m, line
        ids.append(m.group(3))
    answered = [re.search(r"\[fault (\d+): pid \d+ va 0x[0-9a-f]{16} (read|write|fetch)\]$", line) for line in handled]
    assert all(answered), handled
    assert {m.group(1) for m in answered} <= set(ids)
    assert any("by page-huge.fault = page_fault() in /dev/page-huge 0x7ffff7a00000-0x7ffff7e00000 rw-p: MINOR" in line
               for line in handled), handled
    assert any("before any op in /dev/page-huge" in line and "SEGV_ACCERR" in line for line in handled), handled
    assert any(re.search(r"\(mov byte ptr \[\w+\], 0x41\)", line) for line in pf), pf   # p[0] = 'A'


@pytest.mark.usefixtures("guests")
def test_tlb_lines_show_va_and_pa():
    r = run_emu("run", "--trace", "tlb,walk", PF_ROUNDTRIP)
    assert r.returncode == 0, r.stderr
    for line in stderr_lines(r):
        if line.startswith("[tlb] fill") or line.startswith("[tlb] hit"):
            assert re.search(r"va 0x[0-9a-f]{16} -> pa 0x[0-9a-f]{10} (4K|2M)", line), line
        elif line.startswith("[walk] "):
            assert re.search(r" -> (pa 0x[0-9a-f]{10} (4K|2M)|#PF: .+|#GP: .+)$", line), line


def stats_section(stderr: str) -> str:
    return stderr[stderr.index("emu stats:"):]


@pytest.mark.usefixtures("guests")
def test_stats_table_counts_faults_by_kind_and_op():
    r = run_emu("run", "--stats", TEST_COW)
    assert r.returncode == 0, r.stderr
    text = stats_section(r.stderr)
    assert re.search(r"instructions: \d+ \(counted per executed block", text), text
    assert re.search(r"^  TLB 2M +\d+ +\d+ +\d+ +\d+ +\d+ +32/4-way$", text, re.M), text
    assert re.search(r"\d+\.\d ms in the fill hook's miss path", text)
    assert re.search(r"\d+ user #PF handled, \d+\.\d ms delivering, \d+\.\d ms in do_page_fault", text)
    kinds = {name: int(n) for name, _, n in
             (part.rpartition(" ") for part in re.search(r"by kind: (.*)", text).group(1).split(", "))}
    assert kinds["huge zero page"] == 2 and kinds["write-protect (COW)"] >= 3 and kinds["access denied"] == 1, kinds
    assert re.search(r"by op: +.*page-huge\.fault \d+ \(MINOR \d+\)", text), text
    assert "huge page pool: HugePages_Total 32" in text
    assert len(text.splitlines()) <= 12, "compact"


@pytest.mark.usefixtures("guests")
def test_stats_counts_instructions_with_max_insns():
    r = run_emu("run", "--stats", "--max-insns", "100000000", HELLO)
    assert r.returncode == 0, r.stderr
    m = re.search(r"instructions: (\d+) \(counted one by one because of --max-insns\)", r.stderr)
    assert m and int(m.group(1)) > 100, r.stderr


@pytest.mark.usefixtures("guests")
def test_block_count_is_completed_instructions():
    """--stats counts per block, less what a fault cut off; the one-by-one count of
    --max-insns also counts each faulting attempt, so it is higher by about one per fault."""
    def count(*extra):
        r = run_emu("run", "--stats", *extra, "guest/pf_roundtrip.elf")
        return int(re.search(r"instructions: (\d+)", r.stderr).group(1)), \
            int(re.search(r"(\d+) user #PF handled", r.stderr).group(1))
    blocks, faults = count()
    one_by_one, _ = count("--max-insns", "100000000")
    assert 0 <= one_by_one - blocks <= faults + 2 and blocks > 40000


@pytest.mark.usefixtures("guests")
@pytest.mark.parametrize("stats", [False, True])
def test_the_fault_path_is_counted_and_timed_only_for_stats(stats):
    """Without --stats the fault path keeps no accounts (no timestamps, no counting by
    kind); with it, every user fault is counted and the miss path timed."""
    import io
    from emu.machine import Machine, Options
    machine = Machine(Options(stdout=io.BytesIO(), count_insns=stats))
    assert machine.run("guest/pf_roundtrip.elf", ["pf_roundtrip.elf"], []).status == 0
    faults = machine.kernel.fault_stats
    assert (faults.total > 0, faults.handler_seconds > 0, faults.delivery_seconds > 0,
            machine.mmu.counters.miss_seconds > 0) == (stats,) * 4
    assert machine.mmu.counters.faults > 0                  # the MMU's own counters always count
