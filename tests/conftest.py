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


def history_text_anywhere() -> str:
    """history.yaml's text with its parameter file made absolute, so a copy loads from any folder."""
    calibrated = ROOT / "calibration" / "calibrated.yaml"
    return HISTORY.read_text(encoding="utf-8").replace("params_file: ../calibration/calibrated.yaml", f"params_file: {calibrated}")
