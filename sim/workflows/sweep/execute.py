"""Running a sweep: chunks of about a second of work, each written to its own Parquet file atomically,
mapped over any executor (:mod:`sim.workflows.executors`); an interrupted sweep resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim import __version__
from sim.engines.ensemble import simulate
from sim.errors import OmnibalanceError
from sim.kernel.actors import CLIENTS, STANCES
from sim.kernel.params import stack_params
from sim.workflows import executors
from sim.workflows.fit import event_years, load_targets
from sim.workflows.outputs import git_commit, make_out, trajectory_table, utc_now, write_json, write_parquet
from sim.workflows.sweep.points import builder, replicate_inputs
from sim.workflows.sweep.spec import SweepPlan, load_sweep


def chunk_path(out: Path, k: int) -> Path:
    return out / "chunks" / f"chunk_{k:05d}.parquet"

def run_chunk(plan: SweepPlan, out: Path, k: int, chunk_size: int, trajectories: bool = False) -> int:
    """Simulate chunk ``k`` (runs ``k*chunk_size`` ...) and write its Parquet file atomically.

    Returns the number of runs written (0 if the chunk was already on disk).
    """
    target = chunk_path(out, k)
    if target.exists():
        return 0
    R = plan.spec.replicates
    runs = np.arange(k * chunk_size, min(plan.n_runs, (k + 1) * chunk_size))
    point_idx, rep = runs // R, runs % R
    uniq = np.unique(point_idx)
    points = builder(plan.scenario_path, tuple(plan.names), plan.spec_hash)
    scns = [points.scenario(plan.points[i], validate=False) for i in uniq]  # each point was checked once, in load_sweep
    rule = scns[0].rule
    if any(s.rule != rule for s in scns):
        raise OmnibalanceError("a sweep cannot mix decision rules in one chunk; sweep 'rule' with separate sweeps")
    exo, variant = points.compile(scns)
    setting = np.searchsorted(uniq, point_idx)  # one setting (parameters and scenario variant) per design point
    th = stack_params([s.params for s in scns])
    reps = np.unique(rep)
    rep_seeds, draws = replicate_inputs(plan.spec.seed, reps, exo.n_steps)
    replicate = np.searchsorted(reps, rep)
    res = simulate(exo, th, rule, draws, variant=variant, full=trajectories, setting=setting, replicate=replicate)
    table = outcome_table(plan, res.stance, res.member, exo, scns[0], point_idx, rep, rep_seeds[replicate])
    if trajectories:  # the trajectories first: the outcome chunk's presence marks the chunk done
        write_parquet(out / "trajectories" / f"chunk_{k:05d}.parquet", trajectory_table(res, exo, scns[0].calendar, runs, rep_seeds[replicate]))
    write_parquet(target, table)
    return len(runs)

def outcome_table(plan: SweepPlan, stance, member, exo, scn, point_idx, rep, seeds) -> pa.Table:
    """Per run: design point, seed, per-client stance shares and realignment event years."""
    cols: dict[str, Any] = {"run": point_idx * plan.spec.replicates + rep, "point": point_idx, "replicate": rep, "seed": seeds}
    for name in plan.names:
        vals = [plan.points[i][name] for i in point_idx]
        cols[f"x.{name}"] = [v.isoformat() if isinstance(v, dt.date) else v for v in vals]
    for c, actor in enumerate(CLIENTS):
        for s, st in enumerate(STANCES):
            cols[f"share_{actor}_{st}"] = (stance[:, :, c] == s).mean(axis=1)
    years, steps = scn.calendar.year_end_steps()
    targets = load_targets()
    bloc = exo.in_bloc(member[:, steps])
    for ev in targets.events:
        c = CLIENTS.index(ev.actor)
        yrs = event_years(ev, targets, stance[:, steps, c], bloc[:, :, c], years)
        cols[f"event_{ev.actor}_{ev.year}"] = pa.array(yrs.astype(np.int16), mask=yrs < 0)  # null: not made
    return pa.table(cols)

def _task(args: tuple[SweepPlan, Path, int, int, bool]) -> int:
    """One chunk, as an executor runs it (a picklable top-level function)."""
    return run_chunk(*args)

#: Measured costs on the 2-core development machine (docs/benchmarks.md): seconds per design
#: point (its scenario, compiled shock paths and every quarter's state-free values) and per run.
POINT_SECONDS, RUN_SECONDS = 6e-4, 5e-5
#: Aim for chunks of about this many seconds of work, and never more than this many runs.
CHUNK_SECONDS, CHUNK_MAX_RUNS = 1.0, 50_000


def default_chunk_size(plan: SweepPlan, workers: int = 1) -> int:
    """Runs per chunk: about :data:`CHUNK_SECONDS` of work, whole design points where they fit,
    and small enough that each of ``workers`` gets a chunk."""
    R = plan.spec.replicates
    size = int(CHUNK_SECONDS / (POINT_SECONDS / R + RUN_SECONDS))
    size = max(1, min(size, CHUNK_MAX_RUNS, math.ceil(plan.n_runs / max(workers, 1))))
    return max(R, size // R * R) if size >= R else size

def run_sweep(
    spec_path: Path,
    out: Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    trajectories: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) a sweep into ``out``.

    The returned ``seconds`` time the sweep from reading its spec to its last chunk on disk; the
    libraries it needs are loaded first, outside that clock (:func:`load_libraries`).
    """
    from tqdm import tqdm

    load_libraries(executor)
    t0 = time.perf_counter()
    plan = load_sweep(spec_path)
    out = Path(out)
    manifest_path = out / "manifest.json"
    resuming = out.exists() and any(out.iterdir())
    make_out(out, existing_ok=resume, hint="use --resume to finish it, or another --out")
    if resuming:
        if not manifest_path.exists():
            raise OmnibalanceError(f"{out}: no manifest.json, not a sweep folder")
        old = json.loads(manifest_path.read_text())
        if old["spec_sha256"] != plan.spec_hash:
            raise OmnibalanceError(f"{out}: the spec or scenario changed since this sweep started; resume needs the same inputs")
        chunk_size = old["chunk_size"]
        for stale in [*out.glob("chunks/.*.tmp"), *out.glob("trajectories/.*.tmp")]:  # half-written by a killed run
            stale.unlink(missing_ok=True)
    n_workers = 1 if executor == "serial" else (workers or os.cpu_count() or 1)
    chunk_size = chunk_size or default_chunk_size(plan, n_workers)
    if not manifest_path.exists():
        write_json(manifest_path, {
            "spec_file": str(plan.spec_path), "spec": plan.spec.model_dump(mode="json"), "spec_sha256": plan.spec_hash,
            "scenario": str(plan.scenario_path), "design_points": [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in p.items()} for p in plan.points],
            "n_points": len(plan.points), "replicates": plan.spec.replicates, "n_runs": plan.n_runs, "chunk_size": chunk_size,
            "seeds": "replicate r of every point uses sim.kernel.randomness.run_seed(seed, r)", "package_version": __version__,
            "git_commit": git_commit(), "started": utc_now(),
        })
    n_chunks = math.ceil(plan.n_runs / chunk_size)
    todo = [k for k in range(n_chunks) if not chunk_path(out, k).exists()]
    bar = tqdm(total=plan.n_runs, initial=plan.n_runs - sum(_chunk_runs(plan, k, chunk_size) for k in todo), desc="sweep", unit="run", disable=not progress)
    kind = "serial" if len(todo) <= 1 and executor == "local" else executor  # one chunk: no pool to start
    with executors.executor(kind, workers, scheduler) as pmap:
        for n in pmap(_task, [(plan, out, k, chunk_size, trajectories) for k in todo]):
            bar.update(n)
    bar.close()
    missing = [k for k in range(n_chunks) if not chunk_path(out, k).exists()]
    if missing:
        raise OmnibalanceError(f"{len(missing)} chunks did not finish; run again with --resume")
    return {"out": out, "n_runs": plan.n_runs, "n_chunks": n_chunks, "ran_chunks": len(todo), "seconds": time.perf_counter() - t0}

def load_libraries(executor: str) -> None:
    """A process's start-up for a sweep, done once and before a local pool forks so that its
    workers inherit it: scipy.stats (the design's samplers and distributions, about 0.3 s), pandas
    (which pyarrow imports on its first array, about 0.2 s), pyarrow's Parquet writer and the
    compiled kernel (about 0.3 s from numba's cache). A Dask cluster's workers load their own."""
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import scipy.stats  # noqa: F401

    if executor != "dask":
        from sim.engines.fused import warm_up

        warm_up()

def _chunk_runs(plan: SweepPlan, k: int, size: int) -> int:
    return min(plan.n_runs, (k + 1) * size) - k * size

def read_sweep(out: Path, columns: list[str] | None = None) -> pa.Table:
    """All finished chunks of a sweep, sorted by run, read as one :mod:`pyarrow.dataset` (hidden
    temporary files of chunks still being written are ignored).

    Args:
        out: The sweep folder.
        columns: Read only these columns (default all).
    """
    import pyarrow.dataset as pads

    chunks = Path(out) / "chunks"
    dataset = pads.dataset(chunks, format="parquet") if chunks.is_dir() else None
    if dataset is None or not dataset.files:
        raise OmnibalanceError(f"{out}: no finished chunks")
    return dataset.to_table(columns=columns).sort_by("run")
