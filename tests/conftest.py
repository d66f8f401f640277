"""Shared fixtures: the guests are built once per test session with `make guests`."""

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def guests():
    """Build guest/*.elf and the stub; return the guest directory."""
    subprocess.run(["make", "-s", "guests"], cwd=REPO, check=True)
    return REPO / "guest"
