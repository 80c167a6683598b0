"""Mesa agents: patrons that make offers and client leaders that choose a stance.

Each agent calls the same pure functions as the ensemble runner
(:mod:`sim.kernel`) on its own slice of the arrays, so
the readable agent-based model and the fast path cannot drift apart. A client
agent owns its state: its stance, its leader's preference shocks, his personal
ties with the patrons' leaders, and its de jure commitments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.kernel.actors import Client, Patron, Stance
from sim.kernel.decision import choice_probabilities, sample_stance, utilities
from sim.kernel.dejure import initial_commitments, update_commitments
from sim.kernel.leaders import initial_ties, preference_noise, update_ties
from sim.kernel.offers import OFFER_RULES, PatronOffer

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
        m = self.model
        self.offer = OFFER_RULES[self.patron](m.env, m.theta)


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
        m, c = self.model, self.client
        t = m.step_index
        env = m.env.client(c)
        self.ties = np.where(env.tie_reset, 0.0, self.ties)
        self.noise = preference_noise(self.noise, m.draws.normal[:, t, c : c + 1], m.theta)
        prev = np.array([[self.stance]], dtype=np.int8)
        u = utilities(m.rule, env, m.offers.client(c), prev, self.member, self.ties, self.noise, m.exo, m.theta, first=t == 0)
        probs = choice_probabilities(u, m.theta.beta)
        self.probs = probs[0, 0]
        self.next_stance = Stance(int(sample_stance(probs, m.draws.uniform[:, t, c : c + 1])[0, 0]))

    def advance(self) -> None:
        """Adopt the chosen stance, take any de jure act it leads to, and update the leader's ties."""
        m, c = self.model, self.client
        self.stance = self.next_stance
        stance = np.array([[self.stance]], dtype=np.int8)
        t = m.step_index
        self.memory, self.member = update_commitments(
            self.memory, self.member, stance, m.available[:, c : c + 1], m.exo.instrument_renewal[t], m.exo, m.theta, first=t == 0
        )
        self.ties = update_ties(self.ties, stance, m.theta)
