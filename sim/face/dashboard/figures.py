"""The dashboard's drawings (matplotlib, object-oriented: no pyplot, no display): stance shares over
time, a tile map of the republics, de jure vs de facto, and one Mesa run stepped quarter by quarter."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.face.dashboard.results import year_index
from sim.face.palette import CLIENT_NAMES, STANCE_COLORS, STANCE_LABELS, STATUS_COLORS, STATUS_LABELS, STATUS_NAMES
from sim.face.plots.figure import new_figure
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_STANCES, STANCES
from sim.kernel.timeline import decimal_date


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

def figure_shares(result: dict[str, Any], year: int | None = None) -> Figure:
    """Stance shares over time per client, with history's accepted stances, events and shocks marked.

    One panel per client: the stacked share of replicates in each stance every quarter; above it a
    strip of the stances history accepts (hatched: transition years, not scored); dashed black lines
    for history's realignments, dotted grey lines for the key shocks, a thin black line for the share
    in a paper alliance with Russia, and the chosen ``year`` shaded.
    """
    t = result["time"]
    shares = result["shares"]
    paper = result["status_shares"][:, :, STATUS_NAMES.index("paper")]
    targets = result["targets"]
    fig = new_figure(8.6, 9.2)
    axes = fig.subplots(N_CLIENTS, 1, sharex=True)
    fig.subplots_adjust(left=0.11, right=0.985, top=0.84, bottom=0.05, hspace=0.32)
    colors = [STANCE_COLORS[s] for s in STANCES]
    for c, (ax, code) in enumerate(zip(axes, CLIENTS, strict=True)):
        ax.stackplot(t, shares[:, c, :].T, colors=colors, linewidth=0, zorder=2)
        ax.plot(t, paper[:, c], color="black", lw=1.0, zorder=4)
        spans = [s for s in targets.spans if s.actor == code]
        for s in spans:
            acc = [k for k in range(N_STANCES) if k in s.accepted]
            h = 0.13 / max(len(acc), 1)
            for i, k in enumerate(acc):
                ax.add_patch(
                    Rectangle(
                        (s.year_from, 1.035 + i * h), s.year_to + 1 - s.year_from, h, facecolor=STANCE_COLORS[STANCES[k]],
                        edgecolor="white", lw=0.6, hatch=None if s.scored else "////", clip_on=False, zorder=3,
                    )
                )
        if not spans:
            ax.text(1992.0, 1.10, "no historical targets: out-of-sample check", fontsize=8, color="#555", va="center")
        for n, ev in enumerate(e for e in targets.events if e.actor == code):
            x = decimal_date(ev.date)
            ax.axvline(x, color="black", ls="--", lw=1.0, zorder=5)
            ax.text(x + 0.12, 0.05 + 0.22 * (n % 2), f"→{ev.to_stance}", fontsize=7.5, color="black", zorder=6,
                    bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 0.6})
        for sh in result["shocks"]:
            ax.axvline(sh["time"], color="#566573", ls=":", lw=1.0, zorder=5)
        if year is not None:
            ax.axvspan(year, year + 1, color="black", alpha=0.10, zorder=3, lw=0)
        ax.set_ylim(0, 1.18)
        ax.set_xlim(1991.75, 2017)
        ax.set_yticks([0, 0.5, 1])
        ax.set_yticklabels(["0", ".5", "1"], fontsize=8)
        ax.set_ylabel(CLIENT_NAMES[code], fontsize=10.5, fontweight="bold")
        ax.tick_params(axis="x", labelsize=9.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for sh in result["shocks"]:
        axes[0].text(sh["time"], 1.22, sh["label"], rotation=90, fontsize=8.5, color="#34495e", ha="left", va="bottom",
                     transform=axes[0].get_xaxis_transform())
    handles = [Patch(facecolor=STANCE_COLORS[s], label=STANCE_LABELS[s]) for s in STANCES]
    handles += [
        Line2D([], [], color="black", lw=1.0, label="share in paper alliance"),
        Line2D([], [], color="black", ls="--", lw=1.0, label="history's realignment"),
        Line2D([], [], color="#566573", ls=":", lw=1.0, label="key shock"),
        Patch(facecolor="#ccc", hatch="////", edgecolor="white", label="strip: stances history accepts"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=9, frameon=False, bbox_to_anchor=(0.53, 1.0))
    return fig

# Tile map: five republics roughly where they lie (x west->east, y south->north).
_TILES = {
    "KAZ": (0.0, 2.05, 4.6, 1.35),
    "TKM": (0.0, 0.0, 1.45, 1.95),
    "UZB": (1.55, 0.55, 1.55, 1.4),
    "KGZ": (3.2, 1.05, 1.4, 0.9),
    "TJK": (3.2, 0.0, 1.4, 0.95),
}

def figure_map(shares: np.ndarray, status: np.ndarray | None, title: str) -> Figure:
    """A tile map of the five republics coloured by their modal stance.

    Args:
        shares: ``[C, 4]`` share of replicates in each stance (one-hot for a single run).
        status: ``[C, 3]`` alliance-status shares (none, true, paper), or ``None``.
        title: Drawn above the map.
    """
    fig = new_figure(5.4, 4.0)
    ax = fig.add_axes([0.02, 0.02, 0.96, 0.84])
    for c, code in enumerate(CLIENTS):
        x, y, w, h = _TILES[code]
        k = int(np.argmax(shares[c]))
        top = float(shares[c, k])
        ax.add_patch(Rectangle((x, y), w, h, facecolor=STANCE_COLORS[STANCES[k]], alpha=0.35 + 0.65 * top, edgecolor="white", lw=3))
        # a bar of all four shares along the tile's bottom
        bx = x + 0.08
        ax.add_patch(Rectangle((bx, y + 0.08), w - 0.16, 0.16, facecolor="none", edgecolor="#2c3e50", lw=0.8, zorder=3))
        for s in range(N_STANCES):
            bw = (w - 0.16) * float(shares[c, s])
            ax.add_patch(Rectangle((bx, y + 0.08), bw, 0.16, facecolor=STANCE_COLORS[STANCES[s]], edgecolor="white", lw=0.5))
            bx += bw
        label = f"{CLIENT_NAMES[code]}\n{STANCE_LABELS[STANCES[k]]} {top:.0%}"
        if status is not None and status[c, STATUS_NAMES.index("paper")] >= 0.5:
            label += "\n(paper ally of Russia)"
        ax.text(x + w / 2, y + h / 2 + 0.1, label, ha="center", va="center", fontsize=9, color="white" if top > 0.5 else "black",
                fontweight="bold")
    for text, xy, rot in (("RUSSIA", (2.3, 3.55), 0), ("CHINA", (4.75, 1.7), 90), ("AFGHANISTAN", (2.3, -0.2), 0), ("CASPIAN", (-0.17, 1.0), 90)):
        ax.text(*xy, text, ha="center", va="center", fontsize=8, color="#7f8c8d", rotation=rot)
    ax.set_xlim(-0.3, 4.9)
    ax.set_ylim(-0.35, 3.7)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle(title, fontsize=10, fontweight="bold", y=0.985)
    handles = [Patch(facecolor=STANCE_COLORS[s], label=STANCE_LABELS[s]) for s in STANCES]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=7.5, frameon=False, bbox_to_anchor=(0.5, 0.93))
    return fig

def figure_alliance(result: dict[str, Any], year: int) -> Figure:
    """De jure vs de facto: per client, the share of replicates in a true, paper or no alliance with Russia at ``year``'s end."""
    i = year_index(result, year)
    st = result["year_end_status"][i]
    fig = new_figure(5.4, 2.7)
    ax = fig.add_axes([0.2, 0.27, 0.77, 0.62])
    order = ("true", "paper", "none")
    for c in range(N_CLIENTS):
        left = 0.0
        for name in order:
            v = float(st[c, STATUS_NAMES.index(name)])
            ax.barh(c, v, left=left, color=STATUS_COLORS[name], edgecolor="white", height=0.7)
            if v >= 0.12:
                ax.text(left + v / 2, c, f"{v:.0%}", ha="center", va="center", fontsize=8, color="white" if name == "true" else "black")
            left += v
    ax.set_yticks(range(N_CLIENTS))
    ax.set_yticklabels([CLIENT_NAMES[c] for c in CLIENTS], fontsize=8.5)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1])
    ax.set_xticklabels(["0", "50%", "100%"], fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Alliance with Russia, end of {int(result['years'][i])}", fontsize=10, fontweight="bold")
    handles = [Patch(facecolor=STATUS_COLORS[n], label=STATUS_LABELS[n]) for n in order]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7.2, frameon=False, bbox_to_anchor=(0.5, -0.01))
    return fig

def _single_run_state(model: Any) -> tuple[int, np.ndarray, str]:
    t = int(model.step_index)
    cal = model.calendar
    if t == 0:
        return t, np.asarray(model.exo.initial_stance, dtype=int), f"{cal.start} (start)"
    return t, np.asarray(model.result.stance[0, t - 1], dtype=int), f"{int(cal.years()[t - 1])}Q{int(cal.quarters()[t - 1])}"

def figure_single_run_map(model: Any) -> Figure:
    """One Mesa run (a :class:`sim.face.dashboard.app.SingleRun`): the tile map of the quarter it has reached."""
    t, current, when = _single_run_state(model)
    fig = new_figure(6.4, 3.3)
    ax = fig.add_axes([0.0, 0.0, 1.0, 0.88])
    for c, code in enumerate(CLIENTS):
        x, y, w, h = _TILES[code]
        k = int(current[c])
        ax.add_patch(Rectangle((x, y), w, h, facecolor=STANCE_COLORS[STANCES[k]], edgecolor="white", lw=3))
        ax.text(x + w / 2, y + h / 2, f"{CLIENT_NAMES[code]}\n{STANCE_LABELS[STANCES[k]]}", ha="center", va="center", fontsize=9,
                color="white", fontweight="bold")
    ax.set_xlim(-0.3, 4.9)
    ax.set_ylim(-0.1, 3.45)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle(f"Replicate {getattr(model, 'replicate', 0)}, {when} (step {t} of {model.n_steps})", fontsize=10, fontweight="bold", y=0.99)
    return fig

def figure_single_run_path(model: Any) -> Figure:
    """One Mesa run (a :class:`sim.face.dashboard.app.SingleRun`): each client's stance every quarter so far."""
    t = int(model.step_index)
    cal = model.calendar
    fig = new_figure(6.4, 3.3)
    ax = fig.add_axes([0.2, 0.2, 0.76, 0.66])
    x = cal.decimal_years()
    for c in range(N_CLIENTS):
        for s in range(t):
            ax.add_patch(Rectangle((x[s], c - 0.4), 0.25, 0.8, facecolor=STANCE_COLORS[STANCES[int(model.result.stance[0, s, c])]], lw=0))
    ax.set_xlim(x[0], x[-1] + 0.25)
    ax.set_ylim(N_CLIENTS - 0.5, -0.5)
    ax.set_yticks(range(N_CLIENTS))
    ax.set_yticklabels([CLIENT_NAMES[c] for c in CLIENTS], fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    if t == 0:
        ax.text((x[0] + x[-1]) / 2, (N_CLIENTS - 1) / 2, f"{cal.start} not run yet:\npress Step or \u25b6 to run the first quarter",
                ha="center", va="center", fontsize=10, color="#555")
    ax.set_title("Stance each quarter so far (same replicate)", fontsize=10, fontweight="bold")
    handles = [Patch(facecolor=STANCE_COLORS[s], label=STANCE_LABELS[s]) for s in STANCES]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7.5, frameon=False, bbox_to_anchor=(0.55, 0.0))
    return fig
