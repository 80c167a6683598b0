"""Sensitivity analysis of a finished sweep: SALib indices, rank correlations, a table and plots."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.kernel.actors import CLIENTS
from sim.workflows.outputs import write_csv
from sim.workflows.sweep.design import problem as design_problem
from sim.workflows.sweep.execute import read_sweep
from sim.workflows.sweep.spec import Dimension, SweepSpec

#: Outcomes analysed by default: each client's share of quarters in each stance.
OUTCOMES = [f"share_{a}_{s}" for a in CLIENTS for s in ("RUS", "WEST", "NONALIGNED")]

def analyze(problem: dict[str, Any], Y: np.ndarray, *, method: str = "sobol", X: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Sensitivity indices of outcome ``Y`` (one value per design point), SALib-style.

    Args:
        problem: The design's problem (``num_vars``, ``names``, ``bounds``; see :func:`~sim.workflows.sweep.design.problem`).
        Y: ``[n]`` the outcome at each design point.
        method: ``sobol`` (first-order ``S1`` and total ``ST``, with ``*_conf``; needs a Sobol design),
            ``morris`` (``mu_star``, ``mu_star_conf``, ``sigma``; needs a Morris design and ``X``) or
            ``spearman`` (rank correlation of ``Y`` with each input; needs ``X``).
        X: ``[n, num_vars]`` the design points.
        seed: Seed of the bootstrap intervals.

    Returns:
        Index name -> ``[num_vars]`` values (all zero when ``Y`` does not vary).
    """
    d = problem["num_vars"]
    salib = {k: problem[k] for k in ("num_vars", "names", "bounds")}
    if method == "spearman":
        from scipy.stats import spearmanr

        rho = [spearmanr(X[:, j], Y).statistic if np.std(Y) > 0 else 0.0 for j in range(d)]
        return {"spearman": np.nan_to_num(np.array(rho, dtype=float))}
    names = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf", "sigma")}[method]
    if np.std(Y) == 0:
        return {k: np.zeros(d) for k in names}
    if method == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(salib, Y, calc_second_order=False, seed=seed)
    else:
        from SALib.analyze import morris

        r = morris.analyze(salib, X, Y, seed=seed)
    return {k: np.asarray(r[k], dtype=float) for k in names}


#: The rows each method writes to ``sensitivity.csv``: (index, its interval or ``None``).
_ROWS = {"spearman": (("spearman", None),), "sobol": (("S1", "S1_conf"), ("ST", "ST_conf")), "morris": (("mu_star", "mu_star_conf"), ("sigma", None))}


def finished_sweep(out: Path) -> tuple[SweepSpec, dict[str, Any], Any]:
    """The spec, manifest and result table of a finished sweep folder.

    Raises:
        OmnibalanceError: if ``out`` is not a sweep folder (a run folder is named as such) or the
            sweep has not finished.
    """
    out = Path(out)
    mpath = out / "manifest.json"
    if not mpath.exists():
        raise OmnibalanceError(f"{out}: no manifest.json, not a sweep folder")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        raise OmnibalanceError(f"{mpath}: cannot read it ({exc})") from None
    missing = [k for k in ("spec", "n_points", "n_runs", "design_points") if k not in manifest]
    if missing:
        kind = "an `omnibalance run` folder" if "scenario_sha256" in manifest or (out / "trajectories.parquet").exists() else "not a sweep's manifest"
        raise OmnibalanceError(f"{mpath}: {kind}, not a sweep folder (no '{missing[0]}'); analyze reads what `omnibalance sweep` writes")
    table = read_sweep(out)
    if len(table) != manifest["n_runs"]:
        raise OmnibalanceError(f"{out}: {len(table)} of {manifest['n_runs']} runs finished; complete it with --resume first")
    return SweepSpec.model_validate(manifest["spec"]), manifest, table


def analyze_sweep(out: Path, method: str | None = None) -> dict[str, Any]:
    """Sensitivity indices of a finished sweep (``omnibalance analyze``): ``sensitivity.csv`` and plots, written into ``out``.

    ``sobol`` needs a sobol (Saltelli) design, ``morris`` a morris design; any design also gets
    Spearman rank correlations and outcome-vs-input scatter plots.
    """
    out = Path(out)
    spec, manifest, table = finished_sweep(out)
    kind = spec.design.kind
    method = method or (kind if kind in ("sobol", "morris") else None)
    if method is not None and method != kind:
        raise OmnibalanceError(f"{out / 'manifest.json'}: field 'spec.design.kind' is '{kind}'; --method {method} needs a {method} design (run a sweep made for it)")
    n_points = manifest["n_points"]
    point = table.column("point").to_numpy()
    names = list(spec.dimensions)
    X = np.array([[design_value(spec.dimensions[n], p[n]) for n in names] for p in manifest["design_points"]])
    outcomes = [o for o in OUTCOMES if o in table.column_names]
    Y = {o: np.bincount(point, weights=table.column(o).to_numpy(), minlength=n_points) / np.bincount(point, minlength=n_points) for o in outcomes}
    rows: list[dict[str, Any]] = []
    prob = design_problem(spec)
    for o in outcomes:
        for m in ("spearman",) + ((method,) if method is not None and np.std(Y[o]) > 0 else ()):
            r = analyze(prob, Y[o], method=m, X=X, seed=spec.design.seed)
            for j, n in enumerate(names):
                for index, conf in _ROWS[m]:
                    rows.append({"outcome": o, "input": n, "index": index, "value": float(r[index][j]), "conf": "" if conf is None else float(r[conf][j])})
    from sim.face.plots.sensitivity import plot_scatter, plot_sensitivity

    write_csv(out / "sensitivity.csv", rows, ["outcome", "input", "index", "value", "conf"])
    plot_sensitivity(rows, names, method, out / "sensitivity.png")
    plot_scatter(X, Y, names, out / "scatter.png")
    return {"method": method or "spearman", "rows": rows}


def design_value(dim: Dimension, v: Any) -> float:
    """A design point's value (as the manifest stores it) in the design space."""
    if dim.range is not None and isinstance(dim.range[0], dt.date):
        return float((dt.date.fromisoformat(v) - dim.range[0]).days)
    if dim.values is not None and not isinstance(v, int | float):
        return float(dim.values.index(v))
    return float(v)
