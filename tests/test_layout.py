"""The layout stays readable: small modules named for what they hold, each saying so in its docstring."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

#: Most lines a module of the package may have.
MAX_LINES = 420
MODULES = sorted((ROOT / "sim").rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small_and_says_what_it_holds(path):
    text = path.read_text(encoding="utf-8")
    n = text.count("\n")
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (at most {MAX_LINES}): split it along its responsibilities"
    if path.name != "__main__.py":
        assert ast.get_docstring(ast.parse(text)), f"{path.relative_to(ROOT)} has no module docstring"
