"""A posterior by ABC-SMC (Beaumont et al. 2009; Toni et al. 2009), resumable generation by generation."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.workflows.calibrate.problem import Problem, evaluate_chunk
from sim.workflows.executors import MapFn
from sim.workflows.outputs import write_json, write_parquet


def _evaluate_batches(problem: Problem, X: np.ndarray, workers_map: MapFn, chunk: int = 16) -> np.ndarray:
    chunks = [(problem, X[i : i + chunk]) for i in range(0, len(X), chunk)]
    out: list[dict[str, float]] = []
    for part in workers_map(evaluate_chunk, chunks):
        out.extend(part)
    return np.array([o["objective"] for o in out])

def _propose_inside(problem: Problem, particles: np.ndarray, weights: np.ndarray, cov: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` perturbed particles inside the prior's support. Proposals outside it have prior
    density zero and are redrawn without being simulated (Toni et al. 2009)."""
    out: list[np.ndarray] = []
    for _ in range(10_000):
        pick = rng.choice(len(particles), size=4 * m, p=weights)
        prop = particles[pick] + rng.multivariate_normal(np.zeros(particles.shape[1]), cov, size=4 * m)
        out.extend(prop[((prop >= problem.lower) & (prop <= problem.upper)).all(axis=1)])
        if len(out) >= m:
            return np.array(out[:m])
    raise OmnibalanceError("ABC-SMC: perturbed particles keep falling outside the prior's bounds")

def _kernel_weights(new: np.ndarray, old: np.ndarray, old_w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Importance weights ``prior / sum_j w_j K(new | old_j)`` with a uniform prior (in optimiser space)."""
    inv = np.linalg.inv(cov)
    d = new[:, None, :] - old[None, :, :]
    m = np.einsum("ijk,kl,ijl->ij", d, inv, d)
    dens = (np.exp(-0.5 * m) * old_w[None, :]).sum(axis=1)
    w = 1.0 / np.maximum(dens, 1e-300)
    return w / w.sum()

def run_abc(problem: Problem, out: Path, workers_map: MapFn, progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """ABC-SMC (Beaumont et al. 2009; Toni et al. 2009): populations of weighted particles under a
    shrinking tolerance (a quantile of the previous generation's distances), Gaussian perturbation
    with twice the weighted covariance. Each finished generation is saved atomically, so an
    interrupted calibration resumes from its last complete generation."""
    import pyarrow.parquet as pq
    from tqdm import tqdm

    budget = problem.spec.abc
    gen_dir = out / "generations"
    gen_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence(problem.spec.seed, spawn_key=(7,)))
    N, d = budget.particles, problem.dim
    history: list[dict[str, Any]] = []
    start_gen = 0
    particles = weights = dist = None
    if resume:
        done = sorted(gen_dir.glob("generation_*.parquet"))
        if done:
            t = pq.read_table(done[-1]).to_pydict()
            particles = np.column_stack([t[f"u_{n}"] for n in problem.names])
            weights, dist = np.array(t["weight"]), np.array(t["distance"])
            start_gen = len(done)
            state = json.loads((out / "abc_state.json").read_text())
            history = state["history"]
            rng = np.random.default_rng(np.random.SeedSequence(problem.spec.seed, spawn_key=(7, start_gen)))
    t0 = time.perf_counter()
    bar = tqdm(total=budget.generations, initial=start_gen, desc="ABC-SMC", unit="gen", disable=not progress, leave=False)
    for g in range(start_gen, budget.generations):
        evals = 0
        if g == 0:
            particles = problem.lower + rng.random((N, d)) * (problem.upper - problem.lower)
            dist = _evaluate_batches(problem, particles, workers_map)
            evals = N
            weights = np.full(N, 1.0 / N)
            eps = float("inf")
        else:
            eps = float(np.quantile(dist, budget.quantile))
            cov = 2.0 * np.atleast_2d(np.cov(particles.T, aweights=weights)) + 1e-12 * np.eye(d)
            acc_x: list[np.ndarray] = []
            acc_d: list[float] = []
            while len(acc_x) < N and evals < budget.max_evaluations_per_generation:
                m = min(2 * N, budget.max_evaluations_per_generation - evals)
                prop = _propose_inside(problem, particles, weights, cov, m, rng)
                dd = _evaluate_batches(problem, prop, workers_map)
                evals += m
                ok = dd <= eps
                acc_x.extend(prop[ok])
                acc_d.extend(dd[ok])
            if len(acc_x) < N:
                history.append({"generation": g, "tolerance": eps, "accepted": len(acc_x), "evaluations": evals, "stopped": "evaluation budget"})
                break
            new = np.array(acc_x[:N])
            new_w = _kernel_weights(new, particles, weights, cov)
            particles, weights, dist = new, new_w, np.array(acc_d[:N])
        values = problem.to_values(particles.T)
        table = {f"u_{n}": particles[:, i] for i, n in enumerate(problem.names)}
        table |= {n: values[i] for i, n in enumerate(problem.names)}
        table |= {"weight": weights, "distance": dist, "generation": np.full(N, g)}
        write_parquet(gen_dir / f"generation_{g:02d}.parquet", table)
        ess = float(1.0 / np.sum(weights**2))
        history.append({"generation": g, "tolerance": eps, "median_distance": float(np.median(dist)), "min_distance": float(dist.min()),
                        "evaluations": evals, "ess": ess, "seconds": time.perf_counter() - t0})
        write_json(out / "abc_state.json", {"names": problem.names, "history": history})
        bar.update(1)
    bar.close()
    write_json(out / "abc_state.json", {"names": problem.names, "history": history})  # including why it stopped, if it did
    best = int(np.argmin(dist))
    return {"particles": particles, "weights": weights, "distance": dist, "history": history,
            "x": particles[best], "values": problem.to_values(particles[best]), "fun": float(dist[best]), "seconds": time.perf_counter() - t0}
