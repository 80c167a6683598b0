"""Sweep designs, SALib-style: a ``problem`` (names and bounds), ``sample(problem, N)``, and the
design points' values.

Every dimension lives in a numeric *design space* given by its bounds: a numeric range is itself,
a date range is days from its first date, a list of values is ``[0, len(values))`` (an index) and
a distribution is ``[0, 1]`` (a quantile). :func:`sample` draws a design in that space (a full
grid, a Latin hypercube from ``scipy.stats.qmc``, or SALib's Sobol/Saltelli and Morris samples)
and :func:`to_value` maps a coordinate back to the dimension's value.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.workflows.sweep.spec import Dimension, SweepSpec

#: The kinds of design :func:`sample` draws.
DESIGNS = ("grid", "lhs", "sobol", "morris")


def dimension_bounds(dim: Dimension) -> list[float]:
    """A dimension's bounds in the design space."""
    if dim.range is not None:
        lo, hi = dim.range
        return [0.0, float((hi - lo).days)] if isinstance(lo, dt.date) else [float(lo), float(hi)]
    if dim.values is not None:
        return [0.0, float(len(dim.values))]
    return [0.0, 1.0]


def problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem of a spec: ``num_vars``, ``names``, ``bounds``, plus each dimension's grid
    ``levels`` and whether it is ``discrete`` (a list of values)."""
    dims = list(spec.dimensions.values())
    return {
        "num_vars": len(dims),
        "names": list(spec.dimensions),
        "bounds": [dimension_bounds(d) for d in dims],
        "levels": [len(d.values) if d.values is not None else d.steps for d in dims],
        "discrete": [d.values is not None for d in dims],
    }


def sample(problem: dict[str, Any], N: int | None = None, *, kind: str = "lhs", seed: int = 0) -> np.ndarray:
    """A design of ``[n, num_vars]`` points in the design space, SALib-style.

    Args:
        problem: As :func:`problem` makes it (``levels`` and ``discrete`` are needed by grids only).
        N: LHS points, or the Sobol/Morris base sample size (unused by grids).
        kind: ``grid``, ``lhs``, ``sobol`` (Saltelli, first and total order) or ``morris``.
        seed: Seed of the sampler.

    Example:
        >>> X = sample({"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [10, 20]]}, 4, seed=1)
        >>> X.shape, bool(((X[:, 1] >= 10) & (X[:, 1] <= 20)).all())
        ((4, 2), True)
    """
    lo, hi = np.array(problem["bounds"], dtype=float).T
    salib = {k: problem[k] for k in ("num_vars", "names", "bounds")}
    if kind == "grid":
        axes = []
        for j, (n, discrete) in enumerate(zip(problem["levels"], problem["discrete"], strict=True)):
            # a list of values: every index; a range: n points from one end to the other
            axes.append([lo[j] + i * (hi[j] - lo[j]) / n if discrete else lo[j] + (i / (n - 1)) * (hi[j] - lo[j]) for i in range(n)])
        return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(axes))
    if kind == "lhs":
        from scipy.stats import qmc

        return lo + qmc.LatinHypercube(d=problem["num_vars"], seed=seed).random(N) * (hi - lo)
    if kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(salib, N, calc_second_order=False, seed=seed)
    if kind == "morris":
        from SALib.sample import morris

        return morris.sample(salib, N, seed=seed)
    raise ValueError(f"unknown design '{kind}' (one of {', '.join(DESIGNS)})")


def to_value(dim: Dimension, x: float) -> Any:
    """The dimension's value at design-space coordinate ``x``."""
    if dim.range is not None:
        lo, _ = dim.range
        return lo + dt.timedelta(days=int(round(x))) if isinstance(lo, dt.date) else float(x)
    if dim.values is not None:
        return dim.values[min(int(x), len(dim.values) - 1)]
    import scipy.stats

    d = dict(dim.distribution)
    dist = getattr(scipy.stats, d.pop("name"))(**d)
    return float(dist.ppf(min(max(x, 1e-12), 1 - 1e-12)))


def design_size(spec: SweepSpec) -> int:
    """How many points the spec's design has, computed without building it."""
    prob = problem(spec)
    D, N = prob["num_vars"], spec.design.points or 0
    kind = spec.design.kind
    if kind == "grid":
        return math.prod(prob["levels"])
    return {"lhs": N, "sobol": N * (D + 2), "morris": N * (D + 1)}[kind]


def design_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The spec's design: one mapping (dotted path -> value) per point."""
    prob = problem(spec)
    X = sample(prob, spec.design.points, kind=spec.design.kind, seed=spec.design.seed)
    dims = list(spec.dimensions.values())
    return [{name: to_value(d, float(X[i, j])) for j, (name, d) in enumerate(zip(prob["names"], dims, strict=True))} for i in range(len(X))]
