"""The sweep spec (YAML, pydantic) and its plan: every design point's scenario checked before any run."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import ScenarioError
from sim.scenario.loading import apply_set, validate_data
from sim.scenario.resolve import load_spec_file, locate, resolve
from sim.scenario.schema import Scenario
from sim.workflows.resources import available_memory
from sim.workflows.sweep.design import design_points, design_size, dimension_bounds, to_value
from sim.workflows.sweep.points import PointBuilder


class Dimension(BaseModel):
    """One swept input: a range, a list of values, or a distribution."""

    model_config = ConfigDict(extra="forbid")

    range: tuple[float | dt.date, float | dt.date] | None = None
    values: list[Any] | None = None
    distribution: dict[str, Any] | None = None
    steps: int | None = Field(None, ge=2, description="Grid points over a range (grid designs).")

    @model_validator(mode="after")
    def _one_kind(self) -> Dimension:
        given = [k for k in ("range", "values", "distribution") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'range', 'values' or 'distribution'")
        if self.range is not None:
            lo, hi = self.range
            if type(lo) is not type(hi) or not lo < hi:
                raise ValueError(f"empty or inverted range [{lo}, {hi}]")
        if self.values is not None and len(self.values) == 0:
            raise ValueError("empty list of values")
        if self.distribution is not None:
            import scipy.stats

            name = self.distribution.get("name")
            if not isinstance(name, str) or not hasattr(scipy.stats, name):
                raise ValueError(f"unknown scipy.stats distribution {name!r}")
        return self

class Design(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["grid", "lhs", "sobol", "morris"]
    points: int | None = Field(None, ge=1, description="LHS points; Sobol/Morris base sample size N.")
    seed: int = Field(0, ge=0)

class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str
    design: Design
    dimensions: dict[str, Dimension] = Field(min_length=1)
    replicates: int = Field(1, ge=1)
    seed: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        kind = self.design.kind
        for name, d in self.dimensions.items():
            if kind == "grid" and d.range is not None and d.steps is None:
                raise ValueError(f"dimension '{name}': a grid over a range needs 'steps'")
            if kind == "grid" and d.distribution is not None:
                raise ValueError(f"dimension '{name}': a grid cannot sample a distribution; use lhs or sobol")
            if kind in ("sobol", "morris") and d.range is None:
                raise ValueError(f"dimension '{name}': {kind} designs need ranges (SALib samples uniform bounds)")
        if kind != "grid" and self.design.points is None:
            raise ValueError(f"a {kind} design needs 'points'")
        return self

@dataclass
class SweepPlan:
    """A checked spec with its design matrix."""

    spec: SweepSpec
    spec_path: Path
    scenario_path: Path
    names: list[str]
    points: list[dict[str, Any]]  # one mapping per design point: dotted path -> value
    spec_hash: str

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.spec.replicates

def _set_text(name: str, value: Any) -> str:
    return f"{name}={value.isoformat() if isinstance(value, dt.date) else value}"

#: Memory one design point takes while the spec is checked (its mapping and its validated scenario), a generous estimate.
POINT_BYTES = 4096


def load_sweep(path: str | Path) -> SweepPlan:
    """Read and check a sweep spec; every design point's scenario is validated before any run.

    Raises:
        ScenarioError: naming the file, line and field (unknown path, empty range, bad design).
    """
    spec, origin, path = load_spec_file(path, SweepSpec)
    scenario = (path.parent / spec.scenario).resolve()
    if not scenario.is_file():
        f, line = locate(origin, ("scenario",))
        raise ScenarioError(f or path, f"scenario not found: {spec.scenario}", line=line, field="scenario")
    base = json.loads(json.dumps(_resolved(scenario, scenario.stat().st_mtime_ns)[0], default=str))
    for name, dim in spec.dimensions.items():
        probe = dim.values[0] if dim.values is not None else to_value(dim, _midpoint(dim))
        try:
            apply_set(json.loads(json.dumps(base)), _set_text(name, probe))
        except ScenarioError as exc:
            f, line = locate(origin, ("dimensions", name))
            raise ScenarioError(f or path, f"unknown path '{name}': {exc.message}", line=line, field=f"dimensions.{name}") from None
    n, need = design_size(spec), design_size(spec) * POINT_BYTES
    if need > available_memory():
        f, line = locate(origin, ("design",))
        raise ScenarioError(f or path, f"a design of {n:,} points needs about {need / 2**30:,.1f} GiB to hold, more than the "
                            f"{available_memory() / 2**30:,.1f} GiB available; use fewer points or several sweeps", line=line, field="design.points")
    points = design_points(spec)
    fast = PointBuilder(scenario, list(spec.dimensions))
    corners = design_corners(points)
    by_corners = fast.fast and len(corners) < len(points)  # the checks across fields hold over intervals: the box's corners check them
    for pt in corners if by_corners else []:
        _check_point(scenario, origin, path, "the design's corner", pt)
    for i, pt in enumerate(points):
        if not by_corners:
            _check_point(scenario, origin, path, f"design point {i}", pt)
        if fast.fast:  # each point's changed parameter set and shocks, validated on their own, values kept as validated
            try:
                points[i] = fast.checked(pt)
            except ValidationError:
                _check_point(scenario, origin, path, f"design point {i}", pt)
                raise
    digest = hashlib.sha256(path.read_bytes() + scenario.read_bytes()).hexdigest()
    return SweepPlan(spec, path, scenario, list(spec.dimensions), points, digest)

def _check_point(scenario: Path, origin, path: Path, label: str, pt: dict[str, Any]) -> None:
    """Validate ``pt``'s whole scenario, or raise a located error naming the point (``label``)."""
    try:
        scenario_for(scenario, pt)
    except ScenarioError as exc:
        f, line = locate(origin, ("dimensions",))
        raise ScenarioError(f or path, f"{label} ({', '.join(_set_text(k, v) for k, v in pt.items())}) gives an invalid scenario: {exc}",
                            line=line, field="dimensions") from None


def design_corners(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The corners of the design's box: every combination of each dimension's smallest and largest
    value (every distinct value, if they have no order)."""
    names = list(points[0]) if points else []
    sides = []
    for n in names:
        vals = [p[n] for p in points]
        try:
            sides.append(sorted({min(vals), max(vals)}))
        except TypeError:  # unordered values (strings, mappings): every distinct one
            sides.append(list({json.dumps(v, sort_keys=True, default=str): v for v in vals}.values()))
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*sides)]


@functools.lru_cache(maxsize=8)
def _resolved(scenario_path: Path, mtime_ns: int) -> tuple[dict[str, Any], dict]:
    return resolve(scenario_path)

def scenario_for(scenario_path: Path, point: dict[str, Any]) -> Scenario:
    """The base scenario with one design point's values set (the base file is parsed once per process)."""
    data, origin = _resolved(scenario_path, scenario_path.stat().st_mtime_ns)
    data = copy.deepcopy(data)
    set_paths = {apply_set(data, _set_text(k, v)): _set_text(k, v) for k, v in point.items()}
    return validate_data(data, origin, scenario_path, set_paths, set_by="the design:")


def _midpoint(dim: Dimension) -> float:
    """The middle of a dimension's range in the design's space (a probe value for checking its path)."""
    lo, hi = dimension_bounds(dim)
    return (lo + hi) / 2
