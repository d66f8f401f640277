"""The layering holds: lint-imports keeps every contract in pyproject.toml ([tool.importlinter])."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"     # installed with the test extra


def test_import_contracts_are_kept():
    """hardware < kernel (and plugins) < debug < machine < cli, no Unicorn in the kernel,
    and emu.errors, emu.text, emu.elf stay leaves."""
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
