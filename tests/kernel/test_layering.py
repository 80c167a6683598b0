"""The architecture holds: the kernel imports nothing above it, and each layer only what is below it.

Layers, bottom up: ``sim.kernel`` (pure numpy; pydantic only for the typed parameter object),
``sim.scenario``, ``sim.engines``, ``sim.workflows``, ``sim.api``, ``sim.face``. Imports are read
from the source (every ``import`` and ``from ... import``, at any depth, lazy ones included).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SIM = ROOT / "sim"
#: What each layer may import from the package, besides itself.
ALLOWED = {
    "kernel": set(),
    "scenario": {"sim.kernel", "sim.errors"},
    "engines": {"sim.kernel", "sim.scenario", "sim.errors"},
}
#: Third-party packages the kernel may use (pydantic: only the typed parameter object in params.py).
KERNEL_THIRD_PARTY = {"numpy", "pydantic"}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved against the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1]) if path.is_relative_to(ROOT) else ""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names if base == "sim"}
    return out


def layer_modules(layer: str) -> list[Path]:
    return sorted((SIM / layer).rglob("*.py"))


@pytest.mark.parametrize("path", layer_modules("kernel"), ids=lambda p: p.name)
def test_kernel_imports_nothing_above_it(path):
    bad = sorted(m for m in imports(path) if (m == "sim" or m.startswith("sim.")) and not m.startswith("sim.kernel"))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: the kernel may import only sim.kernel"
    third = {m.split(".")[0] for m in imports(path)} - set(sys.stdlib_module_names) - {"sim", "__future__"}
    assert third <= KERNEL_THIRD_PARTY, f"{path.relative_to(ROOT)} imports {sorted(third - KERNEL_THIRD_PARTY)}: the kernel is pure numpy"
    if "pydantic" in third:
        assert path.name == "params.py", f"{path.relative_to(ROOT)}: pydantic only for the typed parameter object"


@pytest.mark.parametrize("layer", [k for k in ALLOWED if k != "kernel"])
def test_lower_layers_import_only_below(layer):
    for path in layer_modules(layer):
        for m in imports(path):
            if m == "sim" or m.startswith("sim."):
                assert m.startswith(f"sim.{layer}") or any(m.startswith(a) for a in ALLOWED[layer]), f"{path.relative_to(ROOT)} imports {m}"


def test_the_check_sees_a_violation(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from sim.workflows.run import replay\n    import sim.face.cli\n")
    assert {"sim.workflows.run", "sim.face.cli"} <= imports(probe)
