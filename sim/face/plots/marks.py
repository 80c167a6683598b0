"""The history drawn on the alignment figure: the strip of accepted stances above each panel,
the realignment events and the key shocks, and the figure geometry their labels are fitted to."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from matplotlib.transforms import blended_transform_factory

from sim.face.palette import SHOCK_COLOR, STANCE_COLORS, STANCE_SHORT
from sim.kernel.actors import STANCES

_X_MIN, _X_MAX = 1991.0, 2017.0

_FIG_SIZE = (12.0, 13.0)

_DPI = 120

_LEFT, _RIGHT, _BOTTOM, _TOP = 0.085, 0.985, 0.045, 0.835

_STRIP_RATIO = 0.12  # height of the history strip relative to its main panel

_EVENT_FONT = 7.0

_SHOCK_FONT = 8.0


def _ordered_stances(accepted: str | Sequence[str]) -> list[str]:
    """Normalise a target's accepted stances to canonical order.

    Args:
        accepted: A list of stance names, or a single name / ``|``-separated string.

    Returns:
        The accepted stance names in RUS, WEST, CHN, NONALIGNED order.

    Raises:
        ValueError: If a name is not a stance.
    """
    names = accepted.split("|") if isinstance(accepted, str) else [str(a) for a in accepted]
    names = [n.strip().upper() for n in names if n.strip()]
    unknown = sorted(set(names) - set(STANCES))
    if unknown:
        raise ValueError(f"unknown stance(s) in target: {unknown}; expected some of {list(STANCES)}")
    return [s for s in STANCES if s in names]

def _is_transition(row: dict) -> bool:
    """Whether a target row is a transition span (any listed stance accepted, not scored strictly)."""
    scored = row.get("scored", "yes")
    if isinstance(scored, bool):
        return not scored
    return str(scored).strip().lower() in {"transition", "no", "false"}

def draw_history_strip(ax: Axes, rows: list[dict]) -> None:
    """Fill the thin axis above a panel with the historically accepted stances of each target span.

    Args:
        ax: The strip axis (y from 0 to 1).
        rows: The target rows of this client.
    """
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([])
    ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    if not rows:
        ax.text(
            0.5,
            0.5,
            "no targets (out-of-sample)",
            transform=ax.transAxes,
            ha="center",
            va="center",
            style="italic",
            fontsize=9,
            color="#555555",
            zorder=10,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )
        return
    ax.text(-0.006, 0.5, "history", transform=ax.transAxes, ha="right", va="center", fontsize=8, color="#333333")
    for row in rows:
        x0 = float(row["year_from"])
        width = float(row["year_to"]) + 1.0 - x0
        stances = _ordered_stances(row.get("accepted", []))
        if not stances or width <= 0:
            continue
        transition = _is_transition(row)
        height = 1.0 / len(stances)
        for i, stance in enumerate(stances):
            y0 = 1.0 - (i + 1) * height  # first stance on top
            ax.add_patch(
                Rectangle(
                    (x0, y0),
                    width,
                    height,
                    facecolor=STANCE_COLORS[stance],
                    edgecolor="none",
                    alpha=0.55 if transition else 1.0,
                    zorder=2,
                )
            )
        if transition:
            ax.add_patch(
                Rectangle((x0, 0.0), width, 1.0, facecolor="none", edgecolor="#222222", hatch="////", lw=0.0, zorder=3)
            )
        ax.add_patch(Rectangle((x0, 0.0), width, 1.0, facecolor="none", edgecolor="white", lw=0.8, zorder=4))
        candidates = ["transition"] if transition else ["/".join(stances), "/".join(STANCE_SHORT[s] for s in stances)]
        # only annotate spans wide enough to hold the text (about 0.16 years per character at 6.5 pt)
        label = next((t for t in candidates if width >= 0.16 * len(t) + 0.2), None)
        if label is not None:
            ax.text(
                x0 + width / 2,
                0.5,
                label,
                ha="center",
                va="center",
                fontsize=6.5,
                color="white",
                fontweight="bold",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "black", "alpha": 0.35, "lw": 0},
            )

def draw_events(ax: Axes, rows: list[dict], panel_height_pt: float) -> None:
    """Dashed vertical lines with rotated, wrapped labels for one client's realignment events.

    Args:
        ax: The main panel.
        rows: The event rows of this client.
        panel_height_pt: Height of the main panel in points, used to wrap labels so they fit.
    """
    if not rows:
        return
    max_chars = max(8, int(0.80 * panel_height_pt / (0.55 * _EVENT_FONT)))
    years_per_pt = (_X_MAX - _X_MIN) / ((_RIGHT - _LEFT) * _FIG_SIZE[0] * 72.0)
    min_gap = 1.3 * _EVENT_FONT * years_per_pt  # horizontal room one rotated line needs
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    last_right = -np.inf
    for row in sorted(rows, key=lambda r: float(r["time"])):
        t = float(row["time"])
        ax.axvline(t, color="black", ls="--", lw=1.0, zorder=6)
        lines = textwrap.wrap(str(row.get("label", "")), width=max_chars, max_lines=2, placeholder="...")
        if not lines:
            continue
        x = max(t + 0.08, last_right)  # nudge right if the previous label is too close
        ax.text(
            x,
            0.97,
            "\n".join(lines),
            transform=trans,
            rotation=90,
            ha="left",
            va="top",
            fontsize=_EVENT_FONT,
            zorder=7,
            linespacing=1.0,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "lw": 0},
        )
        last_right = x + min_gap * len(lines) + 0.1

def label_shocks(ax: Axes, key_shocks: Sequence[dict]) -> None:
    """Label the key shocks once, above the top strip, staggering labels that would collide.

    Args:
        ax: The top strip axis.
        key_shocks: Shock rows with ``time`` and ``label``.
    """
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    years_per_char = 0.58 * _SHOCK_FONT * (_X_MAX - _X_MIN) / ((_RIGHT - _LEFT) * _FIG_SIZE[0] * 72.0)
    level_right: list[float] = []  # right edge (in years) of the last label on each level
    for shock in sorted(key_shocks, key=lambda s: float(s["time"])):
        t = float(shock["time"])
        label = str(shock.get("label", ""))
        half = 0.5 * len(label) * years_per_char + 0.1
        level = next((i for i, right in enumerate(level_right) if t - half > right), len(level_right))
        if level == len(level_right):
            level_right.append(-np.inf)
        level_right[level] = t + half
        y = 1.15 + 1.6 * level
        ax.plot([t, t], [1.0, y], transform=trans, color=SHOCK_COLOR, ls=":", lw=1.0, clip_on=False)
        ax.text(
            t,
            y,
            label,
            transform=trans,
            ha="center",
            va="bottom",
            fontsize=_SHOCK_FONT,
            color="#555555",
            style="italic",
            clip_on=False,
        )
