"""Compile a scenario into exogenous arrays: drivers, structural inputs and shock paths.

Everything here is independent of the behavioural parameters, so one compiled
scenario serves any number of parameter sets. Arrays carry a leading *variant*
axis ``b`` (length 1 for a single scenario) so that sweeps over shock fields
can stack several compiled scenarios and broadcast them against runs.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from sim.actors import CLIENTS, N_CLIENTS, N_PATRONS, N_THREATS, PATRONS, THREATS, Patron, Stance
from sim.errors import ScenarioError
from sim.scenario import CLIENT_KINDS, Scenario

#: Proximity of a patron to a client (Walt's "geographic proximity"): shared border,
#: same region without a border, or distant power.
PROXIMITY_BORDER, PROXIMITY_REGION, PROXIMITY_DISTANT = 1.0, 0.5, 0.2
#: Value of a client to Western Afghan logistics: bordering Afghanistan, or transit only.
LOGISTICS_BORDER, LOGISTICS_TRANSIT = 1.0, 0.5
#: COW codes of the actors in the CINC file.
COW_CODES = {"UZB": "UZB", "KAZ": "KZK", "KGZ": "KYR", "TJK": "TAJ", "TKM": "TKM", "RUS": "RUS", "CHN": "CHN", "WEST": "USA"}


@dataclass
class Exogenous:
    """A compiled scenario. Shapes: ``b`` variants, ``T`` steps, ``C`` clients, ``P`` patrons, ``K`` threats, ``J`` instruments."""

    years: np.ndarray  # [T] calendar year of each step
    brent: np.ndarray  # [T] USD/bbl
    closure: np.ndarray  # [T, C] regime closure in [0, 1] (Freedom House)
    power: np.ndarray  # [T, P] aggregate power (CINC relative to Russia's at the start)
    capability: np.ndarray  # [T, C] client CINC relative to the strongest client that year
    proximity: np.ndarray  # [C, P]
    base_intent: np.ndarray  # [P]
    ethnic_russian: np.ndarray  # [C]
    russian_troops: np.ndarray  # [C]
    remittances: np.ndarray  # [C]
    route_russia: np.ndarray  # [C] at the start
    logistics: np.ndarray  # [C]
    initial_stance: np.ndarray  # [C] int
    shock_threat: np.ndarray  # [b, T, C, K]
    repression: np.ndarray  # [b, T, C]
    pressure_script: np.ndarray  # [b, T, C]
    affinity: np.ndarray  # [b, T, C, P]
    route_china: np.ndarray  # [b, T, C]
    means_shock: np.ndarray  # [b, T]
    need: np.ndarray  # [b, T]
    intent_shock: np.ndarray  # [b, T, P]
    courting: np.ndarray  # [b, T]
    instrument_ids: tuple[str, ...]
    instrument_patron: np.ndarray  # [J] int
    instrument_military: np.ndarray  # [J] bool
    instrument_open: np.ndarray  # [T, J] bool: open by date
    instrument_need: np.ndarray  # [J] float, nan = no need requirement
    instrument_renewal: np.ndarray  # [T, J] bool
    join_threshold: np.ndarray  # [J]
    exit_threshold: np.ndarray  # [J]

    @property
    def n_steps(self) -> int:
        return len(self.years)

    @property
    def n_variants(self) -> int:
        return self.shock_threat.shape[0]

    def at(self, t: int) -> dict[str, np.ndarray]:
        """The per-step slices of the variant-dependent series (leading axis ``b``)."""
        return {
            "shock_threat": self.shock_threat[:, t],
            "repression": self.repression[:, t],
            "pressure_script": self.pressure_script[:, t],
            "affinity": self.affinity[:, t],
            "route_china": self.route_china[:, t],
            "means_shock": self.means_shock[:, t],
            "need": self.need[:, t],
            "intent_shock": self.intent_shock[:, t],
            "courting": self.courting[:, t],
        }

    def take(self, variant_index: np.ndarray) -> Exogenous:
        """The same scenario with variant-dependent arrays indexed by ``variant_index``."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v[variant_index] if f.name in _VARIANT_FIELDS else v
        return Exogenous(**out)

    @staticmethod
    def stack(parts: list[Exogenous]) -> Exogenous:
        """Stack compiled variants of one base scenario along the variant axis."""
        first = parts[0]
        out = {}
        for f in fields(first):
            if f.name in _VARIANT_FIELDS:
                out[f.name] = np.concatenate([getattr(p, f.name) for p in parts], axis=0)
            else:
                out[f.name] = getattr(first, f.name)
        return Exogenous(**out)


_VARIANT_FIELDS = {"shock_threat", "repression", "pressure_script", "affinity", "route_china", "means_shock", "need", "intent_shock", "courting"}


def _read_csv(path: str, field: str) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise ScenarioError(path, f"cannot read driver ({exc})", field=field) from None


def _yearly(values: dict[int, float], years: np.ndarray, path: str, field: str) -> np.ndarray:
    """Per-step values from a year -> value map, holding the nearest year outside its span."""
    if not values:
        raise ScenarioError(path, "driver has no usable rows", field=field)
    ks = np.array(sorted(values))
    vs = np.array([values[k] for k in ks])
    idx = np.clip(np.searchsorted(ks, years, side="right") - 1, 0, len(ks) - 1)
    return vs[idx]


def _number(row: dict[str, str], col: str, path: str, line: int, field: str) -> float:
    try:
        return float(row[col])
    except (KeyError, TypeError, ValueError):
        raise ScenarioError(path, f"column '{col}' missing or not a number", line=line, field=field) from None


def load_brent(path: str, years: np.ndarray) -> np.ndarray:
    """Annual Brent (EIA) per step."""
    rows = _read_csv(path, "drivers.brent")
    vals = {int(_number(r, "year", path, i + 2, "drivers.brent")): _number(r, "brent_usd_per_bbl", path, i + 2, "drivers.brent") for i, r in enumerate(rows)}
    return _yearly(vals, years, path, "drivers.brent")


def load_closure(path: str, years: np.ndarray) -> np.ndarray:
    """Regime closure ``(PR + CL - 2) / 12`` from Freedom House, per step and client (duplicate years averaged)."""
    rows = _read_csv(path, "drivers.freedom_house")
    acc: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i, r in enumerate(rows):
        pr = _number(r, "political_rights", path, i + 2, "drivers.freedom_house")
        cl = _number(r, "civil_liberties", path, i + 2, "drivers.freedom_house")
        acc[r.get("iso3c", "")][int(_number(r, "year", path, i + 2, "drivers.freedom_house"))].append((pr + cl - 2) / 12)
    out = np.empty((len(years), N_CLIENTS))
    for c, code in enumerate(CLIENTS):
        if code not in acc:
            raise ScenarioError(path, f"no rows for client {code}", field="drivers.freedom_house")
        out[:, c] = _yearly({y: float(np.mean(v)) for y, v in acc[code].items()}, years, path, "drivers.freedom_house")
    return out


def load_cinc(path: str, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CINC (COW NMC 6.0) per step: patron power relative to Russia's in the first year
    (``[T, P]``) and client capability relative to the strongest client that year (``[T, C]``)."""
    rows = _read_csv(path, "drivers.cinc")
    by: dict[str, dict[int, float]] = defaultdict(dict)
    for i, r in enumerate(rows):
        by[r.get("ccode_abb", "")][int(_number(r, "year", path, i + 2, "drivers.cinc"))] = _number(r, "cinc", path, i + 2, "drivers.cinc")

    def series(code: str) -> np.ndarray:
        cow = COW_CODES[code]
        if cow not in by:
            raise ScenarioError(path, f"no rows for {cow}", field="drivers.cinc")
        return _yearly(by[cow], years, path, "drivers.cinc")

    power = np.stack([series(p) for p in PATRONS], axis=1)
    cap = np.stack([series(c) for c in CLIENTS], axis=1)
    return power / power[0, Patron.RUS], cap / cap.max(axis=1, keepdims=True)


def shock_kernel(n_steps: int, start: int, half_life_years: float | None, stop: int | None = None) -> np.ndarray:
    """The path of a unit shock at step ``start``: 0 before, then halving every ``half_life`` years,
    and 0 again from step ``stop`` on (if given)."""
    t = np.arange(n_steps) - start
    out = np.zeros(n_steps)
    on = t >= 0
    out[on] = 1.0 if half_life_years is None else 0.5 ** (t[on] / (4.0 * half_life_years))
    if stop is not None:
        out[max(stop, 0) :] = 0.0
    return out


def compile_scenario(scn: Scenario) -> Exogenous:
    """Turn a validated scenario into the arrays the model reads (one variant)."""
    cal = scn.calendar
    T = cal.n_steps
    years = cal.years()
    brent = load_brent(scn.drivers.brent.file, years)
    closure = load_closure(scn.drivers.freedom_house.file, years)
    power, capability = load_cinc(scn.drivers.cinc.file, years)

    ci = [scn.clients[c] for c in CLIENTS]
    proximity = np.full((N_CLIENTS, N_PATRONS), PROXIMITY_REGION)
    proximity[:, Patron.WEST] = PROXIMITY_DISTANT
    for c, inp in enumerate(ci):
        if inp.border_russia:
            proximity[c, Patron.RUS] = PROXIMITY_BORDER
        if inp.border_china:
            proximity[c, Patron.CHN] = PROXIMITY_BORDER

    shock_threat = np.zeros((1, T, N_CLIENTS, N_THREATS))
    client_series = {k: np.zeros((1, T, N_CLIENTS)) for k in ("repression", "pressure", "route_china")}
    affinity = np.zeros((1, T, N_CLIENTS, N_PATRONS))
    means_shock = np.zeros((1, T))
    need = np.zeros((1, T))
    intent_shock = np.zeros((1, T, N_PATRONS))
    courting = np.ones((1, T))
    for s in scn.shocks:
        stop = None if s.until is None else cal.step_of(s.until) + 1
        path = shock_kernel(T, cal.step_of(s.date), s.half_life, stop) * s.magnitude
        for kind, size in s.effects.items():
            x = path * size
            if kind in CLIENT_KINDS:
                for tgt in s.targets:
                    c = CLIENTS.index(tgt)
                    if kind in THREATS:
                        shock_threat[0, :, c, THREATS.index(kind)] += x
                    elif kind == "affinity":
                        affinity[0, :, c, PATRONS.index(s.patron)] += x
                    else:
                        client_series[kind][0, :, c] += x
            elif kind == "means":
                means_shock[0] += x
            elif kind == "need":
                need[0] += x
            elif kind == "courting":
                courting[0] += x
            elif kind == "intent":
                for tgt in s.targets:
                    intent_shock[0, :, PATRONS.index(tgt)] += x

    ins = scn.instruments
    J = len(ins)
    open_ = np.zeros((T, J), dtype=bool)
    renewal = np.zeros((T, J), dtype=bool)
    for j, i in enumerate(ins):
        open_[max(0, cal.step_of(i.open_from)):, j] = True
        for r in i.renewals:
            renewal[cal.step_of(r), j] = True

    return Exogenous(
        years=years,
        brent=brent,
        closure=closure,
        power=power,
        capability=capability,
        proximity=proximity,
        base_intent=np.array([scn.patrons[p].intent for p in PATRONS]),
        ethnic_russian=np.array([x.ethnic_russian_share for x in ci]),
        russian_troops=np.array([x.russian_troops for x in ci]),
        remittances=np.array([x.remittance_share for x in ci]),
        route_russia=np.array([x.route_russia for x in ci]),
        logistics=np.array([LOGISTICS_BORDER if x.afghan_border else LOGISTICS_TRANSIT for x in ci]),
        initial_stance=np.array([Stance[scn.initial_stance.get(c, "RUS")] for c in CLIENTS], dtype=np.int8),
        shock_threat=shock_threat,
        repression=client_series["repression"],
        pressure_script=client_series["pressure"],
        affinity=affinity,
        route_china=np.clip(client_series["route_china"], 0, 1),
        means_shock=means_shock,
        need=np.maximum(need, 0.0),
        intent_shock=intent_shock,
        courting=np.maximum(courting, 0.0),
        instrument_ids=tuple(i.id for i in ins),
        instrument_patron=np.array([PATRONS.index(i.patron) for i in ins], dtype=np.int64),
        instrument_military=np.array([i.layer == "military" for i in ins], dtype=bool),
        instrument_open=open_,
        instrument_need=np.array([np.nan if i.requires_need is None else i.requires_need for i in ins]),
        instrument_renewal=renewal,
        join_threshold=np.array([i.join_threshold for i in ins]),
        exit_threshold=np.array([i.exit_threshold for i in ins]),
    )


def data_dir() -> Path:
    """The project's ``scenarios/`` folder (when running from a checkout)."""
    return Path(__file__).resolve().parent.parent / "scenarios"
