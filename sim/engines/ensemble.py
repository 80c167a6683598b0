"""The ensemble runner: many runs at once through the same pure functions as the Mesa model."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.kernel.actors import N_STANCES, Rule
from sim.kernel.decision import choice_probabilities, run_utilities, sample_stance, stance_values
from sim.kernel.dejure import initial_commitments, instrument_availability, update_commitments
from sim.kernel.environment import environment
from sim.kernel.exogenous import Exogenous
from sim.kernel.leaders import initial_ties, preference_noise, update_ties
from sim.kernel.measures import alliance_status, closeness
from sim.kernel.offers import Offers, patron_offers
from sim.kernel.params import Theta
from sim.kernel.randomness import Draws


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
    setting: np.ndarray | None = None,
) -> RunResult:
    """Run a batch of ``R = len(draws)`` runs over the whole calendar.

    What does not depend on a run's own state (the environment, the patrons' offers, the
    hazards and the rest of :class:`~sim.kernel.decision.StanceValues`) is computed once per
    *setting* (a parameter set and scenario variant) and shared by the runs of that setting.

    Args:
        exo: The compiled scenario (one or several variants).
        th: Parameters: one row, one per run, or one per setting.
        rule: The decision rule.
        draws: The runs' pre-drawn random numbers (see :mod:`sim.kernel.randomness`).
        variant: Exogenous variant of each run (or of each setting), if the scenario has several.
        full: Record probabilities, de jure states and closeness (``False``
            keeps only stances and de jure states, for speed).
        probs_steps: With ``full=False``, record choice probabilities at these
            steps only (``RunResult.probs`` is then ``[R, len(probs_steps), C, S]``).
        setting: ``[R]`` the setting (row of ``th`` and ``variant``) of each run; by default
            every run is its own setting (or all share one, if ``th`` has one row and there is
            no ``variant``).
    """
    R, T, C = draws.uniform.shape
    J = len(exo.instrument_ids)
    if setting is None:
        n = R if (th.size > 1 or variant is not None) else 1
        setting = np.arange(R) if n == R else np.zeros(R, dtype=np.int64)
    else:
        n = int(setting.max()) + 1 if len(setting) else 1
    th_set = expand_theta(th, n)
    th_run = th_set if n == 1 or (n == R and np.array_equal(setting, np.arange(R))) else th_set.take(setting)
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
        env = environment(exo, t, th_set, n, variant)
        offers = patron_offers(env, th_set)
        values = stance_values(rule, env, offers, th_set).take(setting)
        ties = np.where(env.tie_reset[setting], 0.0, ties)
        noise = preference_noise(noise, draws.normal[:, t], th_run)
        u = run_utilities(values, prev, member, ties, noise, exo, th_run, first=t == 0)
        probs = choice_probabilities(u, th_run.beta)
        stance = sample_stance(probs, draws.uniform[:, t])
        available = instrument_availability(exo, t, env)[setting]
        memory, member = update_commitments(memory, member, stance, available, exo.instrument_renewal[t], exo, th_run, first=t == 0)
        ties = update_ties(ties, stance, th_run)
        stance_out[t] = stance
        member_out[t] = member
        status_out[t] = alliance_status(member, stance, exo)
        if t in keep:
            probs_out[keep[t]] = probs
        if full:
            probs_out[t] = probs
            run_offers = Offers(**{f.name: getattr(offers, f.name)[setting] for f in fields(Offers)})
            for k, v in closeness(stance, probs, member, run_offers, exo).items():
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


