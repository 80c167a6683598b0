"""The counterfactual figure: per client and stance, each alternative's difference from the base
scenario over time, with its 95% bootstrap band (``compare.png``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from sim.face.palette import STANCE_COLORS
from sim.face.plots.alignment import SAVE_OPTIONS
from sim.face.plots.figure import new_figure, save_png


def plot_compare(
    years: np.ndarray,
    names: Sequence[str],
    diff: np.ndarray,
    lo: np.ndarray | None,
    hi: np.ndarray | None,
    clients: Sequence[str],
    path: str | Path,
    title: str = "",
) -> None:
    """Difference fan charts: one row per client, one column per stance, one line per alternative.

    Args:
        years: ``[Y]`` calendar years (year-end values).
        names: The alternative scenarios' names (``A`` of them).
        diff: ``[A, Y, C, S]`` difference in the share of runs from the base scenario.
        lo, hi: ``[A, Y, C, S]`` 95% interval bounds, drawn as bands.
        clients: ``C`` client codes.
        path: Where to save the PNG (atomically).
        title: Figure title.
    """
    stances = list(STANCE_COLORS)
    n_rows, n_cols = len(clients), len(stances)
    fig = new_figure(3.2 * n_cols + 2.5, 2.1 * n_rows + 1.2, dpi=110)
    axes = fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
    palette = [f"C{i}" for i in range(10)]
    reach = max(0.1, float(np.abs(diff).max()) if diff.size else 0.0, float(np.abs(lo).max()) if lo is not None and lo.size else 0.0, float(np.abs(hi).max()) if hi is not None and hi.size else 0.0)
    for r, code in enumerate(clients):
        for k, stance in enumerate(stances):
            ax = axes[r][k]
            ax.axhline(0, color="black", lw=0.8)
            for a, name in enumerate(names):
                color = palette[a % len(palette)]
                ax.plot(years, diff[a, :, r, k], color=color, lw=1.4, label=name)
                if lo is not None and hi is not None:
                    ax.fill_between(years, lo[a, :, r, k], hi[a, :, r, k], color=color, alpha=0.15, lw=0)
            ax.set_ylim(-1.05 * reach, 1.05 * reach)
            ax.grid(alpha=0.3, lw=0.5)
            if r == 0:
                ax.set_title(f"share {stance}", color=STANCE_COLORS[stance], fontweight="bold")
            if k == 0:
                ax.set_ylabel(f"{code}\ndifference", fontweight="bold")
            if r == n_rows - 1:
                ax.set_xlabel("year")
    handles = [Line2D([], [], color=palette[a % len(palette)], lw=2) for a in range(len(names))]
    fig.legend(handles, list(names), loc="upper center", ncol=min(4, max(1, len(names))), frameon=False, bbox_to_anchor=(0.5, 0.985))
    if title:
        fig.suptitle(title, y=0.999, fontsize=11)
    fig.subplots_adjust(top=0.9 - 0.02 * ((len(names) - 1) // 4), hspace=0.15, wspace=0.08)
    save_png(fig, path, **SAVE_OPTIONS)
