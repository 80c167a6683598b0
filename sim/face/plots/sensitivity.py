"""Sweep figures: sensitivity indices per input for the headline outcomes (``sensitivity.png``) and
outcome-vs-input scatter plots per design point (``scatter.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.face.palette import SAMPLE_COLOR
from sim.face.plots.figure import new_figure, save_png


def plot_sensitivity(rows: list[dict[str, Any]], names: list[str], method: str | None, path: Path) -> None:
    """Bars of each input's index (Sobol S1/ST, Morris mu*, or Spearman) for four headline outcomes."""
    shown = ["share_UZB_RUS", "share_UZB_WEST", "share_UZB_NONALIGNED", "share_KAZ_RUS"]
    index = {"sobol": ("S1", "ST"), "morris": ("mu_star",), None: ("spearman",)}[method]
    fig = new_figure(4.0 * len(shown), 3.6)
    axes = fig.subplots(1, len(shown), sharey=True, squeeze=False)[0]
    width = 0.8 / len(index)
    for ax, o in zip(axes, shown, strict=True):
        for k, ix in enumerate(index):
            vals = [next((r["value"] for r in rows if r["outcome"] == o and r["input"] == n and r["index"] == ix), 0.0) for n in names]
            conf = [next((r["conf"] for r in rows if r["outcome"] == o and r["input"] == n and r["index"] == ix), "") for n in names]
            err = [c if c != "" else 0.0 for c in conf]
            ax.bar(np.arange(len(names)) + k * width, vals, width=width, yerr=err, capsize=3, label=ix)
        ax.set_xticks(np.arange(len(names)) + width * (len(index) - 1) / 2)
        ax.set_xticklabels([n.split(".")[-1] if n.count(".") < 2 else ".".join(n.split(".")[-2:]) for n in names], rotation=30, ha="right", fontsize=8)
        ax.set_title(o.replace("share_", "share of quarters: ").replace("_", " "), fontsize=9)
        ax.axhline(0, color="black", lw=0.6)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Sensitivity ({'Sobol indices, 95% CI' if method == 'sobol' else 'Morris mu*, 95% CI' if method == 'morris' else 'Spearman rank correlation'})", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=110)

def plot_scatter(X: np.ndarray, Y: dict[str, np.ndarray], names: list[str], path: Path) -> None:
    """Each headline outcome (mean over a point's replicates) against each input, one dot per design point."""
    shown = ["share_UZB_RUS", "share_UZB_NONALIGNED", "share_KAZ_RUS"]
    fig = new_figure(3.3 * len(names), 2.8 * len(shown))
    axes = fig.subplots(len(shown), len(names), squeeze=False)
    for i, o in enumerate(shown):
        for j, n in enumerate(names):
            ax = axes[i][j]
            ax.scatter(X[:, j], Y[o], s=6, alpha=0.6, color=SAMPLE_COLOR, lw=0)
            if i == len(shown) - 1:
                ax.set_xlabel(n, fontsize=8)
            if j == 0:
                ax.set_ylabel(o.replace("share_", ""), fontsize=8)
            ax.grid(alpha=0.3)
    fig.suptitle("Outcome (mean over replicates) vs input, per design point", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=100)


def plot_prim(trajectory: list[dict[str, Any]], chosen: int, limits: list[dict[str, Any]], outcome: str, path: Path) -> None:
    """PRIM's peeling trajectory (coverage against density, the chosen box marked) and the chosen
    box's limits on each input, drawn within the input's design range."""
    fig = new_figure(11.0, 4.2)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    cov = [r["coverage"] for r in trajectory]
    den = [r["density"] for r in trajectory]
    dims = [r["res_dim"] for r in trajectory]
    sc = left.scatter(cov, den, c=dims, cmap="viridis", s=28, zorder=3)
    left.plot(cov, den, color="#999", lw=0.8, zorder=2)
    c = next(r for r in trajectory if r["id"] == chosen)
    left.scatter([c["coverage"]], [c["density"]], s=140, facecolors="none", edgecolors="#c0392b", lw=2, zorder=4, label=f"box {chosen}")
    left.set_xlabel("coverage (share of the runs where it holds that the box contains)", fontsize=8)
    left.set_ylabel("density (share of the box's runs where it holds)", fontsize=8)
    left.set_xlim(0, 1.02)
    left.set_ylim(0, 1.02)
    left.grid(alpha=0.3)
    left.legend(fontsize=8, loc="lower left")
    fig.colorbar(sc, ax=left, label="inputs restricted")
    left.set_title("Peeling trajectory", fontsize=9)
    for i, lim in enumerate(limits):
        span = (lim["design_high"] - lim["design_low"]) or 1.0
        lo, hi = (lim["low"] - lim["design_low"]) / span, (lim["high"] - lim["design_low"]) / span
        right.barh(i, 1.0, left=0.0, color="#eee", edgecolor="#bbb")
        right.barh(i, hi - lo, left=lo, color="#c0392b" if lim["restricted"] else "#e6b0aa")
        right.text(lo, i + 0.36, f"{lim['low']:.6g}", fontsize=7, ha="left", va="top")  # below the bar (the axis is inverted)
        right.text(hi, i - 0.36, f"{lim['high']:.6g}", fontsize=7, ha="right", va="bottom")  # above it
    right.set_yticks(range(len(limits)))
    right.set_yticklabels([lim["input"] for lim in limits], fontsize=8)
    right.set_xlim(-0.02, 1.02)
    right.set_xticks([0, 1])
    right.set_xticklabels(["design low", "design high"], fontsize=8)
    right.invert_yaxis()
    right.set_title(f"Box {chosen}: coverage {c['coverage']:.2f}, density {c['density']:.2f} (dark: restricted)", fontsize=9)
    fig.suptitle(f"Scenario discovery (PRIM): where '{outcome}' holds", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
