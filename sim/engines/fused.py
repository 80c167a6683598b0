"""The fused kernel: a run's quarters, compiled with numba, one client at a time.

The numpy path (:func:`sim.kernel.quarter.decide` and :func:`~sim.kernel.quarter.commit`, which
the Mesa agents call too) is the readable reference; this module does the same per-run work in
one compiled loop, reading the state-free values that :func:`sim.kernel.quarter.every_quarter`
computed for each setting. A client's own state (stance, instruments, commitment memory, ties
and preference shocks) depends on no other client's, so each ``(run, client)`` pair is stepped
through every quarter in registers. The arithmetic follows the numpy path operation by
operation (same order of sums), so stances are identical for the same draws and probabilities
agree to rounding (``exp`` may differ in the last bit): ``tests/engines/test_fused.py``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sim.kernel.actors import Patron, Stance
from sim.kernel.dejure import forces_instruments, thresholds
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import Theta
from sim.kernel.quarter import Settings
from sim.kernel.randomness import Draws

__all__ = ["run_fused", "warm_up"]


def run_fused(
    settings: Settings,
    exo: Exogenous,
    th: Theta,
    draws: Draws,
    setting: np.ndarray,
    replicate: np.ndarray,
    probs_steps: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step every run through the calendar.

    Args:
        settings: The state-free inputs of every quarter of each setting.
        exo: The compiled scenario (instruments and thresholds).
        th: Parameters, one row per setting.
        draws: Pre-drawn random numbers; run ``r`` reads row ``replicate[r]``.
        setting: ``[R]`` each run's setting.
        replicate: ``[R]`` each run's row of ``draws``.
        probs_steps: Steps whose choice probabilities are kept (``None``: none).

    Returns:
        ``(stance [R, T, C] int8, probs [R, len(probs_steps), C, S], member [R, T, C, J] bool)``.
    """
    v = settings.values
    n, T, C, S = v.base.shape
    J = len(exo.instrument_ids)
    R = len(setting)
    slot = np.full(T, -1, dtype=np.int64)
    if probs_steps is not None:
        slot[np.asarray(probs_steps, dtype=np.int64)] = np.arange(len(probs_steps))
    n_kept = 0 if probs_steps is None else len(probs_steps)
    stance = np.empty((R, T, C), dtype=np.int8)
    probs = np.empty((R, n_kept, C, S))
    member = np.empty((R, T, C, J), dtype=np.bool_)
    par = np.stack([_column(th, name, n) for name in _PARAMS], axis=1)  # [n, len(_PARAMS)]
    join_th, exit_th = (np.broadcast_to(a, (n, J)) for a in thresholds(exo, th))
    c = np.ascontiguousarray  # one compiled specialisation: C-contiguous arrays of fixed dtypes
    kernel()(c(v.base, float), c(v.courting, float), c(v.forces, float), c(settings.tie_reset, bool), c(settings.available, bool),
             c(exo.instrument_renewal, bool), c(setting, np.int64), c(replicate, np.int64), c(draws.uniform, float), c(draws.normal, float),
             c(exo.instrument_patron, np.int64), forces_instruments(exo), c(join_th, float), c(exit_th, float), par, slot,
             stance, probs, member)
    return stance, probs, member


@functools.cache
def kernel():
    """:func:`step_runs` compiled (numba, cached on disk next to this module; numba is imported on
    first use, so commands that run nothing do not pay for it)."""
    import numba

    return numba.njit(cache=True, nogil=True, error_model="numpy")(step_runs)


def warm_up() -> None:
    """Load the compiled kernel now (about half a second per process, once): call it before
    forking a process pool, so the workers inherit it instead of each loading it."""
    T, C, S, J = 2, 1, 4, 1
    f = np.zeros((1, T, C, S))
    kernel()(f, f, f, np.zeros((1, T, C, S - 1), bool), np.zeros((1, T, C, J), bool), np.zeros((T, J), bool), np.zeros(1, np.int64),
             np.zeros(1, np.int64), np.zeros((1, T, C)), np.zeros((1, T, C, S)), np.zeros(J, np.int64), np.zeros(J, bool), np.ones((1, J)),
             np.zeros((1, J)), np.zeros((1, len(_PARAMS))), np.full(T, -1, np.int64), np.empty((1, T, C), np.int8), np.empty((1, 0, C, S)),
             np.empty((1, T, C, J), bool))


#: The per-run parameters the kernel reads, in the column order of ``par`` in :func:`step_runs`.
_PARAMS = ("beta", "chi", "tie_weight", "commitment_bonus", "noise_sd", "noise_persistence", "dejure_rate", "dejure_sticky", "tie_rate")


_RUS, _NONALIGNED = int(Patron.RUS), int(Stance.NONALIGNED)


def _column(th: Theta, name: str, n: int) -> np.ndarray:
    col = getattr(th, name)[:, 0]
    return np.broadcast_to(col, (n,)) if len(col) == 1 else col


def step_runs(base, courting, forces, tie_reset, available, renewal, setting, replicate, uniform, normal,
              patron, forces_mask, join_th, exit_th, par, slot, stance_out, probs_out, member_out):
    """The per-run loop, written for numba (see :func:`kernel`; it also runs, slowly, as Python).

    Args:
        base, courting, forces: ``[n, T, C, S]`` the state-free stance values of each setting.
        tie_reset: ``[n, T, C, P]``; available: ``[n, T, C, J]``; renewal: ``[T, J]``.
        setting, replicate: ``[R]`` each run's setting and row of the draws.
        uniform: ``[D, T, C]``; normal: ``[D, T, C, S]`` the draws.
        patron, forces_mask: ``[J]`` the instruments; join_th, exit_th: ``[n, J]`` their thresholds in each setting.
        par: ``[n, len(_PARAMS)]`` the per-run parameters of each setting.
        slot: ``[T]`` where a step's probabilities go in ``probs_out`` (-1: not kept).
        stance_out, probs_out, member_out: the outputs, filled in place.
    """
    R = setting.shape[0]
    T, C, S = base.shape[1], base.shape[2], base.shape[3]
    P, J = S - 1, patron.shape[0]
    u = np.empty(S)
    e = np.empty(S)
    noise = np.empty(S)
    ties = np.empty(P)
    held = np.empty(P)
    memory = np.empty(J)
    member = np.empty(J, dtype=np.bool_)
    for r in range(R):
        k, d = setting[r], replicate[r]
        beta, chi, tie_weight, kappa, sd, phi, dejure_rate, sticky, tie_rate = (
            par[k, 0], par[k, 1], par[k, 2], par[k, 3], par[k, 4], par[k, 5], par[k, 6], par[k, 7] > 0.5, par[k, 8])
        innovation_scale = math.sqrt(1.0 - phi * phi)
        for c in range(C):
            ties[:] = 0.0
            memory[:] = 0.0
            member[:] = False
            prev = 0
            for t in range(T):
                first = t == 0
                # decide: ties broken by a change of leader, the persistent preference shock, utilities
                for p in range(P):
                    if tie_reset[k, t, c, p]:
                        ties[p] = 0.0
                for s in range(S):
                    z = normal[d, t, c, s]
                    noise[s] = z if first else phi * noise[s] + innovation_scale * z
                hosted = 0.0
                held[:] = 0.0
                for j in range(J):  # ascending j: the order of the numpy path's sums
                    if member[j]:
                        held[patron[j]] += 1.0
                        if forces_mask[j]:
                            hosted = 1.0
                drifted = 0.0 if first else (1.0 if prev != _RUS else 0.0)
                top = -np.inf
                for s in range(S):
                    x = base[k, t, c, s] + courting[k, t, c, s] * drifted + forces[k, t, c, s] * hosted
                    if not first:
                        x = x - chi * (1.0 if s != prev else 0.0)
                    tie = ties[s] if s != _NONALIGNED else 0.0
                    own = held[s] if s != _NONALIGNED else 0.0
                    x = x + tie_weight * tie + kappa * own + sd * noise[s]
                    u[s] = beta * x
                    top = max(top, u[s])
                total = 0.0
                for s in range(S):
                    e[s] = math.exp(u[s] - top)
                    total = total + e[s] if s > 0 else e[s]
                cdf = 0.0
                chosen = 0
                q = slot[t]
                for s in range(S):
                    prob = e[s] / total
                    if q >= 0:
                        probs_out[r, q, c, s] = prob
                    if s < S - 1:
                        cdf = cdf + prob
                        if uniform[d, t, c] >= cdf:
                            chosen += 1
                # commit: the commitment memory and de jure acts, then the ties move toward the stance
                rate = 1.0 if first else dejure_rate
                for j in range(J):
                    toward = 1.0 if chosen == patron[j] else 0.0
                    memory[j] = (1.0 - rate) * memory[j] + rate * toward
                    join_s = memory[j] > join_th[k, j]
                    exit_s = memory[j] < exit_th[k, j] or (renewal[t, j] and not join_s)
                    join = join_s if sticky else toward > 0.5
                    leave = exit_s if sticky else toward < 0.5
                    member[j] = (not leave and available[k, t, c, j]) if member[j] else (join and available[k, t, c, j])
                    member_out[r, t, c, j] = member[j]
                for p in range(P):
                    ties[p] = ties[p] + tie_rate * ((1.0 if chosen == p else 0.0) - ties[p])
                stance_out[r, t, c] = chosen
                prev = chosen
