"""The calibration loss: how far a parameter set's replicates are from history.

Components (each in [0, 1] except the log score and the excess switches):

- ``share_accepted``: mean over replicates and scored years of "the year-end stance is accepted";
- ``hit_rate``: per actor, the share of scored years whose *modal* year-end stance is accepted;
- ``timing``: per realignment event, the mean over replicates of ``|year - history| / (W + 1)``,
  a missed event counting ``1`` (transition years count here only);
- ``dejure``: the share of years whose year-end Russian-bloc membership matches the ATOP spells;
- ``logp``: the mean log-probability the model gives the accepted stances at year end (smooth in
  the parameters, so optimisers do not stall on the ties of the discrete scores).

- ``acts``: per dated act (``dated_acts.csv``), the mean over replicates of the quarters by which it
  misses its window, scaled by ``ACT_MAX_ERROR + 1`` (a missed act counting ``1``);

- ``excess_switches``: per scored actor, the mean number of stance changes per replicate beyond the
  number of de facto realignments history records for it (UZB 4, KAZ 0): a trembling hand is not
  a realignment;

``objective = w_stance (1 - share_accepted) + w_timing timing + w_dejure (1 - dejure) + w_acts acts
+ w_switches excess_switches - w_logp logp``
plus a penalty ``w_beta * log(beta / beta_reference)^2`` that keeps the choice precision from buying
a fit with certainty it has not earned (see docs/calibration.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.kernel.actors import CLIENTS
from sim.kernel.exogenous import Exogenous
from sim.kernel.timeline import Calendar
from sim.workflows.fit import (
    EVENT_WINDOW,
    Targets,
    act_error,
    act_window,
    acts_per_run,
    default_targets_dir,
    event_years,
    load_targets,
    modal_path,
)


@dataclass(frozen=True)
class Spell:
    """A span of de jure membership."""

    actor: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class CalibrationTargets:
    """Stance targets, events and de jure spells, optionally cut at a year."""

    targets: Targets
    spells: tuple[Spell, ...]
    until: int | None = None
    dejure_actors: tuple[str, ...] = field(default=("UZB",))
    since: int | None = None  # score only years after this one (the out-of-window check)

    def cut(self, until: int | None) -> CalibrationTargets:
        """Only history up to and including ``until`` (``None``: all)."""
        if until is None:
            return self
        spans = tuple(replace(s, year_to=min(s.year_to, until)) for s in self.targets.spans if s.year_from <= until)
        events = tuple(e for e in self.targets.events if e.year <= until)
        acts = tuple(a for a in self.targets.acts if a.date.year <= until)
        return CalibrationTargets(Targets(spans, events, acts), self.spells, until, self.dejure_actors, self.since)

    def after(self, year: int) -> CalibrationTargets:
        """Only history strictly after ``year`` (the out-of-window check)."""
        spans = tuple(replace(s, year_from=max(s.year_from, year + 1)) for s in self.targets.spans if s.year_to > year)
        events = tuple(e for e in self.targets.events if e.year > year)
        acts = tuple(a for a in self.targets.acts if a.date.year > year)
        return CalibrationTargets(Targets(spans, events, acts), self.spells, None, self.dejure_actors, year)

    def n_scored(self) -> int:
        return sum(s.year_to - s.year_from + 1 for s in self.targets.spans if s.scored)


def load_calibration_targets(folder: str | Path | None = None) -> CalibrationTargets:
    """Stance targets, events and ``dejure_spells.csv``."""
    folder = Path(folder) if folder is not None else default_targets_dir()
    spells = []
    with open(folder / "dejure_spells.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            spells.append(Spell(r["actor"], dt.date.fromisoformat(r["member_from"]), dt.date.fromisoformat(r["member_to"])))
    return CalibrationTargets(load_targets(folder), tuple(spells), None, tuple(sorted({s.actor for s in spells})))


@dataclass
class LossWeights:
    """Weights of the loss components (documented defaults)."""

    stance: float = 1.0
    timing: float = 0.5
    dejure: float = 0.5
    acts: float = 0.5
    switches: float = 0.01
    logp: float = 0.05
    beta: float = 0.02
    beta_reference: float = 20.0


def _accepted_mask(tg: CalibrationTargets, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[Y, C, S]`` accepted stances on scored years, and ``[Y, C]`` which cells are scored."""
    acc = np.zeros((len(years), len(CLIENTS), 4), dtype=bool)
    scored = np.zeros((len(years), len(CLIENTS)), dtype=bool)
    for i, y in enumerate(years):
        for c, actor in enumerate(CLIENTS):
            span = tg.targets.accepted(actor, int(y))
            if span is not None and span.scored:
                scored[i, c] = True
                acc[i, c, list(span.accepted)] = True
    return acc, scored


def member_target(tg: CalibrationTargets, years: np.ndarray) -> np.ndarray:
    """``[Y, A]`` membership at each year end for the de jure actors (``tg.dejure_actors``)."""
    out = np.zeros((len(years), len(tg.dejure_actors)), dtype=bool)
    for a, actor in enumerate(tg.dejure_actors):
        for i, y in enumerate(years):
            d = dt.date(int(y), 12, 31)
            out[i, a] = any(s.actor == actor and s.start <= d < s.end for s in tg.spells)
    return out


_MASKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _masks(tg: CalibrationTargets, years: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The accepted-stance mask, scored cells and membership target of ``tg`` over ``years``, built
    once per targets object (a calibration scores thousands of parameter sets against them)."""
    per = _MASKS.setdefault(tg, {})
    key = years.tobytes()
    if key not in per:
        per[key] = (*_accepted_mask(tg, years), member_target(tg, years))
    acc, scored, target = per[key]
    return acc, scored.copy(), target


def loss_components(
    stance_q: np.ndarray, member_q: np.ndarray, probs: np.ndarray, cal: Calendar, exo: Exogenous, tg: CalibrationTargets, beta: float, w: LossWeights
) -> dict[str, float]:
    """Score one parameter set's replicates.

    Args:
        stance_q: ``[R, T, C]`` stances every quarter.
        member_q: ``[R, T, C, J]`` de jure instruments every quarter.
        probs: ``[R, Y, C, S]`` year-end choice probabilities.
        cal: The run's calendar.
        exo: The compiled scenario (instrument ids, Russia's alliance).
        tg: Targets (possibly cut at a year).
        beta: The parameter set's choice precision (for the penalty).
        w: Weights.
    """
    years, ye = cal.year_end_steps()
    stance = stance_q[:, ye]
    bloc = exo.in_bloc(member_q[:, ye])
    in_window = np.ones(len(years), dtype=bool)
    if tg.until is not None:
        in_window &= years <= tg.until
    if tg.since is not None:
        in_window &= years > tg.since
    acc, scored, target = _masks(tg, years)
    scored &= in_window[:, None]
    hit_cells = np.take_along_axis(acc[None], stance[..., None].astype(np.int64), axis=-1)[..., 0]  # [R, Y, C]
    share_accepted = float(hit_cells[:, scored].mean()) if scored.any() else 1.0
    p_acc = (probs * acc[None]).sum(axis=-1)
    logp = float(np.log(p_acc.mean(axis=0)[scored] + 1e-6).mean()) if scored.any() else 0.0  # the ensemble's predictive probability
    modal = modal_path(stance)
    out: dict[str, float] = {"share_accepted": share_accepted, "logp": logp}
    hits = []
    for c, actor in enumerate(CLIENTS):
        if scored[:, c].any():
            ok = acc[np.arange(len(years)), c, modal[:, c]][scored[:, c]]
            out[f"hit_{actor}"] = float(ok.mean())
            hits.append(float(ok.mean()))
    out["hit_rate"] = float(np.mean(hits)) if hits else 1.0
    errs = []
    for ev in tg.targets.events:
        c = CLIENTS.index(ev.actor)
        yrs = event_years(ev, tg.targets, stance[:, :, c], bloc[:, :, c], years)
        err = np.where(yrs >= 0, np.abs(yrs - ev.year), EVENT_WINDOW + 1) / (EVENT_WINDOW + 1)
        errs.append(float(err.mean()))
        out[f"event_{ev.actor}_{ev.year}_within_1y"] = float(((yrs >= 0) & (np.abs(yrs - ev.year) <= 1)).mean())
    out["timing"] = float(np.mean(errs)) if errs else 0.0
    act_errs = []
    if tg.targets.acts:
        steps = acts_per_run(tg.targets.acts, cal, stance_q, member_q, exo.instrument_ids)
        for i, act in enumerate(tg.targets.acts):
            if act.scored:
                act_errs.append(float(act_error(steps[:, i], act, cal).mean()))
            a, b = act_window(act, cal)
            out[f"act_{act.actor}_{act.instrument or 'stance'}_{act.date.year}_on_time"] = float(((steps[:, i] >= a) & (steps[:, i] <= b)).mean())
    out["acts"] = float(np.mean(act_errs)) if act_errs else 0.0
    cols = [CLIENTS.index(a) for a in tg.dejure_actors]
    match = bloc[:, :, cols] == target[None]
    out["dejure"] = float(match[:, in_window].mean())
    excess = []
    for c, actor in enumerate(CLIENTS):
        if scored[:, c].any():
            sw = float((stance_q[:, 1:, c] != stance_q[:, :-1, c]).sum(axis=1).mean())
            out[f"switches_{actor}"] = sw
            excess.append(max(0.0, sw - sum(ev.actor == actor and ev.layer != "de_jure" for ev in tg.targets.events)))
    out["excess_switches"] = float(np.mean(excess)) if excess else 0.0
    penalty = w.beta * float(np.log(beta / w.beta_reference)) ** 2
    out["beta_penalty"] = penalty
    out["objective"] = (w.stance * (1 - share_accepted) + w.timing * out["timing"] + w.dejure * (1 - out["dejure"]) + w.acts * out["acts"]
                        + w.switches * out["excess_switches"] - w.logp * logp + penalty)
    return out
