"""The ensemble runner: many runs at once through the same quarter as the Mesa model.

:func:`simulate` computes what does not depend on a run's own state once per setting and
quarter (:func:`sim.kernel.quarter.every_quarter`), then steps the runs: with the fused,
compiled kernel (:mod:`sim.engines.fused`, the default) or with the kernel's numpy
:func:`~sim.kernel.quarter.decide` and :func:`~sim.kernel.quarter.commit`, the readable
reference the Mesa agents call too. Both give the Mesa model's stances for the same seeds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from sim.engines.fused import run_fused
from sim.engines.recording import Recorder, RunResult, run_result
from sim.kernel.actors import Rule
from sim.kernel.decision import StanceValues
from sim.kernel.dejure import initial_commitments
from sim.kernel.exogenous import Exogenous
from sim.kernel.leaders import initial_ties
from sim.kernel.params import Theta
from sim.kernel.quarter import Settings, commit, decide, every_quarter
from sim.kernel.randomness import Draws

__all__ = ["KERNELS", "RunResult", "expand_theta", "simulate"]

#: The per-run step loops: ``fused`` (compiled, the default) and ``numpy`` (the reference).
KERNELS = ("fused", "numpy")


def simulate(
    exo: Exogenous,
    th: Theta,
    rule: Rule,
    draws: Draws,
    variant: np.ndarray | None = None,
    full: bool = True,
    probs_steps: np.ndarray | None = None,
    setting: np.ndarray | None = None,
    replicate: np.ndarray | None = None,
    kernel: Literal["fused", "numpy"] = "fused",
) -> RunResult:
    """Run a batch of runs over the whole calendar.

    The environment, the patrons' offers, the hazards and the rest of the state-free stance
    values are computed once per *setting* (a parameter set and scenario variant) for every
    quarter, and shared by the runs of that setting; per-run work is only what depends on a
    run's own state.

    Args:
        exo: The compiled scenario (one or several variants).
        th: Parameters: one row, one per run, or one per setting.
        rule: The decision rule.
        draws: Pre-drawn random numbers (see :mod:`sim.kernel.randomness`).
        variant: Exogenous variant of each run (or of each setting), if the scenario has several.
        full: Record probabilities and closeness every quarter (``False`` keeps only stances and
            de jure states, for speed).
        probs_steps: With ``full=False``, record choice probabilities at these
            steps only (``RunResult.probs`` is then ``[R, len(probs_steps), C, S]``).
        setting: ``[R]`` the setting (row of ``th`` and ``variant``) of each run; by default
            every run is its own setting (or all share one, if ``th`` has one row and there is
            no ``variant``).
        replicate: ``[R]`` the row of ``draws`` each run uses (common random numbers across
            settings without copying the draws); by default run ``r`` uses row ``r``.
        kernel: ``fused`` (compiled) or ``numpy`` (the reference); the same stances either way.

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
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r} ({' or '.join(KERNELS)})")
    replicate = np.arange(len(draws)) if replicate is None else np.asarray(replicate, dtype=np.int64)
    R = len(replicate)
    if setting is None:
        n = R if (th.size > 1 or variant is not None) else 1
        setting = np.arange(R) if n == R else np.zeros(R, dtype=np.int64)
    else:
        setting = np.asarray(setting, dtype=np.int64)
        n = int(setting.max()) + 1 if len(setting) else 1
    th_set = expand_theta(th, n)
    settings = every_quarter(exo, rule, th_set, n, variant, rents=full)
    steps = np.arange(exo.n_steps) if full else probs_steps
    if kernel == "fused":
        stance, probs, member = run_fused(settings, exo, th_set, draws, setting, replicate, steps)
        rents = settings.rents[setting] if full else None
        return run_result(exo, stance, probs, member, rents)
    return _run_numpy(settings, exo, th_set, draws, setting, replicate, full, probs_steps)


def _run_numpy(settings: Settings, exo: Exogenous, th_set: Theta, draws: Draws, setting: np.ndarray, replicate: np.ndarray,
               full: bool, probs_steps: np.ndarray | None) -> RunResult:
    """The reference step loop: the kernel's vectorised quarter over all runs, quarter by quarter."""
    R, C = len(setting), exo.closure.shape[1]
    th_run = th_set if th_set.size == 1 else th_set.take(setting)
    v = settings.values
    rec = Recorder(exo, R, full, probs_steps)
    prev = np.broadcast_to(exo.initial_stance, (R, C)).astype(np.int8)
    memory, member = initial_commitments(exo, R)
    ties = initial_ties(exo, R)
    noise = None
    for t in range(exo.n_steps):
        values = StanceValues(v.base[setting, t], v.courting[setting, t], v.forces[setting, t])
        ties, noise, probs, stance = decide(values, prev, member, ties, noise, settings.tie_reset[setting, t], draws.normal[replicate, t],
                                            draws.uniform[replicate, t], exo, th_run, t == 0)
        memory, member, ties = commit(stance, memory, member, ties, settings.available[setting, t], exo.instrument_renewal[t], exo, th_run, t == 0)
        rec.record(t, stance, probs, member, settings.rents[setting, t] if full else None)
        prev = stance
    return rec.result()


def expand_theta(th: Theta, n: int) -> Theta:
    """``th`` with ``n`` rows (a single parameter set repeated, or ``th`` itself)."""
    if th.size == n:
        return th
    if th.size != 1:
        raise ValueError(f"parameter batch of {th.size} rows cannot serve {n} runs")
    return th.take(np.zeros(n, dtype=np.int64))
