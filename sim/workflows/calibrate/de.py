"""Best fit by differential evolution (``scipy.optimize.differential_evolution``), its trace saved each generation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.workflows.calibrate.problem import Problem
from sim.workflows.executors import MapFn
from sim.workflows.outputs import write_json


def run_de(problem: Problem, out: Path, workers_map: MapFn, progress: bool = True) -> dict[str, Any]:
    """Best fit by ``scipy.optimize.differential_evolution`` (deferred updating, parallel map)."""
    from scipy.optimize import differential_evolution
    from tqdm import tqdm

    budget = problem.spec.de
    trace: list[dict[str, Any]] = []
    bar = tqdm(total=budget.maxiter, desc="differential evolution", unit="gen", disable=not progress, leave=False)
    t0 = time.perf_counter()

    def callback(intermediate_result) -> None:
        trace.append({"generation": len(trace) + 1, "best": float(intermediate_result.fun), "seconds": time.perf_counter() - t0,
                      "x": problem.to_values(intermediate_result.x).tolist()})
        write_json(out / "de_trace.json", {"names": problem.names, "trace": trace})
        bar.update(1)

    result = differential_evolution(
        problem, list(zip(problem.lower, problem.upper, strict=True)), maxiter=budget.maxiter, popsize=budget.popsize,
        tol=budget.tol, seed=problem.spec.seed, workers=workers_map, updating="deferred", polish=False, callback=callback,
        init="sobol", x0=problem.start(),
    )
    bar.close()
    best_x = np.asarray(result.x)
    population = problem.to_values(np.asarray(result.population))
    return {"x": best_x, "values": problem.to_values(best_x), "fun": float(result.fun), "trace": trace, "population": population,
            "nfev": int(result.nfev), "seconds": time.perf_counter() - t0, "message": str(result.message)}
