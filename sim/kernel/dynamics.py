"""Pure, vectorised dynamics: the environment each quarter, patron offers, de jure acts,
personal ties and the leaders' persistent preference shocks.

Every function takes and returns numpy arrays whose leading axis is the run
(``b``); clients are on axis 1. The Mesa model and the ensemble runner both
call these functions, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.kernel.actors import N_PATRONS, N_THREATS, Patron, Stance, Threat
from sim.kernel.params import Theta
from sim.scenario.compile import Exogenous


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


@dataclass
class Offers:
    """What each patron offers each client this quarter; arrays ``[b, C, P, ...]``."""

    rents: np.ndarray  # [b, C, P]
    courting: np.ndarray  # [b, C, P] extra rents for a client that drifted away last quarter
    protection: np.ndarray  # [b, C, P, K]
    sovereignty: np.ndarray  # [b, C, P]
    exposure: np.ndarray  # [b, C, P] how much aligning with p worsens the regime-change threat

    def client(self, c: int) -> Offers:
        """These offers restricted to client ``c`` (axis 1 kept, length 1)."""
        return Offers(**{f.name: getattr(self, f.name)[:, c : c + 1] for f in fields(self)})


@dataclass
class PatronOffer:
    """One patron's offer to every client; arrays ``[b, C, ...]``."""

    rents: np.ndarray
    courting: np.ndarray
    protection: np.ndarray
    sovereignty: np.ndarray
    exposure: np.ndarray


def _bc(x: np.ndarray, b: int, C: int) -> np.ndarray:
    return np.broadcast_to(x, (b, C))


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
    closure = exo.closure[t][None, :]
    means = (exo.brent[t] / th.oil_reference) ** th.oil_elasticity * np.maximum(1.0 + x["means_shock"][:, None], 0.0)
    need_global = x["need"][:, None]  # [b?, 1]
    need = need_global * exo.logistics[None, :]
    engagement = np.minimum(th.engagement_base + th.engagement_step * x["engagement_events"][:, None] + need_global, 1.0)
    repression = th.pressure_closure * closure + th.pressure_base * x["repression"]
    pressure = np.maximum(repression * (1.0 - th.pressure_mute * np.minimum(need, 1.0)) + x["pressure_script"], 0.0)

    intent = exo.base_intent[None, None, :] + x["intent_shock"][:, None, :]
    intent = np.broadcast_to(intent, (b, C, N_PATRONS)).copy()
    intent[:, :, Patron.WEST] += _bc(th.intent_from_pressure * pressure, b, C)
    patron_threat = exo.power[t][None, None, :] * exo.proximity[None] * intent

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

    route_china = np.clip(exo.route_china_base[t][None, :] + x["route_china"], 0.0, 1.0)
    route_russia = np.maximum(exo.route_russia[t][None, :] - x["route_china"], 0.0)
    china_weight = exo.power[t, Patron.CHN] / exo.power[0, Patron.CHN] * (1.0 + route_china)
    return Environment(
        means=_bc(means, b, C),
        need=_bc(need, b, C),
        engagement=_bc(engagement, b, C),
        pressure=_bc(pressure, b, C),
        threat=threat,
        patron_threat=patron_threat,
        self_reliance=_bc(th.self_reliance * exo.capacity[t][None, :], b, C),
        ethnic_russian=_bc(exo.ethnic_russian[t][None, :], b, C),
        remittances=_bc(np.minimum(2.0 * exo.remittances[t][None, :], 1.0), b, C),
        route_russia=_bc(route_russia, b, C),
        route_china=_bc(route_china, b, C),
        china_weight=_bc(china_weight, b, C),
        courting=_bc(x["courting"][:, None], b, C),
        tie_reset=np.broadcast_to(x["tie_reset"], (b, C, N_PATRONS)),
    )


def dependence(env: Environment, forces: np.ndarray) -> np.ndarray:
    """``[b, C, P]``: structural dependence on each patron (the leverage it holds).

    Russia's is the mean of four indicators: the ethnic Russian share, Russian forces on the
    client's soil (``forces``, the client's own de jure state), remittances and the share of
    exports that can only leave through Russia. China's is the share of exports with a Chinese
    outlet; the West's is zero.
    """
    dep = np.zeros(env.threat.shape[:2] + (N_PATRONS,))
    dep[:, :, Patron.RUS] = (env.ethnic_russian + forces + env.remittances + env.route_russia) / 4.0
    dep[:, :, Patron.CHN] = env.route_china
    return dep


def russia_offer(env: Environment, th: Theta) -> PatronOffer:
    """Russia: rents and protection follow its oil-driven means; it courts clients that drifted
    away last quarter (extra rents) and raises integration demands (sovereignty cost) when rich."""
    rents = th.rent_rus * env.means
    capacity = np.minimum(env.means, 1.0)
    protection = th.protection[:, None, Patron.RUS, :] * capacity[..., None]
    sovereignty = th.sovereignty_rus * env.means**th.demand_elasticity
    return PatronOffer(rents, rents * th.court * env.courting, protection, sovereignty, np.zeros_like(rents))


def west_offer(env: Environment, th: Theta) -> PatronOffer:
    """The West: rents follow its Afghan logistics need; its protection against insurgency and
    external threats follows its military engagement in the region; aligning with it exposes the
    regime to its democracy agenda."""
    rents = th.rent_west * env.need + th.aid_west
    protection = th.protection[:, None, Patron.WEST, :] * env.engagement[..., None]
    sovereignty = th.sovereignty_west * env.need
    exposure = np.broadcast_to(th.exposure, rents.shape)
    return PatronOffer(rents, np.zeros_like(rents), protection, np.broadcast_to(sovereignty, rents.shape), exposure)


def china_offer(env: Environment, th: Theta) -> PatronOffer:
    """China: economic weight that grows with its capability and its pipelines; little protection."""
    rents = th.rent_chn * env.china_weight
    protection = np.broadcast_to(th.protection[:, None, Patron.CHN, :], env.threat.shape)
    sovereignty = np.broadcast_to(th.sovereignty_chn, rents.shape)
    return PatronOffer(rents, np.zeros_like(rents), protection, sovereignty, np.zeros_like(rents))


#: Each patron's offer rule, in ``Patron`` order.
OFFER_RULES = (russia_offer, west_offer, china_offer)


def stack_offers(offers: list[PatronOffer]) -> Offers:
    """Combine the patrons' offers (in ``Patron`` order) into one :class:`Offers`."""
    return Offers(**{f.name: np.stack([getattr(o, f.name) for o in offers], axis=2) for f in fields(Offers)})


def patron_offers(env: Environment, th: Theta) -> Offers:
    """All patrons' offers to all clients."""
    return stack_offers([rule(env, th) for rule in OFFER_RULES])


def preference_noise(previous: np.ndarray | None, innovation: np.ndarray, th: Theta) -> np.ndarray:
    """``[b, C, S]``: the leader's persistent preference shock for each stance, in units of ``noise_sd``.

    An AR(1) process with unit stationary variance, ``e(t) = phi e(t-1) + sqrt(1 - phi^2) z(t)``,
    started at its stationary distribution (``e(0) = z(0)``). With ``phi`` near 1 a leader who
    leans one way keeps leaning that way for years, so uncertainty about timing does not turn
    into quarter-to-quarter flip-flopping.
    """
    if previous is None:
        return innovation
    phi = th.noise_persistence[..., None]
    return phi * previous + np.sqrt(1.0 - phi**2) * innovation


def initial_ties(exo: Exogenous, b: int) -> np.ndarray:
    """``[b, C, P]``: no personal ties between the new states' leaders and the patrons' at independence."""
    return np.zeros((b, len(exo.initial_stance), N_PATRONS))


def update_ties(ties: np.ndarray, stance: np.ndarray, th: Theta) -> np.ndarray:
    """Ties with each patron's leader build while aligned with him and fade otherwise."""
    toward = (stance[..., None] == np.arange(N_PATRONS)).astype(float)
    rate = th.tie_rate[..., None]
    return ties + rate * (toward - ties)


def instrument_availability(exo: Exogenous, t: int, env: Environment) -> np.ndarray:
    """``[b, C, J]``: which de jure instruments a client could hold this quarter."""
    J = len(exo.instrument_ids)
    avail = np.broadcast_to(exo.instrument_open[t][None, None, :], env.need.shape + (J,))
    needs = exo.instrument_need
    if not np.isnan(needs).all():
        need_ok = np.where(np.isnan(needs)[None, None, :], True, env.need[..., None] >= np.nan_to_num(needs)[None, None, :])
        avail = avail & need_ok
    if exo.instrument_legacy.any():
        avail = avail & ~(exo.instrument_legacy[None, None, :] & ~exo.soviet_forces[None, :, None])
    return avail


def update_commitments(
    memory: np.ndarray,
    member: np.ndarray,
    stance: np.ndarray,
    available: np.ndarray,
    renewal: np.ndarray,
    exo: Exogenous,
    th: Theta,
    first: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance the de jure layer one quarter.

    ``memory`` (``[b, C, J]``) is an exponential memory of alignment with each
    instrument's patron; in the first quarter it is simply the first stance (a new
    state has no record yet). A client joins an open instrument once that memory
    exceeds the join threshold, and leaves once it falls below the exit
    threshold; at a renewal date a member must in effect join again, so it
    lets the treaty lapse unless its memory still exceeds the join threshold. Joining
    when an instrument opens is the same test as any later act: no membership is
    automatic. With ``dejure_sticky`` off, membership follows the stance at once (an ablation).
    """
    toward = (stance[..., None] == exo.instrument_patron[None, None, :]).astype(float)
    rate = 1.0 if first else th.dejure_rate[..., None]
    memory = (1.0 - rate) * memory + rate * toward
    sticky = th.dejure_sticky[..., None] > 0.5
    join_s = memory > exo.join_threshold
    exit_s = (memory < exo.exit_threshold) | (renewal[None, None, :] & ~join_s)
    join = np.where(sticky, join_s, toward > 0.5)
    leave = np.where(sticky, exit_s, toward < 0.5)
    member = np.where(member, ~leave & available, join & available)
    return memory, member


def initial_commitments(exo: Exogenous, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Start-of-run memory (overwritten by the first stance) and membership (none)."""
    shape = (b, len(exo.initial_stance), len(exo.instrument_ids))
    return np.zeros(shape), np.zeros(shape, dtype=bool)


def russian_forces(member: np.ndarray, exo: Exogenous) -> np.ndarray:
    """``[b, C]`` float: whether the client hosts Russian forces (a Russian military instrument
    that is not an alliance)."""
    mask = (exo.instrument_patron == Patron.RUS) & exo.instrument_military & ~exo.instrument_alliance
    return member[..., mask].any(axis=-1).astype(float) if mask.any() else np.zeros(member.shape[:2])


def alliance_status(member: np.ndarray, stance: np.ndarray, exo: Exogenous) -> np.ndarray:
    """``[b, C]`` int: 0 none, 1 true, 2 paper (``AllianceStatus``) for Russia's military alliance."""
    in_bloc = member[..., exo.bloc].any(axis=-1)
    aligned = stance == Stance.RUS
    return np.where(in_bloc, np.where(aligned, 1, 2), 0).astype(np.int8)


def closeness(stance: np.ndarray, probs: np.ndarray, member: np.ndarray, offers: Offers, exo: Exogenous) -> dict[str, np.ndarray]:
    """Military, political and economic closeness of each client to each patron, in [0, 1].

    military = half the de facto stance, half any military instrument with the patron;
    political = the choice probability of that patron;
    economic = half the patron's share of offered rents (before courting), half any economic instrument with it.
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

