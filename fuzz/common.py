"""What every fuzzing campaign shares: outcome classes, budgets, running emu, the tally.

A campaign is a module of this package with one function

    def campaign(rng: random.Random, budget: Budget) -> Tally

that tries inputs until its budget is spent and says what happened to each. An outcome
in FAILURES (a traceback, a hang, an escape from --root, host memory over its bound) is a
bug of emu: the campaign records a minimal reproducer for it in the tally, and the
reproducer becomes a regression test in tests/.
"""

import enum
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# An emu process whose peak RSS passes this has let a guest or a client grow the host's
# memory without bound (guest RAM is --memory, 512 MiB by default, plus a few hundred MiB
# of Python, Unicorn's code cache and lief).
DEFAULT_RSS_BOUND = 1536 << 20


class Outcome(enum.Enum):
    """How one input ended."""
    OK = "ran normally"
    REFUSED = "clean refusal"             # emu said no in a line or two (status 2, E NN, -errno)
    GUEST_ERROR = "clean guest error"     # the guest was killed or failed, and emu said so cleanly
    TRACEBACK = "emulator traceback"
    HANG = "hang"
    ESCAPE = "escape"
    HOST_MEMORY = "host memory over bound"


FAILURES = frozenset({Outcome.TRACEBACK, Outcome.HANG, Outcome.ESCAPE, Outcome.HOST_MEMORY})


class Budget:
    """A campaign's allowance: a deadline in seconds and/or a count of inputs."""

    def __init__(self, seconds: float | None = None, count: int | None = None):
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.count = count
        self.used = 0

    def spend(self) -> bool:
        """True while another input may be tried; counts it."""
        if self.count is not None and self.used >= self.count:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        self.used += 1
        return True

    def seconds_left(self) -> float:
        return float("inf") if self.deadline is None else max(0.0, self.deadline - time.monotonic())


@dataclass
class Failure:
    outcome: Outcome
    reproducer: str          # the smallest input that shows it, as text a test can embed
    detail: str              # the last lines of emu's stderr, or what was seen


@dataclass
class Tally:
    """What a campaign tried and how each input ended."""
    name: str
    outcomes: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)   # extra numbers (syscalls issued ...)

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    def add(self, outcome: Outcome, reproducer: str = "", detail: str = ""):
        self.outcomes[outcome] += 1
        if outcome in FAILURES and len(self.failures) < 20:
            self.failures.append(Failure(outcome, reproducer, detail))


@dataclass
class EmuRun:
    """One finished (or stopped) emu process."""
    returncode: int | None   # None when it was killed for a hang
    stdout: bytes
    stderr: bytes
    max_rss: int             # bytes, the peak resident set of emu (ru_maxrss)
    seconds: float

    @property
    def traceback(self) -> bool:
        return b"Traceback (most recent call last)" in self.stderr

    def tail(self, lines: int = 6) -> str:
        return "\n".join(self.stderr.decode(errors="replace").splitlines()[-lines:])


def emu_command(*args) -> list[str]:
    return [sys.executable, "-m", "emu", *map(str, args)]


def run_emu(*args, timeout: float = 30, stdin: bytes = b"", cwd: Path = REPO, rss_limit: int | None = None) -> EmuRun:
    """Run `python -m emu ARGS` with a wall-clock limit; never raises for what emu does.
    With rss_limit (bytes), emu is killed as soon as its resident set passes it (the host
    memory limit of the exhaustion cases); its max_rss then says so.

    Output goes to temporary files and the child is reaped with wait4, so its own peak
    RSS is known (RUSAGE_CHILDREN would give the largest of every child so far)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        fin.write(stdin)
        fin.seek(0)
        proc = subprocess.Popen(emu_command(*args), cwd=cwd, stdin=fin, stdout=fout, stderr=ferr,
                                start_new_session=True)
        returncode, usage = wait_with_deadline(proc.pid, start + timeout, rss_limit)
        proc.returncode = 0 if returncode is None else returncode      # already reaped
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    return EmuRun(returncode, out, err, usage.ru_maxrss * 1024, time.monotonic() - start)


def wait_with_deadline(pid: int, deadline: float, rss_limit: int | None = None):
    """(shell-like status or None for a hang, rusage) of child `pid`, killed at `deadline`
    (or, with rss_limit, when its resident set passes it: then the status is 137)."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return shell_status(status), usage
        if rss_limit is not None and resident(pid) > rss_limit:
            os.killpg(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return shell_status(status), OverLimit(usage, rss_limit)
        if time.monotonic() >= deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, _, usage = os.wait4(pid, 0)
            return None, usage
        time.sleep(0.005)


class OverLimit:
    """The rusage of a child killed for passing its RSS limit: ru_maxrss (KiB) is at least
    the limit, so classify says "host memory over bound" even if the kernel's figure,
    sampled before the kill, was a little lower."""

    def __init__(self, usage, rss_limit: int):
        self.ru_maxrss = max(usage.ru_maxrss, rss_limit // 1024 + 1)


def resident(pid: int) -> int:
    """The resident set of a live process, in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def shell_status(status: int) -> int:
    """A wait status as a shell shows it: the exit code, or 128+N for signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def classify(run: EmuRun, *, rss_bound: int = DEFAULT_RSS_BOUND, refused_status=(2,)) -> Outcome:
    """The outcome of an emu run by what any campaign can see: a traceback, a hang,
    host memory over its bound; else a refusal (status 2), a guest error (any other
    non-zero status) or a normal run."""
    if run.traceback:
        return Outcome.TRACEBACK
    if run.returncode is None:
        return Outcome.HANG
    if run.max_rss > rss_bound:
        return Outcome.HOST_MEMORY
    if run.returncode in refused_status:
        return Outcome.REFUSED
    if run.returncode != 0:
        return Outcome.GUEST_ERROR
    return Outcome.OK


def run_many(jobs, run_one, budget: Budget, workers: int = 2):
    """Call run_one(job) for jobs (an iterator) on `workers` threads while the budget lasts;
    yield (job, result) as they finish. Each job spends one unit of the budget."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running = {}
        jobs = iter(jobs)
        while True:
            while len(running) < workers and budget.spend():
                job = next(jobs, None)
                if job is None:
                    break
                running[pool.submit(run_one, job)] = job
            if not running:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()


def fork_emu(args, stdin: bytes = b"") -> tuple[int, list]:
    """Start `emu ARGS` in a forked child of this process (emu already imported: no
    interpreter start-up, so a campaign can try many short runs). Returns the pid and the
    child's [stdout, stderr] temporary files; reap it with collect_forked."""
    from emu.cli import main as emu_main
    files = [tempfile.TemporaryFile() for _ in range(3)]
    files[0].write(stdin)
    files[0].seek(0)
    pid = os.fork()
    if pid == 0:                                     # the child: never returns
        status = 70
        try:
            os.setsid()
            for fd, f in enumerate(files):
                os.dup2(f.fileno(), fd)
            # the streams on fds 0-2 (a caller such as pytest may have replaced sys.stdout)
            sys.stdin, sys.stdout, sys.stderr = (open(fd, mode, closefd=False) for fd, mode in
                                                 ((0, "r"), (1, "w"), (2, "w")))
            status = emu_main([str(a) for a in args])
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:                        # what `python -m emu` would print
            import traceback
            traceback.print_exc()
            status = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(status & 0xFF)
    files[0].close()
    return pid, files[1:]


def collect_forked(pid: int, files, started: float, deadline: float, rss_limit: int | None = None) -> EmuRun:
    """Wait for a fork_emu child until `deadline` (then kill it: a hang) and read its output."""
    returncode, usage = wait_with_deadline(pid, deadline, rss_limit)
    out = []
    for f in files:
        f.seek(0)
        out.append(f.read())
        f.close()
    return EmuRun(returncode, out[0], out[1], usage.ru_maxrss * 1024, time.monotonic() - started)


def run_forked(*args, timeout: float = 30, stdin: bytes = b"", rss_limit: int | None = None) -> EmuRun:
    """run_emu's twin without a new interpreter (fork_emu, collect_forked): for many short
    runs from a single-threaded caller (a forked thread pool would inherit held locks)."""
    started = time.monotonic()
    pid, files = fork_emu(args, stdin)
    return collect_forked(pid, files, started, started + timeout, rss_limit)
