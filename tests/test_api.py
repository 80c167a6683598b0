"""The public API (sim/api.py): the same numbers and files as the command line, pandas tables, a figure."""

from __future__ import annotations

import filecmp
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

import sim
from sim.errors import OmnibalanceError, ScenarioError
from tests.conftest import HISTORY, ROOT, assert_same_runs

RUN_FILES = ["alignment.png", "fit.json", "manifest.json", "summary.csv", "trajectories.parquet"]


@pytest.fixture(scope="module")
def results():
    return sim.run(HISTORY, replicates=12, seed=4)


def test_the_package_exports_the_api():
    for name in ("load_scenario", "run", "compare", "sweep", "Results", "Scenario", "ModelParams", "Rule", "Stance", "Client", "Patron"):
        assert hasattr(sim, name), name
    assert sim.Stance.RUS == 0 and sim.Rule("omnibalancing") is sim.Rule.OMNIBALANCING
    with pytest.raises(AttributeError):
        sim.no_such_thing  # noqa: B018


def test_results_tables_and_figure(results):
    s = results.summary
    assert list(s.columns) == ["actor", "year", "share_RUS", "share_WEST", "share_CHN", "share_NONALIGNED", "modal_stance"]
    assert len(s) == 5 * len(results.years)
    assert np.allclose(s.filter(like="share_").sum(axis=1), 1.0, atol=1e-5)
    assert results.share("UZB", 2006, "RUS") == pytest.approx(float(s.query("actor == 'UZB' and year == 2006").share_RUS.iloc[0]), abs=1e-6)
    dj = results.dejure
    assert {"actor", "year", "csto", "true", "paper", "none"} <= set(dj.columns)
    assert np.allclose(dj[["true", "paper", "none"]].sum(axis=1), 1.0)
    t = results.trajectories
    assert len(t) == 12 * 101 * 5 and {"replicate", "stance", "p_RUS", "csto_member", "alliance_status"} <= set(t.columns)
    from matplotlib.figure import Figure

    assert isinstance(results.plot(), Figure)
    assert set(results.fit) >= {"hit_rate", "events", "acts", "switches_per_run", "replicates"}


def test_save_writes_exactly_what_the_command_line_writes(results, tmp_path):
    cli = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(HISTORY), "-n", "12", "--seed", "4", "--out", str(cli), "-q"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    api = results.save(tmp_path / "api")
    assert sorted(p.name for p in api.iterdir()) == sorted(p.name for p in cli.iterdir()) == RUN_FILES
    assert pq.read_table(api / "trajectories.parquet").equals(pq.read_table(cli / "trajectories.parquet"))
    for name in ("summary.csv", "fit.json"):
        assert filecmp.cmp(api / name, cli / name, shallow=False), name
    with pytest.raises(OmnibalanceError, match="not empty"):
        results.save(api)


def test_streamed_run_equals_the_kept_one(results, tmp_path):
    streamed = sim.run(HISTORY, replicates=12, seed=4, out=tmp_path / "streamed", plot=False, chunk_size=5)
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == [f for f in RUN_FILES if f != "alignment.png"]
    assert streamed.trajectories.equals(results.trajectories)
    assert streamed.summary.equals(results.summary) and streamed.fit == results.fit
    streamed.save(tmp_path / "copy")
    assert pq.read_table(tmp_path / "copy" / "trajectories.parquet").equals(pq.read_table(tmp_path / "streamed" / "trajectories.parquet"))


def test_engines_and_inputs_give_the_same_run():
    ens = sim.run(HISTORY, replicates=2, seed=9, engine="ensemble")
    mesa = sim.run(sim.load_scenario(HISTORY), replicates=2, seed=9, engine="mesa")
    assert_same_runs(ens.trajectories, mesa.trajectories)
    data = yaml.safe_load(sim.load_scenario(HISTORY).model_dump_json())
    from_dict = sim.run(data, replicates=2, seed=9, trajectories=False)
    assert from_dict.summary.equals(ens.summary)
    with pytest.raises(OmnibalanceError, match="kept no trajectories"):
        from_dict.save("never-written")


def test_overrides_and_located_errors():
    scn = sim.load_scenario(HISTORY, overrides=["params.tau=2", "shocks.andijan.magnitude=0"])
    assert scn.params.tau == 2.0 and scn.shock("andijan").magnitude == 0.0
    assert sim.load_scenario(scn, ["params.tau=3"]).params.tau == 3.0
    with pytest.raises(ScenarioError, match="params.taux"):
        sim.run(HISTORY, replicates=2, overrides=["params.taux=1"])
    with pytest.raises(ScenarioError, match="unknown field 'taux'"):
        sim.load_scenario({**yaml.safe_load(sim.load_scenario(HISTORY).model_dump_json()), "params": {"taux": 1}})


def test_compare(tmp_path):
    c = sim.compare(HISTORY, ROOT / "scenarios" / "counterfactuals" / "no_andijan.yaml", replicates=30, seed=2)
    assert c.names == ["history", "no_andijan"]
    e = c.effect("no_andijan", "UZB", 2006, "RUS")
    assert e["lo"] <= e["diff"] <= e["hi"]
    assert (c.table.query("scenario == 'history'")["diff"] == 0).all()
    assert {"scenario", "event", "probability"} <= set(c.events.columns)
    assert c.report.startswith("# Counterfactual comparison")
    c.save(tmp_path / "cmp")
    assert {p.name for p in (tmp_path / "cmp").iterdir()} == {"compare.csv", "events.csv", "compare.png", "compare.md", "manifest.json"}


def test_the_dashboard_runs_through_the_api():
    from sim.face import dashboard as d

    shown = d.run_replicates(HISTORY, ["params.tau=3"], 25, 6)
    direct = sim.run(HISTORY, replicates=25, seed=6, engine="ensemble", overrides=["params.tau=3"], trajectories=False)
    np.testing.assert_array_equal(shown["shares"], direct.stance_shares)
    np.testing.assert_array_equal(shown["status_shares"], direct.status_shares)
    assert shown["fit"] == direct.fit


def test_sweep(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"scenario": str(HISTORY), "design": {"kind": "lhs", "points": 4, "seed": 1}, "replicates": 2, "seed": 3,
                                    "dimensions": {"params.tau": {"range": [0.0, 8.0]}}}))
    s = sim.sweep(spec, tmp_path / "sweep", executor="serial")
    assert s.n_runs == 8 and len(s.table) == 8 and "x.params.tau" in s.table.columns
    rows = s.analyze()
    assert set(rows["index"]) == {"spearman"} and (tmp_path / "sweep" / "sensitivity.csv").is_file()
