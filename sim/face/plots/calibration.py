"""Calibration and validation figures: the loss trace, marginals and pairs of the parameters, and
the reliability of the stance probabilities. ``problem`` is a
:class:`sim.workflows.calibrate.problem.Problem` (names, bounds, ``to_values``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.face.palette import HIST_COLOR, MODEL_COLOR, SAMPLE_COLOR
from sim.face.plots.figure import new_figure, save_png


def plot_trace(summary: dict[str, Any], path: Path) -> None:
    """The loss per generation: DE's best objective (the polish's, per evaluation), or ABC-SMC's tolerance and distances."""
    fig = new_figure(6.5, 3.6)
    ax = fig.subplots()
    hist = summary["history"] or []
    if summary["method"] in ("de", "polish"):
        polish = summary["method"] == "polish"
        ax.plot([h["generation"] for h in hist], [h["best"] for h in hist], marker="o", ms=3, drawstyle="steps-post" if polish else "default")
        ax.set_ylabel("best objective")
        ax.set_xlabel("evaluation" if polish else "generation")
        ax.set_title("Nelder-Mead polish: best objective so far" if polish else "Differential evolution: best objective per generation")
    else:
        gens = [h["generation"] for h in hist if "median_distance" in h]
        ax.plot(gens, [h["median_distance"] for h in hist if "median_distance" in h], marker="o", label="median distance")
        ax.plot(gens, [h["min_distance"] for h in hist if "min_distance" in h], marker="s", label="best distance")
        tol = [(h["generation"], h["tolerance"]) for h in hist if np.isfinite(h.get("tolerance", np.nan))]
        if tol:
            ax.plot(*zip(*tol, strict=True), marker="^", label="tolerance")
        ax.set_xlabel("generation")
        ax.set_ylabel("objective")
        ax.legend()
        ax.set_title(f"{'pyabc ' if summary['method'] == 'pyabc' else ''}ABC-SMC: tolerance and distances per generation")
    ax.grid(alpha=0.3)
    save_png(fig, path, dpi=110, bbox_inches="tight", facecolor="white")

def plot_marginals(problem: Any, samples: np.ndarray, weights: np.ndarray | None, best: np.ndarray, path: Path, label: str) -> None:
    """Each parameter's (weighted) histogram over its prior bounds, the best value marked."""
    vals = problem.to_values(samples.T).T
    d = problem.dim
    cols = 4
    rows = int(np.ceil(d / cols))
    fig = new_figure(3.2 * cols, 2.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    lo, hi = problem.to_values(problem.lower), problem.to_values(problem.upper)
    for i, ax in enumerate(axes):
        if i >= d:
            ax.axis("off")
            continue
        ax.hist(vals[:, i], bins=20, range=(lo[i], hi[i]), weights=weights, color=HIST_COLOR, alpha=0.8)
        ax.axvline(problem.to_values(best)[i], color=MODEL_COLOR, lw=1.5)
        ax.set_xlim(lo[i], hi[i])
        ax.set_title(problem.names[i], fontsize=9)
        ax.set_yticks([])
    fig.suptitle(f"{label} (x axis = prior bounds; red = best)", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=110, bbox_inches="tight", facecolor="white")

def plot_pairs(problem: Any, samples: np.ndarray, weights: np.ndarray | None, path: Path) -> None:
    """Pairs of parameters: samples below the diagonal, correlations above."""
    vals = problem.to_values(samples.T).T
    d = problem.dim
    fig = new_figure(1.6 * d, 1.6 * d)
    axes = fig.subplots(d, d, squeeze=False)
    size = 4 if weights is None else 40 * weights / weights.max()
    for i in range(d):
        for j in range(d):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == j:
                ax.hist(vals[:, i], bins=15, weights=weights, color=HIST_COLOR)
            elif i > j:
                ax.scatter(vals[:, j], vals[:, i], s=size, alpha=0.5, color=SAMPLE_COLOR, lw=0)
            else:
                ax.axis("off")
                if len(vals) > 2 and vals[:, j].std() > 0 and vals[:, i].std() > 0:
                    r = np.corrcoef(vals[:, j], vals[:, i])[0, 1]
                    ax.text(0.5, 0.5, f"{r:+.2f}", ha="center", va="center", fontsize=9, color=MODEL_COLOR if abs(r) > 0.5 else "black")
            if j == 0:
                ax.set_ylabel(problem.names[i], fontsize=7, rotation=0, ha="right")
            if i == d - 1:
                ax.set_xlabel(problem.names[j], fontsize=7, rotation=30, ha="right")
    fig.suptitle("Pairs (lower: samples; upper: correlation)", fontsize=10)
    save_png(fig, path, dpi=110, bbox_inches="tight", facecolor="white")


def plot_reliability(rel: list[tuple[float, float]], path: Path) -> None:
    """Predicted probability of a stance against how often history took it, in five bins."""
    p = np.array([r[0] for r in rel])
    o = np.array([r[1] for r in rel])
    bins = np.linspace(0, 1, 6)
    idx = np.clip(np.digitize(p, bins) - 1, 0, 4)
    fig = new_figure(4.5, 4.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
    xs = [p[idx == b].mean() for b in range(5) if (idx == b).any()]
    ys = [o[idx == b].mean() for b in range(5) if (idx == b).any()]
    ns = [int((idx == b).sum()) for b in range(5) if (idx == b).any()]
    ax.plot(xs, ys, marker="o", color=MODEL_COLOR, label="model")
    for x, y, n in zip(xs, ys, ns, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("predicted probability of a stance (year end)")
    ax.set_ylabel("observed frequency (history)")
    ax.set_title("Reliability on scored single-stance years", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_png(fig, path, dpi=110, bbox_inches="tight")
