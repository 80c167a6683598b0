"""The Mesa model: eight state agents stepping quarterly through a scenario."""

from __future__ import annotations

import mesa
import numpy as np

from sim.engines.agents import ClientAgent, PatronAgent
from sim.engines.ensemble import RunResult
from sim.kernel.actors import N_CLIENTS, N_STANCES, Client, Patron, Rule, Stance
from sim.kernel.dejure import instrument_availability
from sim.kernel.environment import environment
from sim.kernel.exogenous import Exogenous
from sim.kernel.measures import alliance_status, closeness
from sim.kernel.offers import stack_offers
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.randomness import run_draws
from sim.scenario.compile import compile_scenario
from sim.scenario.schema import Scenario


class AlignmentModel(mesa.Model):
    """Patrons make offers; client leaders choose stances; de jure ties follow, sticky.

    Args:
        scenario: A validated scenario.
        seed: The run's seed (see :func:`sim.kernel.randomness.run_seed`); it fixes
            every random draw up front, so agent activation order cannot
            change the trajectory.
        params: Parameters to use instead of the scenario's.
        exo: A compiled scenario, to skip compiling it again.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | str = 0,
        params: ModelParams | None = None,
        exo: Exogenous | None = None,
    ) -> None:
        seed = int(seed)  # SolaraViz hands seeds over as strings
        super().__init__(rng=seed)
        self.spec = scenario  # not "scenario": mesa 3.5 reserves Model.scenario
        self.rule: Rule = scenario.rule
        self.theta = stack_params([params or scenario.params])
        self.exo = exo if exo is not None else compile_scenario(scenario)
        self.n_steps = self.exo.n_steps
        self.draws = run_draws(seed, self.n_steps, N_CLIENTS)
        self.step_index = 0
        self.stances = self.exo.initial_stance[None, :].astype(np.int8).copy()
        self.patrons = [PatronAgent(self, p) for p in Patron]
        self.clients = [ClientAgent(self, c, Stance(int(self.exo.initial_stance[c]))) for c in Client]
        self.patron_set = mesa.agent.AgentSet(self.patrons, random=self.random)
        self.client_set = mesa.agent.AgentSet(self.clients, random=self.random)
        J = len(self.exo.instrument_ids)
        self.result = RunResult(
            stance=np.empty((1, self.n_steps, N_CLIENTS), dtype=np.int8),
            probs=np.empty((1, self.n_steps, N_CLIENTS, N_STANCES)),
            member=np.empty((1, self.n_steps, N_CLIENTS, J), dtype=bool),
            status=np.empty((1, self.n_steps, N_CLIENTS), dtype=np.int8),
            closeness={},
        )
        self.running = True

    @property
    def member(self) -> np.ndarray:
        """``[1, C, J]``: every client's de jure instruments."""
        return np.concatenate([c.member for c in self.clients], axis=1)

    def step(self) -> None:
        """One quarter: environment, patron offers, client choices (any order), de jure acts."""
        t = self.step_index
        self.env = environment(self.exo, t, self.theta, 1)
        self.available = instrument_availability(self.exo, t, self.env)
        self.patron_set.do("step")
        self.offers = stack_offers([p.offer for p in self.patrons])
        self.client_set.shuffle_do("step")
        self.client_set.do("advance")
        self.stances = np.array([[c.stance for c in self.clients]], dtype=np.int8)
        self._record(t)
        self.step_index += 1
        self.running = self.step_index < self.n_steps

    def _record(self, t: int) -> None:
        probs = np.stack([c.probs for c in self.clients])[None]
        member = self.member
        r = self.result
        r.stance[:, t] = self.stances
        r.probs[:, t] = probs
        r.member[:, t] = member
        r.status[:, t] = alliance_status(member, self.stances, self.exo)
        for k, v in closeness(self.stances, probs, member, self.offers, self.exo).items():
            r.closeness.setdefault(k, np.empty((1, self.n_steps, N_CLIENTS), dtype=np.float32))[:, t] = v

    def run(self) -> RunResult:
        """Step to the end of the scenario and return the trajectory."""
        while self.running:
            self.step()
        return self.result
