"""Scenario inheritance and `omnibalance compare`."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.kernel.params import ModelParams
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario, resolved_yaml
from sim.workflows.compare import bootstrap_diff, compare
from tests.conftest import HISTORY, ROOT

COUNTERFACTUALS = sorted((ROOT / "scenarios" / "counterfactuals").glob("*.yaml"))


def child(tmp_path: Path, text: str, name: str = "child.yaml") -> Path:
    p = tmp_path / name
    p.write_text(f"extends: {HISTORY}\n" + text)
    return p


def test_library_has_the_required_counterfactuals():
    names = {p.stem for p in COUNTERFACTUALS}
    required = {"no_andijan", "andijan_without_western_sanctions", "no_911", "oil_stays_low", "no_medvedev", "no_colour_revolutions", "russia_does_not_court"}
    assert required <= names
    assert any("kazakhstan" in n for n in names)
    for p in COUNTERFACTUALS:
        head = p.read_text().splitlines()[0]
        assert head.startswith("# Question:"), p.name
        assert "Historical basis" in p.read_text(), p.name
        load_scenario(p)


def test_empty_child_equals_parent(tmp_path):
    parent = load_scenario(HISTORY)
    kid = load_scenario(child(tmp_path, ""))
    assert kid.model_dump() == parent.model_dump()


def test_edits_apply(tmp_path):
    p = child(tmp_path, "remove_shocks: [andijan]\nscale_shocks: {georgia_war: 2, putin_return: 0}\nmove_shocks: {crimea: 2015-01-01, medvedev: 2009-01-01}\n"
                        "params: {tau: 1.5}\nname: edited\n")
    scn = load_scenario(p)
    ids = [s.id for s in scn.shocks]
    assert "andijan" not in ids
    assert scn.shock("georgia_war").magnitude == 2.0
    assert scn.shock("putin_return").magnitude == 0.0  # an event switched off: it happens or not
    assert str(scn.shock("crimea").date) == "2015-01-01"
    assert str(scn.shock("medvedev").date) == "2009-01-01"  # an event can be moved
    assert scn.params.tau == 1.5
    assert scn.params.beta == load_scenario(HISTORY).params.beta  # other params kept
    assert scn.name == "edited"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    remove=st.lists(st.sampled_from(["andijan", "medvedev", "crimea", "september_11", "osh"]), unique=True, max_size=3),
    scale=st.floats(0, 3),
    tau=st.floats(0, 10),
)
def test_resolving_twice_changes_nothing(tmp_path, remove, scale, tau):
    p = child(tmp_path, yaml.safe_dump({"remove_shocks": remove, "scale_shocks": {"georgia_war": scale}, "params": {"tau": tau}}))
    once = load_scenario(p)
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(resolved_yaml(once))
    twice = load_scenario(resolved)
    assert twice.model_dump() == once.model_dump()


@pytest.mark.parametrize(
    ("text", "needle", "field"),
    [
        ("remove_shocks: [no_such_shock]\n", "no shock 'no_such_shock'", "remove_shocks.no_such_shock"),
        ("scale_shocks: {nope: 2}\n", "no shock 'nope'", "scale_shocks.nope"),
        ("move_shocks: {andijan: 1980-01-01}\n", "outside the run", "shocks.andijan.date"),
        ("scale_shocks: {andijan: -1}\n", "scale factor", "scale_shocks.andijan"),
    ],
)
def test_bad_edits_are_located(tmp_path, text, needle, field):
    p = child(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    assert needle in msg and f"field '{field}'" in msg
    assert msg.startswith(str(p.resolve()) + ":2:")  # the child's own line


@pytest.mark.parametrize(("shock", "factor"), [("medvedev", 2), ("partnership_for_peace", 0.5)])
def test_scaling_an_event_is_located_at_the_childs_edit(tmp_path, shock, factor):
    """A leader change or an engagement programme happens or not: a scale factor other than 0 or 1 is an error
    located at the child's own scale_shocks line."""
    p = child(tmp_path, f"scale_shocks: {{{shock}: {factor}}}\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    assert msg.startswith(str(p.resolve()) + ":2:")
    assert f"field 'shocks.{shock}.magnitude'" in msg and "cannot be scaled" in msg


def test_extends_cycle_and_missing_parent(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n")
    b.write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(a)
    c = tmp_path / "c.yaml"
    c.write_text("name: x\nextends: nowhere.yaml\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(c)
    assert "parent scenario not found" in str(exc.value) and ":2:" in str(exc.value)


def test_bootstrap_interval_of_identical_runs_is_zero():
    x = np.random.default_rng(0).integers(0, 2, (200, 3, 2))
    lo, hi = bootstrap_diff(x, x, np.random.default_rng(1), n_boot=200)
    assert (lo == 0).all() and (hi == 0).all()


def test_bootstrap_interval_is_scipys_paired_bca():
    from scipy.stats import bootstrap

    rng = np.random.default_rng(3)
    base = rng.integers(0, 2, (300, 2))
    alt = np.where(rng.random((300, 2)) < 0.3, 1 - base, base)  # 30% of runs change: a noisy paired effect
    alt[:, 1] = base[:, 1]  # and a column with no effect at all
    lo, hi = bootstrap_diff(alt, base, np.random.default_rng(7), n_boot=500)
    ref = bootstrap(((alt[:, 0] - base[:, 0]).astype(float),), np.mean, method="BCa", n_resamples=500, random_state=np.random.default_rng(7)).confidence_interval
    d = (alt[:, 0] - base[:, 0]).mean()
    assert lo[0] < d < hi[0]
    assert abs(lo[0] - ref.low) < 0.02 and abs(hi[0] - ref.high) < 0.02  # same method; resampled differently (batched draws)
    assert lo[1] == hi[1] == 0.0


def test_unedited_counterfactual_gives_exactly_zero_difference(tmp_path):
    same = child(tmp_path, "name: same\n")
    out = tmp_path / "cmp"
    compare(HISTORY, [same], out, replicates=60, progress=False)
    rows = [r for r in csv.DictReader((out / "compare.csv").open()) if r["scenario"] == "same"]
    assert rows and all(float(r["diff"]) == 0.0 and float(r["diff_lo"]) == 0.0 and float(r["diff_hi"]) == 0.0 for r in rows)


def _with_documented_defaults(tmp_path: Path, parent: Path) -> Path:
    """A child of ``parent`` that sets every parameter to its documented default (independent of the calibration)."""
    p = tmp_path / parent.name
    p.write_text(f"extends: {parent}\n" + yaml.safe_dump({"params": ModelParams().model_dump(mode="json")}))
    return p


def test_compare_writes_every_output_and_finds_the_911_effect(tmp_path):
    out = tmp_path / "cmp"
    base = _with_documented_defaults(tmp_path, HISTORY)
    alt = _with_documented_defaults(tmp_path, ROOT / "scenarios/counterfactuals/no_911.yaml")
    assert load_scenario(alt).name == "no_911" and load_scenario(base).params == ModelParams()
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "compare", str(base), str(alt), "-n", "200", "--out", str(out), "-q"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {"compare.csv", "events.csv", "compare.png", "compare.md", "manifest.json"}
    rows = {(r["scenario"], r["actor"], r["year"], r["stance"]): r for r in csv.DictReader((out / "compare.csv").open())}
    west02 = rows[("no_911", "UZB", "2002", "WEST")]
    assert float(west02["diff_lo"]) <= float(west02["diff"]) <= float(west02["diff_hi"])
    assert float(west02["diff_hi"]) < -0.2  # without 9/11 Uzbekistan does not turn West in 2001-02
    # nothing changes before the edited shocks: before the Taliban's 1996 shock anywhere, before 9/11 where history's Taliban shock acts
    assert all(float(r["diff"]) == 0.0 for k, r in rows.items() if k[0] == "no_911" and int(k[2]) < 1996)
    assert all(float(r["diff"]) == 0.0 for k, r in rows.items() if k[0] == "no_911" and int(k[2]) < 2001 and k[1] != "TKM")
    events = list(csv.DictReader((out / "events.csv").open()))
    assert len(events) == 2 * 5 and all(0 <= float(e["probability"]) <= 1 for e in events)
    assert "no_911" in (out / "compare.md").read_text()


def test_validate_resolve_prints_what_runs(tmp_path):
    p = child(tmp_path, "remove_shocks: [andijan]\n")
    proc = subprocess.run([sys.executable, "-m", "sim", "validate", "--resolve", str(p)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout)
    assert "andijan" not in [s["id"] for s in data["shocks"]]
    assert "extends" not in data


def test_no_911_changes_no_input_before_9_11():
    base = compile_scenario(load_scenario(HISTORY))
    alt_scn = load_scenario(ROOT / "scenarios" / "counterfactuals" / "no_911.yaml")
    alt = compile_scenario(alt_scn)
    step = alt_scn.calendar.step_of(dt.date(2001, 9, 11))
    for name in ("shock_threat", "contagion", "repression", "need", "intent_shock", "tie_reset", "succession", "engagement_events"):
        np.testing.assert_array_equal(getattr(alt, name)[:, :step], getattr(base, name)[:, :step], err_msg=name)
