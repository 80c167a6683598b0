"""What the engines record each quarter besides stances: the alliance status with Russia (true,
paper, none) and each client's military, political and economic closeness to each patron."""

from __future__ import annotations

import numpy as np

from sim.kernel.actors import Patron, Stance
from sim.kernel.exogenous import Exogenous


def alliance_status(member: np.ndarray, stance: np.ndarray, exo: Exogenous) -> np.ndarray:
    """``[b, C]`` int: 0 none, 1 true, 2 paper (``AllianceStatus``) for Russia's military alliance."""
    in_bloc = exo.in_bloc(member).astype(np.int8)
    return in_bloc * (2 - (stance == Stance.RUS).astype(np.int8))  # 1 true (aligned), 2 paper, 0 none

def closeness(stance: np.ndarray, probs: np.ndarray, member: np.ndarray, rents: np.ndarray, exo: Exogenous) -> dict[str, np.ndarray]:
    """Military, political and economic closeness of each client to each patron, in [0, 1].

    military = half the de facto stance, half any military instrument with the patron;
    political = the choice probability of that patron;
    economic = half the patron's share of offered rents (before courting, ``rents`` ``[..., P]``), half any
    economic instrument with it. Elementwise over any leading axes (a quarter, or whole trajectories).
    """
    out: dict[str, np.ndarray] = {}
    total_rents = rents[..., 0] + rents[..., 1] + rents[..., 2]
    for p in Patron:
        mine = exo.instrument_patron == p
        mil = member[..., mine & exo.instrument_military].any(axis=-1)
        eco = member[..., mine & ~exo.instrument_military].any(axis=-1)
        out[f"military_{p.name}"] = 0.5 * (stance == p) + 0.5 * mil
        out[f"political_{p.name}"] = probs[..., p]
        share = np.divide(rents[..., p], total_rents, out=np.zeros_like(total_rents), where=total_rents > 0)
        out[f"economic_{p.name}"] = 0.5 * share + 0.5 * eco
    return out
