"""Sweep designs and sensitivity analysis in SALib's shape: sample(problem, N), analyze(problem, Y)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.workflows.sweep.analyze import analyze
from sim.workflows.sweep.design import sample

PROBLEM = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0], [10.0, 20.0], [-1.0, 1.0]]}


@pytest.mark.parametrize(("kind", "N", "rows"), [("lhs", 16, 16), ("sobol", 8, 8 * (3 + 2)), ("morris", 4, 4 * (3 + 1))])
def test_sample_stays_in_bounds(kind, N, rows):
    pts = sample(PROBLEM, N, kind=kind, seed=3)
    lo, hi = np.array(PROBLEM["bounds"]).T
    assert pts.shape == (rows, 3)
    assert ((pts >= lo) & (pts <= hi)).all()
    np.testing.assert_array_equal(pts, sample(PROBLEM, N, kind=kind, seed=3))  # seeded


def test_grid_levels_and_values():
    grid = {"num_vars": 2, "names": ["x", "v"], "bounds": [[0.0, 2.0], [0.0, 3.0]], "levels": [3, 3], "discrete": [False, True]}
    X = sample(grid, kind="grid")
    assert X.shape == (9, 2)
    assert sorted(set(X[:, 0])) == [0.0, 1.0, 2.0] and sorted(set(X[:, 1])) == [0.0, 1.0, 2.0]


def test_analyze_finds_the_input_that_matters():
    X = sample(PROBLEM, 256, kind="sobol", seed=1)
    Y = 5 * X[:, 0] + 0.01 * X[:, 1]
    st = analyze(PROBLEM, Y, method="sobol", seed=1)["ST"]
    assert st[0] > 0.9 and st[2] < 0.05
    rho = analyze(PROBLEM, Y, method="spearman", X=X)["spearman"]
    assert rho[0] > 0.9
    flat = analyze(PROBLEM, np.ones(len(X)), method="sobol")
    assert not flat["S1"].any()
