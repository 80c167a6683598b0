"""Design points to runnable inputs, at engine speed.

A design over parameters and shock fields (``params.*``, ``shocks.<id>.*``, the usual case) does
not need a whole scenario per point: the base scenario is validated and compiled once per
process, each point re-validates only the parameter set or the shock it changes (pydantic, on
that model alone), and only the shock paths are recompiled, for a chunk's points at once
(:func:`~sim.scenario.compile.compile_shocks`, each shock's path cached). The checks a whole
scenario adds across fields (a shock's date inside the run, ``until`` after ``date``) hold over an
interval of each value, so :func:`~sim.workflows.sweep.spec.load_sweep` checks them on every corner
of the design's box once.
Designs over anything else (drivers, clients, instruments, the calendar) build and compile each
point's scenario in full.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np

from sim.kernel.exogenous import Exogenous
from sim.kernel.params import ModelParams
from sim.kernel.randomness import Draws, replicate_seeds, shared_draws
from sim.scenario.compile import compile_scenario, compile_shocks
from sim.scenario.loading import validate_data
from sim.scenario.schema import Scenario, Shock

#: Top-level scenario fields a design point may change without building the whole scenario.
FAST_ROOTS = ("params", "shocks")


class PointBuilder:
    """One sweep's design points as scenarios and compiled inputs (one per process, see :func:`builder`).

    Args:
        scenario_path: The sweep's base scenario.
        names: The design's dotted paths.
    """

    def __init__(self, scenario_path: Path, names: list[str]) -> None:
        from sim.workflows.sweep.spec import _resolved, scenario_for  # spec checks its points with this class

        data, origin = _resolved(scenario_path, scenario_path.stat().st_mtime_ns)
        self.scenario_path = scenario_path
        self.base = validate_data(copy.deepcopy(data), origin, scenario_path)
        self.fast = all(n.split(".")[0] in FAST_ROOTS for n in names)
        self.shocks = any(n.startswith("shocks.") for n in names)
        self.exo = compile_scenario(self.base) if self.fast else None
        self._full = scenario_for

    def scenario(self, point: dict[str, Any], validate: bool = True) -> Scenario:
        """The base scenario with ``point``'s values set.

        Args:
            point: Dotted path -> value.
            validate: Re-validate the parameter set and the shocks the point changes (as
                :func:`~sim.workflows.sweep.spec.load_sweep` does once per point). Workers pass
                ``False``: the plan's points then hold values already checked and coerced there
                (:meth:`checked`), set by copying, with no pydantic validation.

        Raises:
            pydantic.ValidationError: if a changed parameter set or shock is invalid (fast path).
            ScenarioError: on the full path, located as :func:`~sim.workflows.sweep.spec.scenario_for` does.
        """
        if not self.fast:
            return self._full(self.scenario_path, point)
        params: Any = self.base.params
        shocks: list[Any] = list(self.base.shocks)
        plain = (lambda m: m.model_dump()) if validate else (lambda m: m)  # validating: set the values in plain mappings
        for name, value in point.items():
            root, *rest = name.split(".")
            if root == "params":
                params = _set(plain(params) if params is self.base.params else params, rest, value)
            else:
                i = next(i for i, s in enumerate(self.base.shocks) if s.id == rest[0])
                shocks[i] = _set(plain(shocks[i]) if shocks[i] is self.base.shocks[i] else shocks[i], rest[1:], value)
        if validate:
            params = params if params is self.base.params else ModelParams.model_validate(params)
            shocks = [s if s is b else Shock.model_validate(s) for s, b in zip(shocks, self.base.shocks, strict=True)]
        return self.base.model_copy(update={"params": params, "shocks": shocks})

    def checked(self, point: dict[str, Any]) -> dict[str, Any]:
        """``point`` validated, with each value as the validated scenario holds it (a date for a
        date written as text, say), so workers can set it without validating again."""
        scn = self.scenario(point)
        if not self.fast:
            return point
        out = {}
        for name in point:
            root, *rest = name.split(".")
            node: Any = scn.params if root == "params" else scn.shock(rest[0])
            for part in rest if root == "params" else rest[1:]:
                node = node[part] if isinstance(node, dict) else getattr(node, part)
            out[name] = node
        return out

    def compile(self, scenarios: list[Scenario]) -> tuple[Exogenous, np.ndarray | None]:
        """The compiled inputs of ``scenarios`` and each one's variant (``None``: they share the base's)."""
        if self.fast and not self.shocks:
            return self.exo, None
        exo = compile_shocks(scenarios, self.exo) if self.fast else Exogenous.stack([compile_scenario(s) for s in scenarios])
        return exo, np.arange(len(scenarios))


def _set(node: Any, parts: list[str], value: Any) -> Any:
    """A copy of ``node`` (a pydantic model or a mapping) with the value at ``parts`` replaced;
    nothing is validated and ``node`` is unchanged."""
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        return {**node, head: _set(node[head], rest, value)}
    return node.model_copy(update={head: _set(getattr(node, head), rest, value)})


@functools.lru_cache(maxsize=4)
def builder(scenario_path: Path, names: tuple[str, ...], spec_hash: str) -> PointBuilder:
    """This process's :class:`PointBuilder` for a sweep (workers keep it across chunks)."""
    return PointBuilder(scenario_path, list(names))


def replicate_inputs(seed: int, replicates: np.ndarray, n_steps: int) -> tuple[np.ndarray, Draws]:
    """The seeds and draws of these replicate numbers; the draws are made once per process
    (:func:`~sim.kernel.randomness.shared_draws`): every design point runs the same replicates
    (common random numbers), so a chunk's runs index into them."""
    seeds = replicate_seeds(seed, replicates)
    return seeds, shared_draws(tuple(seeds.tolist()), n_steps)
