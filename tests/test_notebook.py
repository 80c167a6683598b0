"""docs/notebooks/student.ipynb stays true: it runs top to bottom on the public API, and is stored without outputs."""

from __future__ import annotations

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOK = ROOT / "docs" / "notebooks" / "student.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"code cell {i} has outputs: strip them before committing"
            assert cell.execution_count is None, f"code cell {i} has an execution count: strip it before committing"


def test_notebook_uses_only_the_public_api():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import sim" in code
    assert "from sim" not in code and "sim." not in code.replace("sim.run", "").replace("sim.compare", "").replace("sim.load_scenario", "")


def test_notebook_runs():
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails (its asserts included)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "history.plot() should display the alignment figure"
