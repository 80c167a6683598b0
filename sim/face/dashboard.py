"""The student dashboard: its computation and drawings (plain functions) and its server.

``omnibalance dashboard`` (or ``python -m sim.face.dashboard``) serves the Solara page of
:mod:`sim.face.app` on 127.0.0.1. Everything the page shows is computed here, without
Solara, so it can be tested and used from Python directly (``docs/tutorial.md`` does):

* :func:`run_replicates` runs a scenario's replicates on the ensemble runner and
  summarises them (stance and alliance-status shares, fit to history); results are
  cached, so returning to earlier settings costs nothing;
* :func:`build_overrides` turns the dashboard's controls into ``--set`` overrides;
* ``figure_*`` draw the views with matplotlib's object-oriented API (no pyplot);
* :func:`serve` starts the server.

The Solara packages are an optional extra (``pip install -e ".[dashboard]"``); this
module imports them only inside :func:`serve`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import io
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.errors import OmnibalanceError
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_STANCES, STANCES
from sim.kernel.params import ModelParams
from sim.project import project_root
from sim.scenario.schema import EVENT_KINDS

ROOT = project_root()
SCENARIOS = ROOT / "scenarios"
HISTORY = SCENARIOS / "history.yaml"
COUNTERFACTUALS = SCENARIOS / "counterfactuals"
BRENT_HISTORY = SCENARIOS / "data" / "brent_annual_eia.csv"
BRENT_LOW = SCENARIOS / "data" / "brent_held_at_1990s_level.csv"

#: Environment variable through which :func:`serve` hands the ``--scenario`` file to the page.
SCENARIO_ENV = "OMNIBALANCE_DASHBOARD_SCENARIO"
DEFAULT_PORT = 8765
#: Most replicates the dashboard runs at once (a 1,000-replicate refresh stays under a second).
MAX_REPLICATES = 1000

CLIENT_NAMES = {"UZB": "Uzbekistan", "KAZ": "Kazakhstan", "KGZ": "Kyrgyzstan", "TJK": "Tajikistan", "TKM": "Turkmenistan"}
STANCE_COLORS = {"RUS": "#c0392b", "WEST": "#2471a3", "CHN": "#d4ac0d", "NONALIGNED": "#95a5a6"}
STANCE_LABELS = {"RUS": "Russia", "WEST": "West", "CHN": "China", "NONALIGNED": "nonaligned"}
STATUS_NAMES = ("none", "true", "paper")  # AllianceStatus order
STATUS_COLORS = {"true": "#922b21", "paper": "#f1948a", "none": "#e5e7e9"}
STATUS_LABELS = {"true": "true alliance (de jure and de facto)", "paper": "paper alliance (de jure only)", "none": "no alliance with Russia"}

#: Shocks marked on the time chart when present (and not switched off).
MARKED_SHOCKS = {
    "september_11": "9/11",
    "rose_revolution": "Rose",
    "orange_revolution": "Orange",
    "andijan": "Andijan",
    "medvedev": "Medvedev",
    "crimea": "Crimea",
}

#: The parameters the dashboard has sliders for (bounds and explanations come from :class:`ModelParams`).
SLIDER_PARAMS = ("tau", "rho", "beta", "chi", "gamma", "court", "defiance", "self_reliance", "pressure_base", "hostility", "tie_weight", "noise_sd")
_SLIDER_STEP = {"beta": 0.5, "tau": 0.1}


@dataclass(frozen=True)
class ShockGroup:
    """Shocks switched and scaled together by one dashboard control."""

    key: str
    label: str
    ids: tuple[str, ...]
    help: str


SHOCK_GROUPS: tuple[ShockGroup, ...] = (
    ShockGroup("september_11", "9/11 (2001)", ("september_11",), "Western need for Central Asian bases and transit after 9/11."),
    ShockGroup(
        "colour_revolutions",
        "Colour revolutions (2003-05)",
        ("rose_revolution", "orange_revolution", "tulip_revolution", "tulip_revolution_far", "tulip_revolution_kgz"),
        "Contagion from Georgia, Ukraine and Kyrgyzstan (a regime-change threat where the West is hostile), and the Tulip Revolution itself.",
    ),
    ShockGroup("andijan", "Andijan (May 2005)", ("andijan",), "Uprising and massacre in Uzbekistan: unrest, and repression that draws Western pressure."),
    ShockGroup("medvedev", "Medvedev's presidency (2008-12)", ("medvedev", "putin_return"),
               "A change of leader in Moscow breaks Karimov's personal ties with the Kremlin (off: Putin stays; on/off only, its size is tie_weight)."),
)
OIL_HELP = "Brent as history (off: held at its 1991-98 mean from 1999, so Russia's means stay small)."


@dataclass(frozen=True)
class SliderSpec:
    """A bounded slider for one parameter."""

    name: str
    lo: float
    hi: float
    step: float
    help: str


def param_slider(name: str) -> SliderSpec:
    """The slider of parameter ``name``: its documented bounds (``Field(ge/gt, le)``) and one-line description."""
    info = ModelParams.model_fields[name]
    lo, hi = 0.0, 5.0
    step = _SLIDER_STEP.get(name, 0.01)
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = float(m.ge)
        if getattr(m, "gt", None) is not None:
            lo = float(m.gt) + step  # strictly positive: the smallest step above the bound
        if getattr(m, "le", None) is not None:
            hi = float(m.le)
    return SliderSpec(name, lo, hi, step, info.description or "")


def clamp(name: str, value: float) -> float:
    """``value`` held within parameter ``name``'s slider bounds (a hand-typed or stale value cannot escape them)."""
    spec = param_slider(name)
    return float(min(max(float(value), spec.lo), spec.hi))


def handset_params() -> dict[str, Any]:
    """The documented hand-set defaults of every parameter (``sim/params.py``), as override values."""
    return ModelParams().model_dump(mode="json")


def _flatten(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(_flatten(f"{prefix}.{k}", v))
        else:
            out[f"{prefix}.{k}"] = v
    return out


def build_overrides(
    base: Any,
    handset: bool = False,
    params: dict[str, float] | None = None,
    shocks: dict[str, tuple[bool, float]] | None = None,
    oil_boom: bool | None = None,
) -> list[str]:
    """The ``--set`` overrides that turn scenario ``base`` into the dashboard's settings.

    Args:
        base: The scenario as loaded without overrides (a :class:`sim.scenario.Scenario`).
        handset: Start from the documented hand-set parameter defaults instead of the scenario's
            (calibrated) parameters.
        params: Parameter values set by the sliders (clamped to their bounds).
        shocks: Per :data:`SHOCK_GROUPS` key, ``(on, magnitude)``; off means magnitude 0. Shocks the
            scenario does not have are ignored.
        oil_boom: ``True`` Brent as history, ``False`` held at its 1990s level, ``None`` the scenario's.

    Returns:
        ``KEY=VALUE`` strings, each path set once, in a stable order.
    """
    current = _flatten("params", base.params.model_dump(mode="json"))
    values: dict[str, Any] = {}
    if handset:
        for k, v in _flatten("params", handset_params()).items():
            if current.get(k) != v:
                values[k] = v
    for name, v in (params or {}).items():
        if name not in ModelParams.model_fields:
            raise OmnibalanceError(f"unknown parameter '{name}'")
        values[f"params.{name}"] = clamp(name, v)
    present = {s.id: s for s in base.shocks}
    for g in SHOCK_GROUPS:
        if g.key not in (shocks or {}):
            continue
        on, magnitude = shocks[g.key]
        for sid in g.ids:
            if sid in present:
                scalable = not (set(present[sid].effects) & set(EVENT_KINDS))  # a leader change happens or not
                m = (float(min(max(float(magnitude), 0.0), 10.0)) if scalable else 1.0) if on else 0.0
                if m != present[sid].magnitude:
                    values[f"shocks.{sid}.magnitude"] = m
    if oil_boom is not None:
        target = BRENT_HISTORY if oil_boom else BRENT_LOW
        if Path(base.drivers.brent.file).resolve() != target.resolve():
            values["drivers.brent.file"] = str(target)
    return [f"{k}={_fmt(v)}" for k, v in values.items()]


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


# ---------------------------------------------------------------------------------------------
# Computation
# ---------------------------------------------------------------------------------------------


def run_replicates(scenario_path: str | Path, overrides: Sequence[str] = (), replicates: int = 100, seed: int | None = None) -> dict[str, Any]:
    """Run ``replicates`` replays of a scenario on the ensemble runner and summarise them.

    Replicate ``r`` uses seed ``run_seed(seed, r)``, as ``omnibalance run`` does, so the numbers
    equal those of ``omnibalance run SCENARIO -n R --seed S --set ...``. Results are cached by
    scenario file (and its modification time), overrides, replicates and seed: treat them as
    read-only.

    Args:
        scenario_path: A scenario YAML file.
        overrides: ``KEY=VALUE`` assignments as for ``--set``.
        replicates: Number of replicates, 1 to :data:`MAX_REPLICATES`.
        seed: Root seed (default: the scenario's).

    Returns:
        A dict with ``scenario`` (the validated scenario), ``years`` ``[Y]``, ``time`` ``[T]``
        (decimal years), ``shares`` ``[T, C, 4]`` and ``status_shares`` ``[T, C, 3]`` (per quarter),
        ``year_end_shares`` ``[Y, C, 4]`` and ``year_end_status`` ``[Y, C, 3]``, ``fit`` (as
        :func:`sim.workflows.fit.score`), ``shocks`` (marked shocks still switched on), ``seed``,
        ``replicates``, ``seconds`` (compute time of the first, uncached call) and ``key``.

    Raises:
        ScenarioError: if the scenario or an override is invalid (the message names file, line, field).
        OmnibalanceError: if ``replicates`` or ``seed`` is out of range.
    """
    path = Path(scenario_path).expanduser().resolve()
    try:
        replicates = int(replicates)
    except (TypeError, ValueError):
        raise OmnibalanceError(f"replicates must be a whole number, got {replicates!r}") from None
    if not 1 <= replicates <= MAX_REPLICATES:
        raise OmnibalanceError(f"replicates must be between 1 and {MAX_REPLICATES}, got {replicates}")
    if seed is not None:
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise OmnibalanceError(f"seed must be a whole number, got {seed!r}") from None
        if seed < 0:
            raise OmnibalanceError(f"seed must be non-negative, got {seed}")
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    return _run_cached(str(path), mtime, tuple(overrides), replicates, seed)


@functools.lru_cache(maxsize=48)
def _run_cached(path: str, mtime: int, overrides: tuple[str, ...], replicates: int, seed: int | None) -> dict[str, Any]:
    from sim.engines.ensemble import simulate
    from sim.kernel.params import stack_params
    from sim.kernel.randomness import batch_draws, run_seed
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario
    from sim.workflows.fit import load_targets, score

    del mtime  # part of the cache key only
    started = time.perf_counter()
    scn = load_scenario(path, list(overrides))
    exo = compile_scenario(scn)
    root = scn.seed if seed is None else seed
    R = replicates
    seeds = np.array([run_seed(root, r) for r in range(R)])
    theta = stack_params([scn.params])
    res = simulate(exo, theta, scn.rule, batch_draws(seeds, exo.n_steps, N_CLIENTS), full=False)
    cal = scn.calendar
    years, ye_steps = cal.year_end_steps()
    shares = np.stack([(res.stance == s).mean(axis=0) for s in range(N_STANCES)], axis=-1)
    status_shares = np.stack([(res.status == s).mean(axis=0) for s in range(len(STATUS_NAMES))], axis=-1)
    csto = np.flatnonzero(exo.bloc)
    ye_stance = res.stance[:, ye_steps]
    ye_bloc = res.member[:, ye_steps][..., csto].any(axis=-1) if len(csto) else np.zeros(ye_stance.shape, dtype=bool)
    targets = load_targets()
    fit = score(ye_stance, ye_bloc, years, targets)
    seconds = time.perf_counter() - started
    marked = [
        {"id": s.id, "label": MARKED_SHOCKS[s.id], "time": s.date.year + (s.date.timetuple().tm_yday - 1) / 365.25}
        for s in scn.shocks
        if s.id in MARKED_SHOCKS and s.magnitude > 0
    ]
    key = hashlib.sha256(json.dumps([path, list(overrides), R, root]).encode()).hexdigest()[:16]
    return {
        "key": key,
        "scenario": scn,
        "scenario_path": path,
        "overrides": list(overrides),
        "seed": root,
        "replicates": R,
        "years": years,
        "time": cal.years() + (cal.quarters() - 1) / 4.0,
        "shares": shares,
        "status_shares": status_shares,
        "year_end_shares": shares[ye_steps],
        "year_end_status": status_shares[ye_steps],
        "fit": fit,
        "targets": targets,
        "shocks": marked,
        "seconds": seconds,
    }


def year_index(result: dict[str, Any], year: int) -> int:
    """Index of ``year`` in ``result['years']``, clamped to the run."""
    years = result["years"]
    year = int(min(max(int(year), int(years[0])), int(years[-1])))
    return int(np.flatnonzero(years == year)[0])


def year_end_table(result: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Year-end stance shares as ``{client: {year: {stance: share}}}`` (rounded to 3 decimals)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for c, code in enumerate(CLIENTS):
        out[code] = {
            str(int(y)): {s: round(float(result["year_end_shares"][i, c, k]), 3) for k, s in enumerate(STANCES)}
            for i, y in enumerate(result["years"])
        }
    return out


def command_line(result: dict[str, Any]) -> str:
    """The ``omnibalance run`` command that reproduces ``result`` (same numbers)."""
    path = Path(result["scenario_path"])
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    parts = ["omnibalance", "run", str(shown), "-n", str(result["replicates"]), "--seed", str(result["seed"])]
    for o in result["overrides"]:
        k, v = o.split("=", 1)
        if k == "drivers.brent.file":
            with contextlib.suppress(ValueError):
                v = str(Path(v).relative_to(ROOT))
        parts += ["--set", f"{k}={v}"]
    return " ".join(parts)


def scenario_question(path: str | Path) -> str:
    """The question a scenario file opens with (``# Question: ...``), else its ``description``."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for i, line in enumerate(lines):
        if line.startswith("# Question:"):
            text = [line.removeprefix("# Question:").strip()]
            for more in lines[i + 1 :]:
                if text[-1].endswith("?") or not more.startswith("# ") or more.startswith("# Historical basis"):
                    break
                text.append(more[2:].strip())
            return " ".join(text)
    for line in lines:
        if line.startswith("description:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return ""


def scenario_library(extra: str | Path | None = None) -> dict[str, Path]:
    """Scenarios offered by the picker: history, the counterfactual library, and ``extra`` if given."""
    lib = {"history": HISTORY}
    for p in sorted(COUNTERFACTUALS.glob("*.yaml")):
        lib[p.stem] = p
    if extra is not None:
        p = Path(extra).expanduser().resolve()
        if p not in lib.values():
            lib[p.stem if p.stem not in lib else str(p)] = p
    return lib


# ---------------------------------------------------------------------------------------------
# Drawings (matplotlib, object-oriented: no pyplot, no display)
# ---------------------------------------------------------------------------------------------


def _new_figure(w: float, h: float, dpi: int = 100) -> Figure:
    fig = Figure(figsize=(w, h), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _decimal(date: Any) -> float:
    return date.year + (date.timetuple().tm_yday - 1) / 365.25


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
    fig = _new_figure(8.6, 9.2)
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
            x = _decimal(ev.date)
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
    fig = _new_figure(5.4, 4.0)
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
    fig = _new_figure(5.4, 2.7)
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
    """One Mesa run (a :class:`sim.face.app.SingleRun`): the tile map of the quarter it has reached."""
    t, current, when = _single_run_state(model)
    fig = _new_figure(6.4, 3.3)
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
    """One Mesa run (a :class:`sim.face.app.SingleRun`): each client's stance every quarter so far."""
    t = int(model.step_index)
    cal = model.calendar
    fig = _new_figure(6.4, 3.3)
    ax = fig.add_axes([0.2, 0.2, 0.76, 0.66])
    x = cal.years() + (cal.quarters() - 1) / 4.0
    for c in range(N_CLIENTS):
        for s in range(t):
            ax.add_patch(Rectangle((x[s], c - 0.4), 0.25, 0.8, facecolor=STANCE_COLORS[STANCES[int(model.result.stance[0, s, c])]], lw=0))
    ax.set_xlim(x[0], x[-1] + 0.25)
    ax.set_ylim(N_CLIENTS - 0.5, -0.5)
    ax.set_yticks(range(N_CLIENTS))
    ax.set_yticklabels([CLIENT_NAMES[c] for c in CLIENTS], fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title("Stance each quarter so far (same replicate)", fontsize=10, fontweight="bold")
    handles = [Patch(facecolor=STANCE_COLORS[s], label=STANCE_LABELS[s]) for s in STANCES]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7.5, frameon=False, bbox_to_anchor=(0.55, 0.0))
    return fig


# ---------------------------------------------------------------------------------------------
# HTML fragments (the page reads numbers from here, and so can a test)
# ---------------------------------------------------------------------------------------------


def shares_table_html(result: dict[str, Any], year: int) -> str:
    """A table of year-end stance shares per client for ``year``, with history's accepted stances.

    The table carries the numbers as ``data-*`` attributes too: ``data-year`` and ``data-key`` on
    the table, ``data-client`` and ``data-rus``/``data-west``/``data-chn``/``data-nonaligned`` on
    each row, and every year's shares as JSON in ``data-all``.
    """
    i = year_index(result, year)
    y = int(result["years"][i])
    targets = result["targets"]
    rows = []
    for c, code in enumerate(CLIENTS):
        sh = result["year_end_shares"][i, c]
        span = targets.accepted(code, y)
        hist = "—" if span is None else "/".join(STANCES[k] for k in sorted(span.accepted)) + ("" if span.scored else " (transition)")
        modal = STANCES[int(np.argmax(sh))]
        attrs = " ".join(f'data-{s.lower()}="{float(sh[k]):.3f}"' for k, s in enumerate(STANCES))
        cells = "".join(
            f'<td class="num" style="background:{STANCE_COLORS[s]}{_alpha_hex(float(sh[k]))}">{float(sh[k]):.2f}</td>' for k, s in enumerate(STANCES)
        )
        rows.append(f'<tr data-client="{code}" {attrs}><td>{CLIENT_NAMES[code]}</td>{cells}<td>{modal}</td><td>{html.escape(hist)}</td></tr>')
    head = "".join(f"<th>{s}</th>" for s in STANCES)
    data_all = html.escape(json.dumps(year_end_table(result), separators=(",", ":")), quote=True)
    return (
        f'<table class="omni-table" data-omni="shares" data-year="{y}" data-key="{result["key"]}" data-all="{data_all}">'
        f"<tr><th>client</th>{head}<th>modal</th><th>history accepts</th></tr>{''.join(rows)}</table>"
    )


def _alpha_hex(v: float) -> str:
    return f"{int(round(40 + 160 * min(max(v, 0.0), 1.0))):02x}"


def fit_html(result: dict[str, Any]) -> str:
    """The fit to history for the current settings: hit rates and realignment timing."""
    fit = result["fit"]
    parts = ['<div data-omni="fit">']
    for actor, rate in fit["hit_rate"].items():
        if rate is None:
            continue
        yrs = fit["years"][actor]
        miss = ", ".join(f"{m['year']} ({m['modal']})" for m in yrs["misses"]) or "none"
        parts.append(
            f'<p data-actor="{actor}" data-hit-rate="{rate:.3f}"><b>{CLIENT_NAMES[actor]}</b>: the modal path matches history in '
            f"<b>{rate:.0%}</b> of {yrs['scored']} scored years (misses: {html.escape(miss)}).</p>"
        )
    parts.append("<table class='omni-table'><tr><th>history</th><th>event</th><th>model (modal path)</th><th>replicates within 1 year</th></tr>")
    for ev in fit["events"]:
        made = ev["modal_year"] if ev["modal_year"] is not None else "not made"
        ok = "✓" if ev["modal_within_1y"] else "✗"
        label = ev["event"].split(";")[0]
        parts.append(
            f"<tr><td>{ev['actor']} {ev['date'][:7]}</td><td>{html.escape(ev['from'])}→{html.escape(ev['to'])}: {html.escape(label)}</td>"
            f"<td>{made} {ok}</td><td class='num'>{ev['share_within_1y']:.0%}</td></tr>"
        )
    parts.append("</table><p class='omni-note'>Kyrgyzstan, Tajikistan and Turkmenistan have no targets: they are the out-of-sample check.</p></div>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as uvicorn binds: a port left in TIME_WAIT by a server just stopped is free to reuse
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve(scenario: Path | None = None, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> int:
    """Serve the dashboard with Solara on ``host:port`` until interrupted; prints its address first.

    Solara's outside calls are switched off: no version check, no telemetry, production mode (no
    solara.dev check frame); its JavaScript and CSS come from the locally installed
    ``solara-assets``, so the page works offline.

    Raises:
        OmnibalanceError: if the Solara packages are missing, the scenario file does not exist or the
            port is taken.
    """
    if scenario is not None:
        scenario = Path(scenario).expanduser().resolve()
        if not scenario.is_file():
            raise OmnibalanceError(f"scenario file not found: {scenario}")
        os.environ[SCENARIO_ENV] = str(scenario)
    if port == 0:
        port = free_port(host)
    if not 1 <= port <= 65535:
        raise OmnibalanceError(f"port must be between 1 and 65535, got {port}")
    if not _port_free(host, port):
        raise OmnibalanceError(f"port {port} on {host} is already in use (choose another with --port)")
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    import importlib.util
    import warnings

    for module in ("solara", "altair"):  # solara and mesa[viz]'s altair: SolaraViz needs both
        if importlib.util.find_spec(module) is None:
            raise OmnibalanceError(f"the dashboard needs the 'dashboard' extra ({module} is missing): pip install -e \".[dashboard]\"")
    import solara.server.settings as solara_settings
    from solara.__main__ import run as solara_run

    # Plain http on loopback: Solara warns that it falls back to samesite=lax cookies, which is right here.
    warnings.filterwarnings("ignore", message=r"Cookies with samesite=none require https", category=UserWarning)
    solara_settings.telemetry.mixpanel_enable = False
    print(f"omnibalance dashboard: http://{host}:{port}/", flush=True)
    args = ["sim.face.app", "--host", host, "--port", str(port), "--no-open", "--production", "--no-check-version"]
    with contextlib.suppress(KeyboardInterrupt):
        solara_run.main(args=args, prog_name="solara run", standalone_mode=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.face.dashboard [--scenario FILE] [--port P]``."""
    p = argparse.ArgumentParser(prog="python -m sim.face.dashboard", description="Serve the omnibalance student dashboard on 127.0.0.1.")
    p.add_argument("--scenario", type=Path, default=None, help="scenario to open first (default scenarios/history.yaml)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    args = p.parse_args(argv)
    try:
        return serve(args.scenario, args.port)
    except OmnibalanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
