"""Design points to runnable inputs, at engine speed.

A design over parameters and shock fields (``params.*``, ``shocks.<id>.*``, the usual case) does
not need a whole scenario per point: the base scenario is validated and compiled once per
process, each point re-validates only the parameter set or the shock it changes (pydantic, on
that model alone), and only the shock paths are recompiled (:func:`~sim.scenario.compile.compile_shocks`,
each shock's path cached). The checks a whole scenario adds across fields (a shock's date inside
the run, ``until`` after ``date``) hold over an interval of each value, so
:func:`~sim.workflows.sweep.spec.load_sweep` checks them on every corner of the design's box once.
Designs over anything else (drivers, clients, instruments, the calendar) build and compile each
point's scenario in full.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from sim.kernel.exogenous import Exogenous
from sim.kernel.params import ModelParams
from sim.kernel.randomness import Draws, batch_draws, replicate_seeds
from sim.scenario.compile import compile_scenario, compile_shocks
from sim.scenario.loading import validate_data
from sim.scenario.schema import Scenario, Shock
from sim.workflows.calibrate.spec import set_dotted

#: Top-level scenario fields a design point may change without building the whole scenario.
FAST_ROOTS = ("params", "shocks")


class PointBuilder:
    """One sweep's design points as scenarios and compiled inputs (one per process, see :func:`builder`).

    Args:
        scenario_path: The sweep's base scenario.
        names: The design's dotted paths.
    """

    def __init__(self, scenario_path, names: list[str]) -> None:
        from sim.workflows.sweep.spec import _resolved, scenario_for

        data, origin = _resolved(scenario_path, scenario_path.stat().st_mtime_ns)
        self.scenario_path = scenario_path
        self.base = validate_data(data, origin, scenario_path)
        self.fast = all(n.split(".")[0] in FAST_ROOTS for n in names)
        self.shocks = any(n.startswith("shocks.") for n in names)
        self.exo = compile_scenario(self.base) if self.fast else None
        self._full = scenario_for

    def scenario(self, point: dict[str, Any]) -> Scenario:
        """The base scenario with ``point``'s values set.

        Raises:
            pydantic.ValidationError: if a changed parameter set or shock is invalid (fast path).
            ScenarioError: on the full path, located as :func:`~sim.workflows.sweep.spec.scenario_for` does.
        """
        if not self.fast:
            return self._full(self.scenario_path, point)
        params = self.base.params.model_dump()
        shocks = list(self.base.shocks)
        changed: dict[int, dict[str, Any]] = {}
        for name, value in point.items():
            root, *rest = name.split(".")
            if root == "params":
                set_dotted(params, ".".join(rest), value)
            else:
                i = next(i for i, s in enumerate(shocks) if s.id == rest[0])
                set_dotted(changed.setdefault(i, shocks[i].model_dump()), ".".join(rest[1:]), value)
        for i, doc in changed.items():
            shocks[i] = Shock.model_validate(doc)
        update: dict[str, Any] = {"shocks": shocks} if changed else {}
        if any(n.startswith("params.") for n in point):
            update["params"] = ModelParams.model_validate(params)
        return self.base.model_copy(update=update)

    def compile(self, scenarios: list[Scenario]) -> tuple[Exogenous, np.ndarray | None]:
        """The compiled inputs of ``scenarios`` and each one's variant (``None``: they share the base's)."""
        if self.fast and not self.shocks:
            return self.exo, None
        one = (lambda s: compile_shocks(s, self.exo)) if self.fast else compile_scenario
        return Exogenous.stack([one(s) for s in scenarios]), np.arange(len(scenarios))


@functools.lru_cache(maxsize=4)
def builder(scenario_path, names: tuple[str, ...], spec_hash: str) -> PointBuilder:
    """This process's :class:`PointBuilder` for a sweep (workers keep it across chunks)."""
    return PointBuilder(scenario_path, list(names))


@functools.lru_cache(maxsize=4)
def replicate_inputs(seed: int, replicates: tuple[int, ...], n_steps: int, n_clients: int) -> tuple[np.ndarray, Draws]:
    """The seeds and draws of these replicate numbers, drawn once per process: every design point
    runs the same replicates (common random numbers), so a chunk's runs index into them."""
    seeds = replicate_seeds(seed, replicates)
    return seeds, batch_draws(seeds, n_steps, n_clients)
