"""The ``omnibalance`` command line (also ``python -m sim``): ``run``, ``compare``, ``sweep``, ``analyze``, ``calibrate``,
``validate-model``, ``validate`` and ``dashboard``. Runs go through :mod:`sim.api`, the same functions Python users call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from sim import __version__
from sim.errors import OmnibalanceError
from sim.workflows import interrupts
from sim.workflows.calibrate import ABC_METHODS


def _integer(expected: str, ok: Callable[[int], bool], bound: str) -> Callable[[str], int]:
    """An argparse type: a whole number (``expected``) for which ``ok`` holds (else: "must be ``bound``")."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got '{text}'") from None
        if not ok(n):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {n}")
        return n

    return parse


_positive = _integer("a whole number", lambda n: n >= 1, "at least 1")
_seed = _integer("a non-negative whole number", lambda n: n >= 0, "non-negative")
_port = _integer("a port number", lambda n: 0 <= n <= 65535, "between 0 and 65535")


class OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = OneLineErrors(prog="omnibalance", description="Agent-based simulator of Central Asian alignments, 1991-2016.")
    p.add_argument("--version", action="version", version=f"omnibalance {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="replay a scenario with stochastic replicates and write outputs")
    run.add_argument("scenario", type=Path, help="scenario YAML file, e.g. scenarios/history.yaml")
    run.add_argument("--replicates", "-n", type=_positive, default=100, help="number of stochastic replicates (default 100)")
    run.add_argument("--seed", type=_seed, default=None, help="root seed (default: the scenario's)")
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="override a field by dotted path, e.g. params.tau=2 or shocks.andijan.magnitude=0 (repeatable)")
    run.add_argument("--engine", choices=("ensemble", "mesa"), default=None, help="ensemble (vectorised, default when replicates > 1) or mesa (agent by agent)")
    run.add_argument("--out", type=Path, default=None, help="output folder (default outputs/<scenario>-<timestamp>/); must not exist or be empty")
    run.add_argument("--no-plot", action="store_true", help="skip alignment.png")
    run.add_argument("--posterior", type=Path, default=None, metavar="DIR",
                     help="an ABC calibration folder: each replicate draws its parameters from its posterior.parquet")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("files", type=Path, nargs="+", help="scenario YAML files")
    val.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="overrides to check as well")
    val.add_argument("--resolve", action="store_true", help="print the fully resolved scenario (extends, edits and --set applied) as YAML")
    val.add_argument("--out", type=Path, default=None, help="with --resolve and one file: write the resolved YAML here instead of printing it")

    cmp_ = sub.add_parser("compare", help="run a base scenario and alternatives with common random numbers and compare them")
    cmp_.add_argument("base", type=Path, help="the base scenario, e.g. scenarios/history.yaml")
    cmp_.add_argument("alternatives", type=Path, nargs="+", help="alternative scenarios, e.g. scenarios/counterfactuals/no_andijan.yaml")
    cmp_.add_argument("--replicates", "-n", type=_positive, default=500, help="replicates per scenario (default 500)")
    cmp_.add_argument("--seed", type=_seed, default=None, help="root seed (default: the base scenario's)")
    cmp_.add_argument("--out", type=Path, default=None, help="output folder (default outputs/compare-<timestamp>/)")
    cmp_.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    cal = sub.add_parser("calibrate", help="fit parameters to Uzbekistan's and Kazakhstan's history")
    cal.add_argument("spec", type=Path, help="calibration spec YAML, e.g. calibration/spec.yaml")
    cal.add_argument("--method", choices=("de", "polish", *ABC_METHODS), default="de",
                     help="de: differential evolution (best fit); polish: Nelder-Mead from --start; abc: ABC-SMC (posterior); "
                          "pyabc: pyabc's ABC-SMC (SQLite history, --resume; docs/calibration.md compares the two)")
    cal.add_argument("--start", type=Path, default=None, metavar="BEST_YAML", help="with --method polish: start from this best.yaml (default: the documented defaults)")
    cal.add_argument("--rule", choices=("omnibalancing", "balance_of_threat"), default=None, help="decision rule (default: the scenario's)")
    cal.add_argument("--fit-until", type=int, default=None, metavar="YEAR", help="fit only history up to YEAR and report how the fit predicts the rest")
    cal.add_argument("--executor", choices=("serial", "local"), default="local", help="serial, or a local process pool (default)")
    cal.add_argument("--workers", type=_positive, default=None, help="processes for the local executor (default: all cores)")
    cal.add_argument("--out", type=Path, default=None, help="output folder (default outputs/calibrate-<timestamp>/)")
    cal.add_argument("--maxiter", type=_positive, default=None, help="DE generations (default: the spec's de.maxiter)")
    cal.add_argument("--popsize", type=_positive, default=None, help="DE population per parameter (default: the spec's de.popsize)")
    cal.add_argument("--resume", action="store_true", help="continue an interrupted ABC (abc or pyabc) calibration in --out from its last finished generation")
    cal.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sw = sub.add_parser("sweep", help="run a parameter / shock sweep (grid, Latin hypercube, Sobol, Morris) to Parquet chunks")
    sw.add_argument("spec", type=Path, help="sweep spec YAML, e.g. scenarios/sweeps/andijan.yaml")
    sw.add_argument("--executor", choices=("serial", "local", "dask"), default="local", help="serial, local process pool (default), or dask")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS", help="with --executor dask: an existing scheduler (tcp://host:port); default a LocalCluster")
    sw.add_argument("--workers", type=_positive, default=None, help="worker processes (local pool or LocalCluster)")
    sw.add_argument("--out", type=Path, default=None, help="sweep folder (default outputs/sweep-<timestamp>/)")
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out (runs only the missing chunks)")
    sw.add_argument("--chunk-size", type=_positive, default=None, help="runs per task (default: about one second of work)")
    sw.add_argument("--trajectories", action="store_true", help="also write full trajectories per chunk")
    sw.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    an = sub.add_parser("analyze", help="sensitivity indices (SALib) and plots for a finished sweep")
    an.add_argument("sweep_dir", type=Path, help="the sweep folder")
    an.add_argument("--method", choices=("sobol", "morris", "prim"), default=None,
                    help="sobol or morris: that index (needs a design made for it; default: the design's, else rank correlations); "
                    "prim: scenario discovery for --outcome")
    an.add_argument("--outcome", default=None, help="with --method prim: a per-run condition, e.g. 'event_UZB_2005 <= 2006' or 'share_UZB_RUS > 0.5'")
    an.add_argument("--threshold", type=float, default=0.8, help="with --method prim: least density of the reported box (default 0.8)")
    vm = sub.add_parser("validate-model", help="ablations, causal signatures, rival theory, proper scores: a validation report")
    vm.add_argument("--spec", type=Path, default=Path("calibration/spec.yaml"), help="calibration spec whose parameters the ablations refit")
    vm.add_argument("--out", type=Path, default=None, help="output folder (default outputs/validation-<timestamp>/)")
    vm.add_argument("--replicates", type=_positive, default=400, help="replicates per counterfactual (default 400)")
    vm.add_argument("--method", choices=("polish", "de"), default="polish",
                    help="ablation refits: polish (Nelder-Mead from the shipped calibration, default) or de (differential evolution from scratch)")
    vm.add_argument("--evaluations", type=_positive, default=800, help="with --method polish: evaluations per ablation refit (default 800)")
    vm.add_argument("--maxiter", type=_positive, default=15, help="with --method de: DE generations per ablation refit (default 15)")
    vm.add_argument("--popsize", type=_positive, default=6, help="DE population per parameter (default 6)")
    vm.add_argument("--workers", type=_positive, default=None, help="processes (default: all cores)")
    vm.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    dash = sub.add_parser("dashboard", help="serve the student dashboard (Solara, Mesa SolaraViz) on 127.0.0.1")
    dash.add_argument("--scenario", type=Path, default=None, help="scenario to open first (default scenarios/history.yaml)")
    dash.add_argument("--port", type=_port, default=8765, help="port on 127.0.0.1 (default 8765; 0 picks a free one)")
    return p


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from sim.face.dashboard.server import serve

    return serve(args.scenario, args.port)


def _cmd_validate_model(args: argparse.Namespace) -> int:
    from sim.workflows.outputs import default_out
    from sim.workflows.validation import validate_model

    out = args.out or default_out("validation")
    validate_model(args.spec, out, replicates=args.replicates, maxiter=args.maxiter, popsize=args.popsize, workers=args.workers, progress=not args.quiet,
                   method=args.method, evaluations=args.evaluations)
    print(f"wrote {out}/ (report.md, validation.json, reliability.png, ablations/)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sim.api import sweep

    if args.resume and args.out is None:
        raise OmnibalanceError("--resume needs --out (the sweep folder to finish)")
    if args.scheduler and args.executor != "dask":
        raise OmnibalanceError("--scheduler goes with --executor dask")
    from sim.workflows.outputs import default_out

    args.out = args.out or default_out("sweep")  # named here, so an interruption can say where the finished chunks are
    r = sweep(args.spec, args.out, executor=args.executor, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
              chunk_size=args.chunk_size, trajectories=args.trajectories, progress=not args.quiet)
    rate = f", {r.n_runs / r.seconds:,.0f} runs/s" if r.ran_chunks == r.n_chunks else ""
    print(f"wrote {r.out}/ ({r.n_runs} runs in {r.n_chunks} chunks; {r.ran_chunks} run now) in {r.seconds:.2f} s{rate}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from sim.workflows.sweep.analyze import analyze_sweep

    if args.method == "prim" or args.outcome is not None:
        if args.method != "prim" or args.outcome is None:
            raise OmnibalanceError("--method prim needs --outcome, and --outcome goes with --method prim")
        from sim.workflows.sweep.discovery import discover

        r = discover(args.sweep_dir, args.outcome, args.threshold)
        print(f"wrote {args.sweep_dir}/prim_box.csv, prim_trajectory.csv, prim.json, prim.png")
        print(f"  '{r['outcome']}' holds in {r['share_holding']:.0%} of {r['runs']} runs; box {r['box']}: coverage {r['coverage']:.2f}, density {r['density']:.2f}")
        if not r["reached"]:
            print(f"  no box of the peeling reaches density {r['threshold']:g}: this is the densest one")
        for lim in r["limits"]:
            if lim["restricted"]:
                print(f"  {lim['input']}: {lim['low']:.6g} to {lim['high']:.6g} (design {lim['design_low']:.6g} to {lim['design_high']:.6g})")
        return 0

    r = analyze_sweep(args.sweep_dir, args.method)
    print(f"wrote {args.sweep_dir}/sensitivity.csv, sensitivity.png, scatter.png ({r['method']})")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.workflows.calibrate.run import calibrate
    from sim.workflows.outputs import default_out

    if args.resume and args.out is None:
        raise OmnibalanceError("--resume needs --out (the folder of the calibration to continue)")
    out = args.out = args.out or default_out("calibrate")
    s = calibrate(args.spec, out, method=args.method, rule=args.rule, fit_until=args.fit_until, executor_kind=args.executor,
                  workers=args.workers, resume=args.resume, progress=not args.quiet, maxiter=args.maxiter, popsize=args.popsize, start=args.start)
    full = s["full_history"]
    print(f"wrote {out}/ (best.yaml, summary.json, report.md, plots) in {s['seconds']:.0f} s")
    print(f"  objective {s['objective']:.4f}; hit rate UZB {full['hit_UZB']:.0%}, KAZ {full['hit_KAZ']:.0%}; timing {full['timing']:.3f}; de jure {full['dejure']:.0%}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.api import load_scenario, run
    from sim.workflows.outputs import default_out

    scn = load_scenario(args.scenario, args.sets)
    out = args.out or default_out(scn.name)
    result = run(scn, args.replicates, args.seed, args.engine, out=out, progress=not args.quiet, plot=not args.no_plot, source=args.scenario,
                 posterior=args.posterior)
    fit = result.fit
    print(f"wrote {out}/ ({', '.join(sorted(p.name for p in Path(out).iterdir()))}) in {result.seconds:.1f} s")
    for actor, rate in fit["hit_rate"].items():
        print(f"  {actor}: year-end modal stance accepted in {rate:.0%} of scored years")
    for ev in fit["events"]:
        made = ev["modal_year"] if ev["modal_year"] is not None else "not made"
        print(f"  {ev['actor']} {ev['history_year']} {ev['from']}->{ev['to']}: modal path {made}; {ev['share_within_1y']:.0%} of replicates within 1 year")
    for act in fit.get("acts", []):
        window = act["window"][0] if act["window"][0] == act["window"][1] else "-".join(act["window"])
        print(f"  {act['actor']} {act['act'].split(';')[0]} ({window}): modal path {act['modal_quarter'] or 'not made'}; {act['share_on_time']:.0%} of replicates on time")
    sw = fit.get("switches_per_run", {})
    if sw:
        print("  stance switches per run: " + ", ".join(f"{a} {v:.1f}" for a, v in sw.items()))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario

    if args.out is not None and not (args.resolve and len(args.files) == 1):
        raise OmnibalanceError("--out goes with --resolve and a single file")
    if args.out is not None and args.out.exists():
        raise OmnibalanceError(f"--out {args.out}: exists; choose a new file name (nothing was overwritten)")
    for f in args.files:
        scn = load_scenario(f, args.sets)
        compile_scenario(scn)
        if args.resolve:
            from sim.scenario.loading import resolved_yaml
            from sim.workflows.outputs import write_text

            text = f"# resolved from {f}\n" + resolved_yaml(scn)
            if args.out is not None:
                write_text(args.out, text)
                print(f"{f}: ok, resolved scenario written to {args.out}")
            else:
                print(text, end="")
            continue
        print(f"{f}: ok ({scn.name}: {len(scn.shocks)} shocks, {len(scn.instruments)} instruments, rule {scn.rule.value}, {scn.start}-{scn.end})")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.api import compare
    from sim.workflows.outputs import default_out

    out = args.out or default_out("compare")
    result = compare(args.base, *args.alternatives, replicates=args.replicates, seed=args.seed, out=out, progress=not args.quiet)
    print(f"wrote {out}/ (compare.csv, events.csv, compare.png, compare.md, manifest.json)")
    print(f"  report: {out / 'compare.md'}")
    return 0 if result else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code: 0 ok, 2 bad input, 130 interrupted."""
    args = build_parser().parse_args(argv)
    commands = {
        "run": _cmd_run, "validate": _cmd_validate, "compare": _cmd_compare, "calibrate": _cmd_calibrate, "dashboard": _cmd_dashboard,
        "validate-model": _cmd_validate_model, "sweep": _cmd_sweep, "analyze": _cmd_analyze,
    }
    interrupts.install()  # SIGTERM (a cluster's scheduler, `kill`) interrupts like Ctrl-C: the same clean-up runs
    try:
        return commands[args.command](args)
    except OmnibalanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130
    except ImportError as exc:  # an interruption that lands while a compiled library initialises surfaces as this
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            print(_interrupted(args), file=sys.stderr)
            return 130
        raise


def _interrupted(args: argparse.Namespace) -> str:
    """What an interruption leaves: resumable work is kept in --out, anything else is removed."""
    resumable = args.command == "sweep" or (args.command == "calibrate" and args.method in ABC_METHODS)
    if resumable and getattr(args, "out", None) is not None and Path(args.out).is_dir():
        return f"interrupted: the finished part is kept in {args.out}; run the same command with --resume to finish it"
    return "interrupted: no output folder was left half-written"
