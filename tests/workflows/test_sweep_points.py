"""Design points at engine speed (sim/workflows/sweep/points.py): the fast path builds and compiles
exactly what the full path does; the design's corners and each changed model are still checked;
chunks give every worker work; a one-chunk sweep runs without a pool."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from sim.errors import ScenarioError
from sim.scenario.compile import compile_scenario
from sim.workflows import executors
from sim.workflows.sweep import execute
from sim.workflows.sweep.execute import default_chunk_size, read_sweep, run_sweep
from sim.workflows.sweep.points import PointBuilder
from sim.workflows.sweep.spec import design_corners, load_sweep, scenario_for
from tests.workflows.test_sweep import spec


def _same_exo(a, b) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


def test_fast_points_equal_full_scenarios(tmp_path):
    plan = load_sweep(spec(tmp_path, dimensions={
        "shocks.andijan.magnitude": {"range": [0.0, 2.0]}, "shocks.andijan.date": {"range": ["2004-01-01", "2007-12-31"]},
        "shocks.tulip_revolution.half_life": {"range": [0.5, 3.0]}, "params.tau": {"range": [0.0, 8.0]},
        "params.protection.RUS.unrest": {"range": [0.2, 0.9]}}))
    fast = PointBuilder(plan.scenario_path, plan.names)
    assert fast.fast and fast.shocks
    for pt in plan.points[:6]:
        full = scenario_for(plan.scenario_path, pt)
        quick = fast.scenario(pt)
        assert quick == full and fast.scenario(pt, validate=False) == full  # the plan holds checked values: workers copy them in
        exo, variant = fast.compile([quick])
        _same_exo(exo, compile_scenario(full))
        assert variant.tolist() == [0]
    # a chunk's points compiled at once: row i is point i's scenario compiled alone, to the bit
    scns = [fast.scenario(pt, validate=False) for pt in plan.points[:6]]
    many, variant = fast.compile(scns)
    assert variant.tolist() == list(range(6)) and many.n_variants == 6
    for i, scn in enumerate(scns):
        _same_exo(many.take(np.array([i])), compile_scenario(scn))


def test_parameter_only_designs_share_the_base_inputs(tmp_path):
    plan = load_sweep(spec(tmp_path, dimensions={"params.tau": {"range": [0.0, 8.0]}, "params.hostility": {"values": [0.5, 1.5]}}))
    fast = PointBuilder(plan.scenario_path, plan.names)
    exo, variant = fast.compile([fast.scenario(p) for p in plan.points])
    assert variant is None and exo is fast.exo
    assert fast.scenario(plan.points[0]).params == scenario_for(plan.scenario_path, plan.points[0]).params


def test_values_written_as_text_are_kept_as_validated(tmp_path):
    """A list of dates given as text: the plan holds dates, so a worker's unvalidated copy is the real scenario."""
    plan = load_sweep(spec(tmp_path, design={"kind": "grid"}, dimensions={"shocks.andijan.date": {"values": ["2004-05-13", "2006-05-13"]}}))
    assert [type(p["shocks.andijan.date"]).__name__ for p in plan.points] == ["date", "date"]
    fast = PointBuilder(plan.scenario_path, plan.names)
    assert fast.scenario(plan.points[1], validate=False) == scenario_for(plan.scenario_path, plan.points[1])


def test_other_paths_build_whole_scenarios(tmp_path):
    plan = load_sweep(spec(tmp_path, design={"kind": "grid"}, dimensions={"patrons.WEST.intent": {"values": [0.1, 0.3]}}))
    fast = PointBuilder(plan.scenario_path, plan.names)
    assert not fast.fast
    assert fast.scenario(plan.points[1]).patrons["WEST"].intent == 0.3


def test_corners_span_the_design():
    pts = [{"a": 0.3, "b": "x"}, {"a": 0.1, "b": "y"}, {"a": 0.7, "b": "x"}]
    assert design_corners(pts) == [{"a": 0.1, "b": "x"}, {"a": 0.1, "b": "y"}, {"a": 0.7, "b": "x"}, {"a": 0.7, "b": "y"}]


def test_a_bad_corner_is_named_before_any_run(tmp_path):
    """Andijan moved past the run's end at the top of the date range: caught at the design's corner."""
    path = spec(tmp_path, design={"kind": "lhs", "points": 40, "seed": 1}, dimensions={
        "shocks.andijan.date": {"range": ["2004-01-01", "2019-12-31"]}, "params.tau": {"range": [0.0, 8.0]}})
    with pytest.raises(ScenarioError, match=r"the design's corner \(shocks\.andijan\.date=2019-.*outside the run"):
        load_sweep(path)


def test_a_bad_interior_point_is_named(tmp_path):
    """A leader change happens or not (magnitude 0 or 1): points inside a range are invalid though the corners are not."""
    path = spec(tmp_path, design={"kind": "grid"}, dimensions={
        "shocks.medvedev.magnitude": {"values": [0.0, 0.5, 1.0]}, "params.tau": {"values": [1.0, 2.0, 3.0, 4.0]}})
    with pytest.raises(ScenarioError, match=r"design point \d+ \(shocks\.medvedev\.magnitude=0\.5, .*cannot be scaled"):
        load_sweep(path)


def test_chunks_give_every_worker_whole_points(tmp_path):
    plan = load_sweep(spec(tmp_path, design={"kind": "lhs", "points": 200, "seed": 1}, replicates=5))
    size = default_chunk_size(plan, workers=2)
    assert size % 5 == 0 and size * 2 >= plan.n_runs and size < plan.n_runs
    big = load_sweep(spec(tmp_path, name="big.yaml", design={"kind": "lhs", "points": 20, "seed": 1}, replicates=200_000))
    assert 10_000 < default_chunk_size(big, workers=2) < 200_000  # a huge point is split: about a second of runs


def test_a_one_chunk_sweep_runs_without_a_pool(tmp_path, monkeypatch):
    kinds = []
    real = executors.executor

    def spy(kind, *a, **k):
        kinds.append(kind)
        return real(kind, *a, **k)

    monkeypatch.setattr(execute.executors, "executor", spy)
    path = spec(tmp_path, design={"kind": "lhs", "points": 4, "seed": 1}, replicates=2)
    run_sweep(path, tmp_path / "out", executor="local", chunk_size=8, progress=False)
    assert kinds == ["serial"] and read_sweep(tmp_path / "out").num_rows == 8


def test_trajectories_come_from_the_same_runs(tmp_path):
    path = spec(tmp_path, design={"kind": "lhs", "points": 3, "seed": 1}, replicates=2)
    run_sweep(path, tmp_path / "out", executor="serial", trajectories=True, progress=False)
    import pyarrow.dataset as pads

    traj = pads.dataset(tmp_path / "out" / "trajectories", format="parquet").to_table()
    outcome = read_sweep(tmp_path / "out")
    assert sorted(set(traj.column("replicate").to_pylist())) == outcome.column("run").to_pylist()  # a sweep numbers its runs there
    assert traj.num_rows == outcome.num_rows * 101 * 5
    assert yaml.safe_load(path.read_text())["replicates"] == 2
