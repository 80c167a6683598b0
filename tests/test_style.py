"""The code stays ruff-clean (the project's lint settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_ruff_clean():
    ruff = Path(sys.executable).parent / "ruff"  # installed by the test extra into the same environment
    proc = subprocess.run([str(ruff), "check", "sim", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
