"""The environment of a quarter as each client sees it: means, need, pressure, threats, dependence.

Pure, vectorised functions: every array has the run (``b``) on its leading axis and the
client on axis 1. The Mesa model and the ensemble runner both call them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.kernel.actors import N_PATRONS, N_THREATS, Patron, Threat
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import Theta


@dataclass
class Environment:
    """Exogenous conditions of one quarter as seen by each client; all arrays ``[b, C, ...]``."""

    means: np.ndarray  # [b, C] Russia's means (oil-driven)
    need: np.ndarray  # [b, C] Western logistics need for this client
    engagement: np.ndarray  # [b, C] Western military engagement in Afghanistan (0..1)
    pressure: np.ndarray  # [b, C] Western normative pressure on this client (its hostility to the regime)
    threat: np.ndarray  # [b, C, K] threat levels
    patron_threat: np.ndarray  # [b, C, P] threat each patron poses (Walt)
    self_reliance: np.ndarray  # [b, C] share of its threats and of the value of rents the regime can do without
    ethnic_russian: np.ndarray  # [b, C]
    remittances: np.ndarray  # [b, C] remittances from Russia, scaled to [0, 1]
    route_russia: np.ndarray  # [b, C] share of exports through Russia
    route_china: np.ndarray  # [b, C] share of exports with a Chinese outlet
    china_weight: np.ndarray  # [b, C] China's economic pull
    courting: np.ndarray  # [b, C] intensity of Russian courting
    tie_reset: np.ndarray  # [b, C, P] bool: a leader change breaks the personal ties this quarter

    def client(self, c: int) -> Environment:
        """This environment restricted to client ``c`` (axis 1 kept, length 1)."""
        return Environment(**{f.name: getattr(self, f.name)[:, c : c + 1] for f in fields(self)})

def _bc(x: np.ndarray, b: int, C: int) -> np.ndarray:
    return np.broadcast_to(x, (b, C))

def at_step(series: np.ndarray, t: int | np.ndarray) -> np.ndarray:
    """``series[t]`` with a leading row axis: length 1 for one step, ``b`` for an array of steps."""
    return series[t][None] if np.ndim(t) == 0 else series[t]

def environment(exo: Exogenous, t: int | np.ndarray, th: Theta, b: int, variant: np.ndarray | None = None) -> Environment:
    """The quarter-``t`` environment for a batch of ``b`` runs.

    Args:
        exo: The compiled scenario.
        t: Step index, or ``[b]`` one step per row (the ensemble computes every quarter of
            every setting in one batch: nothing here depends on an earlier quarter).
        th: Parameters with 1 or ``b`` rows.
        b: Number of runs (rows).
        variant: Which exogenous variant each row uses (``[b]``); ``None`` when
            the scenario has a single variant.
    """
    x = exo.at(t, variant)
    C = exo.closure.shape[1]
    closure = at_step(exo.closure, t)
    means = (at_step(exo.brent, t)[:, None] / th.oil_reference) ** th.oil_elasticity * np.maximum(1.0 + x["means_shock"][:, None], 0.0)
    need_global = x["need"][:, None]  # [b?, 1]
    need = need_global * exo.logistics[None, :]
    engagement = np.minimum(th.engagement_base + th.engagement_step * x["engagement_events"][:, None] + need_global, 1.0)
    repression = th.pressure_closure * closure + th.pressure_base * x["repression"]
    pressure = np.maximum(repression * (1.0 - th.pressure_mute * np.minimum(need, 1.0)) + x["pressure_script"], 0.0)

    intent = exo.base_intent[None, None, :] + x["intent_shock"][:, None, :]
    intent = np.broadcast_to(intent, (b, C, N_PATRONS)).copy()
    intent[:, :, Patron.WEST] += _bc(th.intent_from_pressure * pressure, b, C)
    power = at_step(exo.power, t)
    patron_threat = power[:, None, :] * exo.proximity[None] * intent

    # Shock paths are clipped at zero first, so a negative shock (the Taliban ousted)
    # can cancel earlier shocks of its kind but not the standing terms added below.
    shocks = np.maximum(x["shock_threat"], 0.0)
    threat = np.broadcast_to(shocks, (b, C, N_THREATS)).copy()
    threat[:, :, Threat.UNREST] += _bc(th.unrest_from_closure * closure, b, C)
    threat[:, :, Threat.ELITE] += _bc(th.elite_base + th.succession_threat * x["succession"], b, C)
    threat[:, :, Threat.EXTERNAL] += patron_threat[..., 0] + patron_threat[..., 1] + patron_threat[..., 2]
    # A revolt, at home or next door, threatens the regime with an externally backed change of
    # regime in proportion to the West's hostility toward it (Fumagalli 2007).
    revolt = np.maximum(x["contagion"], 0.0) + shocks[..., Threat.UNREST]
    threat[:, :, Threat.REGIME_CHANGE] = _bc(th.hostility * pressure * revolt, b, C)
    threat = np.maximum(threat, 0.0)

    route_china = np.clip(at_step(exo.route_china_base, t) + x["route_china"], 0.0, 1.0)
    route_russia = np.maximum(at_step(exo.route_russia, t) - x["route_china"], 0.0)
    china_weight = power[:, Patron.CHN, None] / exo.power[0, Patron.CHN] * (1.0 + route_china)
    return Environment(
        means=_bc(means, b, C),
        need=_bc(need, b, C),
        engagement=_bc(engagement, b, C),
        pressure=_bc(pressure, b, C),
        threat=threat,
        patron_threat=patron_threat,
        self_reliance=_bc(th.self_reliance * at_step(exo.capacity, t), b, C),
        ethnic_russian=_bc(at_step(exo.ethnic_russian, t), b, C),
        remittances=_bc(np.minimum(2.0 * at_step(exo.remittances, t), 1.0), b, C),
        route_russia=_bc(route_russia, b, C),
        route_china=_bc(route_china, b, C),
        china_weight=_bc(china_weight, b, C),
        courting=_bc(x["courting"][:, None], b, C),
        tie_reset=np.broadcast_to(x["tie_reset"], (b, C, N_PATRONS)),
    )

def leverage(env: Environment, forces: np.ndarray, th: Theta) -> np.ndarray:
    """``[b, C, P]``: the leverage each patron holds over each client, the utility a client loses by
    defying that patron in full (before self-reliance and the neutral share).

    Each channel of structural dependence has its own cost of defiance, a global parameter: over
    Russia, the ethnic Russian share (``defiance_ethnic``), Russian forces on the client's soil
    (``forces``, the client's own de jure state; ``defiance_forces``), remittances
    (``defiance_remittances``) and the share of exports that can only leave through Russia's
    pipelines (``defiance_route``); over China, the share of exports with a Chinese outlet (the same
    pipeline channel). The West holds none.
    """
    lev = np.zeros(env.threat.shape[:2] + (N_PATRONS,))
    lev[:, :, Patron.RUS] = (th.defiance_ethnic * env.ethnic_russian + th.defiance_forces * forces
                             + th.defiance_remittances * env.remittances + th.defiance_route * env.route_russia)
    lev[:, :, Patron.CHN] = th.defiance_route * env.route_china
    return lev
