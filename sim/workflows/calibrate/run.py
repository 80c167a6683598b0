"""``omnibalance calibrate``: run a calibration and write ``best.yaml``, the posterior or final
population, a trace, ``summary.json`` and the report."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.scenario.loading import load_scenario
from sim.workflows.calibrate import ABC_METHODS
from sim.workflows.calibrate.abc import run_abc
from sim.workflows.calibrate.de import run_de, run_polish
from sim.workflows.calibrate.problem import Problem
from sim.workflows.calibrate.report import identifiability, write_report
from sim.workflows.calibrate.smc import run_pyabc
from sim.workflows.calibrate.spec import get_dotted, load_spec, set_dotted
from sim.workflows.executors import executor
from sim.workflows.loss import load_calibration_targets
from sim.workflows.outputs import atomic_folder, make_out, utc_now, write_json, write_parquet, write_text


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
    maxiter: int | None = None,
    popsize: int | None = None,
    start: Path | None = None,
) -> dict[str, Any]:
    """Run a calibration and write ``best.yaml``, the posterior or population, a trace and ``report.md``.

    ``method`` is ``de`` (differential evolution), ``abc`` (the in-project ABC-SMC), ``pyabc`` (pyabc's) or ``polish`` (Nelder-Mead from
    ``start``, a ``best.yaml``, or from the documented defaults). ``maxiter`` and ``popsize`` override
    the spec's DE budget (a quicker refit, e.g. of the rival theory).
    """
    import yaml

    spec, scenario_path = load_spec(spec_path, rule)
    spec.de.maxiter = maxiter or spec.de.maxiter
    spec.de.popsize = popsize or spec.de.popsize
    targets = load_calibration_targets()
    if fit_until is not None:
        cut = targets.cut(fit_until)
        if cut.n_scored() == 0 and not cut.targets.events:
            raise OmnibalanceError(f"--fit-until {fit_until}: no scored target year or event up to then (targets start in 1992)")
        targets = cut
    problem = Problem(spec, scenario_path, targets)
    x_start = start_point(problem, start) if start is not None else problem.start()
    out = Path(out)
    if method in ABC_METHODS:  # ABC writes each generation into --out as it goes, so an interrupted run can --resume
        folder_ctx: Any = contextlib.nullcontext(make_out(out, existing_ok=resume, hint="use another --out, or --resume to continue it"))
    elif resume:
        raise OmnibalanceError(f"--resume continues an ABC calibration; a {method} run is written under a temporary name and appears in "
                               f"--out only when it finishes, so start it again")
    else:
        folder_ctx = atomic_folder(out)  # nothing under --out until it finishes; removed on Ctrl-C or SIGTERM
    with folder_ctx as folder:
        started = utc_now()
        problem.evaluate_many(x_start[None])  # builds the problem's state (and loads the kernel) before a pool forks
        n_workers = 1 if executor_kind == "serial" else (workers or os.cpu_count() or 1)
        with executor(executor_kind, workers) as wmap:
            if method == "de":
                result = run_de(problem, folder, wmap, progress, n_workers)
            elif method == "polish":
                result = run_polish(problem, folder, x_start, progress)
            elif method == "pyabc":
                result = run_pyabc(problem, folder, n_workers, progress, resume)
            else:
                result = run_abc(problem, folder, wmap, progress, resume)
        best = problem.params(result["x"])
        full = load_calibration_targets()
        best_in = problem.evaluate_many(result["x"][None], targets)[0]
        best_all = problem.evaluate_many(result["x"][None], full)[0]
        out_of_window = problem.evaluate_many(result["x"][None], full.after(fit_until))[0] if fit_until is not None else None
        rule_used = (spec.rule or load_scenario(scenario_path).rule).value

        values = {n: float(v) for n, v in zip(problem.names, result["values"], strict=True)}
        params_doc: dict[str, Any] = {}
        for n, v in values.items():
            set_dotted(params_doc, n, round(v, 6))
        header = (
            f"# Calibrated parameters ({method}, rule {rule_used}{', fit until ' + str(fit_until) if fit_until else ''}).\n"
            f"# Produced by: omnibalance calibrate {spec_path} --method {method}"
            f"{' --rule ' + rule if rule else ''}{' --fit-until ' + str(fit_until) if fit_until else ''}"
            f"{f' --start {start}' if start else ''}{f' --maxiter {maxiter}' if maxiter else ''}{f' --popsize {popsize}' if popsize else ''} --out {out}\n"
            f"# Objective {result['fun']:.4f}; report: {out / 'report.md'}\n"
        )
        write_text(folder / "best.yaml", header + yaml.safe_dump({"params": params_doc}, sort_keys=False))
        if method in ABC_METHODS:
            vals = problem.to_values(result["particles"].T)
            write_parquet(folder / "posterior.parquet", {n: vals[i] for i, n in enumerate(problem.names)} | {"weight": result["weights"], "distance": result["distance"]})
            samples, weights = result["particles"], result["weights"]
        else:
            samples, weights = np.where(problem.log, np.log(np.maximum(result["population"], 1e-300)), result["population"]), None
        ident = identifiability(problem, samples, weights)
        summary = {
            "method": method, "rule": rule_used, "fit_until": fit_until, "spec": str(spec_path), "scenario": str(scenario_path),
            "parameters": values, "objective": result["fun"], "in_window": best_in, "full_history": best_all,
            "out_of_window": out_of_window, "identifiability": ident, "seconds": result["seconds"],
            "started": started, "finished": utc_now(), "replicates": spec.replicates, "seed": spec.seed,
            "history": result.get("history") or result.get("trace"),
        }
        write_json(folder / "summary.json", summary)
        write_report(folder, problem, summary, result, best, samples, weights)
    return summary


def start_point(problem: Problem, path: Path) -> np.ndarray:
    """The calibrated parameters of ``path`` (a ``best.yaml``) in ``problem``'s optimiser space."""
    import yaml

    try:
        params = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["params"]
        vals = np.array([float(get_dotted(params, n)) for n in problem.names])
    except OSError as exc:
        raise OmnibalanceError(f"--start {path}: cannot read it ({exc.strerror})") from None
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise OmnibalanceError(f"--start {path}: not a best.yaml with a value for every calibrated parameter ({exc})") from None
    x = np.where(problem.log, np.log(np.maximum(vals, 1e-300)), vals)
    return np.clip(x, problem.lower, problem.upper)
