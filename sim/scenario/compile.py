"""Compiling a scenario into the arrays the kernel reads (:class:`~sim.kernel.exogenous.Exogenous`).

The driver CSV loaders (Brent, Freedom House, COW CINC, censuses, remittances, export routes,
hydrocarbons), the structural inputs of each actor, the summed paths of the shocks, and the
de jure instruments' calendars. Nothing here depends on the behavioural parameters.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
from collections import defaultdict
from pathlib import Path

import numpy as np

from sim.errors import ScenarioError
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_PATRONS, N_THREATS, PATRONS, THREATS, Patron, Stance
from sim.kernel.exogenous import Exogenous
from sim.kernel.timeline import Calendar
from sim.scenario.schema import Scenario, Shock

#: Proximity of a patron to a client (Walt's "geographic proximity"): shared border,
#: same region without a border, or distant power.
PROXIMITY_BORDER, PROXIMITY_REGION, PROXIMITY_DISTANT = 1.0, 0.5, 0.2
#: Value of a client to Western Afghan logistics: bordering Afghanistan, or transit only.
LOGISTICS_BORDER, LOGISTICS_TRANSIT = 1.0, 0.5
#: COW codes of the actors in the CINC file.
COW_CODES = {"UZB": "UZB", "KAZ": "KZK", "KGZ": "KYR", "TJK": "TAJ", "TKM": "TKM", "RUS": "RUS", "CHN": "CHN", "WEST": "USA"}


#: Half-life (years) of the elite threat that follows a change of a client's leader.
SUCCESSION_HALF_LIFE = 1.0


def _read_csv(path: str, field: str) -> list[dict[str, str]]:
    try:
        stat = Path(path).stat()
        return _parsed_csv(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise ScenarioError(path, f"cannot read driver ({exc})", field=field) from None


@functools.lru_cache(maxsize=64)
def _parsed_csv(path: str, mtime_ns: int, size: int) -> list[dict[str, str]]:
    """A driver file's rows, parsed once per process while the file is unchanged (sweeps compile
    one scenario per design point; callers only read the rows)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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
    """COW NMC 6.0 per step: patron power (CINC relative to Russia's in the first year, ``[T, P]``)
    and client coercive capacity (military personnel per head relative to the best-armed client
    that year, ``[T, C]``; missing values, coded -9, hold the nearest reported year)."""
    rows = _read_csv(path, "drivers.cinc")
    cinc: dict[str, dict[int, float]] = defaultdict(dict)
    milper: dict[str, dict[int, float]] = defaultdict(dict)
    for i, r in enumerate(rows):
        code, year = r.get("ccode_abb", ""), int(_number(r, "year", path, i + 2, "drivers.cinc"))
        cinc[code][year] = _number(r, "cinc", path, i + 2, "drivers.cinc")
        per, pop = _number(r, "milper", path, i + 2, "drivers.cinc"), _number(r, "tpop", path, i + 2, "drivers.cinc")
        if per > 0 and pop > 0:
            milper[code][year] = per / pop

    def series(table: dict[str, dict[int, float]], code: str) -> np.ndarray:
        cow = COW_CODES[code]
        if cow not in table:
            raise ScenarioError(path, f"no rows for {cow}", field="drivers.cinc")
        return _yearly(table[cow], years, path, "drivers.cinc")

    power = np.stack([series(cinc, p) for p in PATRONS], axis=1)
    per_head = np.stack([series(milper, c) for c in CLIENTS], axis=1)
    return power / power[0, Patron.RUS], per_head / per_head.max(axis=1, keepdims=True)


def _interpolated(points: dict[int, float], years: np.ndarray, start_at_zero: bool) -> np.ndarray:
    """Per-step values linearly interpolated between yearly points, held after the last one; before the
    first point either held (censuses) or ramped from 0 in the first year (remittances)."""
    ks = np.array(sorted(points), dtype=float)
    vs = np.array([points[int(k)] for k in ks])
    if start_at_zero and ks[0] > years[0]:
        ks, vs = np.concatenate([[float(years[0])], ks]), np.concatenate([[0.0], vs])
    return np.interp(years.astype(float), ks, vs)


def load_client_series(path: str, column: str, years: np.ndarray, field: str, scale: float = 1.0, start_at_zero: bool = False) -> np.ndarray:
    """``[T, C]`` from a CSV with ``year``, ``iso3c`` and ``column``: interpolated between reported years.

    A client without rows gets zeros (e.g. no remittance data for a country that receives none).
    """
    rows = _read_csv(path, field)
    by: dict[str, dict[int, float]] = defaultdict(dict)
    for i, r in enumerate(rows):
        by[r.get("iso3c", "")][int(_number(r, "year", path, i + 2, field))] = _number(r, column, path, i + 2, field) * scale
    unknown = sorted(set(by) - set(CLIENTS))
    if unknown:
        raise ScenarioError(path, f"unknown client '{unknown[0]}' in column iso3c", field=field)
    out = np.zeros((len(years), N_CLIENTS))
    for c, code in enumerate(CLIENTS):
        if by.get(code):
            out[:, c] = _interpolated(by[code], years, start_at_zero)
    return out


def load_routes(path: str, cal: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """``[T, C]`` shares of hydrocarbon exports that can leave through Russia and to China, as step
    functions of the pipeline-opening dates in the file (a client without rows exports none)."""
    rows = _read_csv(path, "drivers.export_routes")
    T = cal.n_steps
    share: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for i, r in enumerate(rows):
        line = i + 2
        text = r.get("date", "")
        try:
            date = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)  # YYYY-MM: the first of the month
        except ValueError:
            raise ScenarioError(path, f"column 'date' is not a date (got {r.get('date')!r})", line=line, field="drivers.export_routes") from None
        code = r.get("iso3c", "")
        if code not in CLIENTS:
            raise ScenarioError(path, f"unknown client '{code}' in column iso3c", line=line, field="drivers.export_routes")
        share[(code, r.get("route", ""))].append((cal.step_of(date), _number(r, "share", path, line, "drivers.export_routes")))
    out = {route: np.zeros((T, N_CLIENTS)) for route in ("russia", "china")}
    for (code, route), points in share.items():
        if route not in out:
            continue
        c = CLIENTS.index(code)
        for step, value in sorted(points):
            out[route][max(step, 0) :, c] = value
    return out["russia"], out["china"]


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


#: One shock's contribution to a variant path: (series, index, value, True to add or False to set).
Term = tuple[str, tuple, "np.ndarray | bool", bool]


def _empty_paths(T: int) -> dict[str, np.ndarray]:
    return {
        "shock_threat": np.zeros((1, T, N_CLIENTS, N_THREATS)),
        "contagion": np.zeros((1, T, N_CLIENTS)),
        "repression": np.zeros((1, T, N_CLIENTS)),
        "pressure_script": np.zeros((1, T, N_CLIENTS)),
        "route_china": np.zeros((1, T, N_CLIENTS)),
        "means_shock": np.zeros((1, T)),
        "need": np.zeros((1, T)),
        "intent_shock": np.zeros((1, T, N_PATRONS)),
        "courting": np.ones((1, T)),
        "engagement_events": np.zeros((1, T)),
        "succession": np.zeros((1, T, N_CLIENTS)),
        "tie_reset": np.zeros((1, T, N_CLIENTS, N_PATRONS), dtype=bool),
    }


_CLIENT_SERIES = {"contagion": "contagion", "repression": "repression", "pressure": "pressure_script", "route_china": "route_china"}


def _shock_terms(s: Shock, cal: Calendar) -> tuple[Term, ...]:
    """What one shock adds to (or sets in) the variant paths, in the order it is applied; cached
    per process by the shock's content and the calendar (a sweep varies one shock at a time)."""
    return _terms(s.date, tuple(s.targets), tuple(s.effects.items()), s.magnitude, s.half_life, s.until, cal.start, cal.end)


@functools.lru_cache(maxsize=4096)
def _terms(date: dt.date, targets: tuple[str, ...], effects: tuple[tuple[str, float], ...], magnitude: float, half_life: float | None,
           until: dt.date | None, start: str, end: str) -> tuple[Term, ...]:
    cal = Calendar(start, end)
    T = cal.n_steps
    step = cal.step_of(date)
    kinds = dict(effects)
    terms: list[Term] = []
    if "leader_change" in kinds:
        if magnitude == 0 or step < 0:
            return ()
        for tgt in targets:
            if tgt in CLIENTS:
                c = CLIENTS.index(tgt)
                terms += [("tie_reset", (0, step, c, slice(None)), True, False), ("succession", (0, slice(None), c), shock_kernel(T, step, SUCCESSION_HALF_LIFE), True)]
            else:
                terms.append(("tie_reset", (0, step, slice(None), PATRONS.index(tgt)), True, False))
        return tuple(terms)
    if "engagement" in kinds:
        return (("engagement_events", (0,), shock_kernel(T, step, None), True),) if magnitude > 0 else ()
    stop = None if until is None else cal.step_of(until) + 1
    path = shock_kernel(T, step, half_life, stop) * magnitude
    for kind, size in effects:
        x = path * size
        if kind in THREATS:
            terms += [("shock_threat", (0, slice(None), CLIENTS.index(tgt), THREATS.index(kind)), x, True) for tgt in targets]
        elif kind in _CLIENT_SERIES:
            terms += [(_CLIENT_SERIES[kind], (0, slice(None), CLIENTS.index(tgt)), x, True) for tgt in targets]
        elif kind in ("means", "need", "courting"):
            terms.append(({"means": "means_shock"}.get(kind, kind), (0,), x, True))
        elif kind == "intent":
            terms += [("intent_shock", (0, slice(None), PATRONS.index(tgt)), x, True) for tgt in targets]
    for term in terms:  # shared between calls: read-only
        if isinstance(term[2], np.ndarray):
            term[2].flags.writeable = False
    return tuple(terms)


def _shock_paths(scns: list[Scenario]) -> dict[str, np.ndarray]:
    """The summed paths of every shock effect kind, one variant (row of the leading axis) per scenario.

    The scenarios must list the same number of shocks (a sweep's points change a shock's fields,
    never the list). A shock with the same terms in every scenario is applied to all rows at once;
    each row still sees its shocks' terms added in the scenario's order, so a row is bit for bit
    the path of its scenario compiled alone.
    """
    cal, n = scns[0].calendar, len(scns)
    out = {name: np.repeat(empty, n, axis=0) for name, empty in _empty_paths(cal.n_steps).items()}
    for shocks in zip(*(scn.shocks for scn in scns), strict=True):
        terms = [_shock_terms(s, cal) for s in shocks]
        same = all(t is terms[0] for t in terms)  # the cache returns one object for equal shocks
        for row, row_terms in [(slice(None), terms[0])] if same else enumerate(terms):
            for name, index, value, add in row_terms:
                at = (row, *index[1:])
                if add:
                    out[name][at] += value
                else:
                    out[name][at] = value
    out["need"] = np.maximum(out["need"], 0.0)
    out["courting"] = np.maximum(out["courting"], 0.0)
    return out


def compile_shocks(scns: list[Scenario], base: Exogenous) -> Exogenous:
    """``scns`` compiled onto ``base``'s structural arrays, one variant each: only the shock paths are computed.

    ``base`` must be the compilation of a scenario that differs from each of ``scns`` in shocks and
    parameters only (a sweep's design points over ``shocks.*`` and ``params.*``), with as many shocks.
    """
    return dataclasses.replace(base, **_shock_paths(scns))


def compile_scenario(scn: Scenario) -> Exogenous:
    """Turn a validated scenario into the arrays the model reads (one variant).

    The result depends on neither the behavioural parameters nor the rule or seed, so it is
    cached per process by everything else in the scenario (the dashboard and notebooks rerun one
    scenario with other parameters); treat it as read-only.
    """
    key = scn.model_dump_json(exclude={"params", "rule", "seed", "name", "description"})
    exo = _COMPILED.get(key)
    if exo is None:
        if len(_COMPILED) >= 16:
            _COMPILED.pop(next(iter(_COMPILED)))
        exo = _COMPILED[key] = _compile(scn)
    return exo


_COMPILED: dict[str, Exogenous] = {}


def _compile(scn: Scenario) -> Exogenous:
    cal = scn.calendar
    years = cal.years()
    d = scn.drivers
    brent = load_brent(d.brent.file, years)
    closure = load_closure(d.freedom_house.file, years)
    power, coercive = load_cinc(d.cinc.file, years)
    remittances = load_client_series(d.remittances.file, "remittances_pct_gdp", years, "drivers.remittances", scale=0.01, start_at_zero=True)
    ethnic = load_client_series(d.ethnic_russians.file, "share", years, "drivers.ethnic_russians")
    hydro = load_client_series(d.hydrocarbons.file, "toe_per_capita", years, "drivers.hydrocarbons")
    route_russia, route_china = load_routes(d.export_routes.file, cal)
    hydro_rel = hydro / np.maximum(hydro.max(axis=1, keepdims=True), 1e-12)

    ci = [scn.clients[c] for c in CLIENTS]
    proximity = np.full((N_CLIENTS, N_PATRONS), PROXIMITY_REGION)
    proximity[:, Patron.WEST] = PROXIMITY_DISTANT
    for c, inp in enumerate(ci):
        if inp.border_russia:
            proximity[c, Patron.RUS] = PROXIMITY_BORDER
        if inp.border_china:
            proximity[c, Patron.CHN] = PROXIMITY_BORDER

    ins = scn.instruments
    J = len(ins)
    open_ = np.zeros((cal.n_steps, J), dtype=bool)
    renewal = np.zeros((cal.n_steps, J), dtype=bool)
    for j, i in enumerate(ins):
        open_[max(0, cal.step_of(i.open_from)) :, j] = True
        for r in i.renewals:
            renewal[cal.step_of(r), j] = True

    return Exogenous(
        years=years,
        brent=brent,
        closure=closure,
        power=power,
        capacity=(coercive + hydro_rel) / 2.0,
        proximity=proximity,
        base_intent=np.array([scn.patrons[p].intent for p in PATRONS]),
        ethnic_russian=ethnic,
        remittances=remittances,
        route_russia=route_russia,
        route_china_base=route_china,
        logistics=np.array([LOGISTICS_BORDER if x.afghan_border else LOGISTICS_TRANSIT for x in ci]),
        soviet_forces=np.array([x.soviet_forces for x in ci], dtype=bool),
        initial_stance=np.array([Stance[scn.initial_stance.get(c, "RUS")] for c in CLIENTS], dtype=np.int8),
        **_shock_paths([scn]),
        instrument_ids=tuple(i.id for i in ins),
        instrument_patron=np.array([PATRONS.index(i.patron) for i in ins], dtype=np.int64),
        instrument_military=np.array([i.layer == "military" for i in ins], dtype=bool),
        instrument_alliance=np.array([i.alliance for i in ins], dtype=bool),
        instrument_legacy=np.array([i.requires_soviet_forces for i in ins], dtype=bool),
        instrument_open=open_,
        instrument_need=np.array([np.nan if i.requires_need is None else i.requires_need for i in ins]),
        instrument_renewal=renewal,
        join_threshold=np.array([np.nan if i.alliance else i.join_threshold for i in ins]),
        exit_threshold=np.array([np.nan if i.alliance else i.exit_threshold for i in ins]),
    )

