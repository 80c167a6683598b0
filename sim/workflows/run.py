"""Run a scenario with many replicates and write every output a user keeps."""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from sim import __version__
from sim.engines.ensemble import RunResult, simulate
from sim.engines.model import AlignmentModel
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_STANCES, STANCES
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import stack_params
from sim.kernel.randomness import batch_draws, run_seed
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import scenario_hash
from sim.scenario.schema import Scenario
from sim.workflows.fit import Targets, acts_per_run, acts_report, load_targets, modal_quarterly, score
from sim.workflows.outputs import atomic_folder, git_commit, summary_rows, trajectory_schema, trajectory_table, write_csv, write_json

ENGINES = ("ensemble", "mesa")

#: Shocks marked on the alignment chart when present.
KEY_SHOCKS = {
    "taliban_kabul": "Taliban in Kabul",
    "september_11": "9/11",
    "rose_revolution": "Rose",
    "andijan": "Andijan",
    "medvedev": "Medvedev",
    "afghan_surge": "NDN",
    "crimea": "Crimea",
}


@dataclass
class RunSummary:
    """What a run produced."""

    out: Path
    fit: dict
    seconds: float
    files: list[str] = field(default_factory=list)


def run_batch(scn: Scenario, exo: Exogenous, seeds: list[int], engine: str) -> RunResult:
    """Simulate the runs with these seeds on one engine (same numbers either way)."""
    if engine == "mesa":
        return RunResult.concatenate([AlignmentModel(scn, s, exo=exo).run() for s in seeds])
    th = stack_params([scn.params])
    return simulate(exo, th, scn.rule, batch_draws(np.array(seeds), exo.n_steps, N_CLIENTS))


def _decimal_time(scn: Scenario) -> np.ndarray:
    cal = scn.calendar
    return cal.years() + (cal.quarters() - 1) / 4.0


def run_scenario(
    scn: Scenario,
    source: str | Path,
    out: Path,
    replicates: int = 100,
    seed: int | None = None,
    engine: str | None = None,
    chunk_size: int = 2000,
    progress: bool = True,
    plot: bool = True,
    targets: Targets | None = None,
) -> RunSummary:
    """Run ``replicates`` stochastic replays and write the outputs into ``out`` atomically.

    Writes ``trajectories.parquet`` (streamed chunk by chunk, so memory stays
    flat), ``summary.csv``, ``fit.json``, ``manifest.json`` and ``alignment.png``.
    """
    started = dt.datetime.now(dt.UTC)
    root = scn.seed if seed is None else seed
    engine = engine or ("ensemble" if replicates > 1 else "mesa")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    exo = compile_scenario(scn)
    cal = scn.calendar
    years, ye_steps = cal.year_end_steps()
    targets = targets or load_targets()
    R, T, C = replicates, exo.n_steps, N_CLIENTS
    year_end = np.empty((R, len(years), C), dtype=np.int8)
    year_end_bloc = np.empty((R, len(years), C), dtype=bool)
    stance_counts = np.zeros((T, C, N_STANCES))
    status_counts = np.zeros((T, C, 3))
    member_counts = np.zeros((T, C, len(exo.instrument_ids)))
    act_steps = np.empty((R, len(targets.acts)), dtype=np.int64)
    switches = np.empty((R, C))
    csto = np.flatnonzero(exo.bloc)
    seeds_all = [run_seed(root, r) for r in range(R)]
    with atomic_folder(out) as tmp:
        writer = None
        bar = tqdm(total=R, desc=f"{scn.name} ({engine})", unit="run", disable=not progress, leave=False)
        try:
            for lo in range(0, R, chunk_size):
                idx = np.arange(lo, min(R, lo + chunk_size))
                seeds = [seeds_all[i] for i in idx]
                res = run_batch(scn, exo, seeds, engine)
                table = trajectory_table(res, exo, cal, idx, np.array(seeds))
                if writer is None:
                    writer = pq.ParquetWriter(tmp / "trajectories.parquet", trajectory_schema(exo, sorted(res.closeness)), compression="zstd")
                writer.write_table(table)
                year_end[idx] = res.stance[:, ye_steps]
                year_end_bloc[idx] = res.member[:, ye_steps][..., csto].any(axis=-1) if len(csto) else False
                stance_counts += np.stack([(res.stance == s).sum(axis=0) for s in range(N_STANCES)], axis=-1)
                status_counts += np.stack([(res.status == s).sum(axis=0) for s in range(3)], axis=-1)
                member_counts += res.member.sum(axis=0)
                act_steps[idx] = acts_per_run(targets.acts, cal, res.stance, res.member, exo.instrument_ids)
                switches[idx] = (res.stance[:, 1:] != res.stance[:, :-1]).sum(axis=1)
                bar.update(len(idx))
        finally:
            bar.close()
            if writer is not None:
                writer.close()

        write_csv(tmp / "summary.csv", summary_rows(year_end, years))

        fit = score(year_end, year_end_bloc, years, targets)
        modal_stance, modal_member = modal_quarterly(stance_counts, member_counts / R)
        fit["acts"] = acts_report(targets.acts, act_steps, acts_per_run(targets.acts, cal, modal_stance, modal_member, exo.instrument_ids)[0], cal)
        fit["switches_per_run"] = {a: float(switches[:, c].mean()) for c, a in enumerate(CLIENTS)}
        fit["replicates"] = R
        write_json(tmp / "fit.json", fit)

        if plot:
            from sim.face.plots import plot_alignment

            time = _decimal_time(scn)
            tg = [
                {"actor": s.actor, "year_from": s.year_from, "year_to": s.year_to, "accepted": sorted(_names(s.accepted)), "scored": "yes" if s.scored else "transition"}
                for s in targets.spans
            ]
            ev = [{"actor": e.actor, "time": e.date.year + (e.date.timetuple().tm_yday - 1) / 365.25, "label": e.label.split(";")[0][:40]} for e in targets.events]
            ks = [
                {"time": s.date.year + (s.date.timetuple().tm_yday - 1) / 365.25, "label": KEY_SHOCKS[s.id]}
                for s in scn.shocks
                if s.id in KEY_SHOCKS
            ]
            plot_alignment(
                time, stance_counts / R, status_counts / R, list(CLIENTS), tg, ev, ks, tmp / "alignment.png",
                title=f"{scn.name}: {R} replicates, rule {scn.rule.value}, seed {root}",
            )

        finished = dt.datetime.now(dt.UTC)
        write_json(
            tmp / "manifest.json",
            {
                "scenario": scn.name,
                "scenario_file": str(Path(source).resolve()),
                "scenario_sha256": scenario_hash(scn),
                "rule": scn.rule.value,
                "parameters": scn.params.model_dump(mode="json"),
                "resolved_scenario": scn.model_dump(mode="json"),
                "root_seed": root,
                "replicates": R,
                "seeds": "seed of replicate r = sim.kernel.randomness.run_seed(root_seed, r) (numpy SeedSequence(root_seed, spawn_key=(r,))); per-row seeds are in trajectories.parquet",
                "engine": engine,
                "package_version": __version__,
                "git_commit": git_commit(),
                "python": platform.python_version(),
                "started": started.isoformat(),
                "finished": finished.isoformat(),
            },
        )
        files = sorted(os.listdir(tmp))
    return RunSummary(out=out, fit=fit, seconds=(finished - started).total_seconds(), files=files)


def _names(stances: frozenset[int]) -> list[str]:
    return [STANCES[s] for s in stances]
