"""docs/tutorial.md stays true: its Python blocks run, in order, in one namespace, and quickly."""

from __future__ import annotations

import contextlib
import io
import re
import time

from tests.conftest import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"


def python_blocks() -> list[str]:
    """The ```python blocks of the tutorial, in order."""
    return re.findall(r"^```python\n(.*?)^```", TUTORIAL.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_tutorial_has_the_exercise():
    text = TUTORIAL.read_text(encoding="utf-8")
    for step in ("replay history", "remove Andijan", "salience", "explain what happens"):
        assert step.lower() in text.lower()
    assert "figures/dashboard.png" in text and (ROOT / "docs" / "figures" / "dashboard.png").is_file()
    assert len(python_blocks()) >= 4


def test_tutorial_code_runs():
    namespace: dict = {"__name__": "tutorial"}
    out = io.StringIO()
    started = time.perf_counter()
    for i, block in enumerate(python_blocks(), start=1):
        code = compile(block, f"{TUTORIAL.name}[python block {i}]", "exec")
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
    assert time.perf_counter() - started < 60, "keep the tutorial fast: it runs in every test session"
    printed = out.getvalue()
    assert "hit rate" in printed and "tau" in printed
