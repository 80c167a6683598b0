"""Calibration: differential evolution for a best fit, ABC-SMC for a posterior, and a report.

``omnibalance calibrate SPEC.yaml`` reads a spec naming the parameters (dotted paths into
:class:`~sim.kernel.params.ModelParams`), their bounds and priors, the replicates per evaluation and the
budget. Every evaluation runs the same replicates (common random numbers), so the objective is a
deterministic function of the parameters; many parameter sets are run in one ensemble batch.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.engines.ensemble import simulate
from sim.errors import OmnibalanceError, ScenarioError
from sim.kernel.actors import N_CLIENTS
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.randomness import batch_draws, run_seed
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario
from sim.scenario.resolve import load_spec_file, locate
from sim.scenario.schema import Rule
from sim.scenario.yamlio import load_yaml
from sim.workflows.loss import CalibrationTargets, LossWeights, load_calibration_targets, loss_components


class ParamSpec(BaseModel):
    """Bounds and prior of one calibrated parameter."""

    model_config = ConfigDict(extra="forbid")

    bounds: tuple[float, float]
    prior: Literal["uniform", "loguniform"] = "uniform"


class DEBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maxiter: int = Field(25, ge=1)
    popsize: int = Field(8, ge=2)
    tol: float = Field(0.0, ge=0)


class ABCBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    particles: int = Field(200, ge=10)
    generations: int = Field(5, ge=1)
    quantile: float = Field(0.5, gt=0, lt=1, description="Tolerance of generation g: this quantile of g-1's distances.")
    max_evaluations_per_generation: int = Field(4000, ge=10)


class CalibrationSpec(BaseModel):
    """A calibration spec (YAML)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    rule: Rule | None = None
    replicates: int = Field(100, ge=1)
    seed: int = Field(1, ge=0)
    parameters: dict[str, ParamSpec] = Field(min_length=1)
    weights: LossWeightsSpec = Field(default_factory=lambda: LossWeightsSpec())
    de: DEBudget = DEBudget()
    abc: ABCBudget = ABCBudget()


class LossWeightsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stance: float = Field(1.0, ge=0)
    timing: float = Field(0.5, ge=0)
    dejure: float = Field(0.5, ge=0)
    acts: float = Field(0.5, ge=0, description="Weight of the quarterly timing of the dated acts.")
    switches: float = Field(0.01, ge=0, description="Weight of each stance change per run beyond history's realignments.")
    logp: float = Field(0.05, ge=0)
    beta: float = Field(0.02, ge=0, description="Penalty weight on log(beta / beta_reference)^2.")
    beta_reference: float = Field(20.0, gt=0)


CalibrationSpec.model_rebuild()


# ---------------------------------------------------------------------------------------------
# Spec loading and checking (all before any run)
# ---------------------------------------------------------------------------------------------


def _set_dotted(d: dict[str, Any], name: str, value: float) -> None:
    parts = name.split(".")
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


def _get_dotted(d: dict[str, Any], name: str) -> Any:
    for p in name.split("."):
        d = d[p]
    return d


def load_spec(path: str | Path, rule: str | None = None) -> tuple[CalibrationSpec, Path]:
    """Read and check a calibration spec; returns it and the scenario path it names.

    Raises:
        ScenarioError: naming the file, line and field of an unknown parameter, empty or inverted
            bounds, bounds outside the parameter's allowed range, or a loguniform prior with no support.
    """
    spec, origin, path = load_spec_file(path, CalibrationSpec)
    if rule is not None:
        spec.rule = Rule(rule)
    base = ModelParams().model_dump()
    for name, ps in spec.parameters.items():
        f, line = locate(origin, ("parameters", name))
        where = {"line": line, "field": f"parameters.{name}"}
        try:
            default = _get_dotted(base, name)
        except (KeyError, TypeError):
            raise ScenarioError(f or path, f"unknown parameter '{name}' (see sim/params.py)", **where) from None
        if isinstance(default, bool) or not isinstance(default, int | float):
            raise ScenarioError(f or path, f"parameter '{name}' is not numeric and cannot be calibrated", **where)
        lo, hi = ps.bounds
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise ScenarioError(f or path, f"bounds [{lo}, {hi}] are empty or inverted", **where)
        if ps.prior == "loguniform" and lo <= 0:
            raise ScenarioError(f or path, f"a loguniform prior needs positive bounds, got [{lo}, {hi}] (no support)", **where)
        for v in (lo, hi):
            trial = ModelParams().model_dump()
            _set_dotted(trial, name, v)
            try:
                ModelParams.model_validate(trial)
            except ValidationError as exc:
                raise ScenarioError(f or path, f"bound {v} is outside the allowed range of '{name}': {exc.errors()[0]['msg']}", **where) from None
    scenario = (path.parent / spec.scenario).resolve()
    if not scenario.is_file():
        f, line = locate(origin, ("scenario",))
        raise ScenarioError(f or path, f"scenario not found: {spec.scenario}", line=line, field="scenario")
    load_scenario(scenario)  # validated before any run
    return spec, scenario


# ---------------------------------------------------------------------------------------------
# The objective
# ---------------------------------------------------------------------------------------------


class Problem:
    """Parameter vectors (in the optimiser's space) -> loss components; picklable for process pools.

    The optimiser's space is the parameter itself for uniform priors and its log for loguniform ones,
    so the prior is uniform over the box ``self.lower``–``self.upper``.
    """

    def __init__(self, spec: CalibrationSpec, scenario_path: Path, targets: CalibrationTargets, fixed: dict[str, Any] | None = None):
        self.spec = spec
        self.fixed = dict(fixed or {})
        self.scenario_path = scenario_path
        self.targets = targets
        self.names = list(spec.parameters)
        self.log = np.array([spec.parameters[n].prior == "loguniform" for n in self.names])
        b = np.array([spec.parameters[n].bounds for n in self.names], dtype=float)
        safe = np.where(self.log[:, None], b, 1.0)
        self.lower = np.where(self.log, np.log(safe[:, 0]), b[:, 0])
        self.upper = np.where(self.log, np.log(safe[:, 1]), b[:, 1])
        self._state: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_state"} | {"_state": None}

    def _setup(self) -> dict[str, Any]:
        if self._state is None:
            scn = load_scenario(self.scenario_path)
            rule = self.spec.rule or scn.rule
            exo = compile_scenario(scn)
            years, steps = scn.calendar.year_end_steps()
            seeds = np.array([run_seed(self.spec.seed, r) for r in range(self.spec.replicates)])
            self._state = {
                "scenario": scn, "rule": rule, "exo": exo, "years": years, "steps": steps,
                "draws": batch_draws(seeds, exo.n_steps, N_CLIENTS),
                "base": scn.params.model_dump(),
            }
            for name, value in self.fixed.items():  # parameters held fixed (ablations)
                _set_dotted(self._state["base"], name, value)
        return self._state

    def start(self) -> np.ndarray:
        """The documented hand-set defaults (``ModelParams()``, clipped into the bounds) in the
        optimiser's space: DE starts with them as one member of its population. (Not the
        scenario's values, which may already be a calibration: a rerun must reproduce it.)"""
        base = ModelParams().model_dump()
        vals = np.array([float(_get_dotted(base, n)) for n in self.names])
        x = np.where(self.log, np.log(np.maximum(vals, 1e-12)), vals)
        return np.clip(x, self.lower, self.upper)

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_values(self, x: np.ndarray) -> np.ndarray:
        """Optimiser space -> parameter values."""
        x = np.asarray(x, dtype=float)
        log = self.log.reshape((-1,) + (1,) * (x.ndim - 1)) if x.ndim > 1 and x.shape[0] == self.dim else self.log
        return np.where(log, np.exp(np.where(log, x, 0.0)), x)

    def params(self, x: np.ndarray) -> ModelParams:
        """The full parameter set for vector ``x`` (other parameters from the scenario)."""
        st = self._setup()
        d = json.loads(json.dumps(st["base"]))
        for name, v in zip(self.names, self.to_values(np.asarray(x, dtype=float)), strict=True):
            _set_dotted(d, name, float(v))
        return ModelParams.model_validate(d)

    def evaluate_many(self, X: np.ndarray, targets: CalibrationTargets | None = None) -> list[dict[str, float]]:
        """Loss components of each row of ``X``, all run in one ensemble batch."""
        st = self._setup()
        X = np.atleast_2d(np.asarray(X, dtype=float))
        R = self.spec.replicates
        plist = [self.params(x) for x in X]
        setting = np.repeat(np.arange(len(plist)), R)  # common random numbers: every parameter set runs the same R draws
        res = simulate(st["exo"], stack_params(plist), st["rule"], st["draws"].tile(len(X)), full=False, probs_steps=st["steps"], setting=setting)
        probs = np.asarray(res.probs)  # [R*n, Y, C, S]
        w = LossWeights(**self.spec.weights.model_dump())
        tg = targets or self.targets
        cal = st["scenario"].calendar
        out = []
        for i, p in enumerate(plist):
            sl = slice(i * R, (i + 1) * R)
            out.append(loss_components(res.stance[sl], res.member[sl], probs[sl], cal, st["exo"], tg, p.beta, w))
        return out

    def __call__(self, x: np.ndarray) -> float:
        return self.evaluate_many(np.asarray(x)[None])[0]["objective"]


def evaluate_chunk(args: tuple[Problem, np.ndarray]) -> list[dict[str, float]]:
    """Process-pool entry point: evaluate a chunk of parameter vectors."""
    problem, X = args
    return problem.evaluate_many(X)


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------


@contextmanager
def executor(kind: str = "local", workers: int | None = None) -> Iterator[Callable]:
    """A ``map``-like callable: ``serial`` (in process) or ``local`` (a process pool)."""
    if kind == "serial" or (workers is not None and workers <= 1):
        yield map
        return
    if kind != "local":
        raise OmnibalanceError(f"unknown executor '{kind}' (serial or local)")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool.map


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _write_json(path: Path, obj: Any) -> None:
    from sim.workflows.outputs import write_json

    write_json(path, obj)


# ---------------------------------------------------------------------------------------------
# Differential evolution
# ---------------------------------------------------------------------------------------------


def run_de(problem: Problem, out: Path, workers_map: Callable, progress: bool = True) -> dict[str, Any]:
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
        _write_json(out / "de_trace.json", {"names": problem.names, "trace": trace})
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


# ---------------------------------------------------------------------------------------------
# ABC-SMC
# ---------------------------------------------------------------------------------------------


def _evaluate_batches(problem: Problem, X: np.ndarray, workers_map: Callable, chunk: int = 16) -> np.ndarray:
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


def run_abc(problem: Problem, out: Path, workers_map: Callable, progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """ABC-SMC (Beaumont et al. 2009; Toni et al. 2009): populations of weighted particles under a
    shrinking tolerance (a quantile of the previous generation's distances), Gaussian perturbation
    with twice the weighted covariance. Each finished generation is saved atomically, so an
    interrupted calibration resumes from its last complete generation."""
    import pyarrow as pa
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
        tmp = gen_dir / f".generation_{g:02d}.parquet.tmp"
        pq.write_table(pa.table(table), tmp)
        tmp.replace(gen_dir / f"generation_{g:02d}.parquet")
        ess = float(1.0 / np.sum(weights**2))
        history.append({"generation": g, "tolerance": eps, "median_distance": float(np.median(dist)), "min_distance": float(dist.min()),
                        "evaluations": evals, "ess": ess, "seconds": time.perf_counter() - t0})
        _write_json(out / "abc_state.json", {"names": problem.names, "history": history})
        bar.update(1)
    bar.close()
    _write_json(out / "abc_state.json", {"names": problem.names, "history": history})  # including why it stopped, if it did
    best = int(np.argmin(dist))
    return {"particles": particles, "weights": weights, "distance": dist, "history": history,
            "x": particles[best], "values": problem.to_values(particles[best]), "fun": float(dist[best]), "seconds": time.perf_counter() - t0}


def spec_from_file(path: str | Path) -> Any:
    """The raw YAML of a spec (for the report)."""
    return load_yaml(path)[0]


# ---------------------------------------------------------------------------------------------
# The command: run, write best parameters, posterior, report
# ---------------------------------------------------------------------------------------------


def identifiability(problem: Problem, samples: np.ndarray, weights: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Posterior (or final-population) spread relative to the prior's, per parameter.

    A ratio below 0.5 means the data pin the parameter down ("identified"); above 0.8 they barely
    move it from the prior ("not identified"). Computed in the optimiser's space, where the prior
    is uniform with standard deviation ``(upper - lower) / sqrt(12)``.
    """
    w = np.full(len(samples), 1.0 / len(samples)) if weights is None else weights / weights.sum()
    mean = (samples * w[:, None]).sum(axis=0)
    sd = np.sqrt(((samples - mean) ** 2 * w[:, None]).sum(axis=0))
    prior_sd = (problem.upper - problem.lower) / math.sqrt(12)
    rows = []
    for i, n in enumerate(problem.names):
        ratio = float(sd[i] / prior_sd[i])
        verdict = "identified" if ratio < 0.5 else ("not identified" if ratio > 0.8 else "weakly identified")
        rows.append({"parameter": n, "sd_ratio": ratio, "verdict": verdict})
    return rows


def calibrate(
    spec_path: Path,
    out: Path,
    method: str = "de",
    rule: str | None = None,
    fit_until: int | None = None,
    executor_kind: str = "local",
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run a calibration and write ``best.yaml``, the posterior or population, a trace and ``report.md``."""
    import yaml

    spec, scenario_path = load_spec(spec_path, rule)
    targets = load_calibration_targets()
    if fit_until is not None:
        cut = targets.cut(fit_until)
        if cut.n_scored() == 0 and not cut.targets.events:
            raise OmnibalanceError(f"--fit-until {fit_until}: no scored target year or event up to then (targets start in 1992)")
        targets = cut
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not resume:
        raise OmnibalanceError(f"{out}: output folder exists and is not empty; use another --out, or --resume to continue it")
    out.mkdir(parents=True, exist_ok=True)
    problem = Problem(spec, scenario_path, targets)
    started = _now()
    with executor(executor_kind, workers) as wmap:
        result = run_de(problem, out, wmap, progress) if method == "de" else run_abc(problem, out, wmap, progress, resume)
    best = problem.params(result["x"])
    full = load_calibration_targets()
    best_in = problem.evaluate_many(result["x"][None], targets)[0]
    best_all = problem.evaluate_many(result["x"][None], full)[0]
    out_of_window = problem.evaluate_many(result["x"][None], full.after(fit_until))[0] if fit_until is not None else None
    rule_used = (spec.rule or load_scenario(scenario_path).rule).value

    values = {n: float(v) for n, v in zip(problem.names, result["values"], strict=True)}
    params_doc: dict[str, Any] = {}
    for n, v in values.items():
        _set_dotted(params_doc, n, round(v, 6))
    header = (
        f"# Calibrated parameters ({method}, rule {rule_used}{', fit until ' + str(fit_until) if fit_until else ''}).\n"
        f"# Produced by: omnibalance calibrate {spec_path} --method {method}"
        f"{' --rule ' + rule if rule else ''}{' --fit-until ' + str(fit_until) if fit_until else ''} --out {out}\n"
        f"# Objective {result['fun']:.4f}; report: {out / 'report.md'}\n"
    )
    from sim.workflows.outputs import write_text

    write_text(out / "best.yaml", header + yaml.safe_dump({"params": params_doc}, sort_keys=False))
    if method == "abc":
        import pyarrow as pa
        import pyarrow.parquet as pq

        vals = problem.to_values(result["particles"].T)
        post = {n: vals[i] for i, n in enumerate(problem.names)} | {"weight": result["weights"], "distance": result["distance"]}
        tmp = out / ".posterior.parquet.tmp"
        pq.write_table(pa.table(post), tmp)
        tmp.replace(out / "posterior.parquet")
        samples, weights = result["particles"], result["weights"]
    else:
        samples, weights = np.where(problem.log, np.log(np.maximum(result["population"], 1e-300)), result["population"]), None
    ident = identifiability(problem, samples, weights)
    summary = {
        "method": method, "rule": rule_used, "fit_until": fit_until, "spec": str(spec_path), "scenario": str(scenario_path),
        "parameters": values, "objective": result["fun"], "in_window": best_in, "full_history": best_all,
        "out_of_window": out_of_window, "identifiability": ident, "seconds": result["seconds"],
        "started": started, "finished": _now(), "replicates": spec.replicates, "seed": spec.seed,
        "history": result.get("history") or result.get("trace"),
    }
    _write_json(out / "summary.json", summary)
    from sim.workflows.calibration_report import write_report

    write_report(out, problem, summary, result, best, samples, weights)
    return summary
