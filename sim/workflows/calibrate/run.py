"""``omnibalance calibrate``: run a calibration and write ``best.yaml``, the posterior or final
population, a trace, ``summary.json`` and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.scenario.loading import load_scenario
from sim.workflows.calibrate.abc import run_abc
from sim.workflows.calibrate.de import run_de
from sim.workflows.calibrate.problem import Problem
from sim.workflows.calibrate.report import identifiability, write_report
from sim.workflows.calibrate.spec import load_spec, set_dotted
from sim.workflows.executors import executor
from sim.workflows.loss import load_calibration_targets
from sim.workflows.outputs import utc_now, write_json, write_parquet, write_text


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
    started = utc_now()
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
        set_dotted(params_doc, n, round(v, 6))
    header = (
        f"# Calibrated parameters ({method}, rule {rule_used}{', fit until ' + str(fit_until) if fit_until else ''}).\n"
        f"# Produced by: omnibalance calibrate {spec_path} --method {method}"
        f"{' --rule ' + rule if rule else ''}{' --fit-until ' + str(fit_until) if fit_until else ''} --out {out}\n"
        f"# Objective {result['fun']:.4f}; report: {out / 'report.md'}\n"
    )
    write_text(out / "best.yaml", header + yaml.safe_dump({"params": params_doc}, sort_keys=False))
    if method == "abc":
        vals = problem.to_values(result["particles"].T)
        write_parquet(out / "posterior.parquet", {n: vals[i] for i, n in enumerate(problem.names)} | {"weight": result["weights"], "distance": result["distance"]})
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
    write_json(out / "summary.json", summary)
    write_report(out, problem, summary, result, best, samples, weights)
    return summary
