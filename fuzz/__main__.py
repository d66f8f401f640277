"""`make fuzz`: run every campaign for a share of a time budget, from one seed, and print figures.

    python -m fuzz [--seconds 600] [--seed N] [--only NAME,NAME] [--count N]

Each campaign gets its share of --seconds (or at most --count inputs) and its own
random.Random(seed, name), so a run is reproducible campaign by campaign. The exit status
is 1 when any campaign saw a failure (traceback, hang, escape, host memory over bound).
"""

import argparse
import importlib
import random
import sys
import time

from .common import FAILURES, Budget, Outcome

# name -> (module, share of the time budget)
CAMPAIGNS = {
    "syscalls": ("fuzz.syscalls", 0.30),
    "elf": ("fuzz.elf_mutants", 0.20),
    "gdb": ("fuzz.gdb_packets", 0.15),
    "root": ("fuzz.root_escape", 0.15),
    "exhaustion": ("fuzz.exhaustion", 0.20),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="total time budget (default 600)")
    parser.add_argument("--count", type=int, default=None, help="at most N inputs per campaign")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: from the clock, printed)")
    parser.add_argument("--only", default="", help="comma-separated campaign names: " + ",".join(CAMPAIGNS))
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    names = [n for n in args.only.split(",") if n] or list(CAMPAIGNS)
    unknown = [n for n in names if n not in CAMPAIGNS]
    if unknown:
        parser.error(f"unknown campaign {', '.join(unknown)} (known: {', '.join(CAMPAIGNS)})")
    share_total = sum(CAMPAIGNS[n][1] for n in names)
    print(f"fuzz: seed {seed}, {args.seconds:.0f} s over {', '.join(names)}", flush=True)
    tallies = []
    for name in names:
        module_name, share = CAMPAIGNS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            print(f"\n== {name}: skipped, {module_name} is not in this tree", flush=True)
            continue
        budget = Budget(seconds=args.seconds * share / share_total, count=args.count)
        started = time.monotonic()
        tally = module.campaign(random.Random(f"{seed}:{name}"), budget)
        tally.figures.setdefault("seconds", round(time.monotonic() - started, 1))
        tallies.append(tally)
        print_tally(tally)
    failed = sum(n for t in tallies for o, n in t.outcomes.items() if o in FAILURES)
    print(f"fuzz: seed {seed}: {sum(t.tried for t in tallies)} inputs, {failed} failures", flush=True)
    return 1 if failed else 0


def print_tally(tally):
    print(f"\n== {tally.name}: {tally.tried} inputs", flush=True)
    for outcome in Outcome:
        if tally.outcomes[outcome]:
            mark = "  FAIL" if outcome in FAILURES else ""
            print(f"   {tally.outcomes[outcome]:8d}  {outcome.value}{mark}")
    for key, value in tally.figures.items():
        print(f"   {key}: {value}")
    for failure in tally.failures:
        print(f"   -- {failure.outcome.value}: reproducer {failure.reproducer}")
        for line in failure.detail.splitlines():
            print(f"      {line}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
