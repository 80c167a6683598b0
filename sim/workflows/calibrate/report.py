"""The calibration report: identifiability, a predictive fan chart, the figures and ``report.md``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sim.engines.ensemble import simulate
from sim.face.plots.calibration import plot_marginals, plot_pairs, plot_trace
from sim.kernel.actors import CLIENTS, N_STANCES
from sim.kernel.params import ModelParams, Theta, stack_params
from sim.kernel.randomness import replicate_draws
from sim.workflows.calibrate import ABC_METHODS
from sim.workflows.calibrate.problem import Problem
from sim.workflows.fit import load_targets


def identifiability(problem: Problem, samples: np.ndarray, weights: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Posterior (or final-population) spread relative to the prior's, per parameter.

    A ratio below 0.5 means the data pin the parameter down ("identified"); above 0.8 they barely
    move it from the prior ("not identified"). Computed in the optimiser's space, where the prior
    is uniform with standard deviation ``(upper - lower) / sqrt(12)``.
    """
    w = np.full(len(samples), 1.0 / len(samples)) if weights is None else weights / weights.sum()
    mean = (samples * w[:, None]).sum(axis=0)
    sd = np.sqrt(((samples - mean) ** 2 * w[:, None]).sum(axis=0))
    prior_sd = (problem.upper - problem.lower) / math.sqrt(12)
    rows = []
    for i, n in enumerate(problem.names):
        ratio = float(sd[i] / prior_sd[i])
        verdict = "identified" if ratio < 0.5 else ("not identified" if ratio > 0.8 else "weakly identified")
        rows.append({"parameter": n, "sd_ratio": ratio, "verdict": verdict})
    return rows


PREDICTIVE_RUNS = 400

def predictive(problem: Problem, samples: np.ndarray, weights: np.ndarray | None, best_x: np.ndarray, path: Path, title: str) -> dict[str, Any]:
    """Posterior-predictive fan chart: each run draws a parameter set (ABC) or uses the best (DE)."""
    from sim.face.plots import plot_alignment
    from sim.workflows.run import alignment_marks, category_shares

    st = problem._setup()
    scn, exo = st["scenario"], st["exo"]
    rng = np.random.default_rng(11)
    if weights is not None:
        idx = rng.choice(len(samples), size=PREDICTIVE_RUNS, p=weights / weights.sum())
        plist = [problem.params(samples[i]) for i in idx]
    else:
        plist = [problem.params(best_x)] * PREDICTIVE_RUNS
    th: Theta = stack_params(plist)
    res = simulate(exo, th, st["rule"], replicate_draws(10_000 + problem.spec.seed, PREDICTIVE_RUNS, exo.n_steps), full=False)
    shares, status = category_shares(res.stance, N_STANCES), category_shares(res.status, 3)
    plot_alignment(scn.calendar.decimal_years(), shares, status, list(CLIENTS), *alignment_marks(scn, load_targets()), path, title=title)
    return {"runs": PREDICTIVE_RUNS}

def _fmt(x: float) -> str:
    return f"{x:.3g}"

def _tolerance_lines(summary: dict[str, Any]) -> list[str]:
    """How close the ABC posterior got: its last tolerance against the shipped best fit's objective."""
    import json

    from sim.project import project_root

    done = [h for h in summary["history"] if "stopped" not in h]  # the generations that filled their population
    last = done[-1]
    tol = float(last["tolerance"])
    best_file = project_root() / "calibration" / "report" / "summary.json"
    best = json.loads(best_file.read_text())["objective"] if best_file.is_file() else None
    lines = ["## Tolerance reached", "", f"The last complete generation (generation {last['generation']}) accepted particles within a distance of **{tol:.3f}**."]
    stop = summary["history"][-1]
    if "stopped" in stop and "accepted" not in stop:  # a sampler that failed rather than ran out of budget
        lines[-1] += f" Generation {stop['generation']} failed ({stop['stopped']}); the posterior is generation {last['generation']}'s."
    elif "stopped" in stop:
        lines[-1] += (f" Generation {stop['generation']} (tolerance {stop['tolerance']:.3f}) stopped at its {stop['stopped']} with "
                      f"{stop['accepted']} particles accepted of {stop['evaluations']:,} evaluated; the posterior is generation {last['generation']}'s.")
    if best is not None:
        ratio = tol / best
        lines[-1] += (f" The shipped best fit (calibration/report) reaches an objective of {best:.4f}: the posterior's tolerance is "
                      f"{ratio:.1f} times that, " + ("within" if ratio <= 1.2 else "**not** within") + " 20% of it"
                      + ("." if ratio <= 1.2 else ", so this posterior describes a looser fit than the shipped one and its spreads overstate "
                         "the uncertainty around the best fit (a larger budget, or another sampler, is needed to reach it)."))
    return [*lines, ""]


def write_report(out: Path, problem: Problem, summary: dict[str, Any], result: dict[str, Any], best: ModelParams, samples, weights) -> None:
    method = summary["method"]
    plot_trace(summary, out / "trace.png")
    posterior = method in ABC_METHODS
    label = {"abc": "ABC-SMC posterior", "pyabc": "pyabc ABC-SMC posterior", "polish": "Final Nelder-Mead simplex"}.get(method, "Final differential-evolution population")
    plot_marginals(problem, samples, weights, result["x"], out / "marginals.png", label)
    plot_pairs(problem, samples, weights, out / "pairs.png")
    predictive(problem, samples, weights, result["x"], out / "predictive.png",
               title=f"{'Posterior' if posterior else 'Best-fit'} predictive: {PREDICTIVE_RUNS} runs, rule {summary['rule']}")
    ins, full = summary["in_window"], summary["full_history"]
    lines = [
        f"# Calibration report ({method}, rule `{summary['rule']}`)",
        "",
        f"Spec `{summary['spec']}`, {summary['replicates']} replicates per evaluation (common random numbers, seed {summary['seed']}),",
        f"{summary['seconds']:.0f} s of optimisation. {'Fitted to history up to ' + str(summary['fit_until']) + '.' if summary['fit_until'] else 'Fitted to the whole history.'}",
        "",
        "## Best parameters",
        "",
        "| parameter | value | bounds | prior | spread / prior spread | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["identifiability"]:
        n = row["parameter"]
        ps = problem.spec.parameters[n]
        lines.append(f"| `{n}` | {_fmt(summary['parameters'][n])} | {ps.bounds[0]}–{ps.bounds[1]} | {ps.prior} | {row['sd_ratio']:.2f} | {'—' if method == 'polish' else row['verdict']} |")
    lines += [
        "",
        "Spread is the " + {"abc": "posterior's weighted standard deviation", "pyabc": "posterior's weighted standard deviation",
                            "polish": "final Nelder-Mead simplex's standard deviation (no measure of identifiability: the simplex contracts to a point; read the spread in the DE report the polish started from)"}.get(
            method, "final population's standard deviation (a weak proxy: DE populations contract only around the optimum it found)")
        + " divided by the prior's (in the optimiser's space); below 0.5 the data pin the parameter down, above 0.8 they barely move it.",
        "",
        "## Fit of the best parameters",
        "",
        "| measure | fitted window | whole history |",
        "|---|---|---|",
    ]
    if posterior and summary.get("history"):
        lines[-4:-4] = _tolerance_lines(summary)
    keys = (["objective", "hit_UZB", "hit_KAZ", "share_accepted", "logp", "timing", "acts", "dejure", "excess_switches", "switches_UZB", "switches_KAZ", "beta_penalty"]
            + [k for k in full if k.startswith("event_")] + [k for k in full if k.startswith("act_")])
    for k in keys:
        a = ins.get(k)
        lines.append(f"| {k} | {'' if a is None else f'{a:.3f}'} | {full.get(k, float('nan')):.3f} |")
    if summary["out_of_window"] is not None:
        oow = summary["out_of_window"]
        lines += ["", f"## Out of window (after {summary['fit_until']})", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in oow.items()]
    lines += ["", "## Figures", "", "![trace](trace.png)", "", "![marginals](marginals.png)", "", "![pairs](pairs.png)", "", "![predictive](predictive.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
