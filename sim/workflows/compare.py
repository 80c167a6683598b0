"""Counterfactual comparison: several scenarios with common random numbers, differences with
bootstrap intervals, event probabilities, a fan chart and a readable report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.errors import ScenarioError
from sim.kernel.actors import CLIENTS, N_CLIENTS, STANCES
from sim.kernel.randomness import replicate_draws
from sim.scenario.loading import load_scenario, scenario_hash
from sim.scenario.schema import Scenario
from sim.workflows.fit import EVENT_TOLERANCE, Targets, event_years, load_targets
from sim.workflows.outputs import atomic_folder, check_out, git_commit, utc_now, write_csv, write_json, write_text
from sim.workflows.run import year_ends

#: Bootstrap resamples for the intervals.
N_BOOT = 1000


@dataclass
class ScenarioRuns:
    """Year-end outcomes of one scenario's replicates."""

    name: str
    path: Path | None
    scenario: Scenario
    stance: np.ndarray  # [R, Y, C] int8 year-end stance
    bloc: np.ndarray  # [R, Y, C] bool year-end membership of Russia's military bloc


def bootstrap_diff(alt: np.ndarray, base: np.ndarray, rng: np.random.Generator, n_boot: int = N_BOOT) -> tuple[np.ndarray, np.ndarray]:
    """95% BCa intervals of ``mean(alt - base)`` over replicates, resampling replicates jointly
    (paired: the bootstrap of the per-replicate differences), by :func:`scipy.stats.bootstrap`.

    Where every replicate's difference is the same (no effect at all, or the same effect in every
    run) the interval is that value: BCa is undefined there and nothing varies to resample.

    Args:
        alt, base: ``[R, ...]`` per-replicate outcomes of the same seeds.
    """
    import warnings

    from scipy.stats import bootstrap

    R = alt.shape[0]
    d = (alt.astype(float) - base.astype(float)).reshape(R, -1)
    lo, hi = d.mean(axis=0), d.mean(axis=0)
    varies = ~(d == d[:1]).all(axis=0)
    if varies.any() and R > 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa's warning on a column with a single non-zero value: its bounds fall back below
            ci = bootstrap((d[:, varies],), np.mean, axis=0, vectorized=True, paired=False, n_resamples=n_boot, method="BCa",
                           confidence_level=0.95, random_state=rng, batch=max(1, int(2e7 // max(1, R * varies.sum())))).confidence_interval
        lo[varies] = np.where(np.isfinite(ci.low), ci.low, d[:, varies].min(axis=0))
        hi[varies] = np.where(np.isfinite(ci.high), ci.high, d[:, varies].max(axis=0))
    return lo.reshape(alt.shape[1:]), hi.reshape(alt.shape[1:])


def _onehot(stance: np.ndarray) -> np.ndarray:
    return (stance[..., None] == np.arange(len(STANCES))).astype(np.int8)


@dataclass
class Comparison:
    """Several scenarios run with common random numbers, and how each differs from the first.

    Attributes:
        names: Unique scenario names, the base first.
        runs: Each scenario's year-end outcomes.
        years: ``[Y]`` the years compared (year ends).
        root_seed: Replicate ``r`` of every scenario used ``run_seed(root_seed, r)``.
        rows: ``compare.csv``: per scenario, actor, year and stance, the share and its difference from the base with a 95% interval.
        events: ``events.csv``: per scenario and historical realignment, its probability and timing.
        effects: Per alternative, ``(name, diff, lo, hi)`` arrays ``[Y, C, S]``.
        started, finished: UTC times (ISO 8601).
    """

    names: list[str]
    runs: list[ScenarioRuns]
    years: np.ndarray
    root_seed: int
    rows: list[dict[str, Any]]
    events: list[dict[str, Any]]
    effects: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]
    started: str
    finished: str

    @property
    def replicates(self) -> int:
        return int(self.runs[0].stance.shape[0])

    def report(self) -> str:
        """``compare.md``: the clearest effects per client and the realignment events, as Markdown."""
        return _report(self.names, self.runs, self.effects, self.events, self.years, self.replicates, self.root_seed)


def run_comparison(scenarios: list[Scenario], paths: list[Path | None] | None = None, replicates: int = 500, seed: int | None = None,
                   progress: bool = False, targets: Targets | None = None) -> Comparison:
    """Run every scenario with the same seeds (the first is the base) and compare them.

    Raises:
        ScenarioError: if a scenario runs over another calendar than the base.
    """
    from tqdm import tqdm

    started = utc_now()
    paths = paths or [None] * len(scenarios)
    names = _unique([s.name for s in scenarios])
    targets = targets or load_targets()
    root = scenarios[0].seed if seed is None else seed
    cal = scenarios[0].calendar
    for s, p in zip(scenarios[1:], paths[1:], strict=True):
        if s.calendar != cal:
            raise ScenarioError(p, f"runs {s.start}-{s.end}, but BASE runs {cal.start}-{cal.end}; common random numbers need one calendar", field="start")
    years, _ = cal.year_end_steps()
    draws = replicate_draws(root, replicates, cal.n_steps)
    runs: list[ScenarioRuns] = []
    for name, p, scn in tqdm(list(zip(names, paths, scenarios, strict=True)), desc="scenarios", unit="scn", disable=not progress, leave=False):
        st, bloc = year_ends(scn, draws)
        runs.append(ScenarioRuns(name, p, scn, st, bloc))
    rng = np.random.default_rng(np.random.SeedSequence(root, spawn_key=(2**31 - 1,)))
    base_oh = _onehot(runs[0].stance)  # [R, Y, C, S]
    rows, effects = [], []
    for run in runs:
        oh = _onehot(run.stance)
        share = oh.mean(axis=0)
        diff = share - base_oh.mean(axis=0)
        if run is runs[0]:
            lo = hi = np.zeros_like(diff)
        else:
            lo, hi = bootstrap_diff(oh, base_oh, rng)
        for c, actor in enumerate(CLIENTS):
            for i, y in enumerate(years):
                for k, s in enumerate(STANCES):
                    rows.append({
                        "scenario": run.name, "actor": actor, "year": int(y), "stance": s,
                        "share": round(float(share[i, c, k]), 6), "diff": round(float(diff[i, c, k]), 6),
                        "diff_lo": round(float(lo[i, c, k]), 6), "diff_hi": round(float(hi[i, c, k]), 6),
                    })
        if run is not runs[0]:
            effects.append((run.name, diff, lo, hi))

    ev_rows = []
    for run in runs:
        for ev in targets.events:
            c = CLIENTS.index(ev.actor)
            yrs = event_years(ev, targets, run.stance[:, :, c], run.bloc[:, :, c], years)
            made = yrs >= 0
            ev_rows.append({
                "scenario": run.name, "actor": ev.actor, "event": ev.label.split(";")[0], "history_date": ev.date.isoformat(),
                "layer": ev.layer, "probability": round(float(made.mean()), 4),
                "median_year": float(np.median(yrs[made])) if made.any() else "",
                "within_1y_of_history": round(float((made & (np.abs(yrs - ev.year) <= EVENT_TOLERANCE)).mean()), 4),
            })

    return Comparison(names, runs, years, root, rows, ev_rows, effects, started, utc_now())


def write_comparison(comp: Comparison, out: Path) -> None:
    """Write ``compare.csv``, ``events.csv``, ``compare.png``, ``compare.md`` and ``manifest.json`` into ``out`` (atomically)."""
    from sim.face.plots import plot_compare

    effects, years = comp.effects, comp.years
    with atomic_folder(out) as tmp:
        write_csv(tmp / "compare.csv", comp.rows)
        write_csv(tmp / "events.csv", comp.events)
        plot_compare(years, [e[0] for e in effects], np.stack([e[1] for e in effects]) if effects else np.zeros((0, len(years), N_CLIENTS, len(STANCES))),
                     np.stack([e[2] for e in effects]) if effects else None, np.stack([e[3] for e in effects]) if effects else None,
                     list(CLIENTS), tmp / "compare.png",
                     title=f"Difference from {comp.names[0]} (year-end share of runs, 95% bootstrap interval), {comp.replicates} common-seed replicates")
        write_text(tmp / "compare.md", comp.report())
        source = [str(Path(r.path).resolve()) if r.path is not None else r.name for r in comp.runs]
        write_json(tmp / "manifest.json", {
            "base": source[0], "alternatives": source[1:],
            "scenario_sha256": {r.name: scenario_hash(r.scenario) for r in comp.runs},
            "replicates": comp.replicates, "root_seed": comp.root_seed, "bootstrap_resamples": N_BOOT,
            "common_random_numbers": "replicate r of every scenario uses seed sim.kernel.randomness.run_seed(root_seed, r)",
            "package_version": __version__, "git_commit": git_commit(),
            "started": comp.started, "finished": comp.finished,
        })


def compare(base: Path, alternatives: list[Path], out: Path, replicates: int = 500, seed: int | None = None, progress: bool = True,
            targets: Targets | None = None) -> dict[str, Any]:
    """``omnibalance compare``: run BASE and each ALT with the same seeds and write the comparison into ``out``.

    Returns:
        The headline effects (also in ``compare.md``).
    """
    paths = [base, *alternatives]
    scenarios = [load_scenario(p) for p in paths]  # every file validated before any run
    check_out(Path(out))
    comp = run_comparison(scenarios, paths, replicates, seed, progress, targets)
    write_comparison(comp, out)
    return {"effects": comp.effects, "events": comp.events, "names": comp.names}


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def _fmt(d: float, lo: float, hi: float) -> str:
    return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def _report(names, runs, effects, ev_rows, years, replicates, root) -> str:
    lines = [
        f"# Counterfactual comparison against `{names[0]}`",
        "",
        f"{replicates} replicates per scenario with common random numbers (root seed {root}): replicate r of every",
        "scenario draws the same random numbers, so differences come from the scenario edits alone.",
        "Effects are differences in the share of replicates in a stance at year end, with 95% paired BCa bootstrap",
        f"intervals ({N_BOOT} resamples). An effect is called clear when its interval excludes zero.",
        "",
    ]
    for name, diff, lo, hi in effects:
        lines += [f"## {name}", ""]
        scn = next(r.scenario for r in runs if r.name == name)
        if scn.description:
            lines += [scn.description, ""]
        clear = (lo > 0) | (hi < 0)
        lines += ["| client | largest clear effects (year, stance: difference [95% CI]) |", "|---|---|"]
        for c, actor in enumerate(CLIENTS):
            idx = np.argwhere(clear[:, c, :])
            ranked = sorted(idx, key=lambda ik: -abs(diff[ik[0], c, ik[1]]))[:3]
            text = "; ".join(f"{years[i]} {STANCES[k]}: {_fmt(diff[i, c, k], lo[i, c, k], hi[i, c, k])}" for i, k in ranked) or "no clear effect"
            lines.append(f"| {actor} | {text} |")
        if "UZB" in CLIENTS and 2006 in years:
            i, c = int(np.flatnonzero(years == 2006)[0]), CLIENTS.index("UZB")
            lines += ["", "Uzbekistan in 2006: " + ", ".join(f"{s} {_fmt(diff[i, c, k], lo[i, c, k], hi[i, c, k])}" for k, s in enumerate(STANCES))]
        lines.append("")
    lines += ["## Realignment events", "", "| scenario | event | probability | median year | within 1 year of history |", "|---|---|---|---|---|"]
    for r in ev_rows:
        lines.append(f"| {r['scenario']} | {r['actor']} {r['history_date'][:4]}: {r['event'][:50]} | {r['probability']:.2f} | {r['median_year']} | {r['within_1y_of_history']:.2f} |")
    return "\n".join(lines) + "\n"
