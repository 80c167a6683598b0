"""Mesa agents: patrons that make offers and client leaders that choose a stance.

Each agent calls the kernel's functions (:mod:`sim.kernel.offers`, :mod:`sim.kernel.quarter`) on
its own slice of the arrays, as the ensemble runner does for all runs at once, so the readable
agent-based model and the fast path cannot drift apart. A client agent owns its state: its
stance, its leader's preference shocks, his personal ties with the patrons' leaders, and its
de jure commitments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.kernel.actors import Client, Patron, Stance
from sim.kernel.decision import stance_values
from sim.kernel.dejure import initial_commitments
from sim.kernel.leaders import initial_ties
from sim.kernel.offers import OFFER_RULES, PatronOffer
from sim.kernel.quarter import commit, decide

if TYPE_CHECKING:
    from sim.engines.model import AlignmentModel


class PatronAgent(mesa.Agent):
    """A great power (Russia, the West or China) that makes offers to every client each quarter."""

    model: AlignmentModel

    def __init__(self, model: AlignmentModel, patron: Patron) -> None:
        super().__init__(model)
        self.patron = patron
        self.offer: PatronOffer | None = None

    def step(self) -> None:
        """Update this patron's offer from the quarter's environment."""
        self.offer = OFFER_RULES[self.patron](self.model.quarter.env, self.model.theta)


class ClientAgent(mesa.Agent):
    """A client regime whose leader picks the stance that best protects his rule."""

    model: AlignmentModel

    def __init__(self, model: AlignmentModel, client: Client, stance: Stance) -> None:
        super().__init__(model)
        self.client = client
        self.stance = stance
        self.next_stance = stance
        self.probs = np.zeros(len(Stance))
        self.noise: np.ndarray | None = None  # [1, 1, S] preference shocks
        self.ties = initial_ties(model.exo, 1)[:, client : client + 1]  # [1, 1, P]
        memory, member = initial_commitments(model.exo, 1)
        self.memory, self.member = memory[:, client : client + 1], member[:, client : client + 1]  # [1, 1, J]

    def step(self) -> None:
        """Score each stance against this quarter's threats and offers; draw the next stance."""
        m, c, q = self.model, self.client, self.model.quarter
        env = q.env.client(c)
        values = stance_values(m.rule, env, m.offers.client(c), m.theta)
        prev = np.array([[self.stance]], dtype=np.int8)
        self.ties, self.noise, probs, stance = decide(values, prev, self.member, self.ties, self.noise, env.tie_reset,
                                                      m.draws.normal[:, q.t, c : c + 1], m.draws.uniform[:, q.t, c : c + 1], m.exo, m.theta, q.first)
        self.probs = probs[0, 0]
        self.next_stance = Stance(int(stance[0, 0]))

    def advance(self) -> None:
        """Adopt the chosen stance, take any de jure act it leads to, and update the leader's ties."""
        m, c, q = self.model, self.client, self.model.quarter
        self.stance = self.next_stance
        stance = np.array([[self.stance]], dtype=np.int8)
        self.memory, self.member, self.ties = commit(stance, self.memory, self.member, self.ties, q.available[:, c : c + 1], q.renewal, m.exo, m.theta, q.first)
