"""The calibration report: loss trace, marginals, pair plot, identifiability, predictive fan chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.engines.ensemble import simulate
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_STANCES
from sim.kernel.params import ModelParams, Theta, stack_params
from sim.kernel.randomness import batch_draws, run_seed
from sim.workflows.fit import load_targets

PREDICTIVE_RUNS = 400


def _save(fig: Figure, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight", facecolor="white")
    tmp.replace(path)


def plot_trace(summary: dict[str, Any], path: Path) -> None:
    fig = Figure(figsize=(6.5, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    hist = summary["history"] or []
    if summary["method"] == "de":
        ax.plot([h["generation"] for h in hist], [h["best"] for h in hist], marker="o", ms=3)
        ax.set_ylabel("best objective")
        ax.set_xlabel("generation")
        ax.set_title("Differential evolution: best objective per generation")
    else:
        gens = [h["generation"] for h in hist if "median_distance" in h]
        ax.plot(gens, [h["median_distance"] for h in hist if "median_distance" in h], marker="o", label="median distance")
        ax.plot(gens, [h["min_distance"] for h in hist if "min_distance" in h], marker="s", label="best distance")
        tol = [(h["generation"], h["tolerance"]) for h in hist if np.isfinite(h["tolerance"])]
        if tol:
            ax.plot(*zip(*tol, strict=True), marker="^", label="tolerance")
        ax.set_xlabel("generation")
        ax.set_ylabel("objective")
        ax.legend()
        ax.set_title("ABC-SMC: tolerance and distances per generation")
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_marginals(problem, samples: np.ndarray, weights: np.ndarray | None, best: np.ndarray, path: Path, label: str) -> None:
    vals = problem.to_values(samples.T).T
    d = problem.dim
    cols = 4
    rows = int(np.ceil(d / cols))
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    lo, hi = problem.to_values(problem.lower), problem.to_values(problem.upper)
    for i, ax in enumerate(axes):
        if i >= d:
            ax.axis("off")
            continue
        ax.hist(vals[:, i], bins=20, range=(lo[i], hi[i]), weights=weights, color="#5d6d7e", alpha=0.8)
        ax.axvline(problem.to_values(best)[i], color="#c0392b", lw=1.5)
        ax.set_xlim(lo[i], hi[i])
        ax.set_title(problem.names[i], fontsize=9)
        ax.set_yticks([])
    fig.suptitle(f"{label} (x axis = prior bounds; red = best)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def plot_pairs(problem, samples: np.ndarray, weights: np.ndarray | None, path: Path) -> None:
    vals = problem.to_values(samples.T).T
    d = problem.dim
    fig = Figure(figsize=(1.6 * d, 1.6 * d))
    FigureCanvasAgg(fig)
    axes = fig.subplots(d, d, squeeze=False)
    size = 4 if weights is None else 40 * weights / weights.max()
    for i in range(d):
        for j in range(d):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == j:
                ax.hist(vals[:, i], bins=15, weights=weights, color="#5d6d7e")
            elif i > j:
                ax.scatter(vals[:, j], vals[:, i], s=size, alpha=0.5, color="#2471a3", lw=0)
            else:
                ax.axis("off")
                if len(vals) > 2:
                    r = np.corrcoef(vals[:, j], vals[:, i])[0, 1]
                    ax.text(0.5, 0.5, f"{r:+.2f}", ha="center", va="center", fontsize=9, color="#c0392b" if abs(r) > 0.5 else "black")
            if j == 0:
                ax.set_ylabel(problem.names[i], fontsize=7, rotation=0, ha="right")
            if i == d - 1:
                ax.set_xlabel(problem.names[j], fontsize=7, rotation=30, ha="right")
    fig.suptitle("Pairs (lower: samples; upper: correlation)", fontsize=10)
    _save(fig, path)


def predictive(problem, samples: np.ndarray, weights: np.ndarray | None, best_x: np.ndarray, path: Path, title: str) -> dict[str, Any]:
    """Posterior-predictive fan chart: each run draws a parameter set (ABC) or uses the best (DE)."""
    from sim.face.plots import plot_alignment
    from sim.workflows.run import KEY_SHOCKS

    st = problem._setup()
    scn, exo = st["scenario"], st["exo"]
    rng = np.random.default_rng(11)
    if weights is not None:
        idx = rng.choice(len(samples), size=PREDICTIVE_RUNS, p=weights / weights.sum())
        plist = [problem.params(samples[i]) for i in idx]
    else:
        plist = [problem.params(best_x)] * PREDICTIVE_RUNS
    th: Theta = stack_params(plist)
    seeds = np.array([run_seed(10_000 + problem.spec.seed, r) for r in range(PREDICTIVE_RUNS)])
    res = simulate(exo, th, st["rule"], batch_draws(seeds, exo.n_steps, N_CLIENTS), full=False)
    shares = np.stack([(res.stance == s).mean(axis=0) for s in range(N_STANCES)], axis=-1)
    status = np.stack([(res.status == s).mean(axis=0) for s in range(3)], axis=-1)
    cal = scn.calendar
    time = cal.years() + (cal.quarters() - 1) / 4.0
    targets = load_targets()
    tg = [{"actor": s.actor, "year_from": s.year_from, "year_to": s.year_to, "accepted": [["RUS", "WEST", "CHN", "NONALIGNED"][k] for k in s.accepted],
           "scored": "yes" if s.scored else "transition"} for s in targets.spans]
    ev = [{"actor": e.actor, "time": e.date.year + (e.date.month - 1) / 12, "label": e.label.split(";")[0][:40]} for e in targets.events]
    ks = [{"time": s.date.year + (s.date.month - 1) / 12, "label": KEY_SHOCKS[s.id]} for s in scn.shocks if s.id in KEY_SHOCKS]
    plot_alignment(time, shares, status, list(CLIENTS), tg, ev, ks, path, title=title)
    return {"runs": PREDICTIVE_RUNS}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def write_report(out: Path, problem, summary: dict[str, Any], result: dict[str, Any], best: ModelParams, samples, weights) -> None:
    method = summary["method"]
    plot_trace(summary, out / "trace.png")
    label = "ABC-SMC posterior" if method == "abc" else "Final differential-evolution population"
    plot_marginals(problem, samples, weights, result["x"], out / "marginals.png", label)
    plot_pairs(problem, samples, weights, out / "pairs.png")
    predictive(problem, samples, weights, result["x"], out / "predictive.png",
               title=f"{'Posterior' if method == 'abc' else 'Best-fit'} predictive: {PREDICTIVE_RUNS} runs, rule {summary['rule']}")
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
        lines.append(f"| `{n}` | {_fmt(summary['parameters'][n])} | {ps.bounds[0]}–{ps.bounds[1]} | {ps.prior} | {row['sd_ratio']:.2f} | {row['verdict']} |")
    lines += [
        "",
        "Spread is the " + ("posterior's weighted standard deviation" if method == "abc" else "final population's standard deviation (a weak proxy: DE populations contract only around the optimum it found)")
        + " divided by the prior's (in the optimiser's space); below 0.5 the data pin the parameter down, above 0.8 they barely move it.",
        "",
        "## Fit of the best parameters",
        "",
        "| measure | fitted window | whole history |",
        "|---|---|---|",
    ]
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
