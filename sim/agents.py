"""Mesa agents: patrons that make offers and client leaders that choose a stance.

Each agent calls the same pure functions as the ensemble runner
(:mod:`sim.dynamics`, :mod:`sim.decision`) on its own slice of the arrays, so
the readable agent-based model and the fast path cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.actors import Client, Patron, Stance
from sim.decision import choice_probabilities, sample_stance, utilities
from sim.dynamics import OFFER_RULES, PatronOffer, update_commitments

if TYPE_CHECKING:
    from sim.model import AlignmentModel


class PatronAgent(mesa.Agent):
    """A great power (Russia, the West or China) that makes offers to every client each quarter."""

    model: AlignmentModel

    def __init__(self, model: AlignmentModel, patron: Patron) -> None:
        super().__init__(model)
        self.patron = patron
        self.offer: PatronOffer | None = None

    def step(self) -> None:
        """Update this patron's offer from the quarter's environment and last quarter's stances."""
        m = self.model
        self.offer = OFFER_RULES[self.patron](m.env, m.stances, m.theta)


class ClientAgent(mesa.Agent):
    """A client regime whose leader picks the stance that best protects his rule."""

    model: AlignmentModel

    def __init__(self, model: AlignmentModel, client: Client, stance: Stance) -> None:
        super().__init__(model)
        self.client = client
        self.stance = stance
        self.next_stance = stance
        self.probs = np.zeros(len(Stance))

    def step(self) -> None:
        """Score each stance against this quarter's threats and offers; draw the next stance."""
        m, c = self.model, self.client
        u = utilities(
            m.rule,
            m.env.client(c),
            m.offers.client(c),
            m.stances[:, c : c + 1],
            m.member[:, c : c + 1],
            m.exo.instrument_patron,
            m.theta,
        )
        probs = choice_probabilities(u, m.theta.beta)
        self.probs = probs[0, 0]
        self.next_stance = Stance(int(sample_stance(probs, m.uniforms[m.step_index, c : c + 1][None])[0, 0]))

    def advance(self) -> None:
        """Adopt the chosen stance and take any de jure act it leads to."""
        m, c = self.model, self.client
        self.stance = self.next_stance
        stance = np.array([[self.stance]], dtype=np.int8)
        available = m.available[:, c : c + 1]
        memory, member = update_commitments(
            m.memory[:, c : c + 1], m.member[:, c : c + 1], stance, available, m.exo.instrument_renewal[m.step_index], m.exo, m.theta
        )
        m.next_memory[:, c : c + 1] = memory
        m.next_member[:, c : c + 1] = member
