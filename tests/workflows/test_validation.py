"""validate-model: every part runs and reports; claims are tested, not assumed; paired removals classify causes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import sim.workflows.causes as causes
import sim.workflows.validation as validation
from sim.errors import OmnibalanceError
from sim.kernel.actors import Rule, Stance
from sim.workflows.causes import Cause, Turn, pair_tests
from sim.workflows.validation import ABLATIONS, signatures, validate_model
from tests.conftest import HISTORY

VERDICT_FORMS = ("necessary", "not needed", "redundant with ")


@pytest.fixture(scope="module")
def omni_signatures():
    """The sources' claims tested on history (40 replicates): computed once, for this module."""
    return signatures(HISTORY, None, None, replicates=40, seed=3)


def test_signatures_report_every_claim_with_a_verdict(omni_signatures):
    sigs = omni_signatures
    assert len(sigs) == 4
    for s in sigs:
        assert s["source"] and s["test"] and s["result"]
        assert isinstance(s["agrees"], bool)
    for s, turn in zip(sigs[:2], (causes.TURN_2005, causes.TURN_2008), strict=True):
        pt = s["pairs"]
        names = [c.name for c in turn.causes]
        assert list(pt["verdicts"]) == names
        assert all(v.startswith(VERDICT_FORMS) for v in pt["verdicts"].values())
        n = len(names)
        assert len(pt["effects"]) == n + n * (n - 1) // 2 + (1 if n > 2 else 0)
        for e in pt["effects"].values():
            assert e["lo"] <= e["effect"] <= e["hi"] and -1 <= e["effect"] <= 1
        assert 0 <= pt["base"] <= 1
        assert s["agrees"] == (pt["verdicts"][names[0]] == "necessary")
    assert "Medvedev" in [c.name for c in causes.TURN_2008.causes]


def test_pair_tests_classify_necessary_redundant_and_unneeded_causes(monkeypatch):
    """A and B substitute for each other (only removing both ends the turn), C alone is necessary, D does nothing."""
    turn = Turn("test turn", "UZB", (Stance.RUS,), (2005, 2007), tuple(Cause(n, remove=(n.lower(),)) for n in "ABCD"))

    def share(removed: frozenset[str]) -> np.ndarray:
        ends = {"c"} <= removed or {"a", "b"} <= removed
        return np.full(60, 0.1 if ends else 0.9)

    monkeypatch.setattr(causes, "scenario_with", lambda history, group=(), rule=None, params=None, add=(): frozenset(s for c in group for s in c.remove))
    monkeypatch.setattr(causes, "year_end_runs", lambda removed, draws: removed)
    monkeypatch.setattr(causes, "turn_share", lambda removed, turn: share(removed))
    pt = pair_tests(HISTORY, turn, draws=None)
    assert pt["verdicts"] == {"A": "redundant with B", "B": "redundant with A", "C": "necessary", "D": "not needed"}
    assert pt["base"] == pytest.approx(0.9)
    assert pt["effects"]["A"]["effect"] == 0.0 and pt["effects"]["A+B"]["effect"] == pytest.approx(-0.8)
    assert pt["effects"]["A+B+C+D"]["effect"] == pytest.approx(-0.8)
    # a drop smaller than MATERIAL is no effect
    monkeypatch.setattr(causes, "turn_share", lambda removed, turn: np.full(60, 0.9 - 0.5 * causes.MATERIAL * ("c" in removed)))
    assert set(pair_tests(HISTORY, turn, draws=None)["verdicts"].values()) == {"not needed"}


@pytest.fixture
def small_spec(tmp_path):
    """A calibration spec with a tiny budget over a few parameters the ablations fix."""
    spec = {
        "scenario": str(HISTORY), "replicates": 6, "seed": 1,
        "parameters": {"tau": {"bounds": [0, 10]}, "hostility": {"bounds": [0.0, 3.0]}},
        "weights": {"beta": 0.02, "beta_reference": 20.0},
        "de": {"maxiter": 1, "popsize": 2},
    }
    p = tmp_path / "spec.yaml"
    p.write_text(yaml.safe_dump(spec, sort_keys=False))
    return p


@pytest.mark.parametrize("method", ["polish", "de"])
def test_validate_model_end_to_end_small_budget(tmp_path, small_spec, monkeypatch, omni_signatures, method):
    # The rival theory's parameters come from calibration/balance_of_threat/best.yaml: use a small one of our own,
    # so the test runs both theories without depending on the (re)calibrated files.
    root = tmp_path / "root"
    (root / "calibration" / "balance_of_threat").mkdir(parents=True)
    bot = {"rho": 0.5, "beta": 15.0}
    (root / "calibration" / "balance_of_threat" / "best.yaml").write_text(yaml.safe_dump({"params": bot}))
    # polish refits start from the shipped calibration: a small one of our own
    (root / "calibration" / "calibrated.yaml").write_text(yaml.safe_dump({"params": {"tau": 4.0, "hostility": 0.5}}))
    monkeypatch.setattr(validation, "ROOT", root)
    # The signatures themselves are tested above; here, which theories validate-model asks for (and the time it saves).
    asked = []
    monkeypatch.setattr(validation, "signatures", lambda history, rule, params, replicates, seed: asked.append((rule, params, replicates)) or omni_signatures)
    out = tmp_path / "val"
    r = validate_model(small_spec, out, replicates=20, maxiter=1, popsize=2, workers=1, progress=False, method=method, evaluations=4)
    assert (out / "report.md").exists() and (out / "reliability.png").exists()
    data = json.loads((out / "validation.json").read_text())
    assert [a["variant"] for a in data["ablations"]] == [*ABLATIONS, "no beta prior"]
    for a in data["ablations"][1:-1]:
        assert isinstance(a["needed"], bool)
    # an ablation holds its mechanism off: the refitted parameters never include what it fixes
    for a in data["ablations"]:
        fixed = ABLATIONS.get(a["variant"], ("", {}))[1]
        assert not set(fixed) & set(a["parameters"]), a["variant"]
        assert set(a["parameters"]) == {"tau", "hostility"} - set(fixed)
    assert "tau" not in next(a for a in data["ablations"] if a["variant"] == "no threat salience")["parameters"]
    assert 0 <= data["ablations"][0]["acts"] <= 1
    assert data["budget"]["method"] == method
    if method == "polish":  # every refit is a local search from the shipped values, within its budget
        for a in data["ablations"]:
            trace = json.loads((out / "ablations" / a["variant"].replace(" ", "_") / "polish_trace.json").read_text())["trace"]
            assert trace[0]["generation"] == 1 and trace[-1]["generation"] <= 4
        assert "Nelder-Mead from the shipped calibration" in (out / "report.md").read_text()
    assert asked == [(None, None, 20), (Rule.BALANCE_OF_THREAT, bot, 20)]
    assert len(data["signatures"]["omnibalancing"]) == 4 and len(data["signatures"]["balance_of_threat"]) == 4
    assert [s["seed"] for s in data["seeds"]] == list(validation.CHECK_SEEDS)
    assert data["out_of_window"] is None  # no fit_until_2006 under our root
    assert 0 < r["scores"]["brier"] < 1 and r["scores"]["log_score"] < 0
    report = (out / "report.md").read_text()
    for section in ("## 1. Ablations", "## 4. Honest uncertainty", "## 5. Other seeds", "## 6. Out of window"):
        assert section in report
    assert "**2008 turn away from Russia**" in report and "| Medvedev |" in report
    with pytest.raises(OmnibalanceError, match="not empty"):
        validate_model(small_spec, out, replicates=20, maxiter=1, popsize=2, workers=1, progress=False)
