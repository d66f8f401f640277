"""emu_runner: run `python -m emu ...` as a subprocess from the repo root, for the CLI tests.

Every run is checked for a Python traceback on stderr: whatever the input, emu must
answer with its own message, never with a traceback.
"""

import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_emu(*args, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run emu with `args` (str or Path); return the completed process (text stdout/stderr)."""
    result = subprocess.run([sys.executable, "-m", "emu", *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in result.stderr, f"traceback from emu {args}:\n{result.stderr}"
    return result


def run_native(*argv, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a guest directly on the host; a signal death becomes 128+N like a shell shows it."""
    result = subprocess.run([str(a) for a in argv], cwd=REPO, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode < 0:
        result.returncode = 128 - result.returncode
    return result


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return result.stderr.splitlines()


SIGNAL_STATUS = {name: 128 + int(getattr(signal, name)) for name in ("SIGSEGV", "SIGFPE", "SIGILL")}
