"""Batch sweeps over parameters and shock fields: designs, chunked execution, resumable Parquet.

A sweep spec names a base scenario, dimensions (any parameter or shock field by dotted path, as
``--set`` takes them), a design (full grid, Latin hypercube, Sobol/Saltelli or Morris), replicates
per point and a root seed. Runs are grouped into chunks of roughly a second of work; each chunk
writes its own Parquet file atomically, so an interrupted sweep resumes where it stopped. Replicate
``r`` of every design point uses seed ``run_seed(seed, r)`` (common random numbers), and a run's
numbers do not depend on the chunk it lands in, so results are identical whatever the executor,
the number of workers or the chunking.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim import __version__
from sim.engines.ensemble import simulate
from sim.errors import OmnibalanceError, ScenarioError
from sim.kernel.actors import CLIENTS, N_CLIENTS, STANCES
from sim.kernel.exogenous import Exogenous
from sim.kernel.params import stack_params
from sim.kernel.randomness import batch_draws, run_seed
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import apply_set, resolve_data, validate_data
from sim.scenario.resolve import load_spec_file, locate, resolve
from sim.scenario.schema import Scenario
from sim.workflows.fit import event_years, load_targets


class Dimension(BaseModel):
    """One swept input: a range, a list of values, or a distribution."""

    model_config = ConfigDict(extra="forbid")

    range: tuple[float | dt.date, float | dt.date] | None = None
    values: list[Any] | None = None
    distribution: dict[str, Any] | None = None
    steps: int | None = Field(None, ge=2, description="Grid points over a range (grid designs).")

    @model_validator(mode="after")
    def _one_kind(self) -> Dimension:
        given = [k for k in ("range", "values", "distribution") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'range', 'values' or 'distribution'")
        if self.range is not None:
            lo, hi = self.range
            if type(lo) is not type(hi) or not lo < hi:
                raise ValueError(f"empty or inverted range [{lo}, {hi}]")
        if self.values is not None and len(self.values) == 0:
            raise ValueError("empty list of values")
        if self.distribution is not None:
            import scipy.stats

            name = self.distribution.get("name")
            if not isinstance(name, str) or not hasattr(scipy.stats, name):
                raise ValueError(f"unknown scipy.stats distribution {name!r}")
        return self


class Design(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["grid", "lhs", "sobol", "morris"]
    points: int | None = Field(None, ge=1, description="LHS points; Sobol/Morris base sample size N.")
    seed: int = Field(0, ge=0)


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str
    design: Design
    dimensions: dict[str, Dimension] = Field(min_length=1)
    replicates: int = Field(1, ge=1)
    seed: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        kind = self.design.kind
        for name, d in self.dimensions.items():
            if kind == "grid" and d.range is not None and d.steps is None:
                raise ValueError(f"dimension '{name}': a grid over a range needs 'steps'")
            if kind == "grid" and d.distribution is not None:
                raise ValueError(f"dimension '{name}': a grid cannot sample a distribution; use lhs or sobol")
            if kind in ("sobol", "morris") and d.range is None:
                raise ValueError(f"dimension '{name}': {kind} designs need ranges (SALib samples uniform bounds)")
        if kind != "grid" and self.design.points is None:
            raise ValueError(f"a {kind} design needs 'points'")
        return self


@dataclass
class SweepPlan:
    """A checked spec with its design matrix."""

    spec: SweepSpec
    spec_path: Path
    scenario_path: Path
    names: list[str]
    points: list[dict[str, Any]]  # one mapping per design point: dotted path -> value
    unit: np.ndarray | None  # [n, d] design in SALib's space (sobol/morris)
    spec_hash: str

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.spec.replicates


def _to_value(dim: Dimension, u: float) -> Any:
    """Map a uniform in [0, 1) to the dimension's value."""
    if dim.range is not None:
        lo, hi = dim.range
        if isinstance(lo, dt.date):
            return lo + dt.timedelta(days=int(round(u * (hi - lo).days)))
        return float(lo + u * (hi - lo))
    if dim.values is not None:
        return dim.values[min(int(u * len(dim.values)), len(dim.values) - 1)]
    import scipy.stats

    d = dict(dim.distribution)
    dist = getattr(scipy.stats, d.pop("name"))(**d)
    return float(dist.ppf(min(max(u, 1e-12), 1 - 1e-12)))


def _numeric_bounds(dim: Dimension) -> list[float]:
    lo, hi = dim.range
    if isinstance(lo, dt.date):
        return [0.0, float((hi - lo).days)]
    return [float(lo), float(hi)]


def _from_salib(dim: Dimension, x: float) -> Any:
    lo, _ = dim.range
    if isinstance(lo, dt.date):
        return lo + dt.timedelta(days=int(round(x)))
    return float(x)


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    return {"num_vars": len(spec.dimensions), "names": list(spec.dimensions), "bounds": [_numeric_bounds(d) for d in spec.dimensions.values()]}


def design_points(spec: SweepSpec) -> tuple[list[dict[str, Any]], np.ndarray | None]:
    """The design's points (dotted path -> value), and the raw SALib matrix for sobol/morris."""
    names, dims = list(spec.dimensions), list(spec.dimensions.values())
    kind, n = spec.design.kind, spec.design.points
    if kind == "grid":
        axes = []
        for d in dims:
            if d.values is not None:
                axes.append(list(d.values))
            else:
                axes.append([_to_value(d, i / (d.steps - 1)) for i in range(d.steps)])
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)], None
    if kind == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(dims), seed=spec.design.seed).random(n)
        return [{nm: _to_value(d, float(u[i, j])) for j, (nm, d) in enumerate(zip(names, dims, strict=True))} for i in range(n)], None
    problem = salib_problem(spec)
    if kind == "sobol":
        from SALib.sample import sobol as sobol_sample

        X = sobol_sample.sample(problem, n, calc_second_order=False, seed=spec.design.seed)
    else:
        from SALib.sample import morris as morris_sample

        X = morris_sample.sample(problem, n, seed=spec.design.seed)
    return [{nm: _from_salib(d, float(X[i, j])) for j, (nm, d) in enumerate(zip(names, dims, strict=True))} for i in range(len(X))], X


def _set_text(name: str, value: Any) -> str:
    return f"{name}={value.isoformat() if isinstance(value, dt.date) else value}"


def load_sweep(path: str | Path) -> SweepPlan:
    """Read and check a sweep spec; every design point's scenario is validated before any run.

    Raises:
        ScenarioError: naming the file, line and field (unknown path, empty range, bad design).
    """
    spec, origin, path = load_spec_file(path, SweepSpec)
    scenario = (path.parent / spec.scenario).resolve()
    if not scenario.is_file():
        f, line = locate(origin, ("scenario",))
        raise ScenarioError(f or path, f"scenario not found: {spec.scenario}", line=line, field="scenario")
    base, _, _ = resolve_data(scenario)
    for name, dim in spec.dimensions.items():
        probe = dim.values[0] if dim.values is not None else (_to_value(dim, 0.5))
        try:
            apply_set(json.loads(json.dumps(base, default=str)), _set_text(name, probe))
        except ScenarioError as exc:
            f, line = locate(origin, ("dimensions", name))
            raise ScenarioError(f or path, f"unknown path '{name}': {exc.message}", line=line, field=f"dimensions.{name}") from None
    points, unit = design_points(spec)
    for i, pt in enumerate(points):
        try:
            scenario_for(scenario, pt)
        except ScenarioError as exc:
            f, line = locate(origin, ("dimensions",))
            raise ScenarioError(f or path, f"design point {i} ({pt}) gives an invalid scenario: {exc}", line=line, field="dimensions") from None
    digest = hashlib.sha256(path.read_bytes() + scenario.read_bytes()).hexdigest()
    return SweepPlan(spec, path, scenario, list(spec.dimensions), points, unit, digest)


@functools.lru_cache(maxsize=8)
def _resolved(scenario_path: Path, mtime_ns: int) -> tuple[dict[str, Any], dict]:
    return resolve(scenario_path)


def scenario_for(scenario_path: Path, point: dict[str, Any]) -> Scenario:
    """The base scenario with one design point's values set (the base file is parsed once per process)."""
    data, origin = _resolved(scenario_path, scenario_path.stat().st_mtime_ns)
    data = copy.deepcopy(data)
    set_paths = {apply_set(data, _set_text(k, v)): _set_text(k, v) for k, v in point.items()}
    return validate_data(data, origin, scenario_path, set_paths)


# ---------------------------------------------------------------------------------------------
# Running chunks
# ---------------------------------------------------------------------------------------------


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
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{time.time_ns()}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(target)
    if trajectories:
        from sim.workflows.outputs import trajectory_table

        full = simulate(exo, th, rule, draws, variant=variant, full=True, setting=setting)
        tt = trajectory_table(full, exo, scns[0].calendar, runs, seeds)
        tpath = out / "trajectories" / f"chunk_{k:05d}.parquet"
        tpath.parent.mkdir(parents=True, exist_ok=True)
        ttmp = tpath.with_name(f".{tpath.name}.{time.time_ns()}.tmp")
        pq.write_table(tt, ttmp)
        ttmp.replace(tpath)
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
    bloc = member[:, steps][..., exo.bloc].any(axis=-1)
    for ev in targets.events:
        c = CLIENTS.index(ev.actor)
        yrs = event_years(ev, targets, stance[:, steps, c], bloc[:, :, c], years)
        cols[f"event_{ev.actor}_{ev.year}"] = pa.array(yrs.astype(np.int16), mask=yrs < 0)  # null: not made
    return pa.table(cols)


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------


def _task(args: tuple[SweepPlan, Path, int, int, bool]) -> int:
    return run_chunk(*args)


@contextmanager
def sweep_executor(kind: str, workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """Yields ``submit_all(tasks) -> iterator of results as they complete``."""
    if kind == "serial":
        yield lambda tasks: (_task(t) for t in tasks)
        return
    if kind == "local":
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield lambda tasks: (f.result() for f in as_completed([pool.submit(_task, t) for t in tasks]))
        return
    if kind != "dask":
        raise OmnibalanceError(f"unknown executor '{kind}' (serial, local or dask)")
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="5s")
        else:
            cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise OmnibalanceError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield lambda tasks: (f.result() for f in as_completed(client.map(_task, tasks, retries=3, pure=False)))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


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
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise OmnibalanceError(f"{out}: sweep folder exists and is not empty; use --resume to finish it, or another --out")
        if not manifest_path.exists():
            raise OmnibalanceError(f"{out}: no manifest.json, not a sweep folder")
        old = json.loads(manifest_path.read_text())
        if old["spec_sha256"] != plan.spec_hash:
            raise OmnibalanceError(f"{out}: the spec or scenario changed since this sweep started; resume needs the same inputs")
        chunk_size = old["chunk_size"]
    chunk_size = chunk_size or default_chunk_size(plan)
    out.mkdir(parents=True, exist_ok=True)
    from sim.workflows.outputs import git_commit, write_json

    if not manifest_path.exists():
        write_json(manifest_path, {
            "spec_file": str(plan.spec_path), "spec": plan.spec.model_dump(mode="json"), "spec_sha256": plan.spec_hash,
            "scenario": str(plan.scenario_path), "design_points": [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in p.items()} for p in plan.points],
            "n_points": len(plan.points), "replicates": plan.spec.replicates, "n_runs": plan.n_runs, "chunk_size": chunk_size,
            "seeds": "replicate r of every point uses sim.kernel.randomness.run_seed(seed, r)", "package_version": __version__,
            "git_commit": git_commit(), "started": dt.datetime.now(dt.UTC).isoformat(),
        })
    n_chunks = math.ceil(plan.n_runs / chunk_size)
    todo = [k for k in range(n_chunks) if not chunk_path(out, k).exists()]
    t0 = time.perf_counter()
    bar = tqdm(total=plan.n_runs, initial=plan.n_runs - sum(_chunk_runs(plan, k, chunk_size) for k in todo), desc="sweep", unit="run", disable=not progress)
    with sweep_executor(executor, workers, scheduler) as submit_all:
        for n in submit_all([(plan, out, k, chunk_size, trajectories) for k in todo]):
            bar.update(n)
    bar.close()
    missing = [k for k in range(n_chunks) if not chunk_path(out, k).exists()]
    if missing:
        raise OmnibalanceError(f"{len(missing)} chunks did not finish; run again with --resume")
    return {"out": out, "n_runs": plan.n_runs, "n_chunks": n_chunks, "ran_chunks": len(todo), "seconds": time.perf_counter() - t0}


def _chunk_runs(plan: SweepPlan, k: int, size: int) -> int:
    return min(plan.n_runs, (k + 1) * size) - k * size


def read_sweep(out: Path) -> pa.Table:
    """All finished chunks of a sweep, sorted by run."""
    files = sorted((Path(out) / "chunks").glob("chunk_*.parquet"))
    if not files:
        raise OmnibalanceError(f"{out}: no finished chunks")
    t = pa.concat_tables([pq.read_table(f) for f in files])
    return t.sort_by("run")


# ---------------------------------------------------------------------------------------------
# Sensitivity analysis
# ---------------------------------------------------------------------------------------------

#: Outcomes analysed by default: each client's share of quarters in each stance.
OUTCOMES = [f"share_{a}_{s}" for a in CLIENTS for s in ("RUS", "WEST", "NONALIGNED")]


def analyze(out: Path, method: str | None = None) -> dict[str, Any]:
    """Sensitivity indices of a finished sweep (SALib), a table and plots, written into ``out``.

    ``sobol`` needs a sobol (Saltelli) design, ``morris`` a morris design; any design also gets
    Spearman rank correlations and outcome-vs-input scatter plots.
    """
    from scipy.stats import spearmanr

    out = Path(out)
    mpath = out / "manifest.json"
    if not mpath.exists():
        raise OmnibalanceError(f"{out}: no manifest.json, not a sweep folder")
    manifest = json.loads(mpath.read_text())
    spec = SweepSpec.model_validate(manifest["spec"])
    kind = spec.design.kind
    method = method or (kind if kind in ("sobol", "morris") else None)
    if method is not None and method != kind:
        raise OmnibalanceError(f"{mpath}: field 'spec.design.kind' is '{kind}'; --method {method} needs a {method} design (run a sweep made for it)")
    table = read_sweep(out)
    n_points = manifest["n_points"]
    if len(table) != manifest["n_runs"]:
        raise OmnibalanceError(f"{out}: {len(table)} of {manifest['n_runs']} runs finished; complete it with --resume first")
    point = table.column("point").to_numpy()
    names = list(spec.dimensions)
    X = np.array([[_numeric(spec.dimensions[n], p[n]) for n in names] for p in manifest["design_points"]])
    outcomes = [o for o in OUTCOMES if o in table.column_names]
    Y = {o: np.bincount(point, weights=table.column(o).to_numpy(), minlength=n_points) / np.bincount(point, minlength=n_points) for o in outcomes}
    rows: list[dict[str, Any]] = []
    problem = salib_problem(spec)
    for o in outcomes:
        y = Y[o]
        for j, n in enumerate(names):
            rho = spearmanr(X[:, j], y).statistic if np.std(y) > 0 else 0.0
            rows.append({"outcome": o, "input": n, "index": "spearman", "value": float(np.nan_to_num(rho)), "conf": ""})
        if method == "sobol" and np.std(y) > 0:
            from SALib.analyze import sobol as sobol_an

            r = sobol_an.analyze(problem, y, calc_second_order=False, seed=spec.design.seed)
            for j, n in enumerate(names):
                rows.append({"outcome": o, "input": n, "index": "S1", "value": float(r["S1"][j]), "conf": float(r["S1_conf"][j])})
                rows.append({"outcome": o, "input": n, "index": "ST", "value": float(r["ST"][j]), "conf": float(r["ST_conf"][j])})
        if method == "morris" and np.std(y) > 0:
            from SALib.analyze import morris as morris_an

            r = morris_an.analyze(problem, X, y, seed=spec.design.seed)
            for j, n in enumerate(names):
                rows.append({"outcome": o, "input": n, "index": "mu_star", "value": float(r["mu_star"][j]), "conf": float(r["mu_star_conf"][j])})
                rows.append({"outcome": o, "input": n, "index": "sigma", "value": float(r["sigma"][j]), "conf": ""})
    from sim.workflows.outputs import write_csv

    write_csv(out / "sensitivity.csv", rows, ["outcome", "input", "index", "value", "conf"])
    _plot_sensitivity(rows, names, method, out / "sensitivity.png")
    _plot_scatter(X, Y, names, out / "scatter.png")
    return {"method": method or "spearman", "rows": rows}


def _numeric(dim: Dimension, v: Any) -> float:
    if dim.range is not None and isinstance(dim.range[0], dt.date):
        return float((dt.date.fromisoformat(v) - dim.range[0]).days)
    if dim.values is not None and not isinstance(v, int | float):
        return float(dim.values.index(v))
    return float(v)


def _plot_sensitivity(rows, names, method, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = ["share_UZB_RUS", "share_UZB_WEST", "share_UZB_NONALIGNED", "share_KAZ_RUS"]
    index = {"sobol": ("S1", "ST"), "morris": ("mu_star",), None: ("spearman",)}[method]
    fig = Figure(figsize=(4.0 * len(shown), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(shown), sharey=True, squeeze=False)[0]
    width = 0.8 / len(index)
    for ax, o in zip(axes, shown, strict=True):
        for k, ix in enumerate(index):
            vals = [next((r["value"] for r in rows if r["outcome"] == o and r["input"] == n and r["index"] == ix), 0.0) for n in names]
            conf = [next((r["conf"] for r in rows if r["outcome"] == o and r["input"] == n and r["index"] == ix), "") for n in names]
            err = [c if c != "" else 0.0 for c in conf]
            ax.bar(np.arange(len(names)) + k * width, vals, width=width, yerr=err, capsize=3, label=ix)
        ax.set_xticks(np.arange(len(names)) + width * (len(index) - 1) / 2)
        ax.set_xticklabels([n.split(".")[-1] if n.count(".") < 2 else ".".join(n.split(".")[-2:]) for n in names], rotation=30, ha="right", fontsize=8)
        ax.set_title(o.replace("share_", "share of quarters: ").replace("_", " "), fontsize=9)
        ax.axhline(0, color="black", lw=0.6)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Sensitivity ({'Sobol indices, 95% CI' if method == 'sobol' else 'Morris mu*, 95% CI' if method == 'morris' else 'Spearman rank correlation'})", fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def _plot_scatter(X, Y, names, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = ["share_UZB_RUS", "share_UZB_NONALIGNED", "share_KAZ_RUS"]
    fig = Figure(figsize=(3.3 * len(names), 2.8 * len(shown)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(shown), len(names), squeeze=False)
    for i, o in enumerate(shown):
        for j, n in enumerate(names):
            ax = axes[i][j]
            ax.scatter(X[:, j], Y[o], s=6, alpha=0.6, color="#2471a3", lw=0)
            if i == len(shown) - 1:
                ax.set_xlabel(n, fontsize=8)
            if j == 0:
                ax.set_ylabel(o.replace("share_", ""), fontsize=8)
            ax.grid(alpha=0.3)
    fig.suptitle("Outcome (mean over replicates) vs input, per design point", fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)
