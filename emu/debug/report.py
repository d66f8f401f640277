"""`emu run --report FILE.html`: one self-contained HTML page about the run's memory.

The page shows, for every process, its address space (VMAs drawn to scale, huge
mappings marked) and its page-table tree as they were when it exited, the frames
shared between address spaces (copy-on-write after fork, the huge zero page), the
TLB's contents, and a timeline of every page fault with the pagetable_op that
handled it.

A process's memory is freed when it exits, so the kernel calls the `Recorder` just
before tearing an address space down (Kernel.release_task calls `exiting` when a
process's last task goes); faults reach it through `Kernel.do_page_fault` (`user_fault`: the trap's
error code) and `handle_mm_fault` (`mm_fault`: wraps the fault op to see the entry
before and after); `Kernel.fork` reports forks. With no --report the kernel's
`recorder` is None and each hook costs one test.

The HTML has no external reference at all: CSS, JavaScript and the data (JSON in a
<script type="application/json">) are inline, and a Content-Security-Policy forbids
loading anything. The page's script renders the data and then sets
<body data-ready="yes"> (or data-error="..." if it threw), which tests/test_report.py
checks in a headless Chromium.
"""

import html
import json
import math
import signal
import time

from .. import __version__
from ..kernel.mm.memory import VM_EXEC, VM_HUGETLB, VM_READ, VM_SHARED, VM_WRITE, FileBacking, ShmemObject, pt_ops
from ..text import printable
from ..hardware.paging import (ENTRY_SIZE, PAGE_SIZE, PHYS_ADDR_MASK, PTE_A, PTE_D, PTE_NX, PTE_P, PTE_PS,
                     PTE_RW, PTE_US, PTRS_PER_TABLE, USER_TOP, entry_flags_str, pf_error_str)

MAX_FAULTS = 5000              # fault events kept (the rest are counted)
MAX_LEAVES = 20000             # leaf entries kept per process snapshot
GAP_BREAK = 1 << 20            # address-space gaps at least this wide are cut out of the drawing
BREAK_WIDTH = 3.0              # percent of the bar a cut-out gap takes
LEVEL_TABLE_NAMES = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}
LEVEL_ENTRY_NAMES = {4: "PML4E", 3: "PDPTE", 2: "PDE", 1: "PTE"}


def level_span(level: int) -> int:
    return 1 << (12 + 9 * (level - 1))


def size_text(size: int) -> str:
    """4096 -> '4 KiB', 3 << 20 -> '3 MiB', 0x7ff...: '128 TiB' (one decimal when not whole)."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            value = size / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) or value >= 100 else f"{value:.1f} {unit}"
    return f"{size} B"


def perms_text(flags: int) -> str:
    text = "".join(c if flags & bit else "-" for c, bit in (("r", VM_READ), ("w", VM_WRITE), ("x", VM_EXEC)))
    return text + ("s" if flags & VM_SHARED else "p")


def wait_status_text(status: int | None) -> str:
    if status is None:
        return "still running"
    sig = status & 0x7F
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name}"
    return f"exited with status {(status >> 8) & 0xFF}"


class Recorder:
    """Collects what the page needs while the guest runs (Kernel.recorder)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.seq = 0
        self.faults = []
        self.faults_dropped = 0
        self.events = []               # forks and exits, on the same sequence as faults
        self.snapshots = []            # one per exited process, in exit order
        self.tlb_snapshots = []
        self.pending = None            # (mm, va, event) of the user fault being handled

    def tick(self) -> dict:
        self.seq += 1
        return {"seq": self.seq, "ms": round((time.perf_counter() - self.t0) * 1000, 3)}

    # -- hooks -------------------------------------------------------------------------

    def user_fault(self, proc, cr2: int, error: int, rip: int) -> None:
        """Kernel.do_page_fault: a #PF from ring 3. Until the fault op runs, it counts as refused."""
        access = "fetch" if error & 0x10 else "write" if error & 0x2 else "read"
        vma = proc.mm.find_vma(cr2)
        event = self.tick()
        event.update(pid=proc.pid, va=cr2, access=access, error=error, error_text=pf_error_str(error), rip=rip,
                     origin="user", vma=vma_label(vma) if vma else None, op=None, size=None,
                     what="no VMA covers the address" if vma is None else "the VMA does not allow this access",
                     result="SIGSEGV (SEGV_MAPERR)" if vma is None else "SIGSEGV (SEGV_ACCERR)")
        self.add_fault(event)
        self.pending = (proc.mm, cr2, event)

    def mm_fault(self, mm, vma, va: int, write_access: bool, run_fault_op):
        """handle_mm_fault: run the VMA's fault op and note what it changed."""
        pending, self.pending = self.pending, None
        if pending is not None and pending[0] is mm and pending[1] == va:
            event = pending[2]
        else:                          # pin_pages: the kernel touched user memory (a syscall's buffer)
            event = self.tick()
            owner = next((p.pid for p in mm.kernel.procs.values() if p.mm is mm), None) if mm.kernel else None
            event.update(pid=owner, va=va, access="write" if write_access else "read", error=None,
                         error_text="", rip=None, origin="kernel")
            self.add_fault(event)
        before = mm.pt.lookup(va)
        result = run_fault_op(mm, vma, va, write_access)
        after = mm.pt.lookup(va)
        ops = pt_ops(vma, "fault")
        event.update(vma=vma_label(vma), op=f"{ops.name}.fault", result=result.name)
        event.update(describe_fault(mm, before, after, result))
        return result

    def forked(self, parent, child) -> None:
        event = self.tick()
        event.update(kind="fork", pid=child.pid, ppid=parent.pid)
        self.events.append(event)

    def exiting(self, kernel, proc) -> None:
        """The kernel is about to free `proc`'s address space: keep a picture of it."""
        event = self.tick()
        event.update(kind="exit", pid=proc.pid, status=wait_status_text(proc.exit_status))
        self.events.append(event)
        snap = snapshot_process(kernel, proc)
        snap.update(exit_seq=event["seq"], status=event["status"])
        self.snapshots.append(snap)
        if proc is kernel.current and proc.mm.active:
            self.tlb_snapshots.append(snapshot_tlb(kernel, f"at the exit of pid {proc.pid}, before its "
                                                           f"address space was torn down", event["seq"], proc))

    def add_fault(self, event: dict) -> None:
        if len(self.faults) < MAX_FAULTS:
            self.faults.append(event)
        else:
            self.faults_dropped += 1

    # -- the page -----------------------------------------------------------------------

    def data(self, machine, program: str, argv: list, status) -> dict:
        kernel = machine.kernel
        tlb_end = snapshot_tlb(kernel, "at the end of the run (every address space torn down)", self.seq + 1)
        tlb_end["final"] = True
        mmu = machine.mmu
        pool = kernel.hugetlb_pool
        counters = {
            "tlb": {label: vars(t.counters) | {"entries": t.entries, "ways": t.ways}
                    for label, t in (("4K", mmu.tlb.small), ("2M", mmu.tlb.huge))},
            "mmu": dict(vars(mmu.counters)),
            "frames": dict(vars(machine.frames.stats)),
            "pool": None if pool is None else {
                "total": pool.nr_huge_pages, "free": pool.free_huge_pages, "reserved": pool.resv_huge_pages,
                "zero_page": pool.zero_page_pa, "allocations": pool.allocations},
        }
        return {
            "emu": __version__, "program": program, "argv": list(argv),
            "status": status, "memory": machine.options.memory,
            "processes": [add_layout(snap) for snap in sorted(self.snapshots, key=lambda s: s["pid"])],
            "shared": shared_frames(self.snapshots),
            "tlb": self.tlb_snapshots + [tlb_end],
            "faults": self.faults, "faults_dropped": self.faults_dropped,
            "events": self.events, "counters": counters,
            "gap_break": GAP_BREAK,
        }

    def write(self, path: str, machine, program: str, argv: list, status) -> None:
        with open(path, "w", encoding="utf-8") as out:
            out.write(render_html(self.data(machine, program, argv, status)))


# ---- faults ------------------------------------------------------------------------------

def frame_of(leaf) -> int:
    size = level_span(leaf.level)
    return leaf.entry & PHYS_ADDR_MASK & ~(size - 1)


def frame_refs(kernel, pa: int, level: int) -> tuple:
    """(references, is the huge zero page) of the frame a leaf maps.

    4 KiB frames: the allocator's reference count (page tables and shmem objects hold
    them). 2 MiB frames of the huge page pool: the pool's count of mappings.
    """
    pool = getattr(kernel, "hugetlb_pool", None)
    if level == 2 and pool is not None:
        if pool.is_zero_page(pa):
            return None, True
        if pa in pool.refcount:
            return pool.page_count(pa), False
    return kernel.frames.page_count(pa), False


def describe_fault(mm, before, after, result) -> dict:
    """What a fault op did to the entry: map a new frame, map the zero page, copy, reuse ..."""
    kernel = mm.kernel
    leaf = after or before
    out = {"size": None if leaf is None else ("2M" if leaf.level == 2 else "4K"),
           "pa_before": None if before is None else frame_of(before),
           "pa_after": None if after is None else frame_of(after)}
    if after is None:
        out["what"] = "nothing mapped"
        return out
    new_pa = frame_of(after)
    refs, zero = frame_refs(kernel, new_pa, after.level) if kernel else (None, False)
    if before is None:
        if zero:
            what = "mapped the huge zero page, read-only"
        elif refs and refs > 1:
            what = f"mapped an existing frame (now {refs} references)"
        elif result.name == "MAJOR":
            what = "new frame, filled from the program file"
        else:
            what = "new frame, zero-filled"
    else:
        old_pa = frame_of(before)
        if old_pa == new_pa:
            if after.entry & PTE_RW and not before.entry & PTE_RW:
                what = "made writable in place (no other user of the frame)"
            else:
                what = "nothing to do (already mapped)"
        elif before.level == 2 and kernel and frame_refs(kernel, old_pa, 2)[1]:
            what = "copy-on-write of the huge zero page: a new cleared page"
        else:
            what = "copy-on-write: copied into a new frame"
    out["what"] = what
    return out


# ---- snapshots -----------------------------------------------------------------------------

def vma_label(vma) -> str:
    return vma.name or "[anon]"


def vma_is_huge(vma) -> bool:
    return bool(vma.flags & VM_HUGETLB)


def vma_info(vma) -> dict:
    backing = ("program file" if isinstance(vma.backing, FileBacking) else
               "shmem object" if isinstance(vma.backing, ShmemObject) else
               type(vma.backing).__name__ if vma.backing is not None else "anonymous")
    return {"start": vma.start, "end": vma.end, "size": vma.end - vma.start, "perms": perms_text(vma.flags),
            "name": vma_label(vma), "ops": vma.ops.name if vma.ops is not None else "default",
            "huge": vma_is_huge(vma), "backing": backing}


def snapshot_process(kernel, proc) -> dict:
    """VMAs, the page-table tree (user half), and which frames other live processes share."""
    mm = proc.mm
    state = {"leaves": 0, "tables": 0, "dropped": 0}
    tree = walk_table(kernel, mm.pt.pml4_pa, 4, 0, None, state)
    vmas = [vma_info(v) for v in mm.vmas]
    leaves = list(iter_leaves(tree))
    for leaf in leaves:
        vma = mm.find_vma(leaf["va"])
        leaf["vma"] = vma_label(vma) if vma else None
    shared = [leaf for leaf in leaves if leaf["shared"]]
    if shared:
        mappers = other_mappers(kernel, proc, {leaf["pa"] for leaf in shared})
        for leaf in shared:
            leaf["with"] = mappers.get(leaf["pa"], [])
    kernel_half = sum(1 for i in range(PTRS_PER_TABLE // 2, PTRS_PER_TABLE)
                      if kernel.mem.read_u64(mm.pt.pml4_pa + i * ENTRY_SIZE) & PTE_P)
    return {"pid": proc.pid, "ppid": proc.ppid, "path": proc.path, "vmas": vmas, "tree": tree,
            "tables": state["tables"], "leaf_count": state["leaves"], "leaves_dropped": state["dropped"],
            "kernel_half_entries": kernel_half, "rss_pages": mm.rss}


def walk_table(kernel, table_pa: int, level: int, base_va: int, index, state) -> dict:
    """One page-table page and everything under it, as nested dicts (user half only)."""
    state["tables"] += 1
    node = {"type": "table", "level": level, "name": LEVEL_TABLE_NAMES[level], "pa": table_pa,
            "index": index, "va": base_va, "span": level_span(level + 1) if level < 4 else USER_TOP,
            "entries": []}
    count = PTRS_PER_TABLE // 2 if level == 4 else PTRS_PER_TABLE
    raw = kernel.mem.read(table_pa, count * ENTRY_SIZE)
    span = level_span(level)
    for i in range(count):
        entry = int.from_bytes(raw[i * ENTRY_SIZE:(i + 1) * ENTRY_SIZE], "little")
        if not entry & PTE_P:
            continue
        va = base_va + i * span
        if level == 1 or (level == 2 and entry & PTE_PS):
            state["leaves"] += 1
            if state["leaves"] > MAX_LEAVES:
                state["dropped"] += 1
                continue
            size = span
            pa = entry & PHYS_ADDR_MASK & ~(size - 1)
            refs, zero = frame_refs(kernel, pa, level)
            node["entries"].append({
                "type": "leaf", "level": level, "index": i, "va": va, "pa": pa, "size": size,
                "entry": f"{entry:#018x}", "flags": entry_flags_str(entry),
                "rw": bool(entry & PTE_RW), "user": bool(entry & PTE_US), "nx": bool(entry & PTE_NX),
                "a": bool(entry & PTE_A), "d": bool(entry & PTE_D),
                "refs": refs, "zero": zero, "shared": zero or (refs or 0) > 1})
        else:
            node["entries"].append(walk_table(kernel, entry & PHYS_ADDR_MASK, level - 1, va, i, state))
    return node


def iter_leaves(node):
    for entry in node["entries"]:
        if entry["type"] == "leaf":
            yield entry
        else:
            yield from iter_leaves(entry)


def other_mappers(kernel, proc, pas: set) -> dict:
    """pa -> [[pid, va], ...] for the live processes other than `proc` that map one of `pas`."""
    found = {}
    for other in kernel.procs.values():
        if other is proc or not other.alive or other.mm is proc.mm:
            continue
        for va, leaf in other.mm.pt.leaves(0, USER_TOP):
            pa = frame_of(leaf)
            if pa in pas:
                found.setdefault(pa, []).append([other.pid, va])
    return found


def snapshot_tlb(kernel, label: str, seq: int, current=None) -> dict:
    """Every TLB entry, with its set and LRU position, checked against the page tables of
    `current` (the process whose address space is loaded; None once all are torn down)."""
    mmu = kernel.mmu
    entries = []
    for size_label, tlb in (("4K", mmu.tlb.small), ("2M", mmu.tlb.huge)):
        for set_index, tlb_set in enumerate(tlb.sets):
            ways = list(tlb_set.values())
            for lru, e in enumerate(ways):
                va = e.vpn << tlb.page_shift
                owner = "kernel (global)" if e.global_ else (f"pid {current.pid}" if current else "no address space")
                entries.append({"size": size_label, "set": set_index, "lru": len(ways) - 1 - lru, "va": va,
                                "pa": e.pa, "w": e.writable, "u": e.user, "nx": e.nx, "d": e.dirty,
                                "g": e.global_, "owner": owner,
                                "check": check_tlb_entry(kernel, current, e, va, 1 << tlb.page_shift)})
    return {"label": label, "seq": seq, "pid": current.pid if current else None, "entries": entries,
            "geometry": {"4K": [mmu.tlb.small.entries, mmu.tlb.small.ways],
                         "2M": [mmu.tlb.huge.entries, mmu.tlb.huge.ways]}}


def check_tlb_entry(kernel, current, e, va: int, size: int) -> str:
    """Does the entry still agree with the page tables? (It need not: the TLB is not coherent.)"""
    pt = kernel.kernel_pt if e.global_ or current is None else current.mm.pt
    leaf = pt.lookup(va)
    if leaf is None:
        return "stale: no longer mapped"
    if level_span(leaf.level) != size or frame_of(leaf) != e.pa:
        return "stale: maps another frame now"
    if e.writable and not leaf.entry & PTE_RW:
        return "stale: write-protected since"
    if not e.writable and leaf.entry & PTE_RW:
        return "ok (older, narrower rights)"
    return "ok"


def shared_frames(snapshots: list) -> list:
    """The frames with more than one reference, as each exiting process saw them."""
    rows = []
    for snap in snapshots:
        for leaf in iter_leaves(snap["tree"]):
            if leaf["shared"]:
                rows.append({"exit_of": snap["pid"], "pa": leaf["pa"], "size": leaf["size"], "refs": leaf["refs"],
                             "zero": leaf["zero"], "mappers": [[snap["pid"], leaf["va"]], *leaf.get("with", [])],
                             "vma": leaf.get("vma"), "rw": leaf["rw"]})
    return rows


# ---- the address-space drawing -----------------------------------------------------------------

def layout_clusters(vmas: list) -> list:
    """Cut the user address space [0, 128 TiB) into clusters of VMAs and the gaps between them.

    A gap of GAP_BREAK or more (between two VMAs, below the first or above the last)
    ends a cluster; a smaller one stays inside it, drawn to scale. Returns
    [start, end, [vma indexes]] lists in address order.
    """
    clusters = []
    for start, end, index in sorted((v["start"], v["end"], i) for i, v in enumerate(vmas)):
        if clusters and start - clusters[-1][1] < GAP_BREAK:
            clusters[-1][1] = max(clusters[-1][1], end)
            clusters[-1][2].append(index)
        else:
            clusters.append([start, end, [index]])
    if not clusters:
        return [[0, USER_TOP, []]]
    if clusters[0][0] < GAP_BREAK:
        clusters[0][0] = 0
    if USER_TOP - clusters[-1][1] < GAP_BREAK:
        clusters[-1][1] = USER_TOP
    return clusters


def add_layout(snap: dict) -> dict:
    """Positions (percent of the bar) of clusters, gap markers, VMAs and the pages mapped in them.

    Inside a cluster the scale is linear, so VMAs and the holes between them keep their
    proportions; a cluster's width grows with the logarithm of its span; each gap cut
    out between clusters is a fixed-width break marker labelled with its size.
    """
    vmas = snap["vmas"]
    clusters = layout_clusters(vmas)
    weights = [math.log2(max(end - start, PAGE_SIZE) / PAGE_SIZE) + 2 for start, end, _ in clusters]
    edges = [0, *(c for cluster in clusters for c in cluster[:2]), USER_TOP]
    gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]      # before, between, after
    room = 100.0 - BREAK_WIDTH * sum(1 for lo, hi in gaps if hi > lo)
    total = sum(weights)
    items, left = [], 0.0
    leaves = list(iter_leaves(snap["tree"]))

    def gap_item(lo, hi):
        nonlocal left
        if hi > lo:
            items.append({"kind": "gap", "left": left, "width": BREAK_WIDTH, "size": hi - lo,
                          "label": size_text(hi - lo), "start": lo, "end": hi})
            left += BREAK_WIDTH

    for n, ((start, end, idx), weight) in enumerate(zip(clusters, weights)):
        gap_item(*gaps[n])
        width = room * weight / total
        items.append({"kind": "cluster", "left": left, "width": width, "start": start, "end": end})
        span = max(end - start, 1)
        for i in idx:
            v = vmas[i]
            v["left"] = left + width * (v["start"] - start) / span
            v["width"] = width * v["size"] / span
            v["runs"] = page_runs(v, leaves)
        left += width
    gap_item(*gaps[-1])
    snap["layout"] = items
    return snap


def page_runs(vma: dict, leaves: list) -> list:
    """The mapped pages of a VMA as runs of one kind (private, shared, zero page), in percent of the VMA."""
    runs = []
    for leaf in leaves:
        if leaf["va"] + leaf["size"] <= vma["start"] or leaf["va"] >= vma["end"]:
            continue
        kind = "zero" if leaf["zero"] else "shared" if leaf["shared"] else "private"
        if runs and runs[-1]["kind"] == kind and runs[-1]["end"] == leaf["va"] and runs[-1]["huge"] == (leaf["level"] == 2):
            runs[-1]["end"] = leaf["va"] + leaf["size"]
        else:
            runs.append({"kind": kind, "start": leaf["va"], "end": leaf["va"] + leaf["size"],
                         "huge": leaf["level"] == 2})
    for run in runs:
        run["left"] = 100.0 * (run["start"] - vma["start"]) / vma["size"]
        run["width"] = 100.0 * (run["end"] - run["start"]) / vma["size"]
    return runs


# ---- HTML ---------------------------------------------------------------------------------------

def embed_json(data) -> str:
    """JSON safe inside <script>: no '<' (so no '</script>'), and every '/' escaped, so
    no text from the guest can appear as a URL in the file."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace("/", "\\/")


def render_html(data: dict) -> str:
    title = html.escape(printable(f"emu report: {data['program']}"))
    return (PAGE.replace("@TITLE@", title)
                .replace("@DATA@", embed_json(data)))


PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>@TITLE@</title>
<style>
:root { --private: #43a047; --shared: #fb8c00; --zero: #78909c; --huge: #6a1b9a; --ink: #1d2330; --muted: #5f6b7a;
        --line: #d5dae1; --bg: #f6f7f9; --card: #ffffff; --stale: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); }
header { background: #1d2330; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
header .summary { color: #c9d1dc; }
header .summary b { color: #fff; }
nav { padding: 6px 24px; background: #2b3344; }
nav a { color: #c9d1dc; margin-right: 18px; text-decoration: none; font-size: 13px; }
main { padding: 8px 24px 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin: 14px 0; padding: 12px 16px; }
h2 { font-size: 17px; margin: 2px 0 6px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
.note { color: var(--muted); font-size: 12.5px; margin: 2px 0 8px; }
code, .mono, td.mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid #eceff3; vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; position: sticky; top: 0; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin-right: 4px; }
.sw-private { background: var(--private); } .sw-shared { background: var(--shared); }
.sw-zero { background: var(--zero); } .sw-huge { background: #fff; border: 2px solid var(--huge); }
.sw-vma { background: #e3e8ef; border: 1px solid #9aa6b5; }
.process { border-top: 1px solid var(--line); padding-top: 6px; margin-top: 10px; }
.process:first-of-type { border-top: 0; margin-top: 0; }
details.vma-list > summary { cursor: pointer; font-size: 12px; margin: 2px 0 4px; }
.bar { position: relative; height: 46px; background: repeating-linear-gradient(90deg, #fbfcfd, #fbfcfd 6px, #f3f5f8 6px, #f3f5f8 12px);
       border: 1px solid var(--line); border-radius: 3px; margin: 4px 0 2px; }
.cluster { position: absolute; top: 0; bottom: 0; background: #fdfdfe; border-left: 1px solid #e4e8ee; border-right: 1px solid #e4e8ee; }
.gap { position: absolute; top: -3px; bottom: -3px; display: flex; align-items: center; justify-content: center;
       background: var(--bg); }
.gap::before, .gap::after { content: ""; position: absolute; top: 0; bottom: 0; width: 5px;
       border-left: 2px solid #8a96a6; border-right: 2px solid #8a96a6; transform: skewX(-14deg); }
.gap::before { left: 2px; } .gap::after { right: 2px; }
.gap span { font-size: 10px; color: var(--muted); writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
.vma { position: absolute; top: 7px; bottom: 7px; min-width: 3px; background: #e3e8ef; border: 1px solid #9aa6b5;
       border-radius: 2px; overflow: hidden; }
.vma.huge { border: 2px solid var(--huge); background: #f3e5f5; top: 3px; bottom: 3px; }
.vma .run { position: absolute; top: 0; bottom: 0; min-width: 1px; }
.run.private { background: var(--private); } .run.shared { background: var(--shared); } .run.zero { background: var(--zero); }
.run.huge { background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.35) 0 4px, transparent 4px 8px); }
.vma .vlabel { position: absolute; left: 3px; top: 50%; transform: translateY(-50%); font-size: 10.5px; white-space: nowrap;
       color: #111; text-shadow: 0 0 2px #fff, 0 0 2px #fff; pointer-events: none; }
.axis { position: relative; height: 16px; font-size: 10px; color: var(--muted); }
.axis span { position: absolute; white-space: nowrap; font-family: "DejaVu Sans Mono", monospace; }
.badge { display: inline-block; padding: 0 5px; border-radius: 8px; font-size: 11px; line-height: 16px; margin-left: 3px; }
.b-huge { background: #f3e5f5; color: var(--huge); border: 1px solid #ce93d8; }
.b-shared { background: #fff3e0; color: #b45f00; border: 1px solid #ffcc80; }
.b-zero { background: #eceff1; color: #455a64; border: 1px solid #b0bec5; }
.b-stale { background: #ffebee; color: var(--stale); border: 1px solid #ef9a9a; }
.b-kernel { background: #e3f2fd; color: #1565c0; border: 1px solid #90caf9; }
.cols { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); gap: 14px; }
.scroll { max-height: 460px; overflow: auto; border: 1px solid #eceff3; }
details.pt-node { margin-left: 16px; }
details.pt-node > summary { cursor: pointer; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; padding: 1px 0; }
.pt-tree > details.pt-node { margin-left: 0; }
.pt-leaf { margin-left: 32px; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; padding: 1px 4px; border-left: 3px solid var(--private); margin-top: 1px; }
.pt-leaf.shared { border-left-color: var(--shared); background: #fffaf2; }
.pt-leaf.zero { border-left-color: var(--zero); background: #f5f7f8; }
.pt-leaf.leaf-2m { border-left-width: 6px; font-weight: 600; }
.dim { color: var(--muted); }
.timeline { position: relative; border: 1px solid var(--line); border-radius: 3px; background: #fbfcfd; margin: 6px 0; }
.lane { position: relative; height: 24px; border-bottom: 1px dashed #e4e8ee; }
.lane .lname { position: absolute; left: 4px; top: 4px; font-size: 11px; color: var(--muted); }
.fault-dot { position: absolute; top: 6px; width: 9px; height: 12px; margin-left: -4px; border-radius: 2px; }
.fault-dot.refused { outline: 2px solid var(--stale); }
.marker { position: absolute; top: 1px; bottom: 1px; width: 2px; margin-left: -1px; }
.marker.fork { background: #1e88e5; } .marker.exit { background: #263238; }
.marker span { position: absolute; left: 4px; top: 0; font-size: 10px; white-space: nowrap; color: #263238; }
tr.refused td { color: var(--stale); }
tr.kernel-origin td:first-child { border-left: 3px solid #90caf9; }
select { font: inherit; }
#error { display: none; background: #ffebee; color: var(--stale); padding: 8px 24px; }
</style>
</head>
<body data-ready="no">
<div id="error"></div>
<header>
  <h1 id="title"></h1>
  <div class="summary" id="summary"></div>
</header>
<nav><a href="#address-spaces">Address spaces</a><a href="#page-tables">Page tables</a><a href="#shared-frames">Shared frames</a><a href="#tlb">TLB</a><a href="#faults">Fault timeline</a></nav>
<main>
<section id="address-spaces">
  <h2>Address spaces at exit</h2>
  <div class="note" id="scale-note"></div>
  <div class="legend"><span><i class="swatch sw-vma"></i>VMA</span><span><i class="swatch sw-huge"></i>huge mapping (2 MiB pages)</span><span><i class="swatch sw-private"></i>mapped, private frame</span><span><i class="swatch sw-shared"></i>shared frame (refcount &gt; 1, copy-on-write)</span><span><i class="swatch sw-zero"></i>huge zero page</span></div>
  <div id="processes"></div>
</section>
<section id="page-tables">
  <h2>Page-table trees at exit</h2>
  <div class="note">The user half of each process's tables, as the kernel was about to free them: every table page with its physical address, and every present leaf entry (4 KiB PTEs and 2 MiB PDEs with PS=1). The kernel half of the PML4 points to tables shared by every address space and is not shown.</div>
  <div id="pt-trees"></div>
</section>
<section id="shared-frames">
  <h2>Shared frames</h2>
  <div class="note">Frames whose reference count was above one when a process exited: pages fork shared copy-on-write, shared memory, and the huge zero page (mapped read-only by any number of processes). The other mappers listed were alive at that moment.</div>
  <div class="scroll"><table id="shared-table"><thead><tr><th>at exit of</th><th>frame (pa)</th><th>size</th><th>refs</th><th>mapped by (pid @ va)</th><th>VMA</th><th>entry</th></tr></thead><tbody></tbody></table></div>
</section>
<section id="tlb">
  <h2>TLB contents</h2>
  <div class="note" id="tlb-note"></div>
  <label>snapshot: <select id="tlb-select"></select></label>
  <div class="scroll" style="margin-top:6px"><table id="tlb-table"><thead><tr><th>size</th><th>set</th><th>LRU age</th><th>virtual page</th><th>frame (pa)</th><th>rights</th><th>D</th><th>owner</th><th>vs page tables</th></tr></thead><tbody></tbody></table></div>
</section>
<section id="faults">
  <h2>Fault timeline</h2>
  <div class="note" id="fault-note"></div>
  <div class="legend" id="op-legend"></div>
  <div class="timeline" id="fault-timeline"></div>
  <div class="scroll"><table id="fault-table"><thead><tr><th>#</th><th>ms</th><th>pid</th><th>address</th><th>access</th><th>error code</th><th>VMA</th><th>pagetable_op</th><th>what it did</th><th>result</th></tr></thead><tbody></tbody></table></div>
</section>
<section id="counters">
  <h2>Counters at exit</h2>
  <div id="counter-text" class="mono"></div>
</section>
</main>
<script type="application/json" id="report-data">@DATA@</script>
<script>
"use strict";
window.addEventListener("error", function (ev) {
  document.body.setAttribute("data-ready", "error");
  document.body.setAttribute("data-error", String(ev.message));
  var box = document.getElementById("error");
  box.style.display = "block";
  box.textContent = "The report failed to render: " + ev.message;
});
(function () {
  var D = JSON.parse(document.getElementById("report-data").textContent);
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "style") node.style.cssText = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function hex(n, width) { var s = Number(n).toString(16); while (s.length < (width || 0)) s = "0" + s; return "0x" + s; }
  function size(n) {
    var units = [["TiB", 40], ["GiB", 30], ["MiB", 20], ["KiB", 10]];
    for (var i = 0; i < units.length; i++) {
      var v = n / Math.pow(2, units[i][1]);
      if (v >= 1) return (v === Math.floor(v) || v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i][0];
    }
    return n + " B";
  }
  function badge(cls, text) { return el("span", {"class": "badge " + cls, text: text}); }
  var OP_COLORS = {"default.fault": "#43a047", "shmem.fault": "#00897b", "hugetlb.fault": "#8e24aa",
                   "page-huge.fault": "#6a1b9a"};
  var spare = ["#1e88e5", "#f4511e", "#6d4c41", "#c0ca33"];
  function opColor(op) {
    if (!op) return "#c62828";
    if (!OP_COLORS[op]) OP_COLORS[op] = spare[Object.keys(OP_COLORS).length % spare.length];
    return OP_COLORS[op];
  }

  // -- header --
  document.getElementById("title").textContent = "emu report: " + D.argv.join(" ");
  var nshared = D.shared.length;
  var summary = document.getElementById("summary");
  summary.appendChild(el("span", {}, ["exit status ", el("b", {text: String(D.status)}), " \u00b7 ",
    el("b", {text: String(D.processes.length)}), " process" + (D.processes.length === 1 ? "" : "es") + " \u00b7 ",
    el("b", {text: String(D.faults.length + D.faults_dropped)}), " page faults \u00b7 ",
    el("b", {text: String(nshared)}), " shared-frame mappings at exit \u00b7 guest RAM " + size(D.memory) +
    " \u00b7 TLB 4K " + D.counters.tlb["4K"].entries + "/" + D.counters.tlb["4K"].ways + "-way, 2M " +
    D.counters.tlb["2M"].entries + "/" + D.counters.tlb["2M"].ways + "-way \u00b7 emu " + D.emu]));

  // -- address spaces --
  document.getElementById("scale-note").textContent =
    "Scale: the user address space is 128 TiB and nearly empty, so a linear drawing would show nothing. " +
    "VMAs are grouped into clusters; inside a cluster the scale is linear (VMAs and the holes between them keep " +
    "their proportions), and a cluster's width grows with the logarithm of its span. Every gap of " + size(D.gap_break) +
    " or more between clusters is cut out and drawn as a break marker with its size. VMAs narrower than 3 px are " +
    "drawn 3 px wide. Coloured stripes inside a VMA are the pages its page tables mapped at exit.";
  var procs = document.getElementById("processes");
  // A VMA's label must not be cut off by the VMA's edge: the name and size, else the
  // file name, else the size, else none (the title has it all). Labels that still do not
  // fit are counted in <body data-clipped-labels> (tests/test_report.py wants 0).
  var clippedLabels = 0;
  function fitLabels(box) {
    box.querySelectorAll(".vma .vlabel").forEach(function (label) {
      var room = label.parentNode.clientWidth - 4;
      var texts = [label.textContent, label.getAttribute("data-short"), label.getAttribute("data-size")];
      while (texts.length && (label.textContent = texts.shift()) && label.offsetWidth > room) { }
      if (label.offsetWidth > room) label.parentNode.removeChild(label);
    });
    box.querySelectorAll(".vma .vlabel").forEach(function (label) {
      if (label.offsetLeft + label.offsetWidth > label.parentNode.clientWidth) clippedLabels += 1;
    });
    document.body.setAttribute("data-clipped-labels", String(clippedLabels));
  }
  D.processes.forEach(function (p) {
    var box = el("div", {"class": "process", id: "proc-" + p.pid, "data-pid": String(p.pid)});
    var huge = p.vmas.some(function (v) { return v.huge; });
    box.appendChild(el("h3", {}, ["pid " + p.pid + " ", el("span", {"class": "dim", text: "(parent " + p.ppid + ") " + p.path +
      " \u2014 " + p.status + " at event #" + p.exit_seq + " \u2014 " + p.vmas.length + " VMAs, " + p.leaf_count +
      " leaf entries, " + p.tables + " table pages"}), huge ? badge("b-huge", "huge pages") : null]));
    var bar = el("div", {"class": "bar address-space"});
    var axis = el("div", {"class": "axis"});
    p.layout.forEach(function (item) {
      if (item.kind === "gap") {
        bar.appendChild(el("div", {"class": "gap", style: "left:" + item.left + "%;width:" + item.width + "%",
          title: "gap of " + item.label + " cut out (" + hex(item.start) + " \u2013 " + hex(item.end) + ")"},
          [el("span", {text: item.label})]));
      } else {
        bar.appendChild(el("div", {"class": "cluster", style: "left:" + item.left + "%;width:" + item.width + "%"}));
        axis.appendChild(el("span", {style: "left:" + item.left + "%", text: hex(item.start)}));
      }
    });
    p.vmas.forEach(function (v) {
      var cls = "vma" + (v.huge ? " huge" : "");
      var node = el("div", {"class": cls, "data-name": v.name, style: "left:" + v.left + "%;width:" + v.width + "%",
        title: hex(v.start) + "\u2013" + hex(v.end) + " " + v.perms + " " + v.name + " (" + size(v.size) + ", ops " + v.ops + ")"});
      v.runs.forEach(function (r) {
        node.appendChild(el("div", {"class": "run " + r.kind + (r.huge ? " huge" : ""),
          style: "left:" + r.left + "%;width:" + r.width + "%"}));
      });
      if (v.width > 5) node.appendChild(el("span", {"class": "vlabel", "data-short": v.name.split("/").pop(),
        "data-size": size(v.size), text: v.name.split("/").pop() + " " + size(v.size)}));
      bar.appendChild(node);
    });
    box.appendChild(bar);
    box.appendChild(axis);
    var rows = p.vmas.map(function (v) {
      var mapped = v.runs.reduce(function (a, r) { return a + (r.end - r.start); }, 0);
      var sharedBytes = v.runs.reduce(function (a, r) { return a + (r.kind !== "private" ? r.end - r.start : 0); }, 0);
      return el("tr", {"class": "vma-row" + (v.huge ? " huge" : "")}, [
        el("td", {"class": "mono", text: hex(v.start, 12) + "\u2013" + hex(v.end, 12)}),
        el("td", {text: size(v.size)}), el("td", {"class": "mono", text: v.perms}),
        el("td", {}, [v.name, v.huge ? badge("b-huge", "2 MiB pages") : null]),
        el("td", {text: v.ops}), el("td", {text: v.backing}),
        el("td", {text: mapped ? size(mapped) + (sharedBytes ? " (" + size(sharedBytes) + " shared)" : "") : "\u2014"})]);
    });
    box.appendChild(el("details", {"class": "vma-list"}, [el("summary", {"class": "dim", text: "the " + p.vmas.length +
      " VMAs of pid " + p.pid}), el("table", {"class": "vma-table"}, [el("thead", {}, [el("tr", {}, ["range", "size",
      "perms", "name", "pagetable_ops", "backing", "mapped at exit"].map(function (h) { return el("th", {text: h}); }))]),
      el("tbody", {}, rows)])]));
    procs.appendChild(box);
    fitLabels(box);
  });

  // -- page-table trees --
  var trees = document.getElementById("pt-trees");
  function leafNode(l) {
    var cls = "pt-leaf" + (l.level === 2 ? " leaf-2m" : " leaf-4k") + (l.zero ? " zero" : l.shared ? " shared" : "");
    var rights = (l.rw ? "RW" : "RO") + (l.nx ? " NX" : " X") + (l.d ? " D" : "");
    var parts = [(l.level === 2 ? "PDE" : "PTE") + "[" + l.index + "] " + hex(l.va, 12) + " \u2192 " + hex(l.pa, 9) +
      " " + (l.level === 2 ? "2M" : "4K") + " " + rights + " ",
      el("span", {"class": "dim", text: l.vma || ""})];
    if (l.level === 2) parts.push(badge("b-huge", "2 MiB leaf"));
    if (l.zero) parts.push(badge("b-zero", "huge zero page"));
    else if (l.shared) parts.push(badge("b-shared", "shared \u00d7" + l.refs));
    if (l["with"] && l["with"].length) parts.push(el("span", {"class": "dim", text: " also: " + l["with"].map(function (m) {
      return "pid " + m[0] + " @ " + hex(m[1]); }).join(", ")}));
    return el("div", {"class": cls, title: "entry " + l.entry + " (" + l.flags + ")"}, parts);
  }
  function countLeaves(n) { return n.entries.reduce(function (a, e) { return a + (e.type === "leaf" ? 1 : countLeaves(e)); }, 0); }
  function tableNode(n, depth) {
    var leaves = countLeaves(n);
    var head = (n.index == null ? "" : (n.level === 3 ? "PML4E" : n.level === 2 ? "PDPTE" : "PDE") + "[" + n.index + "] \u2192 ") +
      n.name + " @ pa " + hex(n.pa, 9) + "  covers " + hex(n.va, 12) + " (" + size(n.span) + ")  \u00b7 " +
      n.entries.length + " present entr" + (n.entries.length === 1 ? "y" : "ies") + ", " + leaves + " leaves below";
    var node = el("details", {"class": "pt-node level-" + n.level, "data-level": String(n.level)}, [el("summary", {text: head})]);
    if (leaves <= 64 || depth < 2) node.setAttribute("open", "");
    n.entries.forEach(function (e) { node.appendChild(e.type === "leaf" ? leafNode(e) : tableNode(e, depth + 1)); });
    return node;
  }
  D.processes.forEach(function (p) {
    var wrap = el("details", {"class": "pt-process", open: ""}, [el("summary", {}, [el("b", {text: "pid " + p.pid}),
      " \u2014 " + p.tables + " table pages, " + p.leaf_count + " leaves" +
      (p.leaves_dropped ? " (" + p.leaves_dropped + " not shown)" : "") + "; kernel half: " + p.kernel_half_entries +
      " PML4 entr" + (p.kernel_half_entries === 1 ? "y" : "ies") + " shared with every address space"])]);
    var tree = el("div", {"class": "pt-tree", "data-pid": String(p.pid)}, [tableNode(p.tree, 0)]);
    wrap.appendChild(tree);
    trees.appendChild(wrap);
  });

  // -- shared frames --
  var sbody = document.querySelector("#shared-table tbody");
  D.shared.forEach(function (s) {
    sbody.appendChild(el("tr", {"class": "shared-row"}, [el("td", {text: "pid " + s.exit_of}),
      el("td", {"class": "mono", text: hex(s.pa, 9)}), el("td", {}, [s.size === 2097152 ? badge("b-huge", "2 MiB") : "4 KiB"]),
      el("td", {}, [s.zero ? badge("b-zero", "zero page") : String(s.refs)]),
      el("td", {"class": "mono", text: s.mappers.map(function (m) { return "pid " + m[0] + " @ " + hex(m[1]); }).join(", ") +
        (s.mappers.length < 2 && !s.zero ? "  (other reference: a shared object or an exited process)" : "")}),
      el("td", {text: s.vma || ""}), el("td", {text: s.rw ? "writable" : "read-only"})]));
  });
  if (!D.shared.length) sbody.appendChild(el("tr", {}, [el("td", {colspan: "7", text: "no frame had more than one reference at any exit"})]));

  // -- TLB --
  var select = document.getElementById("tlb-select");
  var best = 0;
  D.tlb.forEach(function (t, i) {
    select.appendChild(el("option", {value: String(i), text: "#" + t.seq + " " + t.label + " (" + t.entries.length + " entries)"}));
  });
  // The default: the last snapshot taken before an address space was torn down (pid 1's exit, usually).
  D.tlb.forEach(function (t, i) { if (!t["final"] && t.entries.length) best = i; });
  function showTlb(i) {
    var t = D.tlb[i];
    var body = document.querySelector("#tlb-table tbody");
    body.textContent = "";
    var entries = t.entries.slice().sort(function (a, b) { return a.size === b.size ? a.va - b.va : (a.size === "2M" ? -1 : 1); });
    var stale = 0;
    entries.forEach(function (e) {
      var isStale = e.check.indexOf("stale") === 0;
      if (isStale) stale++;
      body.appendChild(el("tr", {"class": "tlb-entry" + (e.size === "2M" ? " huge" : "")}, [
        el("td", {}, [e.size === "2M" ? badge("b-huge", "2M") : "4K"]), el("td", {text: String(e.set)}),
        el("td", {text: String(e.lru)}), el("td", {"class": "mono", text: hex(e.va, 12)}),
        el("td", {"class": "mono", text: hex(e.pa, 9)}),
        el("td", {"class": "mono", text: (e.w ? "W" : "R") + (e.u ? "U" : "S") + (e.nx ? "-" : "X")}),
        el("td", {text: e.d ? "D" : ""}),
        el("td", {}, [e.g ? badge("b-kernel", e.owner) : e.owner]),
        el("td", {}, [isStale ? badge("b-stale", e.check) : e.check])]));
    });
    document.getElementById("tlb-note").textContent = "Snapshot #" + t.seq + " " + t.label + ": " + t.entries.length +
      " entries (4K TLB " + t.geometry["4K"][0] + " entries " + t.geometry["4K"][1] + "-way, 2M TLB " + t.geometry["2M"][0] +
      " entries " + t.geometry["2M"][1] + "-way). LRU age 0 is the most recently used way of its set. Non-global entries " +
      "belong to the address space loaded then; each is checked against the page tables: the TLB is not coherent with " +
      "them, so an entry may legitimately hold older, narrower rights" + (stale ? "; " + stale + " entries are stale." : ".");
  }
  select.value = String(best);
  select.addEventListener("change", function () { showTlb(Number(select.value)); });
  showTlb(best);

  // -- faults --
  var fnote = "Every #PF from ring 3 and every fault the kernel took on a user page for a system call " +
    "(origin 'kernel', through pin_pages), numbered on one sequence with forks and exits; ms is the host time " +
    "since boot. Refused faults (no VMA, or an access the VMA forbids) never reach a pagetable_op.";
  if (D.faults_dropped) fnote += " Only the first " + D.faults.length + " of " + (D.faults.length + D.faults_dropped) + " faults are kept.";
  document.getElementById("fault-note").textContent = fnote;
  var tl = document.getElementById("fault-timeline");
  var pids = [];
  D.faults.concat(D.events).forEach(function (f) { if (f.pid != null && pids.indexOf(f.pid) < 0) pids.push(f.pid); });
  pids.sort(function (a, b) { return a - b; });
  var maxSeq = Math.max(1, D.faults.length ? D.faults[D.faults.length - 1].seq : 1,
                        D.events.length ? D.events[D.events.length - 1].seq : 1);
  function xpos(seq) { return (6 + 92 * (seq - 1) / Math.max(1, maxSeq - 1)).toFixed(3) + "%"; }
  var lanes = {};
  pids.forEach(function (pid) {
    var lane = el("div", {"class": "lane", "data-pid": String(pid)}, [el("span", {"class": "lname", text: "pid " + pid})]);
    lanes[pid] = lane;
    tl.appendChild(lane);
  });
  D.events.forEach(function (ev) {
    var lane = lanes[ev.pid];
    if (!lane) return;
    lane.appendChild(el("div", {"class": "marker " + ev.kind, style: "left:" + xpos(ev.seq),
      title: "#" + ev.seq + " " + (ev.kind === "fork" ? "forked by pid " + ev.ppid : ev.status)},
      [el("span", {text: ev.kind === "fork" ? "fork" : "exit"})]));
  });
  var fbody = document.querySelector("#fault-table tbody");
  var ops = {};
  D.faults.forEach(function (f) {
    var refused = !f.op;
    ops[f.op || "refused"] = true;
    var lane = lanes[f.pid];
    if (lane) lane.appendChild(el("div", {"class": "fault-dot" + (refused ? " refused" : ""),
      style: "left:" + xpos(f.seq) + ";background:" + opColor(f.op),
      title: "#" + f.seq + " pid " + f.pid + " " + f.access + " " + hex(f.va) + " \u2192 " + (f.op || "refused") + ": " + f.what}));
    fbody.appendChild(el("tr", {"class": "fault-row" + (refused ? " refused" : "") + (f.origin === "kernel" ? " kernel-origin" : ""),
      "data-op": f.op || "refused"}, [
      el("td", {text: String(f.seq)}), el("td", {text: f.ms.toFixed(1)}), el("td", {text: String(f.pid)}),
      el("td", {"class": "mono", text: hex(f.va, 12)}), el("td", {text: f.access + (f.size ? " " + f.size : "")}),
      el("td", {"class": "mono", text: f.error == null ? "kernel" : hex(f.error) + " " + f.error_text}),
      el("td", {text: f.vma || "\u2014"}),
      el("td", {}, [f.op ? el("span", {"class": "badge", style: "background:" + opColor(f.op) + ";color:#fff", text: f.op}) : "\u2014"]),
      el("td", {text: f.what || ""}), el("td", {text: f.result})]));
  });
  var legend = document.getElementById("op-legend");
  Object.keys(ops).forEach(function (op) {
    legend.appendChild(el("span", {}, [el("i", {"class": "swatch", style: "background:" + opColor(op === "refused" ? null : op)}), op]));
  });
  legend.appendChild(el("span", {}, [el("i", {"class": "swatch", style: "background:#1e88e5"}), "fork"]));
  legend.appendChild(el("span", {}, [el("i", {"class": "swatch", style: "background:#263238"}), "exit"]));

  // -- counters --
  var c = D.counters, lines = [];
  ["4K", "2M"].forEach(function (k) {
    var t = c.tlb[k];
    lines.push("TLB " + k + ": hits " + t.hits + ", misses " + t.misses + ", walks " + t.walks + ", flushes " + t.flushes + ", evictions " + t.evictions);
  });
  lines.push("Unicorn TLB fills " + c.mmu.fills + ", Unicorn TLB flushes " + c.mmu.unicorn_flushes + ", #PF raised by the MMU " + c.mmu.faults);
  lines.push("frames in use at the end: " + c.frames.small_in_use + " \u00d7 4K, " + c.frames.huge_in_use + " \u00d7 2M");
  if (c.pool) lines.push("huge page pool: total " + c.pool.total + ", free " + c.pool.free + ", reserved " + c.pool.reserved +
    ", pages taken ever " + c.pool.allocations + ", zero page " + (c.pool.zero_page == null ? "off" : "at " + hex(c.pool.zero_page)));
  var ct = document.getElementById("counter-text");
  lines.forEach(function (line) { ct.appendChild(el("div", {text: line})); });

  document.body.setAttribute("data-ready", "yes");
})();
</script>
</body>
</html>
"""
