"""One implementation of a run: a scenario's replicates on an engine, summarised as they finish.

Everything that runs a scenario goes through here: ``omnibalance run``, :func:`sim.run`, the
dashboard, counterfactual comparison and the causal tests. Replicate ``r`` of root seed ``S``
uses seed ``run_seed(S, r)`` and draws its random numbers up front, so the two engines, the
chunking and the order of agent activation cannot change a trajectory.

:func:`replay` simulates chunk by chunk and tallies what the summary, the fit and the figure need
(memory stays flat); each chunk can also be streamed to ``trajectories.parquet``
(:func:`run_to_folder`) or kept in memory (:func:`save_replay` writes it later, the same files).
"""

from __future__ import annotations

import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sim import __version__
from sim.engines.ensemble import RunResult, simulate
from sim.errors import OmnibalanceError
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_STANCES, STANCES
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.randomness import Draws, batch_draws, replicate_seeds, shared_draws
from sim.kernel.timeline import decimal_date
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import scenario_hash
from sim.scenario.schema import Scenario
from sim.workflows import interrupts
from sim.workflows.fit import Targets, acts_per_run, acts_report, load_targets, modal_quarterly, score
from sim.workflows.outputs import atomic_folder, git_commit, summary_rows, trajectory_writer, utc_now, write_csv, write_json
from sim.workflows.posterior import Posterior
from sim.workflows.resources import check_fits

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

#: A chunk of runs as it finishes: replicate numbers, their seeds, their trajectories.
Chunk = tuple[np.ndarray, np.ndarray, RunResult]


def simulate_runs(scn: Scenario, draws: Draws, exo: Exogenous | None = None, full: bool = False, probs_steps: np.ndarray | None = None,
                  params: list[ModelParams] | None = None, setting: np.ndarray | None = None) -> RunResult:
    """The ensemble runs of one scenario with these draws: with its parameters and rule, or with
    ``params[setting[r]]`` for run ``r``."""
    exo = exo if exo is not None else compile_scenario(scn)
    return simulate(exo, stack_params(params or [scn.params]), scn.rule, draws, full=full, probs_steps=probs_steps, setting=setting)


def run_batch(scn: Scenario, exo: Exogenous, seeds: list[int] | np.ndarray, engine: str, full: bool = True,
              params: list[ModelParams] | None = None, setting: np.ndarray | None = None) -> RunResult:
    """Simulate the runs with these seeds on one engine (the same numbers either way); ``params`` and
    ``setting`` as :func:`simulate_runs` (ensemble only)."""
    if engine == "mesa":
        from sim.engines.model import AlignmentModel

        return RunResult.concatenate([AlignmentModel(scn, int(s), exo=exo).run() for s in seeds])
    return simulate_runs(scn, _draws(np.asarray(seeds, dtype=np.int64), exo.n_steps), exo, full=full, params=params, setting=setting)


def _draws(seeds: np.ndarray, n_steps: int) -> Draws:
    """The runs' draws; those of a batch of up to 1,000 runs are kept for reuse (:func:`shared_draws`)."""
    return shared_draws(tuple(seeds.tolist()), n_steps) if len(seeds) <= 1000 else batch_draws(seeds, n_steps, N_CLIENTS)


def year_ends(scn: Scenario, draws: Draws, chunk: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """``[R, Y, C]`` year-end stances and Russian-bloc membership of ``len(draws)`` ensemble runs."""
    exo = compile_scenario(scn)
    _, steps = scn.calendar.year_end_steps()
    parts = [simulate_runs(scn, draws.take(slice(lo, lo + chunk)), exo) for lo in range(0, len(draws), chunk)]
    return np.concatenate([p.stance[:, steps] for p in parts]), np.concatenate([exo.in_bloc(p.member[:, steps]) for p in parts])


def category_shares(codes: np.ndarray, n: int) -> np.ndarray:
    """``[..., n]``: the share of runs (axis 0 of ``codes``) in each of ``n`` categories."""
    return np.stack([(codes == k).mean(axis=0) for k in range(n)], axis=-1)


@dataclass
class Replay:
    """A run's replicates, tallied: everything but the trajectories themselves.

    Attributes:
        scenario: The scenario that ran.
        source: The file it came from, if any.
        root_seed: Replicate ``r`` used ``run_seed(root_seed, r)``.
        engine: ``ensemble`` or ``mesa``.
        targets: The history the fit scores against.
        exo: The compiled scenario.
        year_end: ``[R, Y, C]`` year-end stances.
        stance_shares: ``[T, C, S]`` share of replicates in each stance every quarter.
        status_shares: ``[T, C, 3]`` share in each alliance status with Russia (none, true, paper).
        member_shares: ``[T, C, J]`` share holding each de jure instrument.
        fit: The fit to history (``fit.json``).
        started, finished: UTC times (ISO 8601).
        seconds: Compute time.
        chunks: The trajectories, if kept in memory.
        trajectory_file: The ``trajectories.parquet`` they were streamed to, if any.
    """

    scenario: Scenario
    source: Path | None
    root_seed: int
    engine: str
    targets: Targets
    exo: Exogenous
    year_end: np.ndarray
    stance_shares: np.ndarray
    status_shares: np.ndarray
    member_shares: np.ndarray
    fit: dict[str, Any]
    started: str
    finished: str
    seconds: float
    chunks: list[Chunk] | None = None
    trajectory_file: Path | None = field(default=None, repr=False)

    @property
    def replicates(self) -> int:
        return int(self.year_end.shape[0])

    @property
    def years(self) -> np.ndarray:
        return self.scenario.calendar.year_end_steps()[0]


def replay(
    scn: Scenario,
    replicates: int = 100,
    seed: int | None = None,
    engine: str | None = None,
    source: str | Path | None = None,
    chunk_size: int = 2000,
    full: bool = True,
    keep: bool = False,
    sink: Callable[[Chunk], None] | None = None,
    progress: bool = False,
    targets: Targets | None = None,
    exo: Exogenous | None = None,
    posterior: Posterior | None = None,
) -> Replay:
    """Run ``replicates`` stochastic replays of ``scn`` and tally them.

    Args:
        scn: A validated scenario.
        replicates: Number of replicates.
        seed: Root seed (default: the scenario's).
        engine: ``ensemble`` or ``mesa`` (default: ensemble for more than one replicate).
        source: The scenario's file (for the manifest).
        chunk_size: Runs simulated at once.
        full: Record choice probabilities and closeness (the trajectories need them).
        keep: Keep every chunk's trajectories in memory (``Replay.chunks``).
        sink: Called with each chunk as it finishes (e.g. a Parquet writer).
        progress: Show a progress bar.
        targets: History to score against (default ``calibration/targets``).
        exo: The compiled scenario, to skip compiling it again.
        posterior: Draw each replicate's parameters from this posterior (ensemble engine only).
    """
    import time

    started, t0 = utc_now(), time.perf_counter()
    root = scn.seed if seed is None else int(seed)
    engine = engine or ("ensemble" if replicates > 1 else "mesa")
    if engine not in ENGINES:
        raise OmnibalanceError(f"unknown engine '{engine}' (ensemble or mesa)")
    if posterior is not None and engine != "ensemble":
        raise OmnibalanceError("--posterior runs on the ensemble engine (each replicate with its own parameters)")
    exo, cal = (exo if exo is not None else compile_scenario(scn)), scn.calendar
    targets = targets or load_targets()
    _, ye_steps = cal.year_end_steps()
    R, T, C, J = replicates, exo.n_steps, N_CLIENTS, len(exo.instrument_ids)
    per_run = len(ye_steps) * C * 2 + 8 * (len(targets.acts) + C) + (T * C * (8 * (N_STANCES + 10) + 2 * J) if keep else 0)
    check_fits(R * per_run, f"{R:,} replicates", "run fewer (the year-end stances of every run are kept in memory for the summary)")
    year_end = np.empty((R, len(ye_steps), C), dtype=np.int8)
    year_end_bloc = np.empty((R, len(ye_steps), C), dtype=bool)
    counts = {"stance": np.zeros((T, C, N_STANCES)), "status": np.zeros((T, C, 3)), "member": np.zeros((T, C, J))}
    act_steps = np.empty((R, len(targets.acts)), dtype=np.int64)
    switches = np.empty((R, C))
    seeds_all = replicate_seeds(root, R)
    particle = posterior.draw(root, np.arange(R)) if posterior is not None else None
    chunks: list[Chunk] | None = [] if keep else None
    with tqdm(total=R, desc=f"{scn.name} ({engine})", unit="run", disable=not progress, leave=False) as bar:
        for lo in range(0, R, chunk_size):
            interrupts.check()
            idx = np.arange(lo, min(R, lo + chunk_size))
            sets: dict[str, Any] = {}
            if particle is not None:  # one setting per distinct particle in this chunk
                used, setting = np.unique(particle[idx], return_inverse=True)
                sets = {"params": [posterior.params[i] for i in used], "setting": setting}
            res = run_batch(scn, exo, seeds_all[idx], engine, full=full, **sets)
            year_end[idx] = res.stance[:, ye_steps]
            year_end_bloc[idx] = exo.in_bloc(res.member[:, ye_steps])
            counts["stance"] += np.stack([(res.stance == s).sum(axis=0) for s in range(N_STANCES)], axis=-1)
            counts["status"] += np.stack([(res.status == s).sum(axis=0) for s in range(3)], axis=-1)
            counts["member"] += res.member.sum(axis=0)
            act_steps[idx] = acts_per_run(targets.acts, cal, res.stance, res.member, exo.instrument_ids)
            switches[idx] = (res.stance[:, 1:] != res.stance[:, :-1]).sum(axis=1)
            chunk = (idx, seeds_all[idx], res)
            if sink is not None:
                sink(chunk)
            if chunks is not None:
                chunks.append(chunk)
            bar.update(len(idx))
    fit = score(year_end, year_end_bloc, cal.year_end_steps()[0], targets)
    modal_stance, modal_member = modal_quarterly(counts["stance"], counts["member"] / R)
    fit["acts"] = acts_report(targets.acts, act_steps, acts_per_run(targets.acts, cal, modal_stance, modal_member, exo.instrument_ids)[0], cal)
    fit["switches_per_run"] = {a: float(switches[:, c].mean()) for c, a in enumerate(CLIENTS)}
    fit["replicates"] = R
    if posterior is not None:
        fit["posterior"] = {"source": str(posterior.source), "particles": len(posterior.params), "distinct_used": int(len(np.unique(particle)))}
    return Replay(scn, Path(source) if source is not None else None, root, engine, targets, exo, year_end, counts["stance"] / R, counts["status"] / R,
                  counts["member"] / R, fit, started, utc_now(), time.perf_counter() - t0, chunks)


def run_to_folder(scn: Scenario, out: str | Path, plot: bool = True, **kw: Any) -> Replay:
    """Run as :func:`replay` (same keyword arguments) and write every output into ``out``, atomically:
    ``trajectories.parquet`` streamed chunk by chunk (memory stays flat), then the rest (see :func:`write_products`)."""
    exo = compile_scenario(scn)
    with atomic_folder(Path(out)) as tmp:
        with trajectory_writer(tmp / "trajectories.parquet", exo, scn.calendar) as write:
            rep = replay(scn, exo=exo, sink=lambda chunk: write(*chunk), **kw)
        write_products(tmp, rep, plot)
    rep.trajectory_file = Path(out) / "trajectories.parquet"
    return rep


def save_replay(rep: Replay, out: str | Path, plot: bool = True) -> Path:
    """Write a run's outputs into ``out`` (atomically), exactly as ``omnibalance run`` does.

    Raises:
        OmnibalanceError: if the run kept no trajectories, or ``out`` exists and is not empty.
    """
    if rep.chunks is None and rep.trajectory_file is None:
        raise OmnibalanceError("this run kept no trajectories (run with trajectories=True to save it)")
    with atomic_folder(Path(out)) as tmp:
        if rep.chunks is not None:
            with trajectory_writer(tmp / "trajectories.parquet", rep.exo, rep.scenario.calendar) as write:
                for chunk in rep.chunks:
                    write(*chunk)
        else:
            shutil.copyfile(rep.trajectory_file, tmp / "trajectories.parquet")
        write_products(tmp, rep, plot)
    return Path(out)


def write_products(folder: Path, rep: Replay, plot: bool = True) -> None:
    """``summary.csv``, ``fit.json``, ``alignment.png`` (unless ``plot`` is off) and ``manifest.json``."""
    scn = rep.scenario
    write_csv(folder / "summary.csv", summary_rows(rep.year_end, rep.years))
    write_json(folder / "fit.json", rep.fit)
    if plot:
        from sim.face.plots import SAVE_OPTIONS, save_png

        save_png(alignment_figure(rep), folder / "alignment.png", **SAVE_OPTIONS)
    write_json(folder / "manifest.json", {
        "scenario": scn.name,
        "scenario_file": str(rep.source.resolve()) if rep.source is not None else None,
        "scenario_sha256": scenario_hash(scn),
        "rule": scn.rule.value,
        "parameters": scn.params.model_dump(mode="json"),
        "resolved_scenario": scn.model_dump(mode="json"),
        "root_seed": rep.root_seed,
        "replicates": rep.replicates,
        "seeds": "seed of replicate r = sim.kernel.randomness.run_seed(root_seed, r) (numpy SeedSequence(root_seed, spawn_key=(r,))); per-row seeds are in trajectories.parquet",
        "engine": rep.engine,
        "posterior": rep.fit.get("posterior"),  # if set, replicate r's parameters: a particle drawn by sim.workflows.posterior.Posterior.draw
        "package_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "started": rep.started,
        "finished": rep.finished,
    })


def alignment_marks(scn: Scenario, targets: Targets) -> tuple[list[dict], list[dict], list[dict]]:
    """What the alignment figure marks: history's target spans, its realignment events, and the key shocks present."""
    spans = [{"actor": s.actor, "year_from": s.year_from, "year_to": s.year_to, "accepted": [STANCES[k] for k in sorted(s.accepted)],
              "scored": "yes" if s.scored else "transition"} for s in targets.spans]
    events = [{"actor": e.actor, "time": decimal_date(e.date), "label": e.label.split(";")[0][:40]} for e in targets.events]
    shocks = [{"time": decimal_date(s.date), "label": KEY_SHOCKS[s.id]} for s in scn.shocks if s.id in KEY_SHOCKS]
    return spans, events, shocks


def alignment_figure(rep: Replay, title: str | None = None) -> Any:
    """The alignment fan chart of a run (a matplotlib Figure)."""
    from sim.face.plots import alignment_figure as draw

    scn = rep.scenario
    title = title or f"{scn.name}: {rep.replicates} replicates, rule {scn.rule.value}, seed {rep.root_seed}"
    return draw(scn.calendar.decimal_years(), rep.stance_shares, rep.status_shares, list(CLIENTS), *alignment_marks(scn, rep.targets), title=title)
