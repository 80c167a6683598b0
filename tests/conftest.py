"""Shared fixtures: the project's scenarios and a compiled history."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.inputs import compile_scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "scenarios" / "history.yaml"


@pytest.fixture(scope="session")
def history():
    """The validated historical scenario."""
    return load_scenario(HISTORY)


@pytest.fixture(scope="session")
def history_exo(history):
    """The compiled historical scenario."""
    return compile_scenario(history)
