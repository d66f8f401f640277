"""test_report: `emu run --report FILE.html` (emu/debug/report.py), its data, and the page in a real browser.

The browser tests use Debian's chromium, headless. If it is missing, the session
fixture tries `apt-get install -y chromium` once (as root); a failure is remembered in
a marker file in the temp directory, so later sessions skip at once with the reason
(delete the marker to try again). EMU_CHROMIUM=/path/to/chrome picks another browser.

EMU_SAVE_SCREENSHOT=1 also copies the screenshot to docs/report.png.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from emu.debug.report import GAP_BREAK, add_layout, embed_json, layout_clusters, render_html
from tests.emu_runner import REPO, run_emu

TEST_COW = "guest/test_cow.elf"
INSTALL_MARKER = Path(tempfile.gettempdir()) / "emu-chromium-install-failed.txt"
MIB, GIB, TIB = 1 << 20, 1 << 30, 1 << 40


def report_data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    assert match, "no report-data script in the page"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def cow_report(guests, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    r = run_emu("run", "--report", path, TEST_COW, timeout=120)
    assert r.returncode == 0, r.stderr
    text = path.read_text(encoding="utf-8")
    return path, text, report_data(text)


# --- the file ---------------------------------------------------------------------------

def test_report_is_self_contained(cow_report):
    _, text, _ = cow_report
    lowered = text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "<link" not in lowered and " src=" not in lowered and "@import" not in lowered and "url(" not in lowered
    assert "default-src 'none'" in text            # the CSP: the browser may load nothing at all


def test_report_without_flag_changes_nothing(guests, tmp_path):
    r = run_emu("run", TEST_COW, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not list(tmp_path.iterdir())


def test_report_unwritable_is_exit_2(guests, tmp_path):
    r = run_emu("run", "--report", tmp_path / "no" / "such" / "dir" / "r.html", TEST_COW)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [r.stderr.strip()] and "cannot write report file" in r.stderr


def test_every_process_is_snapshotted_at_exit(cow_report):
    _, _, data = cow_report
    procs = {p["pid"]: p for p in data["processes"]}
    assert sorted(procs) == [1, 2, 3]
    assert procs[1]["status"] == "exited with status 0"
    assert procs[2]["status"] == "exited with status 0"
    assert procs[3]["status"] == "killed by SIGSEGV"
    assert procs[2]["ppid"] == procs[3]["ppid"] == 1
    # The children still had the /dev/page-huge mapping; pid 1 unmapped it before exiting.
    for pid in (2, 3):
        huge = [v for v in procs[pid]["vmas"] if v["huge"]]
        assert [(v["name"], v["size"], v["ops"]) for v in huge] == [("/dev/page-huge", 4 * MIB, "page-huge")]
    assert not any(v["huge"] for v in procs[1]["vmas"])


def leaves(node):
    for entry in node["entries"]:
        if entry["type"] == "leaf":
            yield entry
        else:
            yield from leaves(entry)


def test_page_table_tree_has_2m_leaves_and_cow_frames(cow_report):
    _, _, data = cow_report
    procs = {p["pid"]: p for p in data["processes"]}
    child3 = {leaf["va"]: leaf for leaf in leaves(procs[3]["tree"])}
    page0, page1 = child3[0x7FFFF7A00000], child3[0x7FFFF7C00000]
    assert page0["level"] == page1["level"] == 2 and page0["size"] == 2 * MIB
    # pid 3 was forked after the parent's write: page 0 is shared copy-on-write with pid 1.
    assert page0["shared"] and page0["refs"] == 2 and not page0["rw"] and [1, 0x7FFFF7A00000] in page0["with"]
    # page 1 was only read: the huge zero page, shared by both.
    assert page1["zero"] and [1, 0x7FFFF7C00000] in page1["with"]
    # pid 2 wrote page 0 itself: its own copy, private and writable.
    child2 = {leaf["va"]: leaf for leaf in leaves(procs[2]["tree"])}
    assert not child2[0x7FFFF7A00000]["shared"] and child2[0x7FFFF7A00000]["rw"]
    # The program text is shared with the parent through fork (4 KiB, refcount 2).
    assert child3[0x401000]["level"] == 1 and child3[0x401000]["refs"] == 2
    tree = procs[3]["tree"]
    assert tree["name"] == "PML4" and all(e["name"] == "PDPT" for e in tree["entries"])
    shared = data["shared"]
    assert any(row["size"] == 2 * MIB and row["refs"] == 2 and row["exit_of"] == 3 for row in shared)
    assert any(row["zero"] for row in shared)


def test_fault_timeline_names_the_pagetable_op(cow_report):
    _, _, data = cow_report
    faults = data["faults"]
    seqs = [f["seq"] for f in faults]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    ops = {f["op"] for f in faults}
    assert {"default.fault", "page-huge.fault", None} <= ops
    huge = [f for f in faults if f["op"] == "page-huge.fault"]
    assert any(f["what"] == "mapped the huge zero page, read-only" for f in huge)
    assert any(f["what"] == "copy-on-write of the huge zero page: a new cleared page" for f in huge)
    assert any(f["pid"] == 2 and f["what"] == "copy-on-write: copied into a new frame" and f["size"] == "2M"
               for f in huge)
    refused = [f for f in faults if f["op"] is None]
    assert [(f["pid"], f["va"], f["access"], f["result"]) for f in refused] == \
        [(3, 0x7FFFF7A00000, "write", "SIGSEGV (SEGV_ACCERR)")]
    assert all(f["error"] & 0x4 for f in faults if f["origin"] == "user")      # U/S: from ring 3
    kinds = [(e["kind"], e["pid"]) for e in data["events"]]
    assert kinds == [("fork", 2), ("exit", 2), ("fork", 3), ("exit", 3), ("exit", 1)]


def test_tlb_snapshots(cow_report):
    _, _, data = cow_report
    labels = [t["label"] for t in data["tlb"]]
    assert any("exit of pid 1" in label for label in labels)
    assert data["tlb"][-1].get("final")
    at_exit = next(t for t in data["tlb"] if "exit of pid 1" in t["label"])
    user = [e for e in at_exit["entries"] if not e["g"]]
    assert user and all(e["owner"] == "pid 1" for e in user)
    assert all(e["check"].startswith("ok") for e in at_exit["entries"])       # emu's TLB is kept coherent
    assert any(e["g"] and e["va"] >= 0xFFFF800000000000 for e in at_exit["entries"])


# --- layout and escaping ------------------------------------------------------------------

def vma(start, size, name="x"):
    return {"start": start, "end": start + size, "size": size, "name": name, "perms": "rw-p", "ops": "default",
            "huge": False, "backing": "anonymous"}


def test_layout_cuts_big_gaps_and_keeps_proportions_within_a_cluster():
    vmas = [vma(0x400000, 4096), vma(0x401000, 3 * 4096), vma(0x7FFFF7A00000, 4 * MIB), vma(0x7FFFFF7FF000, 8 * MIB)]
    clusters = layout_clusters(vmas)
    assert [c[2] for c in clusters] == [[0, 1], [2], [3]]
    snap = add_layout({"vmas": vmas, "tree": {"entries": []}})
    gaps = [item for item in snap["layout"] if item["kind"] == "gap"]
    assert [g["size"] for g in gaps] == [0x400000, 0x7FFFF7A00000 - 0x404000, 0x7FFFFF7FF000 - 0x7FFFF7E00000]
    assert all(g["size"] >= GAP_BREAK for g in gaps) and gaps[1]["label"] == "128 TiB"
    # The last cluster ends at the top of user space (4 KiB above the stack is not cut out).
    assert clusters[-1][1] == 1 << 47
    right = max(item["left"] + item["width"] for item in snap["layout"])
    assert right == pytest.approx(100.0)
    a, b = vmas[0], vmas[1]
    assert b["width"] / a["width"] == pytest.approx(3.0)           # to scale inside the cluster
    assert b["left"] == pytest.approx(a["left"] + a["width"])       # adjacent VMAs touch


def test_embedded_json_cannot_close_the_script_or_look_like_a_url():
    page = render_html({"program": "</script><b>", "argv": ["http://example.org/x"], "x": "<!--"})
    data_part = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data_part and "http://" not in page
    assert json.loads(data_part)["argv"] == ["http://example.org/x"]
    assert json.loads(embed_json({"a": "</"})) == {"a": "</"}


# --- the page in a headless browser ---------------------------------------------------------

def install_chromium() -> str | None:
    """apt-get install chromium (once); return None, or why it could not be installed."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "chromium is not installed and the tests do not run as root (apt-get install -y chromium)"
    if not shutil.which("apt-get"):
        return "chromium is not installed and there is no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    last = ""
    for commands in ([["apt-get", "install", "-y", "chromium"]],
                     [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]):
        try:
            for command in commands:
                result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
                if result.returncode:
                    last = (result.stderr.strip().splitlines() or ["exit status %d" % result.returncode])[-1]
                    break
            else:
                return None
        except subprocess.TimeoutExpired as err:
            return f"apt-get install -y chromium took too long ({err.timeout:.0f} s); not retried"
        except OSError as err:
            last = str(err)
    return f"apt-get install -y chromium failed: {last}"


@pytest.fixture(scope="session")
def chromium():
    found = os.environ.get("EMU_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if INSTALL_MARKER.exists():
        pytest.skip(f"no chromium: {INSTALL_MARKER.read_text().strip()} (remembered in {INSTALL_MARKER}; delete it to retry)")
    why = install_chromium()
    found = shutil.which("chromium")
    if why or not found:
        INSTALL_MARKER.write_text(why or "apt-get installed no chromium binary")
        pytest.skip(f"no chromium: {why or 'apt-get installed no chromium binary'}")
    return found


def run_browser(chromium, tmp_path, *args) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


class Elements(HTMLParser):
    """Every element of a DOM dump: (tag, attributes), and the <body>'s attributes."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.body = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "body":
            self.body = attrs

    def with_class(self, *classes):
        return [attrs for _, attrs in self.elements if set(classes) <= set((attrs.get("class") or "").split())]

    def by_id(self, name):
        return [attrs for _, attrs in self.elements if attrs.get("id") == name]


def test_page_renders_in_chromium(cow_report, chromium, tmp_path):
    path, _, data = cow_report
    result = run_browser(chromium, tmp_path, "--dump-dom", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Elements()
    dom.feed(result.stdout)
    assert dom.body.get("data-ready") == "yes", f"the page's script failed: {dom.body.get('data-error')}"
    assert "Uncaught" not in result.stderr, result.stderr[-2000:]
    assert "Refused to" not in result.stderr, result.stderr[-2000:]     # a CSP violation: something external
    for pid in (1, 2, 3):
        assert dom.by_id(f"proc-{pid}"), f"no address space drawn for pid {pid}"
    assert len(dom.with_class("address-space")) == 3
    assert dom.body.get("data-clipped-labels") == "0", "a VMA label is cut off by its VMA's edge"
    assert dom.with_class("vlabel")                                     # and some labels are still shown
    assert len(dom.with_class("vma")) == sum(len(p["vmas"]) for p in data["processes"])
    assert len(dom.with_class("vma", "huge")) == 2                      # pids 2 and 3
    assert dom.with_class("gap")                                        # the cut-out gaps
    assert len(dom.with_class("pt-tree")) == 3
    assert dom.with_class("pt-node", "level-4") and dom.with_class("pt-node", "level-1")
    assert len(dom.with_class("pt-leaf", "leaf-2m")) == 4               # two huge pages in each child
    assert dom.with_class("pt-leaf", "shared") and dom.with_class("pt-leaf", "zero")
    assert len(dom.with_class("shared-row")) == len(data["shared"])
    assert dom.by_id("tlb-table") and dom.with_class("tlb-entry")
    assert dom.by_id("fault-timeline") and len(dom.with_class("fault-dot")) == len(data["faults"])
    assert len(dom.with_class("fault-row")) == len(data["faults"])
    assert {attrs.get("data-op") for attrs in dom.with_class("fault-row")} >= {"default.fault", "page-huge.fault", "refused"}


def test_page_screenshot(cow_report, chromium, tmp_path):
    path, _, _ = cow_report
    png = tmp_path / "report.png"
    result = run_browser(chromium, tmp_path, f"--screenshot={png}", "--window-size=1400,1000", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000        # not a blank page
    if os.environ.get("EMU_SAVE_SCREENSHOT"):
        shutil.copy(png, REPO / "docs" / "report.png")
