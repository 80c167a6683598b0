"""The calibration objective: parameter vectors (in the optimiser's space) to loss components."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sim.engines.ensemble import simulate
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.randomness import replicate_draws
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario
from sim.workflows import interrupts
from sim.workflows.calibrate.spec import CalibrationSpec, get_dotted, set_dotted
from sim.workflows.loss import CalibrationTargets, LossWeights, loss_components


class Problem:
    """Parameter vectors (in the optimiser's space) -> loss components; picklable for process pools.

    The optimiser's space is the parameter itself for uniform priors and its log for loguniform ones,
    so the prior is uniform over the box ``self.lower``–``self.upper``.
    """

    def __init__(self, spec: CalibrationSpec, scenario_path: Path, targets: CalibrationTargets, fixed: dict[str, Any] | None = None):
        self.spec = spec
        self.fixed = dict(fixed or {})
        self.scenario_path = scenario_path
        self.targets = targets
        self.names = list(spec.parameters)
        self.log = np.array([spec.parameters[n].prior == "loguniform" for n in self.names])
        b = np.array([spec.parameters[n].bounds for n in self.names], dtype=float)
        safe = np.where(self.log[:, None], b, 1.0)
        self.lower = np.where(self.log, np.log(safe[:, 0]), b[:, 0])
        self.upper = np.where(self.log, np.log(safe[:, 1]), b[:, 1])
        self._state: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_state"} | {"_state": None}

    @property
    def _key(self) -> str:
        return json.dumps([str(self.scenario_path), self.spec.model_dump(mode="json"), self.fixed], sort_keys=True, default=str)

    def _setup(self) -> dict[str, Any]:
        """The compiled scenario, draws and base parameters: built once per process and shared by
        every copy of this problem a pool worker receives (a task does not rebuild them)."""
        if self._state is None:
            self._state = _STATES.get(self._key)
        if self._state is None:
            scn = load_scenario(self.scenario_path)
            rule = self.spec.rule or scn.rule
            exo = compile_scenario(scn)
            years, steps = scn.calendar.year_end_steps()
            self._state = {
                "scenario": scn, "rule": rule, "exo": exo, "years": years, "steps": steps,
                "draws": replicate_draws(self.spec.seed, self.spec.replicates, exo.n_steps),
                "base": scn.params.model_dump(),
            }
            for name, value in self.fixed.items():  # parameters held fixed (ablations)
                set_dotted(self._state["base"], name, value)
            if len(_STATES) > 8:
                _STATES.clear()
            _STATES[self._key] = self._state
        return self._state

    def start(self) -> np.ndarray:
        """The documented hand-set defaults (``ModelParams()``, clipped into the bounds) in the
        optimiser's space: DE starts with them as one member of its population. (Not the
        scenario's values, which may already be a calibration: a rerun must reproduce it.)"""
        base = ModelParams().model_dump()
        vals = np.array([float(get_dotted(base, n)) for n in self.names])
        x = np.where(self.log, np.log(np.maximum(vals, 1e-12)), vals)
        return np.clip(x, self.lower, self.upper)

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_values(self, x: np.ndarray) -> np.ndarray:
        """Optimiser space -> parameter values."""
        x = np.asarray(x, dtype=float)
        log = self.log.reshape((-1,) + (1,) * (x.ndim - 1)) if x.ndim > 1 and x.shape[0] == self.dim else self.log
        return np.where(log, np.exp(np.where(log, x, 0.0)), x)

    def params(self, x: np.ndarray) -> ModelParams:
        """The full parameter set for vector ``x`` (other parameters from the scenario)."""
        st = self._setup()
        d = json.loads(json.dumps(st["base"]))
        for name, v in zip(self.names, self.to_values(np.asarray(x, dtype=float)), strict=True):
            set_dotted(d, name, float(v))
        return ModelParams.model_validate(d)

    def evaluate_many(self, X: np.ndarray, targets: CalibrationTargets | None = None) -> list[dict[str, float]]:
        """Loss components of each row of ``X``, all run in one ensemble batch."""
        interrupts.check()
        st = self._setup()
        X = np.atleast_2d(np.asarray(X, dtype=float))
        R = self.spec.replicates
        plist = [self.params(x) for x in X]
        setting = np.repeat(np.arange(len(plist)), R)  # common random numbers: every parameter set runs the same R draws
        replicate = np.tile(np.arange(R), len(plist))
        res = simulate(st["exo"], stack_params(plist), st["rule"], st["draws"], full=False, probs_steps=st["steps"], setting=setting, replicate=replicate)
        probs = np.asarray(res.probs)  # [R*n, Y, C, S]
        w = LossWeights(**self.spec.weights.model_dump())
        tg = targets or self.targets
        cal = st["scenario"].calendar
        out = []
        for i, p in enumerate(plist):
            sl = slice(i * R, (i + 1) * R)
            out.append(loss_components(res.stance[sl], res.member[sl], probs[sl], cal, st["exo"], tg, p.beta, w))
        return out

    def __call__(self, x: np.ndarray) -> float:
        return self.evaluate_many(np.asarray(x)[None])[0]["objective"]

#: Per-process state of the problems evaluated here, by problem (see :meth:`Problem._setup`).
_STATES: dict[str, dict[str, Any]] = {}


def evaluate_chunk(args: tuple[Problem, np.ndarray]) -> list[dict[str, float]]:
    """Process-pool entry point: evaluate a chunk of parameter vectors."""
    problem, X = args
    return problem.evaluate_many(X)
