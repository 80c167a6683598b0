"""The de jure layer: which instruments (treaty blocs, bases) a client can hold, the sticky
commitment memory that decides its acts of joining and leaving, and Russian forces on its soil."""

from __future__ import annotations

import numpy as np

from sim.kernel.actors import Patron
from sim.kernel.environment import Environment, at_step
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import Theta


def instrument_availability(exo: Exogenous, t: int | np.ndarray, env: Environment) -> np.ndarray:
    """``[b, C, J]``: which de jure instruments a client could hold this quarter (``t``: a step,
    or one step per row, as in :func:`~sim.kernel.environment.environment`)."""
    J = len(exo.instrument_ids)
    avail = np.broadcast_to(at_step(exo.instrument_open, t)[:, None, :], env.need.shape + (J,))
    needs = exo.instrument_need
    if not np.isnan(needs).all():
        need_ok = np.where(np.isnan(needs)[None, None, :], True, env.need[..., None] >= np.nan_to_num(needs)[None, None, :])
        avail = avail & need_ok
    if exo.instrument_legacy.any():
        avail = avail & ~(exo.instrument_legacy[None, None, :] & ~exo.soviet_forces[None, :, None])
    return avail

def thresholds(exo: Exogenous, th: Theta) -> tuple[np.ndarray, np.ndarray]:
    """``([n, J], [n, J])``: each instrument's join and exit thresholds for each of ``th``'s ``n`` rows.

    An alliance's are the global parameters ``alliance_join`` and ``alliance_exit`` (calibrated:
    what it takes to enter or leave a defence pact is a property of the kind of commitment, not of
    one treaty); every other instrument's are the scenario's.
    """
    alliance = exo.instrument_alliance[None, :]
    return (np.where(alliance, th.alliance_join, exo.join_threshold[None, :]),
            np.where(alliance, th.alliance_exit, exo.exit_threshold[None, :]))


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
    join_th, exit_th = thresholds(exo, th)
    join_s = memory > join_th[:, None, :]
    exit_s = (memory < exit_th[:, None, :]) | (renewal[None, None, :] & ~join_s)
    join = np.where(sticky, join_s, toward > 0.5)
    leave = np.where(sticky, exit_s, toward < 0.5)
    member = np.where(member, ~leave & available, join & available)
    return memory, member

def initial_commitments(exo: Exogenous, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Start-of-run memory (overwritten by the first stance) and membership (none)."""
    shape = (b, len(exo.initial_stance), len(exo.instrument_ids))
    return np.zeros(shape), np.zeros(shape, dtype=bool)

def forces_instruments(exo: Exogenous) -> np.ndarray:
    """``[J]`` bool: the instruments that put Russian forces on a client's soil (a Russian military
    instrument that is not an alliance)."""
    return (exo.instrument_patron == Patron.RUS) & exo.instrument_military & ~exo.instrument_alliance

def russian_forces(member: np.ndarray, exo: Exogenous) -> np.ndarray:
    """``[b, C]`` float: whether the client hosts Russian forces (:func:`forces_instruments`)."""
    mask = forces_instruments(exo)
    return member[..., mask].any(axis=-1).astype(float) if mask.any() else np.zeros(member.shape[:2])
