"""Calibration: spec checking, the loss, DE and ABC-SMC end to end, resume."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from sim.errors import OmnibalanceError, ScenarioError
from sim.kernel.actors import CLIENTS, Stance
from sim.workflows.calibrate.de import run_polish
from sim.workflows.calibrate.run import calibrate
from sim.workflows.calibrate.spec import load_spec
from sim.workflows.loss import LossWeights, load_calibration_targets, loss_components
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


def _on_time_history(cal, exo, R: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quarterly stances and memberships that make every dated act in its window and every yearly shift in its year:
    Uzbekistan RUS, WEST from 1999Q2 (the CST lapses), RUS from 2005Q3 (after Andijan; K2 closed), WEST from 2008Q4,
    NONALIGNED from 2012Q2 (CSTO suspended in 2012Q3); Kazakhstan RUS and in the CST throughout; and year-end
    probabilities of one on the path."""
    T, C, J = cal.n_steps, len(CLIENTS), len(exo.instrument_ids)
    step = lambda text: cal.step_of(dt.date.fromisoformat(text))  # noqa: E731
    uzb, kaz = CLIENTS.index("UZB"), CLIENTS.index("KAZ")
    ids = list(exo.instrument_ids)
    stance = np.zeros((R, T, C), dtype=np.int8)
    for start, s in (("1999-04-01", Stance.WEST), ("2005-07-01", Stance.RUS), ("2008-10-01", Stance.WEST), ("2012-04-01", Stance.NONALIGNED)):
        stance[:, step(start):, uzb] = s
    member = np.zeros((R, T, C, J), dtype=bool)
    for instrument, spans in {"csto": [("1992-04-01", "1999-04-01"), ("2006-07-01", "2012-07-01")],
                              "west_base": [("2001-10-01", "2005-07-01")], "eaeu": [("2006-01-01", "2008-10-01")]}.items():
        for a, b in spans:
            member[:, step(a):step(b), uzb, ids.index(instrument)] = True
    member[:, step("1992-04-01"):, kaz, ids.index("csto")] = True
    _, ye = cal.year_end_steps()
    probs = np.eye(4)[stance[:, ye]]
    return stance, member, probs


def test_loss_of_an_on_time_history_is_zero(history, history_exo):
    tg = load_calibration_targets()
    cal = history.calendar
    stance, member, probs = _on_time_history(cal, history_exo)
    w = LossWeights()
    out = loss_components(stance, member, probs, cal, history_exo, tg, beta=w.beta_reference, w=w)
    assert out["share_accepted"] == 1.0 and out["hit_UZB"] == 1.0 and out["hit_KAZ"] == 1.0
    assert out["dejure"] == 1.0 and out["beta_penalty"] == 0.0
    assert out["timing"] == 0.0 and out["acts"] == 0.0
    assert out["switches_UZB"] == 4.0 and out["switches_KAZ"] == 0.0 and out["excess_switches"] == 0.0
    assert all(v == 1.0 for k, v in out.items() if k.startswith("act_") and k.endswith("_on_time"))
    assert len([k for k in out if k.startswith("act_")]) == len(tg.targets.acts)
    assert out["logp"] == pytest.approx(np.log(1 + 1e-6))
    assert out["objective"] == pytest.approx(-w.logp * np.log(1 + 1e-6))


def test_a_late_act_and_a_flicker_cost_what_the_weights_say(history, history_exo):
    """Suspending the CSTO three quarters after its window (2013Q3 instead of 2012Q2-Q4) costs 3/9 of one of the
    five scored acts and one of the 52 country-years of the de jure target; a one-quarter flicker in Kazakhstan
    costs two stance switches beyond history's none."""
    tg = load_calibration_targets()
    cal = history.calendar
    stance, member, probs = _on_time_history(cal, history_exo)
    w = LossWeights()
    base = loss_components(stance, member, probs, cal, history_exo, tg, beta=w.beta_reference, w=w)
    late = member.copy()
    csto = list(history_exo.instrument_ids).index("csto")
    uzb, kaz = CLIENTS.index("UZB"), CLIENTS.index("KAZ")
    late[:, cal.step_of(dt.date(2012, 7, 1)):cal.step_of(dt.date(2013, 7, 1)), uzb, csto] = True
    out = loss_components(stance, late, probs, cal, history_exo, tg, beta=w.beta_reference, w=w)
    n_scored = sum(a.scored for a in tg.targets.acts)
    assert n_scored == 5
    assert out["acts"] == pytest.approx((3 / 9) / n_scored)
    assert out["dejure"] == pytest.approx(51 / 52)
    assert out["act_UZB_csto_2012_on_time"] == 0.0
    assert out["objective"] - base["objective"] == pytest.approx(w.acts * (3 / 9) / 5 + w.dejure / 52)
    flicker = stance.copy()
    flicker[:, cal.step_of(dt.date(2003, 4, 1)), kaz] = Stance.WEST  # one quarter away, back by the year end
    out = loss_components(flicker, member, probs, cal, history_exo, tg, beta=w.beta_reference, w=w)
    assert out["switches_KAZ"] == 2.0 and out["excess_switches"] == pytest.approx(1.0)  # mean of UZB's 0 and KAZ's 2 excess
    assert out["share_accepted"] == 1.0 and out["acts"] == 0.0
    assert out["objective"] - base["objective"] == pytest.approx(w.switches * 1.0)


def test_beta_penalty_grows_away_from_reference(history, history_exo):
    tg = load_calibration_targets()
    cal = history.calendar
    z = np.zeros((1, cal.n_steps, 5), dtype=np.int8)
    p = np.full((1, 26, 5, 4), 0.25)
    m = np.zeros((1, cal.n_steps, 5, len(history_exo.instrument_ids)), dtype=bool)
    w = LossWeights()
    a = loss_components(z, m, p, cal, history_exo, tg, beta=w.beta_reference, w=w)
    c = loss_components(z, m, p, cal, history_exo, tg, beta=10 * w.beta_reference, w=w)
    b = loss_components(z, m, p, cal, history_exo, tg, beta=w.beta_reference / 10, w=w)
    assert c["beta_penalty"] > a["beta_penalty"] == 0.0
    assert c["beta_penalty"] == pytest.approx(w.beta * np.log(10.0) ** 2) == pytest.approx(b["beta_penalty"])
    assert c["objective"] - a["objective"] == pytest.approx(c["beta_penalty"])
    assert a["acts"] == 1.0  # a path that never moves makes no dated act


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


def test_de_is_the_same_on_one_worker_and_on_a_pool(tmp_path):
    """Each generation is evaluated as one batch per worker: the split cannot change the numbers."""
    spec = write_spec(tmp_path)
    one = calibrate(spec, tmp_path / "serial", method="de", executor_kind="serial", progress=False)
    pool = calibrate(spec, tmp_path / "local", method="de", executor_kind="local", workers=2, progress=False)
    assert one["parameters"] == pool["parameters"] and one["objective"] == pool["objective"]
    assert [g["best"] for g in one["history"]] == [g["best"] for g in pool["history"]]


def test_pyabc_posterior_end_to_end_and_resumed(tmp_path):
    """pyabc's ABC-SMC writes the same posterior table as the in-project sampler; --resume reads its
    history database and runs only the generations still to do."""
    import pyarrow.parquet as pq

    spec = write_spec(tmp_path, abc={"particles": 10, "generations": 2, "max_evaluations_per_generation": 60})
    out = tmp_path / "pyabc"
    first = calibrate(spec, out, method="pyabc", executor_kind="serial", progress=False)
    post = pq.read_table(out / "posterior.parquet").to_pydict()
    assert set(post) == {"tau", "rho", "weight", "distance"} and abs(sum(post["weight"]) - 1) < 1e-9
    assert min(post["tau"]) >= 0 and max(post["tau"]) <= 10 and len(first["history"]) == 2
    assert first["history"][-1]["tolerance"] <= first["history"][0]["tolerance"]
    assert (out / "abc.db").is_file() and "## Tolerance reached" in (out / "report.md").read_text()
    more = yaml.safe_load(spec.read_text())
    more["abc"]["generations"] = 3
    spec.write_text(yaml.safe_dump(more))
    again = calibrate(spec, out, method="pyabc", executor_kind="serial", progress=False, resume=True)
    assert len(again["history"]) == 3 and again["history"][:2] == first["history"]


def test_pyabc_numerics_giving_out_leave_the_last_complete_generation(tmp_path, monkeypatch):
    """When pyabc's importance weights degenerate (it then raises on its own checks, as it does on the
    shipped spec), the posterior is its last complete generation and the report says why it stopped."""
    import pyabc
    import pyarrow.parquet as pq

    run_generation = pyabc.ABCSMC.run_generation

    def failing(self, t):
        if t >= 1:
            raise AssertionError("The population total weight nan is not normalized.")
        return run_generation(self, t)

    monkeypatch.setattr(pyabc.ABCSMC, "run_generation", failing)
    spec = write_spec(tmp_path, abc={"particles": 10, "generations": 3, "max_evaluations_per_generation": 60})
    out = tmp_path / "pyabc"
    summary = calibrate(spec, out, method="pyabc", executor_kind="serial", progress=False)
    assert [h["generation"] for h in summary["history"]] == [0, 1] and "weight nan" in summary["history"][-1]["stopped"]
    assert len(pq.read_table(out / "posterior.parquet")) == 10
    report = (out / "report.md").read_text()
    assert "Generation 1 failed (pyabc's importance weights degenerated" in report and "the posterior is generation 0's" in report

    monkeypatch.setattr(pyabc.ABCSMC, "run_generation", lambda self, t: failing(self, t + 1))  # fails at once
    with pytest.raises(OmnibalanceError, match="first generation"):
        calibrate(spec, tmp_path / "none", method="pyabc", executor_kind="serial", progress=False)

    # an error of the model pyabc evaluates is not pyabc's numerics: it is not passed off as a stop
    from sim.workflows.calibrate.problem import Problem

    monkeypatch.setattr(pyabc.ABCSMC, "run_generation", run_generation)
    monkeypatch.setattr(Problem, "__call__", lambda self, x: (_ for _ in ()).throw(ValueError("model bug")))
    with pytest.raises(ValueError, match="model bug"):
        calibrate(spec, tmp_path / "bug", method="pyabc", executor_kind="serial", progress=False)


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
    # the report says how far the posterior's tolerance is from the shipped best fit
    report = (out / "report.md").read_text()
    tol = json.loads((out / "summary.json").read_text())["history"][-1]["tolerance"]
    best = json.loads((ROOT / "calibration" / "report" / "summary.json").read_text())["objective"]
    assert "## Tolerance reached" in report and f"**{tol:.3f}**" in report and f"{best:.4f}" in report
    assert ("not** within 20%" in report) == (tol > 1.2 * best)


def test_polish_starts_where_told_and_never_worsens_the_fit(tmp_path):
    spec = write_spec(tmp_path, polish={"max_evaluations": 25, "step": 0.1})
    start = tmp_path / "start.yaml"
    start.write_text(yaml.safe_dump({"params": {"tau": 1.0, "rho": 0.9}}))
    s = calibrate(spec, tmp_path / "polish", method="polish", start=start, executor_kind="serial", progress=False)
    trace = s["history"]
    names = json.loads((tmp_path / "polish" / "polish_trace.json").read_text())["names"]
    assert dict(zip(names, trace[0]["x"], strict=True)) == pytest.approx({"tau": 1.0, "rho": 0.9})  # the first evaluation is the start point itself
    assert [t["best"] for t in trace] == sorted((t["best"] for t in trace), reverse=True)  # best so far only improves
    assert s["objective"] == pytest.approx(trace[-1]["best"]) and s["objective"] <= trace[0]["best"]
    best = yaml.safe_load((tmp_path / "polish" / "best.yaml").read_text())
    assert 0 <= best["params"]["tau"] <= 10 and 0.05 <= best["params"]["rho"] <= 1.0
    assert "--method polish --start" in (tmp_path / "polish" / "best.yaml").read_text()


@pytest.mark.parametrize("content", ["params: {tau: 1.0}", "not: [yaml", None])
def test_polish_with_a_bad_start_fails_before_any_output(tmp_path, content):
    start = tmp_path / "start.yaml"
    if content is not None:
        start.write_text(content)
    with pytest.raises(OmnibalanceError, match="--start .*start.yaml"):
        calibrate(write_spec(tmp_path), tmp_path / "out", method="polish", start=start, executor_kind="serial", progress=False)
    assert not (tmp_path / "out").exists()


class _Staircase:
    """A duck-typed calibration problem: Rosenbrock's curved valley rounded to steps of 1/200, flat
    in places like an objective on common random numbers, where a single simplex stalls."""

    def __init__(self, restart_tol: float, budget: int):
        self.spec = SimpleNamespace(polish=SimpleNamespace(max_evaluations=budget, step=0.05, restart_tol=restart_tol))
        self.names, self.dim = ["a", "b", "c"], 3
        self.lower, self.upper = np.zeros(3), np.ones(3)
        self.calls = 0

    def to_values(self, x):
        return np.asarray(x, dtype=float)

    def __call__(self, x):
        self.calls += 1
        a, b, c = np.asarray(x, dtype=float)
        return float(np.floor(200 * (100 * (b - a**2) ** 2 + (1 - a) ** 2 + (c - 0.5) ** 2)) / 200)


@pytest.mark.parametrize("budget", [30, 400])
def test_polish_restarts_a_stalled_simplex_within_its_budget(tmp_path, budget):
    start = np.array([0.1, 0.9, 0.2])
    once = _Staircase(restart_tol=np.inf, budget=budget)
    one = run_polish(once, tmp_path, start, progress=False)
    again = _Staircase(restart_tol=0.0, budget=budget)
    many = run_polish(again, tmp_path, start, progress=False)
    assert once.calls == one["nfev"] <= budget and again.calls == many["nfev"] <= budget  # the budget covers every restart
    assert "(1 simplex start)" in one["message"]
    assert many["fun"] <= one["fun"] <= again(start)  # restarting never loses the best point found
    if budget == 400:  # with room to restart, a fresh simplex gets off the step it stalled on
        assert "simplex starts" in many["message"] and many["fun"] < one["fun"]
