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
