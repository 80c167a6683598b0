"""The scenario schema: actors' structural inputs, parameters, drivers, shocks.

A scenario is a YAML file validated by these pydantic models. Shocks are
*causes* only (threats, contagion, repression, patron means and needs, intent,
export routes, changes of leader): no shock kind can set a client's stance, its
membership of a bloc or a leader's liking for a patron, because those are what
the model must produce.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.kernel.actors import CLIENTS, PATRONS, STANCES, Rule
from sim.kernel.params import ModelParams
from sim.kernel.timeline import Calendar, parse_quarter

#: Effect kinds a shock may have on clients, and on patrons. ``leader_change`` may target either.
CLIENT_KINDS = ("insurgency", "unrest", "elite", "external", "contagion", "repression", "route_china", "pressure", "leader_change")
PATRON_KINDS = ("means", "need", "intent", "courting", "engagement", "leader_change")
#: Events with no size of their own: their effect is a global parameter.
EVENT_KINDS = {"leader_change": "tie_weight and succession_threat", "engagement": "engagement_step"}
FORBIDDEN_KINDS = ("stance", "alignment", "membership", "treaty", "base", "exit", "join")


class _LocatedError(ValueError):
    """A validation error that knows the exact field path it belongs to.

    ``relative`` paths are taken from the model being validated (a shock, the
    clients mapping) and appended to pydantic's location of that model.
    """

    def __init__(self, loc: tuple[Any, ...], message: str, relative: bool = False):
        super().__init__(message)
        self.loc = loc
        self.relative = relative


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Driver(_Strict):
    """A driver series read from a CSV file under ``scenarios/data/``."""

    file: str
    source: str


class Drivers(_Strict):
    """The exogenous series the model reads (dated, sourced CSV files; see docs/model.md)."""

    brent: Driver
    freedom_house: Driver
    cinc: Driver
    remittances: Driver
    ethnic_russians: Driver
    export_routes: Driver
    hydrocarbons: Driver


class ClientInputs(_Strict):
    """Time-invariant structural facts of one client, documented before the fact (see docs/model.md)."""

    afghan_border: bool
    border_russia: bool
    border_china: bool
    soviet_forces: bool = Field(description="Soviet forces under Russian command left on the client's soil at independence (1991).")
    source: str


class PatronInputs(_Strict):
    """Structural inputs of one patron."""

    intent: float = Field(ge=0, le=1, description="Baseline hostile intent toward the region (Walt).")
    source: str


class Instrument(_Strict):
    """A de jure commitment (treaty bloc or foreign base) that changes only by discrete acts."""

    id: str
    patron: str
    layer: str = Field(pattern="^(military|economic)$")
    open_from: dt.date
    renewals: list[dt.date] = []
    requires_need: float | None = Field(None, ge=0, description="Open to a client only while Western need for it exceeds this.")
    requires_soviet_forces: bool = Field(False, description="Open only to clients with Soviet forces on their soil at independence.")
    alliance: bool = Field(False, description="A military alliance: membership makes a client a de jure ally of the patron.")
    join_threshold: float | None = Field(None, gt=0, le=1, description="Commitment memory above which a client joins (not for an alliance).")
    exit_threshold: float | None = Field(None, ge=0, lt=1, description="Commitment memory below which a member leaves (not for an alliance).")
    source: str

    @field_validator("patron")
    @classmethod
    def _patron(cls, v: str) -> str:
        if v not in PATRONS:
            raise ValueError(f"unknown patron '{v}' (expected one of {', '.join(PATRONS)})")
        return v

    @model_validator(mode="after")
    def _thresholds(self) -> Instrument:
        given = (self.join_threshold is not None, self.exit_threshold is not None)
        if self.alliance:
            if any(given):
                raise ValueError("an alliance takes no join_threshold or exit_threshold: they are the model parameters alliance_join and alliance_exit")
            return self
        if not all(given):
            raise ValueError("join_threshold and exit_threshold are required (only an alliance takes them from the model parameters)")
        if self.exit_threshold >= self.join_threshold:
            raise ValueError("exit_threshold must be below join_threshold (hysteresis)")
        return self


#: Largest size of one shock effect (threat, means, need and intent are on a 0-1 scale).
EFFECT_BOUND = 5.0


class Shock(_Strict):
    """A dated cause: effects on threats or patron quantities that decay after the date."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    date: dt.date
    targets: list[str] = Field(min_length=1)
    effects: dict[str, float] = Field(min_length=1)
    magnitude: float = Field(1.0, ge=0, le=10, description="Multiplier on every effect (0-10; history uses 1).")
    half_life: float | None = Field(None, gt=0, le=100, description="Years for the effect to halve (at most 100; leave it out for a permanent effect).")
    until: dt.date | None = Field(None, description="Date after which the effect stops altogether (e.g. a regime that falls).")
    source: str
    reason: str | None = None

    @model_validator(mode="after")
    def _kinds(self) -> Shock:
        kinds = set(self.effects)
        for k, v in self.effects.items():
            if not -EFFECT_BOUND <= v <= EFFECT_BOUND:
                raise _LocatedError(("effects", k), f"effect {v:g} is outside [-{EFFECT_BOUND:g}, {EFFECT_BOUND:g}] (threats, means and need are on a 0-1 "
                                    "scale; history's largest effect is 1.2)", relative=True)
        bad = [k for k in kinds if k in FORBIDDEN_KINDS]
        if bad:
            raise _LocatedError(
                ("effects", bad[0]),
                f"effect '{bad[0]}' would set a client's alignment directly; shocks may only move causes "
                f"({', '.join(CLIENT_KINDS + PATRON_KINDS)})",
                relative=True,
            )
        unknown = kinds - set(CLIENT_KINDS) - set(PATRON_KINDS)
        if unknown:
            raise _LocatedError(("effects", sorted(unknown)[0]), f"unknown effect '{sorted(unknown)[0]}' (expected one of {', '.join(CLIENT_KINDS + PATRON_KINDS)})", relative=True)
        on_clients = kinds <= set(CLIENT_KINDS)
        on_patrons = kinds <= set(PATRON_KINDS)
        if not (on_clients or on_patrons):
            raise ValueError("a shock's effects must all act on clients or all on patrons; split it in two")
        if on_clients and on_patrons:  # a leader change: its targets say whose leader
            on_clients = all(t in CLIENTS for t in self.targets)
        allowed = CLIENTS if on_clients else PATRONS
        for i, t in enumerate(self.targets):
            if t not in allowed:
                raise _LocatedError(("targets", i), f"target '{t}' is not a {'client' if on_clients else 'patron'} ({', '.join(allowed)})", relative=True)
        for kind, params in EVENT_KINDS.items():
            if kind not in kinds:
                continue
            if kinds != {kind} or self.effects[kind] != 1:
                raise _LocatedError(("effects", kind), f"'{kind}' has no size of its own (write '{kind}: 1' alone): "
                                    f"its effect is set by the global parameters {params}", relative=True)
            if self.magnitude not in (0.0, 1.0):
                raise _LocatedError(("magnitude",), f"a '{kind}' event happens (magnitude 1) or not (0); it cannot be scaled", relative=True)
            if self.half_life is not None or self.until is not None:
                raise ValueError(f"a '{kind}' event is dated, not shaped: it takes no 'half_life' or 'until'")
        if "engagement" in kinds and self.targets != ["WEST"]:
            raise _LocatedError(("targets",), "an 'engagement' event is a Western programme: its targets must be [WEST]", relative=True)
        if "pressure" in kinds and not self.reason:
            raise ValueError("a scripted 'pressure' effect needs a stated 'reason:' (patron reactions come from the model)")
        return self


#: The first and last quarters a run may cover: independence (December 1991) and the last year of
#: the Brent and COW CINC driver series (2016).
FIRST_QUARTER, LAST_QUARTER = "1991Q4", "2016Q4"


class Scenario(_Strict):
    """A complete, validated scenario."""

    name: str
    description: str = ""
    start: str = "1991Q4"
    end: str = "2016Q4"
    rule: Rule = Rule.OMNIBALANCING
    seed: int = Field(20050513, ge=0)
    params: ModelParams = ModelParams()
    drivers: Drivers
    patrons: dict[str, PatronInputs]
    clients: dict[str, ClientInputs]
    initial_stance: dict[str, str] = {}
    instruments: list[Instrument] = []
    shocks: list[Shock] = []

    @field_validator("start", "end")
    @classmethod
    def _quarter(cls, v: str) -> str:
        q = parse_quarter(v)
        if not parse_quarter(FIRST_QUARTER) <= q <= parse_quarter(LAST_QUARTER):
            raise ValueError(f"{v} is outside {FIRST_QUARTER}-{LAST_QUARTER}, the quarters the driver data cover "
                             "(from the republics' independence to the last year of the oil price and COW series)")
        return v

    @field_validator("clients")
    @classmethod
    def _clients(cls, v: dict[str, ClientInputs]) -> dict[str, ClientInputs]:
        unknown = set(v) - set(CLIENTS)
        if unknown:
            bad = sorted(unknown)[0]
            raise _LocatedError((bad,), f"unknown actor '{bad}' (clients are {', '.join(CLIENTS)})", relative=True)
        missing = set(CLIENTS) - set(v)
        if missing:
            raise ValueError(f"missing client '{sorted(missing)[0]}': all of {', '.join(CLIENTS)} are modelled")
        return v

    @field_validator("patrons")
    @classmethod
    def _patrons(cls, v: dict[str, PatronInputs]) -> dict[str, PatronInputs]:
        if set(v) != set(PATRONS):
            odd = sorted(set(v) ^ set(PATRONS))[0]
            raise ValueError(f"patrons must be exactly {', '.join(PATRONS)} (problem with '{odd}')")
        return v

    @field_validator("initial_stance")
    @classmethod
    def _initial(cls, v: dict[str, str]) -> dict[str, str]:
        for c, s in v.items():
            if c not in CLIENTS:
                raise ValueError(f"unknown actor '{c}'")
            if s not in STANCES:
                raise ValueError(f"unknown stance '{s}' (expected one of {', '.join(STANCES)})")
        return v

    @model_validator(mode="after")
    def _ids_and_dates(self) -> Scenario:
        cal = self.calendar
        if cal.n_steps < 2:
            raise ValueError("the run must span at least two quarters (start before end)")
        seen: set[str] = set()
        for i, s in enumerate(self.shocks):
            if s.id in seen:
                raise _LocatedError(("shocks", i, "id"), f"duplicate shock id '{s.id}'")
            seen.add(s.id)
            if not cal.contains(s.date):
                raise _LocatedError(("shocks", i, "date"), f"date {s.date} is outside the run ({self.start} to {self.end})")
            if s.until is not None and s.until <= s.date:
                raise _LocatedError(("shocks", i, "until"), f"'until' {s.until} must come after the shock's date {s.date}")
        for i, ins in enumerate(self.instruments):
            for j, r in enumerate(ins.renewals):
                if not cal.contains(r):
                    raise _LocatedError(("instruments", i, "renewals", j), f"renewal {r} is outside the run")
        return self

    @property
    def calendar(self) -> Calendar:
        """The quarterly calendar of the run."""
        return Calendar(self.start, self.end)

    def shock(self, shock_id: str) -> Shock:
        """The shock with this id."""
        for s in self.shocks:
            if s.id == shock_id:
                return s
        raise KeyError(shock_id)
