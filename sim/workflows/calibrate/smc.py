"""A posterior by pyabc's ABC-SMC (Klinger, Rickert and Hasenauer 2018), for comparison with the
in-project sampler (:mod:`~sim.workflows.calibrate.abc`) at the same budget.

The model returns the calibration objective of a parameter vector (in the optimiser's space,
where the prior is uniform on the spec's box) and the distance is that objective itself: it is
already a weighted distance between the ensemble and history, so an adaptive re-weighting of its
components would change what is fitted. pyabc keeps the spec's number of particles in every
generation (its ``AdaptivePopulationSize`` fails on this problem: once the importance weights
degenerate, the coefficient of variation it fits a power law to is NaN and pyabc raises), sets the
tolerance to the median of the last generation's distances (both as the in-project sampler does),
keeps every generation in its SQLite history database (``abc.db`` in the output folder, which
``--resume`` continues), and samples on local processes (``MulticoreEvalParallelSampler``).
"""

from __future__ import annotations

import logging
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.workflows.calibrate.problem import Problem


class _Objective:
    """pyabc's model: a parameter dict to ``{"objective": loss}`` (picklable for its worker processes)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def __call__(self, p: dict[str, float]) -> dict[str, float]:
        x = np.array([p[f"u{i}"] for i in range(self.problem.dim)])
        return {"objective": float(self.problem(x))}


def _distance(x: dict[str, float], x0: dict[str, float]) -> float:
    return x["objective"]


def _raised_in_pyabc(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside pyabc itself (or a library it called), not in the model it evaluates."""
    import pyabc

    import sim

    def inside(module: object, filename: str) -> bool:
        return Path(filename).resolve().is_relative_to(Path(module.__file__).resolve().parent)

    frames = traceback.extract_tb(exc.__traceback__)
    first = next((i for i, f in enumerate(frames) if inside(pyabc, f.filename)), None)
    return first is not None and not any(inside(sim, f.filename) for f in frames[first:])


def run_pyabc(problem: Problem, out: Path, workers: int = 1, progress: bool = True, resume: bool = False,
              max_evaluations: int | None = None) -> dict[str, Any]:
    """ABC-SMC with pyabc: at most ``spec.abc.generations`` populations and ``max_evaluations``
    simulations in all (default: as many as the in-project sampler may use)."""
    import pyabc

    budget = problem.spec.abc
    # Quiet: pyabc's chatter goes, and so do its warnings about near-zero weights; if they end the run,
    # the report says so.
    logging.getLogger("ABC").setLevel(logging.INFO if progress else logging.ERROR)
    prior = pyabc.Distribution(**{f"u{i}": pyabc.RV("uniform", lo, hi - lo) for i, (lo, hi) in enumerate(zip(problem.lower, problem.upper, strict=True))})
    sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers) if workers > 1 else pyabc.sampler.SingleCoreSampler()
    sampler.show_progress = progress
    abc = pyabc.ABCSMC(_Objective(problem), prior, _distance, population_size=budget.particles,
                       eps=pyabc.QuantileEpsilon(alpha=budget.quantile), sampler=sampler)
    db = f"sqlite:///{Path(out).resolve() / 'abc.db'}"
    np.random.seed(problem.spec.seed)  # pyabc draws from numpy's global generator
    done = 0
    if resume and (Path(out) / "abc.db").exists():
        done = abc.load(db, 1).max_t + 1  # finished generations
    else:
        abc.new(db, {"objective": 0.0})
    t0 = time.perf_counter()
    limit = max_evaluations or budget.generations * budget.max_evaluations_per_generation
    failure = None
    try:
        with warnings.catch_warnings():
            if not progress:
                warnings.simplefilter("ignore", RuntimeWarning)
            history = abc.run(max_nr_populations=max(budget.generations - done, 0), max_total_nr_simulations=limit) if done < budget.generations else abc.history
    except (AssertionError, ValueError, ZeroDivisionError) as exc:  # pyabc's checks when its importance weights degenerate
        if not _raised_in_pyabc(exc):
            raise
        history, failure = abc.history, str(exc).strip() or type(exc).__name__
        if history.max_t < 0:
            raise OmnibalanceError(f"pyabc failed in its first generation ({failure}); try --method abc") from None
    seconds = time.perf_counter() - t0
    frame, w = history.get_distribution(m=0)
    particles = frame[[f"u{i}" for i in range(problem.dim)]].to_numpy()
    trace = []
    for r in history.get_all_populations().itertuples():
        if r.t < 0:
            continue
        dist = history.get_weighted_distances(t=int(r.t))["distance"].to_numpy()  # the last generation's stay in ``dist``
        trace.append({"generation": int(r.t), "tolerance": float(r.epsilon), "median_distance": float(np.median(dist)), "min_distance": float(dist.min()),
                      "evaluations": int(r.samples), "particles": int(r.particles)})
    if failure is not None:  # the posterior is the last generation pyabc completed
        trace.append({"generation": trace[-1]["generation"] + 1, "stopped": f"pyabc's importance weights degenerated ({failure.rstrip('.')})"})
    best = int(np.argmin(dist))
    return {"particles": particles, "weights": np.asarray(w) / np.sum(w), "distance": dist, "history": trace, "x": particles[best],
            "values": problem.to_values(particles[best]), "fun": float(dist[best]), "seconds": seconds}
