"""The Mesa model: eight state agents stepping quarterly through a scenario."""

from __future__ import annotations

import mesa
import numpy as np

from sim.engines.agents import ClientAgent, PatronAgent
from sim.engines.recording import Recorder, RunResult
from sim.kernel.actors import N_CLIENTS, Client, Patron, Rule, Stance
from sim.kernel.exogenous import Exogenous
from sim.kernel.offers import stack_offers
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.quarter import open_quarter
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

    Example:
        >>> import sim
        >>> from sim.engines.model import AlignmentModel
        >>> model = AlignmentModel(sim.load_scenario("scenarios/history.yaml"), seed=7)
        >>> model.step()
        >>> [c.stance.name for c in model.clients][:2]  # doctest: +SKIP
        ['RUS', 'RUS']
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
        self.recorder = Recorder(self.exo, 1)
        self.running = True

    @property
    def member(self) -> np.ndarray:
        """``[1, C, J]``: every client's de jure instruments."""
        return np.concatenate([c.member for c in self.clients], axis=1)

    @property
    def result(self) -> RunResult:
        """The trajectory so far (``[1, T, C, ...]``; steps not yet run are unset)."""
        return self.recorder.result()

    def step(self) -> None:
        """One quarter: environment, patron offers, client choices (any order), de jure acts."""
        self.quarter = open_quarter(self.exo, self.step_index, self.theta, 1)
        self.patron_set.do("step")
        self.offers = stack_offers([p.offer for p in self.patrons])
        self.client_set.shuffle_do("step")
        self.client_set.do("advance")
        self.stances = np.array([[c.stance for c in self.clients]], dtype=np.int8)
        self.recorder.record(self.step_index, self.stances, np.stack([c.probs for c in self.clients])[None], self.member, self.offers.rents)
        self.step_index += 1
        self.running = self.step_index < self.n_steps

    def run(self) -> RunResult:
        """Step to the end of the scenario and return the trajectory."""
        while self.running:
            self.step()
        return self.result
