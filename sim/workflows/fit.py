"""Scoring a set of runs against history: stance hit rates and realignment timing.

Targets live in ``calibration/targets/`` (copied, with their sources, from the
shared historical data). Only Uzbekistan and Kazakhstan have targets;
Kyrgyzstan, Tajikistan and Turkmenistan are the out-of-sample check.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.kernel.actors import CLIENTS, STANCES, Stance
from sim.kernel.timeline import Calendar
from sim.project import project_root

#: Years either side of history searched for a realignment.
EVENT_WINDOW = 3
#: A replicate "makes" an event when it shifts within this many years of history.
EVENT_TOLERANCE = 1
#: Quarters either side of a dated act's window searched for it, and the largest error (quarters) counted.
ACT_SEARCH = 12
ACT_MAX_ERROR = 8
#: A de facto turn counts as an act only if the new stance then holds for this many quarters.
ACT_SUSTAIN = 4


@dataclass(frozen=True)
class TargetSpan:
    """Accepted de facto stances of one client over a span of years."""

    actor: str
    year_from: int
    year_to: int
    accepted: frozenset[int]
    scored: bool
    basis: str


@dataclass(frozen=True)
class Event:
    """A dated historical realignment."""

    actor: str
    date: dt.date
    from_stance: str
    to_stance: str
    layer: str
    label: str

    @property
    def year(self) -> int:
        return self.date.year


@dataclass(frozen=True)
class DatedAct:
    """A realignment act whose date is known to the quarter (``dated_acts.csv``).

    A de jure act is a change of membership of ``instrument`` (``direction`` join or
    leave); a de facto act is the stance entering ``direction`` (stances joined by ``|``)
    and holding there for :data:`ACT_SUSTAIN` quarters. The act is on time if it falls in
    the quarters from ``window_from`` to ``window_to`` (an announcement and its formal date).
    """

    actor: str
    label: str
    layer: str
    instrument: str
    direction: str
    date: dt.date
    window_from: dt.date
    window_to: dt.date
    source: str
    scored: bool = True

    @property
    def to_set(self) -> frozenset[int]:
        return frozenset(Stance[s] for s in self.direction.split("|"))


@dataclass(frozen=True)
class Targets:
    """All calibration targets."""

    spans: tuple[TargetSpan, ...]
    events: tuple[Event, ...]
    acts: tuple[DatedAct, ...] = ()

    def accepted(self, actor: str, year: int) -> TargetSpan | None:
        """The target span covering ``actor`` in ``year``, if any."""
        for s in self.spans:
            if s.actor == actor and s.year_from <= year <= s.year_to:
                return s
        return None

    def to_set(self, event: Event) -> frozenset[int]:
        """Stances that count as having made ``event``: those accepted in the first scored year from the event on."""
        for y in range(event.year, event.year + EVENT_WINDOW + 1):
            span = self.accepted(event.actor, y)
            if span is not None and span.scored:
                return span.accepted
        return frozenset({Stance[event.to_stance]}) if event.to_stance in STANCES else frozenset()


def default_targets_dir() -> Path:
    """``calibration/targets`` of the checkout."""
    return project_root() / "calibration" / "targets"


def load_targets(folder: str | Path | None = None) -> Targets:
    """Read ``alignment_targets.csv`` and ``realignment_events.csv``."""
    folder = Path(folder) if folder is not None else default_targets_dir()
    spans = []
    with open(folder / "alignment_targets.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            spans.append(
                TargetSpan(
                    actor=r["actor"],
                    year_from=int(r["year_from"]),
                    year_to=int(r["year_to"]),
                    accepted=frozenset(Stance[s] for s in r["accepted_stances"].split("|")),
                    scored=r["scored"] == "yes",
                    basis=r["basis"],
                )
            )
    events = []
    with open(folder / "realignment_events.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            events.append(Event(r["actor"], dt.date.fromisoformat(r["date"]), r["from_stance"], r["to_stance"], r["layer"], r["event"]))
    acts = []
    acts_file = folder / "dated_acts.csv"
    if acts_file.is_file():
        with open(acts_file, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                acts.append(DatedAct(r["actor"], r["act"], r["layer"], r["instrument"], r["direction"], dt.date.fromisoformat(r["date"]),
                                     dt.date.fromisoformat(r["window_from"]), dt.date.fromisoformat(r["window_to"]), r["source"],
                                     r.get("scored", "yes") == "yes"))
    return Targets(tuple(spans), tuple(events), tuple(acts))


def modal_path(stances: np.ndarray) -> np.ndarray:
    """``[Y, C]`` modal stance across replicates of ``[R, Y, C]`` year-end stances (ties to the lower index)."""
    counts = np.stack([(stances == s).sum(axis=0) for s in Stance], axis=-1)
    return counts.argmax(axis=-1)


def _defacto_shift(path: np.ndarray, years: np.ndarray, year: int, to_set: frozenset[int]) -> np.ndarray:
    """First year in the window at which each path (``[..., Y]``) enters ``to_set`` and is still
    there the next year end (a one-year flicker is not a realignment); -1 if none."""
    inside = np.isin(path, list(to_set))
    out = np.full(path.shape[:-1], -1)
    for i in range(1, len(years)):
        y = years[i]
        if not year - EVENT_WINDOW <= y <= year + EVENT_WINDOW:
            continue
        sustained = inside[..., i + 1] if i + 1 < len(years) else inside[..., i]
        hit = inside[..., i] & ~inside[..., i - 1] & sustained & (out < 0)
        out[hit] = y
    return out


def _dejure_change(member: np.ndarray, years: np.ndarray, year: int, joining: bool) -> np.ndarray:
    """First year in the window at which the bloc membership (``[..., Y]`` bool) changes in the given direction."""
    out = np.full(member.shape[:-1], -1)
    for i in range(1, len(years)):
        y = years[i]
        if not year - EVENT_WINDOW <= y <= year + EVENT_WINDOW:
            continue
        change = (member[..., i] & ~member[..., i - 1]) if joining else (~member[..., i] & member[..., i - 1])
        hit = change & (out < 0)
        out[hit] = y
    return out


def event_years(event: Event, targets: Targets, stances: np.ndarray, member: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The year each path makes ``event`` (-1 if it does not within the window).

    De facto events are dated by the stance entering the accepted set; de jure
    events by the Russian bloc membership changing; events on both layers by
    whichever of the two comes first.
    """
    joining = event.to_stance in ("RUS", "CSTO")
    fact = _defacto_shift(stances, years, event.year, targets.to_set(event)) if event.layer != "de_jure" else None
    law = _dejure_change(member, years, event.year, joining) if event.layer != "de_facto" else None
    if fact is None:
        return law
    if law is None:
        return fact
    both = np.where((fact >= 0) & (law >= 0), np.minimum(fact, law), np.maximum(fact, law))
    return both


def score(stances: np.ndarray, member: np.ndarray, years: np.ndarray, targets: Targets) -> dict:
    """Fit of year-end stances ``[R, Y, C]`` and Russian-bloc membership ``[R, Y, C]`` to history.

    Returns:
        A JSON-ready dict: per actor the hit rate of the modal stance on scored
        years (and which years missed), and per event the year the modal path
        makes it and the share of replicates making it within one year.
    """
    modal = modal_path(stances)
    modal_member = member.mean(axis=0) > 0.5
    out: dict = {"hit_rate": {}, "years": {}, "events": []}
    for actor in sorted({s.actor for s in targets.spans}):
        c = CLIENTS.index(actor)
        hits, scored_years, misses, shares = 0, 0, [], []
        for i, y in enumerate(years):
            span = targets.accepted(actor, int(y))
            if span is None or not span.scored:
                continue
            scored_years += 1
            ok = modal[i, c] in span.accepted
            hits += ok
            shares.append(float(np.isin(stances[:, i, c], list(span.accepted)).mean()))
            if not ok:
                misses.append({"year": int(y), "modal": STANCES[modal[i, c]], "accepted": sorted(STANCES[s] for s in span.accepted)})
        out["hit_rate"][actor] = hits / scored_years if scored_years else None
        out["years"][actor] = {"scored": scored_years, "hits": hits, "misses": misses, "mean_share_accepted": float(np.mean(shares)) if shares else None}
    for ev in targets.events:
        c = CLIENTS.index(ev.actor)
        per_run = event_years(ev, targets, stances[:, :, c], member[:, :, c], years)
        modal_year = int(event_years(ev, targets, modal[None, :, c], modal_member[None, :, c], years)[0])
        within = (per_run >= 0) & (np.abs(per_run - ev.year) <= EVENT_TOLERANCE)
        out["events"].append(
            {
                "actor": ev.actor,
                "date": ev.date.isoformat(),
                "event": ev.label,
                "layer": ev.layer,
                "from": ev.from_stance,
                "to": ev.to_stance,
                "history_year": ev.year,
                "modal_year": modal_year if modal_year >= 0 else None,
                "modal_within_1y": bool(modal_year >= 0 and abs(modal_year - ev.year) <= EVENT_TOLERANCE),
                "share_within_1y": float(within.mean()),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Dated acts, at quarterly resolution
# ---------------------------------------------------------------------------------------------


def act_window(act: DatedAct, cal: Calendar) -> tuple[int, int]:
    """The steps of the first and last quarter in which ``act`` counts as on time."""
    return cal.step_of(act.window_from), cal.step_of(act.window_to)


def act_steps(act: DatedAct, cal: Calendar, stance: np.ndarray, member: np.ndarray, instrument_ids: tuple[str, ...]) -> np.ndarray:
    """The step at which each path makes ``act`` (-1 if not within :data:`ACT_SEARCH` quarters of its window).

    Args:
        act: The act.
        cal: The run's calendar.
        stance: ``[..., T]`` the actor's stances.
        member: ``[..., T, J]`` the actor's de jure instruments.
        instrument_ids: The instrument ids in ``J`` order.
    """
    a, b = act_window(act, cal)
    T = stance.shape[-1]
    lo, hi = max(1, a - ACT_SEARCH), min(T - 1, b + ACT_SEARCH)
    if act.layer == "de_jure":
        x = member[..., instrument_ids.index(act.instrument)]
        change = (x[..., 1:] & ~x[..., :-1]) if act.direction == "join" else (~x[..., 1:] & x[..., :-1])  # change[t - 1]: at step t
    else:
        inside = np.isin(stance, list(act.to_set))
        held = inside.copy()
        for k in range(1, ACT_SUSTAIN):
            held[..., : T - k] &= inside[..., k:]
        change = held[..., 1:] & ~inside[..., :-1]
    window = np.zeros(T - 1, dtype=bool)
    window[lo - 1 : hi] = True
    hit = change & window
    first = hit.argmax(axis=-1) + 1
    return np.where(hit.any(axis=-1), first, -1)


def act_error(steps: np.ndarray, act: DatedAct, cal: Calendar) -> np.ndarray:
    """Quarters outside the act's window, scaled to [0, 1] (a missed act, or one :data:`ACT_MAX_ERROR`
    or more quarters off, counts 1)."""
    a, b = act_window(act, cal)
    off = np.where(steps < a, a - steps, np.where(steps > b, steps - b, 0))
    return np.where(steps >= 0, np.minimum(off, ACT_MAX_ERROR + 1), ACT_MAX_ERROR + 1) / (ACT_MAX_ERROR + 1)


def quarter_label(cal: Calendar, step: int) -> str | None:
    """``'2005Q3'`` for a step (``None`` for -1)."""
    if step < 0:
        return None
    q = cal.first + int(step)
    return f"{q // 4}Q{q % 4 + 1}"


def acts_report(acts: tuple[DatedAct, ...], per_run: np.ndarray, modal: np.ndarray, cal: Calendar) -> list[dict]:
    """Per act: its window, the quarter the modal path makes it, and the share of runs on time.

    Args:
        acts: The acts.
        per_run: ``[R, A]`` the step each run makes each act (-1: not made).
        modal: ``[A]`` the step the modal path (modal stance, majority membership) makes each act.
        cal: The calendar.
    """
    out = []
    for i, act in enumerate(acts):
        a, b = act_window(act, cal)
        steps = per_run[:, i]
        on_time = (steps >= a) & (steps <= b)
        made = steps[steps >= 0]
        out.append({
            "actor": act.actor, "act": act.label, "layer": act.layer, "date": act.date.isoformat(),
            "window": [quarter_label(cal, a), quarter_label(cal, b)],
            "modal_quarter": quarter_label(cal, int(modal[i])), "modal_on_time": bool(a <= modal[i] <= b),
            "scored": act.scored, "share_on_time": float(on_time.mean()), "share_made": float((steps >= 0).mean()),
            "median_quarter": quarter_label(cal, int(np.median(made))) if len(made) else None,
        })
    return out


def acts_per_run(acts: tuple[DatedAct, ...], cal: Calendar, stance: np.ndarray, member: np.ndarray, instrument_ids: tuple[str, ...]) -> np.ndarray:
    """``[R, A]``: the step each run makes each act, from ``[R, T, C]`` stances and ``[R, T, C, J]`` membership."""
    out = np.empty((stance.shape[0], len(acts)), dtype=np.int64)
    for i, act in enumerate(acts):
        c = CLIENTS.index(act.actor)
        out[:, i] = act_steps(act, cal, stance[:, :, c], member[:, :, c], instrument_ids)
    return out


def modal_quarterly(stance_counts: np.ndarray, member_share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The modal quarterly path: ``[1, T, C]`` modal stance (ties to the lower index) from ``[T, C, S]``
    stance counts, and ``[1, T, C, J]`` majority membership from ``[T, C, J]`` member shares."""
    return stance_counts.argmax(axis=-1)[None].astype(np.int8), (member_share > 0.5)[None]
