"""The ensemble runner: many runs at once through the same pure functions as the Mesa model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.actors import N_STANCES, Rule
from sim.decision import choice_probabilities, sample_stance, utilities
from sim.dynamics import (
    alliance_status,
    closeness,
    environment,
    initial_commitments,
    initial_ties,
    instrument_availability,
    patron_offers,
    preference_noise,
    update_commitments,
    update_ties,
)
from sim.inputs import Exogenous
from sim.params import Theta
from sim.randomness import Draws


@dataclass
class RunResult:
    """Trajectories of a batch of runs. Shapes ``[R, T, C, ...]``."""

    stance: np.ndarray  # [R, T, C] int8
    probs: np.ndarray  # [R, T, C, S]
    member: np.ndarray  # [R, T, C, J] bool
    status: np.ndarray  # [R, T, C] int8 (AllianceStatus)
    closeness: dict[str, np.ndarray]  # each [R, T, C]

    @property
    def n_runs(self) -> int:
        return self.stance.shape[0]


def simulate(
    exo: Exogenous,
    th: Theta,
    rule: Rule,
    draws: Draws,
    variant: np.ndarray | None = None,
    full: bool = True,
    probs_steps: np.ndarray | None = None,
) -> RunResult:
    """Run a batch of ``R = len(draws)`` runs over the whole calendar.

    Args:
        exo: The compiled scenario (one or several variants).
        th: Parameters with 1 or ``R`` rows.
        rule: The decision rule.
        draws: The runs' pre-drawn random numbers (see :mod:`sim.randomness`).
        variant: Exogenous variant of each run, if the scenario has several.
        full: Record probabilities, de jure states and closeness (``False``
            keeps only stances and de jure states, for speed).
        probs_steps: With ``full=False``, record choice probabilities at these
            steps only (``RunResult.probs`` is then ``[R, len(probs_steps), C, S]``).
    """
    R, T, C = draws.uniform.shape
    J = len(exo.instrument_ids)
    # Recorded time-major (contiguous writes each step), returned run-major as views.
    stance_out = np.empty((T, R, C), dtype=np.int8)
    keep = {int(t): i for i, t in enumerate(probs_steps)} if (probs_steps is not None and not full) else {}
    probs_out = np.empty((T, R, C, N_STANCES)) if full else np.empty((len(keep), R, C, N_STANCES))
    member_out = np.empty((T, R, C, J), dtype=bool)
    status_out = np.empty((T, R, C), dtype=np.int8)
    close_out: dict[str, np.ndarray] = {}
    prev = np.broadcast_to(exo.initial_stance, (R, C)).astype(np.int8)
    memory, member = initial_commitments(exo, R)
    ties = initial_ties(exo, R)
    noise = None
    for t in range(T):
        env = environment(exo, t, th, R, variant)
        ties = np.where(env.tie_reset, 0.0, ties)
        noise = preference_noise(noise, draws.normal[:, t], th)
        offers = patron_offers(env, prev, th)
        u = utilities(rule, env, offers, prev, member, ties, noise, exo, th)
        probs = choice_probabilities(u, th.beta)
        stance = sample_stance(probs, draws.uniform[:, t])
        memory, member = update_commitments(
            memory, member, stance, instrument_availability(exo, t, env), exo.instrument_renewal[t], exo, th, first=t == 0
        )
        ties = update_ties(ties, stance, th)
        stance_out[t] = stance
        member_out[t] = member
        status_out[t] = alliance_status(member, stance, exo)
        if t in keep:
            probs_out[keep[t]] = probs
        if full:
            probs_out[t] = probs
            for k, v in closeness(stance, probs, member, offers, exo).items():
                close_out.setdefault(k, np.empty((T, R, C), dtype=np.float32))[t] = v
        prev = stance
    run_major = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731
    return RunResult(
        run_major(stance_out), run_major(probs_out), run_major(member_out), run_major(status_out), {k: run_major(v) for k, v in close_out.items()}
    )


def expand_theta(th: Theta, n: int) -> Theta:
    """``th`` with ``n`` rows (a single parameter set repeated, or ``th`` itself)."""
    if th.size == n:
        return th
    if th.size != 1:
        raise ValueError(f"parameter batch of {th.size} rows cannot serve {n} runs")
    return th.take(np.zeros(n, dtype=np.int64))


