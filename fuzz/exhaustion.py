"""The exhaustion cases: a guest uses up one kernel resource under a small --memory.

Each case is guest/libc/fuzz_exhaust.elf CASE (or a freestanding guest), run under
`--memory 64M` (then 32M and 128M while the budget lasts) with a host memory limit:
emu is killed as soon as its resident set passes --memory plus a fixed overhead
(RSS_OVERHEAD: Python, Unicorn's code cache, lief), and that is the failure "host memory
over bound". The guest must end with an errno (its one line says which) or a signal
(SIGSEGV at RLIMIT_STACK, SIGBUS from an empty huge page pool, the OOM kill), emu with
its own report; a traceback or a run past the case's time limit is a failure.
"""

import random
import re

from .common import REPO, Budget, Outcome, Tally, classify, run_emu

EXHAUST = REPO / "guest" / "libc" / "fuzz_exhaust.elf"
HUGE_DEVICE = REPO / "guest" / "huge_exhaust.elf"
RSS_OVERHEAD = 320 << 20
MIB = 1 << 20

# name -> (emu options, guest and its arguments, seconds allowed, how the guest must end)
# "errno": status 0 and the line "fuzz_exhaust CASE: N ... then EXXX"; a number: that status.
CASES = {
    "fds": ([], [EXHAUST, "fds"], 30, "errno"),
    "fds_max": ([], [EXHAUST, "fds_max", 200000], 30, "errno"),       # issue 10 point 13: slow today
    "pipes": ([], [EXHAUST, "pipes"], 30, "errno"),
    "sockets": ([], [EXHAUST, "sockets"], 30, "errno"),               # point 8: RSS over bound today
    "threads": ([], [EXHAUST, "threads", 20000], 30, "errno"),
    "forks": ([], [EXHAUST, "forks", 4000], 30, "errno"),
    "mmap": ([], [EXHAUST, "mmap"], 30, 128 + 9),                      # the OOM kill
    "vmas": ([], [EXHAUST, "vmas", 70000], 30, "errno"),
    "hugetlb": (["--hugepages", 4], [EXHAUST, "hugetlb"], 30, "errno"),
    "page_huge": (["--hugepages", 4], [HUGE_DEVICE, 8], 30, 128 + 7),  # SIGBUS: the 2007 device
    "stack": ([], [EXHAUST, "stack"], 30, 128 + 11),
    "argv": ([], [EXHAUST, "argv", 4], 30, "errno"),
}
ERRNO_LINE = re.compile(rb"fuzz_exhaust \w+: \d+ .* then E[A-Z0-9]+\n")


def run_case(name: str, memory_mib: int = 64, runner=run_emu):
    """Run one case; (the EmuRun, its RSS bound). `runner` as for syscalls.run_guest."""
    options, guest, seconds, _ = CASES[name]
    bound = memory_mib * MIB + RSS_OVERHEAD
    run = runner("run", "--memory", f"{memory_mib}M", *options, *guest, timeout=seconds, rss_limit=bound)
    return run, bound


def ended_as_expected(name: str, run) -> bool:
    """Did the guest end as the case says it must (its errno line, or the signal)?"""
    expected = CASES[name][3]
    if expected == "errno":
        return run.returncode == 0 and bool(ERRNO_LINE.search(run.stdout))
    return run.returncode == expected and run.stderr.startswith(b"emu: ")


def campaign(rng: random.Random, budget: Budget) -> Tally:
    tally = Tally("exhaustion")
    endings = {}
    sizes = [64, 32, 128]
    round_ = 0
    unexpected = tally.figures.setdefault("ended otherwise than expected", [])
    while True:
        names = list(CASES)
        if round_:
            rng.shuffle(names)
        for name in names:
            if not budget.spend():
                tally.figures.update(endings)
                return tally
            memory = sizes[round_ % len(sizes)]
            run, bound = run_case(name, memory)
            outcome = classify(run, rss_bound=bound)
            if outcome not in (Outcome.TRACEBACK, Outcome.HANG, Outcome.HOST_MEMORY) \
                    and not ended_as_expected(name, run):
                unexpected.append(f"{name} --memory {memory}M")
            line = ERRNO_LINE.search(run.stdout)
            ending = line.group(0).decode().strip() if line else f"status {run.returncode}"
            endings[f"{name} --memory {memory}M"] = (f"{ending}, peak RSS {run.max_rss >> 20} MiB "
                                                    f"(bound {bound >> 20}), {run.seconds:.1f} s")
            options, guest, _, _ = CASES[name]
            repro = " ".join(map(str, ["emu run", "--memory", f"{memory}M", *options, *guest]))
            tally.add(outcome, repro, run.tail())
        round_ += 1
