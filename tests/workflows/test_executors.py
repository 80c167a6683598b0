"""One executor abstraction (sim/workflows/executors.py): every kind maps in order, bad kinds fail cleanly."""

from __future__ import annotations

import pytest

from sim.errors import OmnibalanceError
from sim.workflows.executors import EXECUTORS, executor


@pytest.mark.parametrize(("kind", "workers"), [("serial", None), ("local", 1), ("local", 2)])
def test_map_in_order(kind, workers):
    with executor(kind, workers) as pmap:
        assert list(pmap(abs, [-3, 1, -2, 5])) == [3, 1, 2, 5]


def test_unknown_kind():
    assert EXECUTORS == ("serial", "local", "dask")
    with pytest.raises(OmnibalanceError, match="unknown executor 'cloud'"), executor("cloud"):
        pass
