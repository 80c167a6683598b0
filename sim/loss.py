"""The calibration loss: how far a parameter set's replicates are from history.

Components (each in [0, 1] except the log score):

- ``share_accepted``: mean over replicates and scored years of "the year-end stance is accepted";
- ``hit_rate``: per actor, the share of scored years whose *modal* year-end stance is accepted;
- ``timing``: per realignment event, the mean over replicates of ``|year - history| / (W + 1)``,
  a missed event counting ``1`` (transition years count here only);
- ``dejure``: the share of years whose year-end Russian-bloc membership matches the ATOP spells;
- ``logp``: the mean log-probability the model gives the accepted stances at year end (smooth in
  the parameters, so optimisers do not stall on the ties of the discrete scores).

``objective = w_stance (1 - share_accepted) + w_timing timing + w_dejure (1 - dejure) - w_logp logp``
plus a penalty ``w_beta * log(beta / beta_reference)^2`` that keeps the choice precision from buying
a fit with certainty it has not earned (see docs/calibration.md).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.actors import CLIENTS
from sim.fit import EVENT_WINDOW, Targets, default_targets_dir, event_years, load_targets, modal_path


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
        return CalibrationTargets(Targets(spans, events), self.spells, until, self.dejure_actors, self.since)

    def after(self, year: int) -> CalibrationTargets:
        """Only history strictly after ``year`` (the out-of-window check)."""
        spans = tuple(replace(s, year_from=max(s.year_from, year + 1)) for s in self.targets.spans if s.year_to > year)
        events = tuple(e for e in self.targets.events if e.year > year)
        return CalibrationTargets(Targets(spans, events), self.spells, None, self.dejure_actors, year)

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
    logp: float = 0.05
    beta: float = 0.05
    beta_reference: float = 12.0


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


def loss_components(
    stance: np.ndarray, bloc: np.ndarray, probs: np.ndarray, years: np.ndarray, tg: CalibrationTargets, beta: float, w: LossWeights
) -> dict[str, float]:
    """Score one parameter set's replicates.

    Args:
        stance: ``[R, Y, C]`` year-end stances.
        bloc: ``[R, Y, C]`` year-end membership of Russia's military bloc.
        probs: ``[R, Y, C, S]`` year-end choice probabilities.
        years: ``[Y]`` calendar years.
        tg: Targets (possibly cut at a year).
        beta: The parameter set's choice precision (for the penalty).
        w: Weights.
    """
    in_window = np.ones(len(years), dtype=bool)
    if tg.until is not None:
        in_window &= years <= tg.until
    if tg.since is not None:
        in_window &= years > tg.since
    acc, scored = _accepted_mask(tg, years)
    scored &= in_window[:, None]
    hit_cells = np.take_along_axis(acc[None], stance[..., None].astype(np.int64), axis=-1)[..., 0]  # [R, Y, C]
    share_accepted = float(hit_cells[:, scored].mean()) if scored.any() else 1.0
    p_acc = (probs * acc[None]).sum(axis=-1)
    logp = float(np.log(p_acc[:, scored] + 1e-6).mean()) if scored.any() else 0.0
    modal = modal_path(stance)
    out: dict[str, float] = {"share_accepted": share_accepted, "logp": logp}
    hits = []
    for c, actor in enumerate(CLIENTS):
        if scored[:, c].any():
            ok = acc[np.arange(len(years)), c, modal[:, c]][scored[:, c]]
            out[f"hit_{actor}"] = float(ok.mean())
            hits.append(float(ok.mean()))
    out["hit_rate"] = float(np.mean(hits)) if hits else 1.0
    errs, made_1y = [], []
    for ev in tg.targets.events:
        c = CLIENTS.index(ev.actor)
        yrs = event_years(ev, tg.targets, stance[:, :, c], bloc[:, :, c], years)
        err = np.where(yrs >= 0, np.abs(yrs - ev.year), EVENT_WINDOW + 1) / (EVENT_WINDOW + 1)
        errs.append(float(err.mean()))
        made_1y.append(float(((yrs >= 0) & (np.abs(yrs - ev.year) <= 1)).mean()))
        out[f"event_{ev.actor}_{ev.year}_within_1y"] = made_1y[-1]
    out["timing"] = float(np.mean(errs)) if errs else 0.0
    target = member_target(tg, years)
    cols = [CLIENTS.index(a) for a in tg.dejure_actors]
    match = bloc[:, :, cols] == target[None]
    out["dejure"] = float(match[:, in_window].mean())
    penalty = w.beta * float(np.log(beta / w.beta_reference)) ** 2
    out["beta_penalty"] = penalty
    out["objective"] = w.stance * (1 - share_accepted) + w.timing * out["timing"] + w.dejure * (1 - out["dejure"]) - w.logp * logp + penalty
    return out
