"""Calibration: spec checking, the loss, DE and ABC-SMC end to end, resume."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from sim.calibrate import calibrate, load_spec
from sim.errors import OmnibalanceError, ScenarioError
from sim.loss import LossWeights, load_calibration_targets, loss_components, member_target
from tests.conftest import HISTORY, ROOT

SMALL = {
    "scenario": str(HISTORY),
    "replicates": 12,
    "seed": 3,
    "parameters": {"tau": {"bounds": [0, 10]}, "rho": {"bounds": [0.05, 1.0], "prior": "loguniform"}},
    "de": {"maxiter": 2, "popsize": 3},
    "abc": {"particles": 10, "generations": 2, "max_evaluations_per_generation": 60},
}


def write_spec(tmp_path, **changes):
    spec = yaml.safe_load(yaml.safe_dump(SMALL)) | changes
    p = tmp_path / "spec.yaml"
    p.write_text(yaml.safe_dump(spec, sort_keys=False))
    return p


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"nope": {"bounds": [0, 1]}}, "unknown parameter 'nope'"),
        ({"tau": {"bounds": [5, 1]}}, "empty or inverted"),
        ({"tau": {"bounds": [2, 2]}}, "empty or inverted"),
        ({"rho": {"bounds": [0, 1], "prior": "loguniform"}}, "no support"),
        ({"beta": {"bounds": [-5, 10]}}, "outside the allowed range"),
        ({"internal_threats": {"bounds": [0, 1]}}, "not numeric"),
    ],
)
def test_bad_spec_fails_before_any_run(tmp_path, params, needle):
    p = write_spec(tmp_path, parameters=params)
    with pytest.raises(ScenarioError) as exc:
        load_spec(p)
    assert needle in str(exc.value)
    assert "spec.yaml:" in str(exc.value) and "field 'parameters." in str(exc.value)


def test_fit_window_without_targets(tmp_path):
    with pytest.raises(OmnibalanceError, match="no scored target"):
        calibrate(write_spec(tmp_path), tmp_path / "out", fit_until=1980, progress=False)
    assert not (tmp_path / "out").exists()


def test_loss_of_a_perfect_history_is_low():
    tg = load_calibration_targets()
    years = np.arange(1991, 2017)
    # Build year-end stances that match the first accepted stance every year, and the ATOP membership.
    stance = np.zeros((4, len(years), 5), dtype=np.int8)
    probs = np.zeros((4, len(years), 5, 4))
    for i, y in enumerate(years):
        for c, actor in enumerate(["UZB", "KAZ", "KGZ", "TJK", "TKM"]):
            span = tg.targets.accepted(actor, int(y))
            s = min(span.accepted) if span else 0
            stance[:, i, c] = s
            probs[:, i, c, s] = 1.0
    bloc = np.zeros_like(stance, dtype=bool)
    bloc[:, :, 0] = member_target(tg, years)[:, 0]
    out = loss_components(stance, bloc, probs, years, tg, beta=12.0, w=LossWeights())
    assert out["share_accepted"] == 1.0 and out["hit_UZB"] == 1.0 and out["hit_KAZ"] == 1.0
    assert out["dejure"] == 1.0 and out["beta_penalty"] == 0.0
    assert out["logp"] == pytest.approx(np.log(1 + 1e-6))
    # Shifts scored to the year of history, except where the accepted sets make an earlier entry count.
    assert out["timing"] < 0.2


def test_beta_penalty_grows_away_from_reference():
    tg = load_calibration_targets()
    z = np.zeros((1, 26, 5), dtype=np.int8)
    p = np.full((1, 26, 5, 4), 0.25)
    b = np.zeros_like(z, dtype=bool)
    a = loss_components(z, b, p, np.arange(1991, 2017), tg, beta=12.0, w=LossWeights())
    c = loss_components(z, b, p, np.arange(1991, 2017), tg, beta=120.0, w=LossWeights())
    assert c["beta_penalty"] > a["beta_penalty"] == 0.0
    assert c["objective"] - a["objective"] == pytest.approx(c["beta_penalty"])


def test_de_end_to_end(tmp_path):
    out = tmp_path / "de"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "calibrate", str(write_spec(tmp_path)), "--method", "de", "--executor", "serial", "--out", str(out), "-q"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("best.yaml", "summary.json", "report.md", "trace.png", "marginals.png", "pairs.png", "predictive.png"):
        assert (out / name).exists(), name
    best = yaml.safe_load((out / "best.yaml").read_text())["params"]
    assert 0 <= best["tau"] <= 10 and 0.05 <= best["rho"] <= 1.0


def test_abc_resume_keeps_finished_generations(tmp_path):
    out = tmp_path / "abc"
    spec = write_spec(tmp_path)
    calibrate(spec, out, method="abc", executor_kind="serial", progress=False)
    first = (out / "generations" / "generation_00.parquet").read_bytes()
    assert sorted(p.name for p in (out / "generations").iterdir()) == ["generation_00.parquet", "generation_01.parquet"]
    with pytest.raises(OmnibalanceError, match="not empty"):
        calibrate(spec, out, method="abc", executor_kind="serial", progress=False)
    longer = write_spec(tmp_path, abc={"particles": 10, "generations": 3, "max_evaluations_per_generation": 60})
    calibrate(longer, out, method="abc", executor_kind="serial", progress=False, resume=True)
    gens = sorted(p.name for p in (out / "generations").iterdir())
    assert gens[:2] == ["generation_00.parquet", "generation_01.parquet"]
    assert (out / "generations" / "generation_00.parquet").read_bytes() == first
    assert (out / "posterior.parquet").exists()
