"""Pure, vectorised dynamics: the environment each quarter, patron offers, de jure acts.

Every function takes and returns numpy arrays whose leading axis is the run
(``b``); clients are on axis 1. The Mesa model and the ensemble runner both
call these functions, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.actors import N_PATRONS, Patron, Stance, Threat
from sim.inputs import Exogenous
from sim.params import Theta


@dataclass
class Environment:
    """Exogenous conditions of one quarter as seen by each client; all arrays ``[b, C, ...]``."""

    means: np.ndarray  # [b, C] Russia's means (oil-driven)
    need: np.ndarray  # [b, C] Western logistics need for this client
    engagement: np.ndarray  # [b, C] Western military engagement in Afghanistan (0..1)
    pressure: np.ndarray  # [b, C] Western normative pressure on this client
    threat: np.ndarray  # [b, C, K] threat levels
    patron_threat: np.ndarray  # [b, C, P] threat each patron poses (Walt)
    dependence: np.ndarray  # [b, C, P] structural dependence on each patron
    affinity: np.ndarray  # [b, C, P] leader's personal affinity
    china_weight: np.ndarray  # [b, C] China's economic pull
    courting: np.ndarray  # [b, C] intensity of Russian courting
    troops: np.ndarray  # [b, C] Russian forces on the client's soil
    capability: np.ndarray  # [b, C] client capability relative to the strongest client

    def client(self, c: int) -> Environment:
        """This environment restricted to client ``c`` (axis 1 kept, length 1)."""
        return Environment(**{f.name: getattr(self, f.name)[:, c : c + 1] for f in fields(self)})


@dataclass
class Offers:
    """What each patron offers each client this quarter; arrays ``[b, C, P, ...]``."""

    rents: np.ndarray  # [b, C, P]
    protection: np.ndarray  # [b, C, P, K]
    sovereignty: np.ndarray  # [b, C, P]
    pressure: np.ndarray  # [b, C, P] normative pressure applied to a client aligned with p

    def client(self, c: int) -> Offers:
        """These offers restricted to client ``c`` (axis 1 kept, length 1)."""
        return Offers(**{f.name: getattr(self, f.name)[:, c : c + 1] for f in fields(self)})


@dataclass
class PatronOffer:
    """One patron's offer to every client; arrays ``[b, C, ...]``."""

    rents: np.ndarray
    protection: np.ndarray
    sovereignty: np.ndarray
    pressure: np.ndarray


def environment(exo: Exogenous, t: int, th: Theta, b: int, variant: np.ndarray | None = None) -> Environment:
    """The quarter-``t`` environment for a batch of ``b`` runs.

    Args:
        exo: The compiled scenario.
        t: Step index.
        th: Parameters with 1 or ``b`` rows.
        b: Number of runs.
        variant: Which exogenous variant each run uses (``[b]``); ``None`` when
            the scenario has a single variant.
    """
    x = exo.at(t)
    if variant is not None:
        x = {k: v[variant] for k, v in x.items()}
    C = exo.closure.shape[1]
    means = (exo.brent[t] / th.oil_reference) ** th.oil_elasticity * np.maximum(1.0 + x["means_shock"][:, None], 0.0)
    need_global = x["need"][:, None]  # [b?, 1]
    need = need_global * exo.logistics[None, :]
    engagement = np.minimum(th.engagement_base + need_global, 1.0)
    repression = th.pressure_closure * exo.closure[t][None, :] + th.pressure_base * x["repression"]
    pressure = np.maximum(repression * (1.0 - th.pressure_mute * np.minimum(need, 1.0)) + x["pressure_script"], 0.0)

    intent = exo.base_intent[None, None, :] + x["intent_shock"][:, None, :]
    intent = np.broadcast_to(intent, (b, C, N_PATRONS)).copy()
    intent[:, :, Patron.WEST] += np.broadcast_to(th.intent_from_pressure * pressure, (b, C))
    patron_threat = exo.power[t][None, None, :] * exo.proximity[None] * intent

    pressure = np.broadcast_to(pressure, (b, C))
    # Shock paths are clipped at zero first, so a negative shock (the Taliban ousted)
    # can cancel earlier shocks of its kind but not the patron threats added below.
    threat = np.broadcast_to(np.maximum(x["shock_threat"], 0.0), (b, C, len(Threat))).copy()
    threat[:, :, Threat.UNREST] += th.unrest_from_closure * exo.closure[t][None, :] + th.pressure_feedback * pressure
    threat[:, :, Threat.ELITE] += th.elite_base
    threat[:, :, Threat.EXTERNAL] += patron_threat[..., 0] + patron_threat[..., 1] + patron_threat[..., 2]
    threat = np.maximum(threat, 0.0)

    route_china = x["route_china"]
    route_russia = np.maximum(exo.route_russia[None, :] - route_china, 0.0)
    remit = np.minimum(2.0 * exo.remittances[None, :] * means, 1.0)
    dependence = np.zeros((b, C, N_PATRONS))
    dependence[:, :, Patron.RUS] = (exo.ethnic_russian[None, :] + exo.russian_troops[None, :] + remit + route_russia) / 4.0
    dependence[:, :, Patron.CHN] = route_china

    china_weight = exo.power[t, Patron.CHN] / exo.power[0, Patron.CHN] * (1.0 + route_china)
    return Environment(
        means=np.broadcast_to(means, (b, C)),
        need=np.broadcast_to(need, (b, C)),
        engagement=np.broadcast_to(engagement, (b, C)),
        pressure=pressure,
        threat=threat,
        patron_threat=patron_threat,
        dependence=dependence,
        affinity=np.broadcast_to(x["affinity"], (b, C, N_PATRONS)),
        china_weight=np.broadcast_to(china_weight, (b, C)),
        courting=np.broadcast_to(x["courting"][:, None], (b, C)),
        troops=np.broadcast_to(exo.russian_troops[None, :], (b, C)),
        capability=np.broadcast_to(exo.capability[t][None, :], (b, C)),
    )


def russia_offer(env: Environment, prev: np.ndarray, th: Theta) -> PatronOffer:
    """Russia: rents and protection follow its oil-driven means; it courts clients that drift
    away and raises integration demands (sovereignty cost) when rich."""
    drifted = (prev != Stance.RUS).astype(float)
    rents = th.rent_rus * env.means * (1.0 + th.court * env.courting * drifted)
    capacity = np.minimum(env.means, 1.0)
    protection = th.protection[:, None, Patron.RUS, :] * capacity[..., None]
    sovereignty = th.sovereignty_rus * env.means * (1.0 - env.troops)
    return PatronOffer(rents, protection, sovereignty, np.zeros_like(rents))


def west_offer(env: Environment, prev: np.ndarray, th: Theta) -> PatronOffer:
    """The West: rents follow its Afghan logistics need; protection against insurgency follows
    its engagement in Afghanistan; its normative pressure follows repression."""
    rents = th.rent_west * env.need + th.aid_west
    protection = np.broadcast_to(th.protection[:, None, Patron.WEST, :], env.threat.shape).copy()
    protection[:, :, Threat.INSURGENCY] *= env.engagement
    sovereignty = th.sovereignty_west * env.need
    return PatronOffer(rents, protection, np.broadcast_to(sovereignty, rents.shape), env.pressure)


def china_offer(env: Environment, prev: np.ndarray, th: Theta) -> PatronOffer:
    """China: economic weight that grows with its capability and its pipelines; little protection."""
    rents = th.rent_chn * env.china_weight
    protection = np.broadcast_to(th.protection[:, None, Patron.CHN, :], env.threat.shape)
    sovereignty = np.broadcast_to(th.sovereignty_chn, rents.shape)
    return PatronOffer(rents, protection, sovereignty, np.zeros_like(rents))


#: Each patron's offer rule, in ``Patron`` order.
OFFER_RULES = (russia_offer, west_offer, china_offer)


def stack_offers(offers: list[PatronOffer]) -> Offers:
    """Combine the patrons' offers (in ``Patron`` order) into one :class:`Offers`."""
    return Offers(
        rents=np.stack([o.rents for o in offers], axis=2),
        protection=np.stack([o.protection for o in offers], axis=2),
        sovereignty=np.stack([o.sovereignty for o in offers], axis=2),
        pressure=np.stack([o.pressure for o in offers], axis=2),
    )


def patron_offers(env: Environment, prev: np.ndarray, th: Theta) -> Offers:
    """All patrons' offers to all clients."""
    return stack_offers([rule(env, prev, th) for rule in OFFER_RULES])


def protection_needed(env: Environment, th: Theta) -> np.ndarray:
    """``[b, C]``: the share of a patron's protection a client actually gains.

    A capable client can provide part of its own security, so protection is
    worth ``1 - self_reliance * capability`` to it (Morrow 1991: stronger
    minor powers trade less autonomy for security).
    """
    return 1.0 - th.self_reliance * env.capability


def instrument_availability(exo: Exogenous, t: int, env: Environment) -> np.ndarray:
    """``[b, C, J]``: which de jure instruments a client could enter this quarter."""
    avail = np.broadcast_to(exo.instrument_open[t][None, None, :], env.need.shape + (len(exo.instrument_ids),))
    needs = exo.instrument_need
    if np.isnan(needs).all():
        return avail
    need_ok = np.where(np.isnan(needs)[None, None, :], True, env.need[..., None] >= np.nan_to_num(needs)[None, None, :])
    return avail & need_ok


def update_commitments(
    memory: np.ndarray,
    member: np.ndarray,
    stance: np.ndarray,
    available: np.ndarray,
    renewal: np.ndarray,
    exo: Exogenous,
    th: Theta,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance the de jure layer one quarter.

    ``memory`` (``[b, C, J]``) is an exponential memory of alignment with each
    instrument's patron. A client joins an open instrument once that memory
    exceeds the join threshold, and leaves once it falls below the exit
    threshold; at a renewal date a member must in effect join again, so it
    lets the treaty lapse unless its memory still exceeds the join threshold. With ``dejure_sticky`` off, membership
    follows the stance at once (an ablation).
    """
    toward = (stance[..., None] == exo.instrument_patron[None, None, :]).astype(float)
    rate = th.dejure_rate[..., None]
    memory = (1.0 - rate) * memory + rate * toward
    sticky = th.dejure_sticky[..., None] > 0.5
    join_s = memory > exo.join_threshold
    exit_s = (memory < exo.exit_threshold) | (renewal[None, None, :] & ~join_s)
    join = np.where(sticky, join_s, toward > 0.5)
    leave = np.where(sticky, exit_s, toward < 0.5)
    member = np.where(member, ~leave & available, join & available)
    return memory, member


def initial_commitments(exo: Exogenous, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Start-of-run memory (1 toward the initial stance's patron) and membership (none)."""
    J = len(exo.instrument_ids)
    toward = exo.initial_stance[:, None] == exo.instrument_patron[None, :]
    memory = np.broadcast_to(toward.astype(float), (b, len(exo.initial_stance), J)).copy()
    return memory, np.zeros_like(memory, dtype=bool)


def alliance_status(member: np.ndarray, stance: np.ndarray, exo: Exogenous) -> np.ndarray:
    """``[b, C]`` int: 0 none, 1 true, 2 paper (``AllianceStatus``) for Russia's military bloc."""
    rus_mil = (exo.instrument_patron == Patron.RUS) & exo.instrument_military
    in_bloc = member[..., rus_mil].any(axis=-1)
    aligned = stance == Stance.RUS
    return np.where(in_bloc, np.where(aligned, 1, 2), 0).astype(np.int8)


def closeness(stance: np.ndarray, probs: np.ndarray, member: np.ndarray, offers: Offers, exo: Exogenous) -> dict[str, np.ndarray]:
    """Military, political and economic closeness of each client to each patron, in [0, 1].

    military = half the de facto stance, half any military instrument with the patron;
    political = the choice probability of that patron;
    economic = half the patron's share of offered rents, half any economic instrument with it.
    """
    out: dict[str, np.ndarray] = {}
    total_rents = offers.rents[..., 0] + offers.rents[..., 1] + offers.rents[..., 2]
    for p in Patron:
        mine = exo.instrument_patron == p
        mil = member[..., mine & exo.instrument_military].any(axis=-1)
        eco = member[..., mine & ~exo.instrument_military].any(axis=-1)
        out[f"military_{p.name}"] = 0.5 * (stance == p) + 0.5 * mil
        out[f"political_{p.name}"] = probs[..., p]
        share = np.divide(offers.rents[..., p], total_rents, out=np.zeros_like(total_rents), where=total_rents > 0)
        out[f"economic_{p.name}"] = 0.5 * share + 0.5 * eco
    return out
