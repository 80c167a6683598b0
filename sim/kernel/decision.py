"""The decision rules: how a client leader scores each stance and chooses one.

Pure, vectorised functions over arrays ``[b, C, ...]`` (runs, clients). The
rule is pluggable: :data:`RULES` maps a :class:`~sim.kernel.actors.Rule` to its
hazard function, and everything else in the leader's utility is shared, so
two rules can be scored on the same history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.kernel.actors import N_PATRONS, N_STANCES, N_THREATS, Patron, Rule, Stance, Threat
from sim.kernel.dejure import russian_forces
from sim.kernel.environment import Environment, leverage
from sim.kernel.exogenous import Exogenous
from sim.kernel.offers import Offers
from sim.kernel.params import Theta


def sum_last(x: np.ndarray) -> np.ndarray:
    """Sum over a short last axis, slice by slice, in a fixed order.

    Faster than ``x.sum(-1)`` for axes of 3-4 elements, and unlike a BLAS
    product its rounding cannot depend on the batch size, so a batch of runs
    gives bit-identical results to the same runs one at a time.
    """
    out = x[..., 0]
    for i in range(1, x.shape[-1]):
        out = out + x[..., i]
    return out


def _max_last(x: np.ndarray) -> np.ndarray:
    """Maximum over a short last axis, slice by slice."""
    out = x[..., 0]
    for i in range(1, x.shape[-1]):
        out = np.maximum(out, x[..., i])
    return out


def pressing_threat(eff: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The soft maximum of threats over the last axis: ``(1/tau) log(mean_k exp(tau * T_k))``.

    At ``tau = 0`` it is the mean threat (every threat counts alike); as ``tau``
    grows it tends to the largest threat, so the leader judges an alignment by
    the most pressing threat left under it (David's omnibalancing). It rises
    with every threat, so a rising threat never makes a regime feel safer.

    Args:
        eff: Threats, ``[..., K]``.
        tau: Salience, broadcastable to ``eff[..., 0]``.
    """
    top = _max_last(eff)
    tau = np.broadcast_to(tau, top.shape)
    small = tau < 1e-9
    any_small = small.any()
    safe_tau = np.where(small, 1.0, tau) if any_small else tau
    z = np.exp(safe_tau[..., None] * (eff - top[..., None]))
    soft = top + np.log(sum_last(z) / eff.shape[-1]) / safe_tau
    return np.where(small, sum_last(eff) / eff.shape[-1], soft) if any_small else soft


def _stance_protection(offers: Offers) -> np.ndarray:
    """``[b, C, S, K]``: protection under each stance (none when nonaligned)."""
    prot = offers.protection
    pad = np.zeros(prot.shape[:2] + (1,) + prot.shape[3:])
    return np.concatenate([prot, pad], axis=2)


def _per_stance(x: np.ndarray, nonaligned: np.ndarray | float = 0.0) -> np.ndarray:
    """Extend a ``[b, C, P]`` patron array to ``[b, C, S]`` with a value for NONALIGNED."""
    out = np.empty(x.shape[:2] + (N_STANCES,))
    out[..., :N_PATRONS] = x
    out[..., Stance.NONALIGNED] = nonaligned
    return out


def effective_threat(env: Environment, offers: Offers, th: Theta) -> np.ndarray:
    """``[b, C, S, K]``: each threat left under each stance.

    The regime first absorbs its self-reliant share of every threat; the aligned patron's
    protection then reduces the rest. The external threat a patron itself poses is not
    reduced by aligning with that patron, and aligning with a patron that pushes regime
    change (``exposure``) worsens the regime-change threat instead of reducing it.
    """
    keep = 1.0 - env.self_reliance  # [b, C]
    T = env.threat * keep[..., None]
    prot = _stance_protection(offers)
    eff = T[:, :, None, :] * (1.0 - prot)
    own = _per_stance(env.patron_threat * keep[..., None])
    ext = prot[..., Threat.EXTERNAL]
    eff[..., Threat.EXTERNAL] = (T[:, :, None, Threat.EXTERNAL] - own) * (1.0 - ext) + own
    eff[..., Threat.REGIME_CHANGE] *= 1.0 + _per_stance(offers.exposure)
    return np.maximum(eff, 0.0)


def hazard_omnibalancing(env: Environment, offers: Offers, th: Theta) -> np.ndarray:
    """``[b, C, S]``: regime hazard ``rho * K * M_tau(T~(s))`` over all ``K`` threats.

    ``M_tau`` is :func:`pressing_threat`: at ``tau = 0``, ``K * M`` is the sum
    of the effective threats (independent competing risks); with large ``tau`` it
    is ``K`` times the most pressing one. The hazard is a rate, linear in the
    threats, so it does not saturate: a threat twice as large weighs twice as much
    however large the others are. With internal threats switched off (an ablation)
    only the external threat is left and the rule reduces exactly to
    :func:`hazard_balance_of_threat`.
    """
    eff = effective_threat(env, offers, th)
    if not (th.internal_threats > 0.5).all():
        walt = th.rho[..., None] * eff[..., Threat.EXTERNAL]
        omni = th.rho[..., None] * N_THREATS * pressing_threat(eff, th.tau[..., None])
        return np.where(th.internal_threats[..., None] > 0.5, omni, walt)
    return th.rho[..., None] * N_THREATS * pressing_threat(eff, th.tau[..., None])


def hazard_balance_of_threat(env: Environment, offers: Offers, th: Theta) -> np.ndarray:
    """``[b, C, S]``: Walt's rival: only external threats (power x proximity x intent) count."""
    return th.rho[..., None] * effective_threat(env, offers, th)[..., Threat.EXTERNAL]


HazardRule = Callable[[Environment, Offers, Theta], np.ndarray]

#: The pluggable decision rules: each maps (environment, offers, parameters) to a hazard per stance.
RULES: dict[Rule, HazardRule] = {
    Rule.OMNIBALANCING: hazard_omnibalancing,
    Rule.BALANCE_OF_THREAT: hazard_balance_of_threat,
}


@dataclass
class StanceValues:
    """The parts of each stance's utility that do not depend on a run's own state; arrays ``[b, C, S]``.

    They depend only on the quarter, the parameters and the scenario variant, so the ensemble
    computes them once per parameter set and shares them between that set's replicates.

    Attributes:
        base: ``-h(s) + (1 - r) (gamma R(s) - F(s)) - sigma(s)``, with Russia's rents before
            courting and its leverage without Russian forces on the client's soil.
        courting: utility added when the client had drifted from Russia last quarter (Russia's
            courting rents, worth ``gamma (1 - r)``).
        forces: utility added by Russian forces on the client's soil (defying Russia then costs
            ``(1 - r) defiance_forces`` more).
    """

    base: np.ndarray
    courting: np.ndarray
    forces: np.ndarray

    def take(self, index: np.ndarray) -> StanceValues:
        """The rows ``index`` (one per run)."""
        return StanceValues(self.base[index], self.courting[index], self.forces[index])


def stance_values(rule: Rule, env: Environment, offers: Offers, th: Theta) -> StanceValues:
    """The state-free part of each stance's utility under ``rule`` (see :class:`StanceValues`)."""
    hazard = RULES[rule](env, offers, th)
    need = (1.0 - env.self_reliance)[..., None]  # a self-reliant regime needs patrons' money less and can absorb their leverage
    worth = th.gamma[..., None] * need
    kept = np.broadcast_to(th.nonaligned_share[..., None], offers.rents.shape).copy()  # the share of each patron's rents a hedger keeps:
    kept[..., Patron.CHN] = th.nonaligned_share_chn  # China's trade and loans carry no political conditions
    rents = _per_stance(offers.rents, sum_last(kept * offers.rents))
    courting = _per_stance(offers.courting, th.nonaligned_share * sum_last(offers.courting))
    sovereignty = _per_stance(offers.sovereignty)
    lev = leverage(env, np.zeros(env.means.shape), th)
    total = sum_last(lev)[..., None]
    defy = need * _per_stance(total - lev, th.defiance_neutral * total[..., 0])
    unit = np.zeros(lev.shape)
    unit[..., 1:] = 1.0  # Russian forces on the soil are defied by every stance but RUS ...
    forces = -th.defiance_forces[..., None] * need * _per_stance(unit, th.defiance_neutral)  # ... and in part by NONALIGNED
    return StanceValues(-hazard + worth * rents - sovereignty - defy, worth * courting, forces)


def run_utilities(
    values: StanceValues, prev: np.ndarray, member: np.ndarray, ties: np.ndarray, noise: np.ndarray, exo: Exogenous, th: Theta, first: bool = False
) -> np.ndarray:
    """``[b, C, S]``: each run's utility of each stance, from its state-free values and its own state.

    Args:
        values: State-free values, one row per run.
        prev: ``[b, C]`` last quarter's stances.
        member: ``[b, C, J]`` instruments held at the end of last quarter.
        ties: ``[b, C, P]`` personal ties with each patron's current leader.
        noise: ``[b, C, S]`` preference shocks in units of ``noise_sd``.
        exo: The compiled scenario (for the instruments' patrons).
        th: Parameters, one row per run (or one for all).
        first: The run's first quarter: a new state has no foreign-policy line of its own yet,
            so there is nothing to switch from and nothing for Russia to court back.
    """
    drifted = 0.0 if first else (prev != Stance.RUS).astype(float)[..., None]
    u = values.base + values.courting * drifted + values.forces * russian_forces(member, exo)[..., None]
    switch = 0.0 if first else th.chi[..., None] * (np.arange(N_STANCES)[None, None, :] != prev[..., None])
    patron = exo.instrument_patron
    held = np.stack([sum_last(member[..., patron == p].astype(float)) if (patron == p).any() else np.zeros(member.shape[:2]) for p in range(N_PATRONS)], axis=-1)
    commit = th.commitment_bonus[..., None] * _per_stance(held)
    personal = th.tie_weight[..., None] * _per_stance(ties)
    return u - switch + personal + commit + th.noise_sd[..., None] * noise


def utilities(
    rule: Rule,
    env: Environment,
    offers: Offers,
    prev: np.ndarray,
    member: np.ndarray,
    ties: np.ndarray,
    noise: np.ndarray,
    exo: Exogenous,
    th: Theta,
    first: bool = False,
) -> np.ndarray:
    """``[b, C, S]``: the leader's utility of each stance.

    ``U(s) = -h(s) + (1 - r) (gamma R(s) - D(s)) - sigma(s) - chi [s != prev] + w_tie ties(s) + kappa n(s) + sd e(s)``:
    regime hazard under the rule (whose threats a self-reliant regime ``r`` partly absorbs), rents
    (Russia's include its courting of a client that drifted away) and the cost of defying patrons
    one depends on (Russian forces on the soil included), both of which matter less to a
    self-reliant regime, the sovereignty cost, switching cost, personal ties with the
    patron's current leader, de jure instruments held with the stance's patron, and the
    leader's persistent preference shock. The same as ``run_utilities(stance_values(...), ...)``.
    """
    return run_utilities(stance_values(rule, env, offers, th), prev, member, ties, noise, exo, th, first)


def choice_probabilities(u: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Quantal response: ``P(s) = softmax(beta * U(s))`` over the last axis."""
    z = beta[..., None] * u
    e = np.exp(z - _max_last(z)[..., None])
    return e / sum_last(e)[..., None]


def sample_stance(probs: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Draw a stance by inverting the cumulative probabilities with a pre-drawn uniform."""
    out = np.zeros(probs.shape[:-1], dtype=np.int8)
    cdf = np.zeros(probs.shape[:-1])
    for s in range(N_STANCES - 1):
        cdf = cdf + probs[..., s]
        out += uniform >= cdf
    return out


def most_likely(probs: np.ndarray) -> np.ndarray:
    """The modal stance of each client (ties to the lower index)."""
    return probs.argmax(axis=-1).astype(np.int8)


__all__ = [
    "RULES",
    "Stance",
    "choice_probabilities",
    "effective_threat",
    "hazard_balance_of_threat",
    "hazard_omnibalancing",
    "pressing_threat",
    "sample_stance",
    "utilities",
]
