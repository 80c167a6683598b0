"""One-picture summary of an ensemble run: simulated stance shares per client against the historical record.

The only public function is :func:`plot_alignment`. It draws with the object-oriented matplotlib API
(:class:`~matplotlib.figure.Figure` plus the Agg canvas), so it never needs a display and never touches
pyplot's global state.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MultipleLocator
from matplotlib.transforms import blended_transform_factory

__all__ = ["plot_alignment"]

STANCES: tuple[str, ...] = ("RUS", "WEST", "CHN", "NONALIGNED")
STANCE_COLORS: dict[str, str] = {"RUS": "#c0392b", "WEST": "#2471a3", "CHN": "#d4ac0d", "NONALIGNED": "#95a5a6"}
_STANCE_SHORT: dict[str, str] = {"RUS": "RUS", "WEST": "WEST", "CHN": "CHN", "NONALIGNED": "NA"}
_STATUSES = 3  # alliance status with Russia: none, true, paper
_PAPER = 2

_X_MIN, _X_MAX = 1991.0, 2017.0
_FIG_SIZE = (12.0, 13.0)
_DPI = 120
_LEFT, _RIGHT, _BOTTOM, _TOP = 0.085, 0.985, 0.045, 0.835
_STRIP_RATIO = 0.12  # height of the history strip relative to its main panel
_EVENT_FONT = 7.0
_SHOCK_FONT = 8.0
_SHOCK_COLOR = "#7f8c8d"


def plot_alignment(
    time: np.ndarray,
    shares: np.ndarray,
    status_shares: np.ndarray,
    clients: Sequence[str],
    targets: Sequence[dict],
    events: Sequence[dict],
    key_shocks: Sequence[dict],
    path: str | Path,
    title: str = "",
    band: np.ndarray | None = None,
) -> None:
    """Draw the alignment of every client over time against history and save it as a PNG.

    One row per client, all sharing the x axis 1991-2017. Each row has a stacked area chart of the share of
    replicates in each stance (RUS, WEST, CHN, NONALIGNED) with a thin black line for the share of replicates
    whose alliance with Russia is "paper" (de jure, not de facto). Above each panel a thin strip shows the
    historically accepted stance(s) of every target span (split vertically when several are accepted, hatched
    for transition spans); clients without targets get an "out-of-sample" note instead. Realignment events are
    dashed black vertical lines with rotated labels; key shocks are dotted grey lines on every panel, labelled
    once above the top panel. The file is written atomically (temporary file in the same directory, then
    ``os.replace``).

    Args:
        time: ``[T]`` decimal years of each quarterly step, e.g. 1991.75, 1992.0, ..., 2016.75.
        shares: ``[T, C, 4]`` share of replicates in each stance per step and client, stance order RUS, WEST,
            CHN, NONALIGNED.
        status_shares: ``[T, C, 3]`` share of replicates by alliance status with Russia, order none, true, paper.
        clients: The ``C`` client codes, in the order of the second axis of ``shares``.
        targets: Historical target rows, each ``{"actor", "year_from", "year_to", "accepted", "scored"}`` where
            ``accepted`` is a list of stance names and ``scored`` is ``"yes"`` or ``"transition"``. Spans are
            inclusive of both years. Rows for actors not in ``clients`` are ignored.
        events: Historical realignment events, each ``{"actor", "time", "label"}`` with ``time`` a decimal year.
        key_shocks: Shocks marked on every panel, each ``{"time", "label"}``.
        path: Where to save the PNG; the parent directory is created if missing.
        title: Optional figure title.
        band: Optional ``[T, C, 4, 2]`` lower/upper 95% interval of each share. Drawn as thin lines in a darker
            shade of the stance colour, offset by the stacked base of that stance (so the lines bracket the
            upper edge of the stance's area).

    Raises:
        ValueError: If the array shapes disagree with each other or with ``clients``, or a target names an
            unknown stance.
    """
    time, shares, status_shares, band = _validate(time, shares, status_shares, clients, band)
    clients = [str(c) for c in clients]
    n_clients = len(clients)

    fig = Figure(figsize=_FIG_SIZE, dpi=_DPI)
    FigureCanvasAgg(fig)
    outer = fig.add_gridspec(n_clients, 1, left=_LEFT, right=_RIGHT, bottom=_BOTTOM, top=_TOP, hspace=0.30)

    mains: list[Axes] = []
    strips: list[Axes] = []
    for c in range(n_clients):
        inner = outer[c].subgridspec(2, 1, height_ratios=[_STRIP_RATIO, 1.0], hspace=0.04)
        share_x = mains[0] if mains else None
        strip = fig.add_subplot(inner[0], sharex=share_x)
        main = fig.add_subplot(inner[1], sharex=strip)
        strips.append(strip)
        mains.append(main)

    panel_height_pt = mains[0].get_position().height * _FIG_SIZE[1] * 72.0
    for c, code in enumerate(clients):
        main, strip = mains[c], strips[c]
        _draw_shares(main, time, shares[:, c, :], None if band is None else band[:, c, :, :])
        main.plot(time, status_shares[:, c, _PAPER], color="black", lw=1.0, zorder=4)
        _draw_history_strip(strip, [t for t in targets if str(t.get("actor")) == code])
        for shock in key_shocks:
            for ax in (main, strip):
                ax.axvline(float(shock["time"]), color=_SHOCK_COLOR, ls=":", lw=1.0, zorder=5)
        _draw_events(main, [e for e in events if str(e.get("actor")) == code], panel_height_pt)
        _style_panel(main, strip, code, last=c == n_clients - 1)

    _label_shocks(strips[0], key_shocks)
    _add_legend(fig, band is not None)
    if title:
        fig.suptitle(title, x=0.5, y=0.995, fontsize=13, fontweight="bold", va="top")
    _save_atomic(fig, Path(path))


def _validate(
    time: np.ndarray,
    shares: np.ndarray,
    status_shares: np.ndarray,
    clients: Sequence[str],
    band: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Coerce the arrays to float and check their shapes against each other.

    Args:
        time: ``[T]`` decimal years.
        shares: ``[T, C, 4]`` stance shares.
        status_shares: ``[T, C, 3]`` alliance status shares.
        clients: ``C`` client codes.
        band: Optional ``[T, C, 4, 2]`` intervals.

    Returns:
        The four arrays as float ``numpy`` arrays (``band`` stays ``None`` if not given).

    Raises:
        ValueError: On any shape mismatch or an empty client list.
    """
    time = np.asarray(time, dtype=float)
    shares = np.asarray(shares, dtype=float)
    status_shares = np.asarray(status_shares, dtype=float)
    n_clients = len(clients)
    if n_clients == 0:
        raise ValueError("plot_alignment needs at least one client")
    if time.ndim != 1 or time.size == 0:
        raise ValueError(f"time must be a non-empty 1-D array, got shape {time.shape}")
    n_steps = time.shape[0]
    expected = {
        "shares": (shares, (n_steps, n_clients, len(STANCES))),
        "status_shares": (status_shares, (n_steps, n_clients, _STATUSES)),
    }
    if band is not None:
        band = np.asarray(band, dtype=float)
        expected["band"] = (band, (n_steps, n_clients, len(STANCES), 2))
    for name, (arr, shape) in expected.items():
        if arr.shape != shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected {shape} (T={n_steps}, C={n_clients})")
    return time, shares, status_shares, band


def _darker(color: str, factor: float = 0.6) -> tuple[float, float, float]:
    """Return ``color`` with its RGB channels scaled by ``factor``."""
    r, g, b = to_rgb(color)
    return (r * factor, g * factor, b * factor)


def _draw_shares(ax: Axes, time: np.ndarray, shares: np.ndarray, band: np.ndarray | None) -> None:
    """Stacked area of one client's stance shares, with optional interval edges.

    Args:
        ax: The main panel.
        time: ``[T]`` decimal years.
        shares: ``[T, 4]`` stance shares.
        band: Optional ``[T, 4, 2]`` lower/upper interval of each share.
    """
    values = np.nan_to_num(shares, nan=0.0).clip(0.0, None)
    ax.stackplot(time, values.T, colors=[STANCE_COLORS[s] for s in STANCES], linewidth=0.0, zorder=2)
    if band is None:
        return
    base = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)[:, :-1]], axis=1)
    for k, stance in enumerate(STANCES):
        for edge in (0, 1):
            y = np.clip(base[:, k] + band[:, k, edge], 0.0, 1.0)
            ax.plot(time, y, color=_darker(STANCE_COLORS[stance]), lw=0.5, alpha=0.6, zorder=3)


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


def _draw_history_strip(ax: Axes, rows: list[dict]) -> None:
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
        candidates = ["transition"] if transition else ["/".join(stances), "/".join(_STANCE_SHORT[s] for s in stances)]
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


def _draw_events(ax: Axes, rows: list[dict], panel_height_pt: float) -> None:
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


def _label_shocks(ax: Axes, key_shocks: Sequence[dict]) -> None:
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
        ax.plot([t, t], [1.0, y], transform=trans, color=_SHOCK_COLOR, ls=":", lw=1.0, clip_on=False)
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


def _style_panel(main: Axes, strip: Axes, code: str, last: bool) -> None:
    """Axis limits, ticks, grid and client label of one row.

    Args:
        main: The main panel.
        strip: The history strip above it.
        code: The client code.
        last: Whether this is the bottom row (which carries the x tick labels).
    """
    main.set_xlim(_X_MIN, _X_MAX)
    main.set_ylim(0.0, 1.0)
    main.set_ylabel("share of runs", fontsize=9)
    main.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
    main.tick_params(labelsize=8)
    main.xaxis.set_major_locator(MultipleLocator(2))
    main.xaxis.set_minor_locator(MultipleLocator(1))
    main.grid(axis="x", which="major", color="white", lw=0.5, alpha=0.3, zorder=2.5)
    main.set_axisbelow(False)
    main.tick_params(axis="x", labelbottom=last)
    if last:
        main.set_xlabel("year", fontsize=10)
    main.text(
        -0.062,
        0.5,
        code,
        transform=main.transAxes,
        rotation=90,
        ha="center",
        va="center",
        fontsize=14,
        fontweight="bold",
    )
    strip.set_xlim(_X_MIN, _X_MAX)


def _add_legend(fig: Figure, with_band: bool) -> None:
    """Shared legends at the top of the figure: the stances on one row, the line and strip styles below.

    Args:
        fig: The figure.
        with_band: Whether interval lines were drawn.
    """
    stances = [Patch(facecolor=STANCE_COLORS[s], label=s) for s in STANCES]
    fig.legend(
        handles=stances,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.968),
        ncol=len(STANCES),
        fontsize=10.5,
        frameon=False,
        handlelength=2.5,
        columnspacing=2.5,
        title="simulated stance (stacked area = share of runs)",
        title_fontsize=9.5,
    )
    marks: list[Patch | Line2D] = [
        Line2D([], [], color="black", lw=1.0, label="paper alliance with Russia (de jure, not de facto)"),
        Line2D([], [], color="black", ls="--", lw=1.0, label="historical realignment event"),
        Line2D([], [], color=_SHOCK_COLOR, ls=":", lw=1.2, label="key shock"),
        Patch(
            facecolor="#dddddd",
            edgecolor="#222222",
            hatch="////",
            lw=0.0,
            label="history strip: transition span (any listed stance)",
        ),
    ]
    if with_band:
        marks.append(Line2D([], [], color="#555555", lw=0.6, label="95% interval of each share"))
    fig.legend(
        handles=marks,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.925),
        ncol=2 if len(marks) == 4 else 3,
        fontsize=9,
        frameon=False,
        handlelength=2.2,
        columnspacing=1.8,
    )
    fig.text(
        0.5,
        0.882,
        "strip above each panel = historically accepted stance(s) per target span "
        "(split when several are accepted; NA = NONALIGNED)",
        ha="center",
        va="center",
        fontsize=8.5,
        color="#333333",
        style="italic",
    )


def _save_atomic(fig: Figure, path: Path) -> None:
    """Save ``fig`` as a PNG at ``path`` via a temporary file in the same directory and ``os.replace``.

    Args:
        fig: The figure to save.
        path: The destination.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.png")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=_DPI, bbox_inches="tight", pad_inches=0.15, facecolor="white")
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; give the plot ordinary file permissions
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


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
    fig = Figure(figsize=(3.2 * n_cols + 2.5, 2.1 * n_rows + 1.2), dpi=110)
    FigureCanvasAgg(fig)
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
    _save_atomic(fig, Path(path))
