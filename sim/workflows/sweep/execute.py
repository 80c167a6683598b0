"""Running a sweep: chunks of about a second of work, each written to its own Parquet file atomically,
mapped over any executor (:mod:`sim.workflows.executors`); an interrupted sweep resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim import __version__
from sim.engines.ensemble import simulate
from sim.errors import OmnibalanceError
from sim.kernel.actors import CLIENTS, N_CLIENTS, STANCES
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import stack_params
from sim.kernel.randomness import batch_draws, run_seed
from sim.scenario.compile import compile_scenario
from sim.workflows import executors
from sim.workflows.fit import event_years, load_targets
from sim.workflows.outputs import git_commit, make_out, trajectory_table, utc_now, write_json, write_parquet
from sim.workflows.sweep.spec import SweepPlan, load_sweep, scenario_for


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
    scns = [scenario_for(plan.scenario_path, plan.points[i]) for i in uniq]
    exo = Exogenous.stack([compile_scenario(s) for s in scns])
    setting = np.searchsorted(uniq, point_idx)  # one setting (parameters and scenario variant) per design point
    th = stack_params([s.params for s in scns])
    variant = np.arange(len(scns))
    seeds = np.array([run_seed(plan.spec.seed, int(r)) for r in rep])
    rule = scns[0].rule
    if any(s.rule != rule for s in scns):
        raise OmnibalanceError("a sweep cannot mix decision rules in one chunk; sweep 'rule' with separate sweeps")
    draws = batch_draws(seeds, exo.n_steps, N_CLIENTS)
    res = simulate(exo, th, rule, draws, variant=variant, full=False, setting=setting)
    table = outcome_table(plan, res.stance, res.member, exo, scns[0], point_idx, rep, seeds)
    write_parquet(target, table)
    if trajectories:
        full = simulate(exo, th, rule, draws, variant=variant, full=True, setting=setting)
        write_parquet(out / "trajectories" / f"chunk_{k:05d}.parquet", trajectory_table(full, exo, scns[0].calendar, runs, seeds))
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

def default_chunk_size(plan: SweepPlan) -> int:
    """Runs per chunk: about one second of ensemble work (~2,000 runs/s), whole design points."""
    per = plan.spec.replicates
    return max(per, (2000 // per) * per)

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
    """Run (or resume) a sweep into ``out``."""
    from tqdm import tqdm

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
    chunk_size = chunk_size or default_chunk_size(plan)
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
    t0 = time.perf_counter()
    bar = tqdm(total=plan.n_runs, initial=plan.n_runs - sum(_chunk_runs(plan, k, chunk_size) for k in todo), desc="sweep", unit="run", disable=not progress)
    with executors.executor(executor, workers, scheduler) as pmap:
        for n in pmap(_task, [(plan, out, k, chunk_size, trajectories) for k in todo]):
            bar.update(n)
    bar.close()
    missing = [k for k in range(n_chunks) if not chunk_path(out, k).exists()]
    if missing:
        raise OmnibalanceError(f"{len(missing)} chunks did not finish; run again with --resume")
    return {"out": out, "n_runs": plan.n_runs, "n_chunks": n_chunks, "ran_chunks": len(todo), "seconds": time.perf_counter() - t0}

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
