"""Best fit by differential evolution (``scipy.optimize.differential_evolution``), its trace saved each generation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.workflows.calibrate.problem import Problem, evaluate_chunk
from sim.workflows.executors import MapFn
from sim.workflows.outputs import write_json


def run_de(problem: Problem, out: Path, workers_map: MapFn, progress: bool = True, workers: int = 1) -> dict[str, Any]:
    """Best fit by ``scipy.optimize.differential_evolution`` (deferred updating; each generation
    evaluated as ``workers`` batches mapped over ``workers_map``)."""
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

    def population(X: np.ndarray) -> np.ndarray:
        """A generation's objectives, ``X`` ``[dim, S]``: one task per worker, each a batch of
        parameter sets run along the ensemble's run axis (the same numbers as one at a time)."""
        chunks = [c for c in np.array_split(X.T, max(1, workers)) if len(c)]
        return np.array([d["objective"] for part in workers_map(evaluate_chunk, [(problem, c) for c in chunks]) for d in part])

    result = differential_evolution(
        population, list(zip(problem.lower, problem.upper, strict=True)), maxiter=budget.maxiter, popsize=budget.popsize,
        tol=budget.tol, seed=problem.spec.seed, vectorized=True, updating="deferred", polish=False, callback=callback,
        init="sobol", x0=problem.start(),
    )
    bar.close()
    best_x = np.asarray(result.x)
    population = problem.to_values(np.asarray(result.population))
    return {"x": best_x, "values": problem.to_values(best_x), "fun": float(result.fun), "trace": trace, "population": population,
            "nfev": int(result.nfev), "seconds": time.perf_counter() - t0, "message": str(result.message)}


def run_polish(problem: Problem, out: Path, start: np.ndarray, progress: bool = True) -> dict[str, Any]:
    """A local Nelder-Mead search from ``start`` (optimiser space), in coordinates scaled to each
    parameter's range and kept inside the bounds; one evaluation at a time (the objective is
    evaluated on common random numbers, so it is deterministic and the simplex can converge).

    The objective is flat in places (on common random numbers a small step often changes no
    replicate's path), so a simplex can collapse short of the optimum; the search is restarted with a
    fresh simplex at its best point until a restart gains less than ``polish.restart_tol`` or the
    ``polish.max_evaluations`` budget (shared by all restarts) is spent (restarting a stagnant
    simplex: Kelley 1999, SIAM Journal on Optimization 10(1), 43-55).
    """
    from scipy.optimize import minimize
    from tqdm import tqdm

    budget = problem.spec.polish
    span = problem.upper - problem.lower
    trace: list[dict[str, Any]] = []
    best = {"fun": np.inf, "u": (np.clip(start, problem.lower, problem.upper) - problem.lower) / span, "n": 0}
    bar = tqdm(total=budget.max_evaluations, desc="Nelder-Mead polish", unit="eval", disable=not progress, leave=False)
    t0 = time.perf_counter()

    def f(u: np.ndarray) -> float:
        x = problem.lower + np.clip(u, 0, 1) * span
        val = problem(x)
        bar.update(1)
        best["n"] += 1  # counted here: a disabled tqdm bar does not count
        if val < best["fun"]:
            best.update(fun=val, u=np.clip(u, 0, 1))
            trace.append({"generation": best["n"], "best": float(val), "seconds": time.perf_counter() - t0, "x": problem.to_values(x).tolist()})
            write_json(out / "polish_trace.json", {"names": problem.names, "trace": trace})
        return val

    restarts, message, final = 0, "", None
    while best["n"] < budget.max_evaluations:
        u0, before = best["u"], best["fun"]
        simplex = [u0] + [u0 + np.where(u0[i] + budget.step <= 1, budget.step, -budget.step) * np.eye(problem.dim)[i] for i in range(problem.dim)]
        result = minimize(f, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * problem.dim,
                          options={"initial_simplex": np.clip(np.array(simplex), 0, 1), "maxfev": budget.max_evaluations - best["n"], "xatol": 1e-4, "fatol": 1e-5})
        restarts, message, final = restarts + 1, str(result.message), result.final_simplex[0]
        if not before - best["fun"] > budget.restart_tol:
            break
    bar.close()
    best_x = problem.lower + best["u"] * span
    final = problem.lower + np.clip(final, 0, 1) * span
    return {"x": best_x, "values": problem.to_values(best_x), "fun": float(best["fun"]), "trace": trace, "population": problem.to_values(final),
            "nfev": best["n"], "seconds": time.perf_counter() - t0, "message": f"{message} ({restarts} simplex start{'s' if restarts > 1 else ''})"}
