"""What a client's leader carries from quarter to quarter besides his stance: personal ties with
the patrons' leaders and his persistent preference shocks."""

from __future__ import annotations

import numpy as np

from sim.kernel.actors import N_PATRONS
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import Theta


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
