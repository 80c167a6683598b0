"""The compiled scenario the kernel reads: driver, structural, shock and instrument arrays.

:func:`sim.scenario.compile.compile_scenario` builds an :class:`Exogenous` from a validated
scenario; nothing in it depends on the behavioural parameters, so one compiled scenario serves
any number of parameter sets. Arrays that shocks can change carry a leading *variant* axis ``b``
(length 1 for a single scenario), so sweeps over shock fields can stack several compiled
scenarios and broadcast them against runs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.kernel.actors import Patron


@dataclass
class Exogenous:
    """A compiled scenario. Shapes: ``b`` variants, ``T`` steps, ``C`` clients, ``P`` patrons, ``K`` threats, ``J`` instruments."""

    years: np.ndarray  # [T] calendar year of each step
    brent: np.ndarray  # [T] USD/bbl
    closure: np.ndarray  # [T, C] regime closure in [0, 1] (Freedom House)
    power: np.ndarray  # [T, P] aggregate power (CINC relative to Russia's at the start)
    capacity: np.ndarray  # [T, C] self-reliance capacity in [0, 1]: mean of coercive and hydrocarbon capacity
    proximity: np.ndarray  # [C, P]
    base_intent: np.ndarray  # [P]
    ethnic_russian: np.ndarray  # [T, C] share of ethnic Russians (censuses, interpolated)
    remittances: np.ndarray  # [T, C] remittances, share of GDP (World Bank WDI)
    route_russia: np.ndarray  # [T, C] share of hydrocarbon exports that can only leave through Russia
    route_china_base: np.ndarray  # [T, C] share that can leave to China (pipeline openings)
    logistics: np.ndarray  # [C]
    soviet_forces: np.ndarray  # [C] bool: Soviet forces under Russian command on the soil at independence
    initial_stance: np.ndarray  # [C] int
    shock_threat: np.ndarray  # [b, T, C, K]
    contagion: np.ndarray  # [b, T, C] colour-revolution contagion
    repression: np.ndarray  # [b, T, C]
    pressure_script: np.ndarray  # [b, T, C]
    route_china: np.ndarray  # [b, T, C] added Chinese outlet (counterfactual shocks)
    means_shock: np.ndarray  # [b, T]
    need: np.ndarray  # [b, T]
    intent_shock: np.ndarray  # [b, T, P]
    courting: np.ndarray  # [b, T]
    engagement_events: np.ndarray  # [b, T] number of Western security-engagement events so far
    succession: np.ndarray  # [b, T, C] path of client leader changes (1 at the change, halving each year)
    tie_reset: np.ndarray  # [b, T, C, P] bool: the leader of the client or of the patron changes this quarter
    instrument_ids: tuple[str, ...]
    instrument_patron: np.ndarray  # [J] int
    instrument_military: np.ndarray  # [J] bool
    instrument_alliance: np.ndarray  # [J] bool: a military alliance (counts for alliance status)
    instrument_legacy: np.ndarray  # [J] bool: open only to clients with Soviet-era forces
    instrument_open: np.ndarray  # [T, J] bool: open by date
    instrument_need: np.ndarray  # [J] float, nan = no need requirement
    instrument_renewal: np.ndarray  # [T, J] bool
    join_threshold: np.ndarray  # [J] (NaN for an alliance: see sim.kernel.dejure.thresholds)
    exit_threshold: np.ndarray  # [J] (NaN for an alliance)

    @property
    def n_steps(self) -> int:
        return len(self.years)

    @property
    def n_variants(self) -> int:
        return self.shock_threat.shape[0]

    @property
    def bloc(self) -> np.ndarray:
        """``[J]`` bool: Russia's military alliance (the CST/CSTO), whose membership makes a de jure ally."""
        return (self.instrument_patron == Patron.RUS) & self.instrument_alliance

    def in_bloc(self, member: np.ndarray) -> np.ndarray:
        """``[...]`` bool: membership of Russia's military alliance, from ``[..., J]`` de jure instruments."""
        idx = np.flatnonzero(self.bloc)
        return member[..., idx[0]] if len(idx) == 1 else member[..., idx].any(axis=-1)

    def at(self, t: int | np.ndarray, variant: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The per-step slices of the variant-dependent series, leading axis one row per variant
        (or per ``variant`` entry); with ``t`` an array of steps, row ``i`` is step ``t[i]`` of
        variant ``variant[i]`` (variant 0 if ``variant`` is ``None``)."""
        if np.ndim(t) == 0:
            x = {name: getattr(self, name)[:, t] for name in _VARIANT_FIELDS}
            return x if variant is None else {k: v[variant] for k, v in x.items()}
        v = np.zeros(len(t), dtype=np.int64) if variant is None else variant
        return {name: getattr(self, name)[v, t] for name in _VARIANT_FIELDS}

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

_VARIANT_FIELDS = (
    "shock_threat", "contagion", "repression", "pressure_script", "route_china", "means_shock", "need", "intent_shock",
    "courting", "engagement_events", "succession", "tie_reset",
)
