"""One quarter of the model, written once for any batch of clients.

A Mesa client agent calls these functions on its own ``[1, 1]`` slice of the arrays; the
ensemble runner calls them on ``[R, C]`` (every run and client at once). A quarter has three
parts, in the order of the Mesa model's simultaneous activation:

1. :func:`open_quarter`: what every client sees, the environment and which instruments are open;
2. :func:`decide`: a leader scores each stance on last quarter's state and draws one;
3. :func:`commit`: he adopts it, takes any de jure act it leads to, and his ties move.

The patrons' offers (:mod:`sim.kernel.offers`) and the state-free stance values
(:func:`sim.kernel.decision.stance_values`) come between 1 and 2. None of this depends on a
run's own state, so :func:`every_quarter` computes it for every quarter of every setting (a
parameter set and scenario variant) at once, and the engines keep per-run work to 2 and 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernel.actors import Rule
from sim.kernel.decision import StanceValues, choice_probabilities, run_utilities, sample_stance, stance_values
from sim.kernel.dejure import instrument_availability, update_commitments
from sim.kernel.environment import Environment, environment
from sim.kernel.exogenous import Exogenous
from sim.kernel.leaders import preference_noise, update_ties
from sim.kernel.offers import patron_offers
from sim.kernel.params import Theta


@dataclass(frozen=True)
class Quarter:
    """What every client sees in quarter ``t``.

    Attributes:
        t: The step.
        env: The environment, ``[n, C, ...]`` (one row per setting or run).
        available: ``[n, C, J]`` the instruments a client could hold.
        renewal: ``[J]`` the instruments that must be renewed this quarter.
    """

    t: int
    env: Environment
    available: np.ndarray
    renewal: np.ndarray

    @property
    def first(self) -> bool:
        """The run's first quarter (a new state: nothing to switch from, no record yet)."""
        return self.t == 0


def open_quarter(exo: Exogenous, t: int, th: Theta, n: int, variant: np.ndarray | None = None) -> Quarter:
    """The environment of quarter ``t`` for ``n`` rows of parameters (and scenario variants)."""
    env = environment(exo, t, th, n, variant)
    return Quarter(t, env, instrument_availability(exo, t, env), exo.instrument_renewal[t])


@dataclass(frozen=True)
class Settings:
    """What every quarter holds for each of ``n`` settings, whatever a run's own state; arrays ``[n, T, C, ...]``.

    Attributes:
        values: The state-free stance values (``base``, ``courting``, ``forces``: ``[n, T, C, S]``).
        tie_reset: ``[n, T, C, P]`` a leader of the client or the patron changes.
        available: ``[n, T, C, J]`` the instruments a client could hold.
        rents: ``[n, T, C, P]`` the patrons' rents (for the closeness measures), or ``None``.
    """

    values: StanceValues
    tie_reset: np.ndarray
    available: np.ndarray
    rents: np.ndarray | None


#: Rows (setting-quarters) computed in one vectorised block: bounds the temporaries to a few MB.
BLOCK_ROWS = 2048


def every_quarter(exo: Exogenous, rule: Rule, th: Theta, n: int, variant: np.ndarray | None = None, rents: bool = False) -> Settings:
    """The environment, offers, availability and state-free stance values of every quarter of ``n`` settings.

    Each setting-quarter is one row of the kernel's vectorised functions (``t`` an array of
    steps), computed in blocks of about :data:`BLOCK_ROWS` rows: a few hundred numpy calls for a
    whole replay instead of a few hundred per quarter. Row by row the numbers are those of
    :func:`open_quarter` and :func:`~sim.kernel.decision.stance_values` for one quarter.

    Args:
        exo: The compiled scenario.
        rule: The decision rule.
        th: Parameters, one row per setting (or one for all).
        n: Number of settings.
        variant: ``[n]`` the scenario variant of each setting (``None``: the only one).
        rents: Keep the patrons' rents too.
    """
    T, C, J, P = exo.n_steps, exo.closure.shape[1], len(exo.instrument_ids), exo.power.shape[1]
    S = P + 1
    base, courting, forces = (np.empty((n, T, C, S)) for _ in range(3))
    tie_reset = np.empty((n, T, C, P), dtype=bool)
    available = np.empty((n, T, C, J), dtype=bool)
    kept = np.empty((n, T, C, P)) if rents else None
    per = max(1, BLOCK_ROWS // T)
    for i0 in range(0, n, per):
        k = min(n, i0 + per) - i0
        rows = np.repeat(np.arange(i0, i0 + k), T)
        steps = np.tile(np.arange(T), k)
        th_rows = th if th.size == 1 else th.take(rows)
        env = environment(exo, steps, th_rows, k * T, None if variant is None else variant[rows])
        offers = patron_offers(env, th_rows)
        v = stance_values(rule, env, offers, th_rows)
        block = slice(i0, i0 + k)
        base[block], courting[block], forces[block] = (a.reshape(k, T, C, S) for a in (v.base, v.courting, v.forces))
        tie_reset[block] = env.tie_reset.reshape(k, T, C, P)
        available[block] = instrument_availability(exo, steps, env).reshape(k, T, C, J)
        if kept is not None:
            kept[block] = offers.rents.reshape(k, T, C, P)
    return Settings(StanceValues(base, courting, forces), tie_reset, available, kept)


def decide(
    values: StanceValues,
    prev: np.ndarray,
    member: np.ndarray,
    ties: np.ndarray,
    noise: np.ndarray | None,
    tie_reset: np.ndarray,
    normal: np.ndarray,
    uniform: np.ndarray,
    exo: Exogenous,
    th: Theta,
    first: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A leader's choice: ties broken by a change of leader, the new preference shock, the choice
    probabilities of each stance and the stance drawn with the pre-drawn uniform.

    Args:
        values: State-free stance values, one row per run.
        prev: ``[b, C]`` last quarter's stances.
        member: ``[b, C, J]`` instruments held at the end of last quarter.
        ties: ``[b, C, P]`` personal ties with each patron's leader.
        noise: ``[b, C, S]`` last quarter's preference shocks (``None`` in the first quarter).
        tie_reset: ``[b, C, P]`` a leader of the client or the patron changes this quarter.
        normal: ``[b, C, S]`` this quarter's innovations of the preference shocks.
        uniform: ``[b, C]`` this quarter's uniforms for the stance draw.
        exo: The compiled scenario.
        th: Parameters, one row per run (or one for all).
        first: The run's first quarter.

    Returns:
        ``(ties, noise, probs, stance)``.
    """
    ties = np.where(tie_reset, 0.0, ties)
    noise = preference_noise(noise, normal, th)
    u = run_utilities(values, prev, member, ties, noise, exo, th, first=first)
    probs = choice_probabilities(u, th.beta)
    return ties, noise, probs, sample_stance(probs, uniform)


def commit(
    stance: np.ndarray,
    memory: np.ndarray,
    member: np.ndarray,
    ties: np.ndarray,
    available: np.ndarray,
    renewal: np.ndarray,
    exo: Exogenous,
    th: Theta,
    first: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adopt ``stance``: the commitment memory and de jure acts follow, and the ties move toward it.

    Returns:
        ``(memory, member, ties)``.
    """
    memory, member = update_commitments(memory, member, stance, available, renewal, exo, th, first=first)
    return memory, member, update_ties(ties, stance, th)
