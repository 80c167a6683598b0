"""The calibration spec (YAML, pydantic): parameters with bounds and priors, loss weights, budgets;
checked, with located errors, before any run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import ScenarioError
from sim.kernel.actors import Rule
from sim.kernel.params import ModelParams
from sim.scenario.loading import load_scenario
from sim.scenario.resolve import load_spec_file, locate


class ParamSpec(BaseModel):
    """Bounds and prior of one calibrated parameter."""

    model_config = ConfigDict(extra="forbid")

    bounds: tuple[float, float]
    prior: Literal["uniform", "loguniform"] = "uniform"

class DEBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maxiter: int = Field(25, ge=1)
    popsize: int = Field(8, ge=2)
    tol: float = Field(0.0, ge=0)

class PolishBudget(BaseModel):
    """Nelder-Mead from a start point (``--method polish``): DE's best is rarely a local optimum."""

    model_config = ConfigDict(extra="forbid")

    max_evaluations: int = Field(1000, ge=1, description="Evaluations in all, over every restart.")
    step: float = Field(0.08, gt=0, le=0.5, description="Initial simplex edge, as a share of each parameter's range.")
    restart_tol: float = Field(1e-4, ge=0, description="Restart the simplex at its best point until a restart improves the objective by less than this.")

class ABCBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    particles: int = Field(200, ge=10)
    generations: int = Field(5, ge=1)
    quantile: float = Field(0.5, gt=0, lt=1, description="Tolerance of generation g: this quantile of g-1's distances.")
    max_evaluations_per_generation: int = Field(4000, ge=10)

class CalibrationSpec(BaseModel):
    """A calibration spec (YAML)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    rule: Rule | None = None
    replicates: int = Field(100, ge=1)
    seed: int = Field(1, ge=0)
    parameters: dict[str, ParamSpec] = Field(min_length=1)
    weights: LossWeightsSpec = Field(default_factory=lambda: LossWeightsSpec())
    de: DEBudget = DEBudget()
    polish: PolishBudget = PolishBudget()
    abc: ABCBudget = ABCBudget()

class LossWeightsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stance: float = Field(1.0, ge=0)
    timing: float = Field(0.5, ge=0)
    dejure: float = Field(0.5, ge=0)
    acts: float = Field(0.5, ge=0, description="Weight of the quarterly timing of the dated acts.")
    switches: float = Field(0.01, ge=0, description="Weight of each stance change per run beyond history's realignments.")
    logp: float = Field(0.05, ge=0)
    beta: float = Field(0.02, ge=0, description="Penalty weight on log(beta / beta_reference)^2.")
    beta_reference: float = Field(20.0, gt=0)


CalibrationSpec.model_rebuild()


def set_dotted(d: dict[str, Any], name: str, value: Any) -> None:
    """Set ``d['a']['b'] = value`` for ``name = 'a.b'`` (creating mappings on the way)."""
    parts = name.split(".")
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value

def get_dotted(d: dict[str, Any], name: str) -> Any:
    """``d['a']['b']`` for ``name = 'a.b'``."""
    for p in name.split("."):
        d = d[p]
    return d

def load_spec(path: str | Path, rule: str | None = None) -> tuple[CalibrationSpec, Path]:
    """Read and check a calibration spec; returns it and the scenario path it names.

    Raises:
        ScenarioError: naming the file, line and field of an unknown parameter, empty or inverted
            bounds, bounds outside the parameter's allowed range, or a loguniform prior with no support.
    """
    spec, origin, path = load_spec_file(path, CalibrationSpec)
    if rule is not None:
        spec.rule = Rule(rule)
    base = ModelParams().model_dump()
    for name, ps in spec.parameters.items():
        f, line = locate(origin, ("parameters", name))
        where = {"line": line, "field": f"parameters.{name}"}
        try:
            default = get_dotted(base, name)
        except (KeyError, TypeError):
            raise ScenarioError(f or path, f"unknown parameter '{name}' (see sim/params.py)", **where) from None
        if isinstance(default, bool) or not isinstance(default, int | float):
            raise ScenarioError(f or path, f"parameter '{name}' is not numeric and cannot be calibrated", **where)
        lo, hi = ps.bounds
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise ScenarioError(f or path, f"bounds [{lo}, {hi}] are empty or inverted", **where)
        if ps.prior == "loguniform" and lo <= 0:
            raise ScenarioError(f or path, f"a loguniform prior needs positive bounds, got [{lo}, {hi}] (no support)", **where)
        for v in (lo, hi):
            trial = ModelParams().model_dump()
            set_dotted(trial, name, v)
            try:
                ModelParams.model_validate(trial)
            except ValidationError as exc:
                raise ScenarioError(f or path, f"bound {v} is outside the allowed range of '{name}': {exc.errors()[0]['msg']}", **where) from None
    scenario = (path.parent / spec.scenario).resolve()
    if not scenario.is_file():
        f, line = locate(origin, ("scenario",))
        raise ScenarioError(f or path, f"scenario not found: {spec.scenario}", line=line, field="scenario")
    load_scenario(scenario)  # validated before any run
    return spec, scenario
