"""The ensemble runner: many runs at once through the same quarter as the Mesa model.

:func:`simulate` steps a batch of runs through the calendar with the kernel's
:mod:`~sim.kernel.quarter` functions and records them with the engines' one
:class:`~sim.engines.recording.Recorder`, so it gives the Mesa model's numbers for the same seeds.
"""

from __future__ import annotations

import numpy as np

from sim.engines.recording import Recorder, RunResult
from sim.kernel.actors import Rule
from sim.kernel.decision import stance_values
from sim.kernel.dejure import initial_commitments
from sim.kernel.exogenous import Exogenous
from sim.kernel.leaders import initial_ties
from sim.kernel.offers import patron_offers
from sim.kernel.params import Theta
from sim.kernel.quarter import commit, decide, open_quarter
from sim.kernel.randomness import Draws

__all__ = ["RunResult", "expand_theta", "simulate"]


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

    Example:
        >>> import sim
        >>> from sim.kernel.params import stack_params
        >>> from sim.kernel.randomness import replicate_draws
        >>> from sim.scenario.compile import compile_scenario
        >>> scn = sim.load_scenario("scenarios/history.yaml")
        >>> exo = compile_scenario(scn)
        >>> res = simulate(exo, stack_params([scn.params]), scn.rule, replicate_draws(1, 3, exo.n_steps))
        >>> res.stance.shape
        (3, 101, 5)
    """
    R, T, C = draws.uniform.shape
    if setting is None:
        n = R if (th.size > 1 or variant is not None) else 1
        setting = np.arange(R) if n == R else np.zeros(R, dtype=np.int64)
    else:
        n = int(setting.max()) + 1 if len(setting) else 1
    th_set = expand_theta(th, n)
    th_run = th_set if n == 1 or (n == R and np.array_equal(setting, np.arange(R))) else th_set.take(setting)
    rec = Recorder(exo, R, full, probs_steps)
    prev = np.broadcast_to(exo.initial_stance, (R, C)).astype(np.int8)
    memory, member = initial_commitments(exo, R)
    ties = initial_ties(exo, R)
    noise = None
    for t in range(T):
        q = open_quarter(exo, t, th_set, n, variant)
        offers = patron_offers(q.env, th_set)
        values = stance_values(rule, q.env, offers, th_set).take(setting)
        ties, noise, probs, stance = decide(values, prev, member, ties, noise, q.env.tie_reset[setting], draws.normal[:, t], draws.uniform[:, t],
                                            exo, th_run, q.first)
        memory, member, ties = commit(stance, memory, member, ties, q.available[setting], q.renewal, exo, th_run, q.first)
        rec.record(t, stance, probs, member, offers.take(setting) if full else None)
        prev = stance
    return rec.result()


def expand_theta(th: Theta, n: int) -> Theta:
    """``th`` with ``n`` rows (a single parameter set repeated, or ``th`` itself)."""
    if th.size == n:
        return th
    if th.size != 1:
        raise ValueError(f"parameter batch of {th.size} rows cannot serve {n} runs")
    return th.take(np.zeros(n, dtype=np.int64))
