"""The alignment figure: simulated stance shares per client against the historical record.

:func:`alignment_figure` draws it and returns the :class:`~matplotlib.figure.Figure`
(``sim.Results.plot`` shows it); :func:`plot_alignment` draws and saves it as a PNG (the
``alignment.png`` of a run). Both use matplotlib's object-oriented API, so they never need a
display and never touch pyplot's global state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator

from sim.face.palette import SHOCK_COLOR, STANCE_COLORS
from sim.face.plots.figure import new_figure, save_png
from sim.face.plots.marks import (
    _BOTTOM,
    _DPI,
    _FIG_SIZE,
    _LEFT,
    _RIGHT,
    _STRIP_RATIO,
    _TOP,
    _X_MAX,
    _X_MIN,
    draw_events,
    draw_history_strip,
    label_shocks,
)
from sim.kernel.actors import STANCES

#: How the alignment figure (and the counterfactual one) are saved as PNG.
SAVE_OPTIONS = {"dpi": _DPI, "bbox_inches": "tight", "pad_inches": 0.15, "facecolor": "white"}
_STATUSES = 3  # alliance status with Russia: none, true, paper
_PAPER = 2

def plot_alignment(time: np.ndarray, shares: np.ndarray, status_shares: np.ndarray, clients: Sequence[str], targets: Sequence[dict], events: Sequence[dict],
                   key_shocks: Sequence[dict], path: str | Path, title: str = "", band: np.ndarray | None = None) -> None:
    """Draw :func:`alignment_figure` and save it as a PNG at ``path`` (atomically; the parent folder is
    created if missing). The arguments are :func:`alignment_figure`'s.
    """
    fig = alignment_figure(time, shares, status_shares, clients, targets, events, key_shocks, title, band)
    save_png(fig, path, **SAVE_OPTIONS)


def alignment_figure(
    time: np.ndarray,
    shares: np.ndarray,
    status_shares: np.ndarray,
    clients: Sequence[str],
    targets: Sequence[dict],
    events: Sequence[dict],
    key_shocks: Sequence[dict],
    title: str = "",
    band: np.ndarray | None = None,
) -> Figure:
    """Draw the alignment of every client over time against history.

    One row per client, all sharing the x axis 1991-2017. Each row has a stacked area chart of the share of
    replicates in each stance (RUS, WEST, CHN, NONALIGNED) with a thin black line for the share of replicates
    whose alliance with Russia is "paper" (de jure, not de facto). Above each panel a thin strip shows the
    historically accepted stance(s) of every target span (split vertically when several are accepted, hatched
    for transition spans); clients without targets get an "out-of-sample" note instead. Realignment events are
    dashed black vertical lines with rotated labels; key shocks are dotted grey lines on every panel, labelled
    once above the top panel.

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
        title: Optional figure title.
        band: Optional ``[T, C, 4, 2]`` lower/upper 95% interval of each share. Drawn as thin lines in a darker
            shade of the stance colour, offset by the stacked base of that stance (so the lines bracket the
            upper edge of the stance's area).

    Returns:
        The figure (Agg canvas: no display needed).

    Raises:
        ValueError: If the array shapes disagree with each other or with ``clients``, or a target names an
            unknown stance.
    """
    time, shares, status_shares, band = _validate(time, shares, status_shares, clients, band)
    clients = [str(c) for c in clients]
    n_clients = len(clients)

    fig = new_figure(*_FIG_SIZE, dpi=_DPI)
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
        draw_history_strip(strip, [t for t in targets if str(t.get("actor")) == code])
        for shock in key_shocks:
            for ax in (main, strip):
                ax.axvline(float(shock["time"]), color=SHOCK_COLOR, ls=":", lw=1.0, zorder=5)
        draw_events(main, [e for e in events if str(e.get("actor")) == code], panel_height_pt)
        _style_panel(main, strip, code, last=c == n_clients - 1)

    label_shocks(strips[0], key_shocks)
    _add_legend(fig, band is not None)
    if title:
        fig.suptitle(title, x=0.5, y=0.995, fontsize=13, fontweight="bold", va="top")
    return fig

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
        Line2D([], [], color=SHOCK_COLOR, ls=":", lw=1.2, label="key shock"),
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
