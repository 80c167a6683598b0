"""Scenario discovery (PRIM) on a finished sweep: the box, its coverage and density, the files."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pytest

from sim.errors import OmnibalanceError
from sim.workflows.sweep.discovery import discover, outcome_mask
from sim.workflows.sweep.execute import run_sweep
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def andijan_sweep(tmp_path_factory):
    """The shipped example sweep (Andijan's size and date, threat salience; 1,000 runs)."""
    out = tmp_path_factory.mktemp("prim") / "andijan"
    run_sweep(ROOT / "scenarios" / "sweeps" / "andijan.yaml", out, executor="serial", progress=False)
    return out


def test_outcome_conditions_and_nulls():
    t = pa.table({"event_UZB_2005": pa.array([2005, None, 2007], type=pa.int64()), "share_UZB_RUS": [0.2, 0.6, 0.9]})
    assert outcome_mask(t, "event_UZB_2005 <= 2006").tolist() == [True, False, False]  # a turn never made is not "by 2006"
    assert outcome_mask(t, "event_UZB_2005 is null").tolist() == [False, True, False]
    assert outcome_mask(t, "event_UZB_2005 is not null").tolist() == [True, False, True]
    assert outcome_mask(t, "share_UZB_RUS>0.5").tolist() == [False, True, True]
    for bad, says in (("share_UZB_RUS >> 1", "expected COLUMN OP NUMBER"), ("seed > 1", "unknown outcome 'seed'"), ("nope == 1", "unknown outcome")):
        with pytest.raises(OmnibalanceError, match=says):
            outcome_mask(t, bad)


def test_prim_finds_the_andijan_window(andijan_sweep):
    r = discover(andijan_sweep, "event_UZB_2005 <= 2005", threshold=0.9)
    assert 0 < r["share_holding"] < 1 and r["reached"]
    assert r["density"] >= 0.9 and 0 < r["coverage"] <= 1 and 0 < r["mass"] < 1
    date = next(lim for lim in r["limits"] if lim["input"] == "shocks.andijan.date")
    assert date["restricted"] and 2005.5 <= date["high"] <= 2006.5  # the turn has come by 2005 when Andijan comes by about 2006
    box = list(csv.DictReader((andijan_sweep / "prim_box.csv").open()))
    assert [row["input"] for row in box] == ["shocks.andijan.magnitude", "shocks.andijan.date", "params.tau"]
    trajectory = list(csv.DictReader((andijan_sweep / "prim_trajectory.csv").open()))
    assert float(trajectory[0]["coverage"]) == 1.0 and float(trajectory[0]["mass"]) == 1.0  # peeling starts from the whole design
    assert all(float(a["mass"]) >= float(b["mass"]) for a, b in zip(trajectory, trajectory[1:], strict=False))
    assert json.loads((andijan_sweep / "prim.json").read_text())["box"] == r["box"]
    assert (andijan_sweep / "prim.png").stat().st_size > 20_000


def test_prim_reports_the_densest_box_when_none_reaches_the_threshold(andijan_sweep):
    """A threshold no box reaches still gives the peeling and its densest box (the workbench alone
    would return only its whole-design "dump box"), flagged as not reached."""
    r = discover(andijan_sweep, "event_UZB_2005 == 2005", threshold=1.0)
    trajectory = list(csv.DictReader((andijan_sweep / "prim_trajectory.csv").open()))
    densities = [float(row["density"]) for row in trajectory]
    assert not r["reached"] and len(trajectory) > 1
    assert r["density"] == pytest.approx(max(densities)) and densities[0] < r["density"] < 1.0


def test_prim_refuses_an_outcome_with_nothing_to_discover(andijan_sweep):
    with pytest.raises(OmnibalanceError, match="holds in no run"):
        discover(andijan_sweep, "share_UZB_RUS > 2")
    with pytest.raises(OmnibalanceError, match="must be in"):
        discover(andijan_sweep, "share_UZB_RUS > 0.3", threshold=1.5)
