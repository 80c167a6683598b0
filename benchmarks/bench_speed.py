"""Benchmark: the Mesa path, the numpy engine and the fused kernel side by side, a 1,000,000-run
sweep, the example sweep, the shipped calibration and the dashboard's refresh.

Run from the repository root (about five minutes on the 2-core machine):

    python benchmarks/bench_speed.py                 # print the table
    python benchmarks/bench_speed.py --write         # and regenerate it in docs/benchmarks.md and README.md
    python benchmarks/bench_speed.py --quick         # smaller sizes, for a look (never --write with it)

The three engines run in this one process on the same runs (each run draws its own random numbers
from its seed, as ``omnibalance run`` does). The sweeps and the calibration run as the CLI in
fresh child processes: their wall time includes starting Python, and their peak memory is the
largest resident set of the command and of any one of its workers (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.engines.ensemble import simulate  # noqa: E402
from sim.engines.model import AlignmentModel  # noqa: E402
from sim.kernel.actors import N_CLIENTS  # noqa: E402
from sim.kernel.params import stack_params  # noqa: E402
from sim.kernel.randomness import batch_draws, replicate_seeds, run_seed  # noqa: E402
from sim.scenario.compile import compile_scenario  # noqa: E402
from sim.scenario.loading import load_scenario  # noqa: E402

HISTORY = ROOT / "scenarios" / "history.yaml"
SWEEP = """scenario: {scenario}
design: {{kind: lhs, points: {points}, seed: 1}}
replicates: {replicates}
seed: 1
dimensions:
  shocks.andijan.magnitude: {{range: [0.0, 2.0]}}
  shocks.andijan.date: {{range: [2003-01-01, 2008-12-31]}}
  params.tau: {{range: [0.0, 10.0]}}
"""
MARK = re.compile(r"(<!-- bench_speed -->\n).*?(<!-- /bench_speed -->)", re.S)


def engines(mesa_runs: int, numpy_runs: int, fused_runs: int) -> dict[str, float]:
    """Runs per second of each path on one core, random numbers drawn per run included; and the
    fused kernel when the runs share their replicates' draws (as sweeps and calibration do)."""
    scn = load_scenario(HISTORY)
    exo = compile_scenario(scn)
    th = stack_params([scn.params])
    AlignmentModel(scn, run_seed(0, 0), exo=exo).run()
    simulate(exo, th, scn.rule, batch_draws([1, 2], exo.n_steps, N_CLIENTS), full=False)  # load the compiled kernel

    def rate(fn, n: int) -> float:
        t0 = time.perf_counter()
        fn(n)
        return n / (time.perf_counter() - t0)

    def mesa(n: int) -> None:
        for r in range(n):
            AlignmentModel(scn, run_seed(1, r), exo=exo).run()

    def engine(kernel: str):
        def go(n: int) -> None:
            for lo in range(0, n, 2000):  # as `omnibalance run` does: chunks of 2,000 runs
                seeds = replicate_seeds(1, range(lo, min(n, lo + 2000)))
                simulate(exo, th, scn.rule, batch_draws(seeds, exo.n_steps, N_CLIENTS), full=False, kernel=kernel)
        return go

    shared = batch_draws(replicate_seeds(1, 100), exo.n_steps, N_CLIENTS)

    def fused_shared(n: int) -> None:
        for lo in range(0, n, 20_000):
            k = min(n, lo + 20_000) - lo
            simulate(exo, stack_params([scn.params] * (k // 100)), scn.rule, shared, full=False,
                     setting=np.repeat(np.arange(k // 100), 100), replicate=np.tile(np.arange(100), k // 100))

    out = {"mesa": rate(mesa, mesa_runs), "numpy": rate(engine("numpy"), numpy_runs), "fused": rate(engine("fused"), fused_runs)}
    out["fused_shared"] = rate(fused_shared, fused_runs)
    return out


def command(args: list[str]) -> dict[str, float]:
    """Run ``python -m sim ARGS`` in a child process: wall seconds and peak RSS (MB) of it and of its largest worker."""
    code = (
        "import resource, sys\n"
        "from sim.face.cli import main\n"
        f"rc = main({args!r})\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
        "sys.exit(rc)\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr}")
    rss = [float(x) for x in proc.stdout.strip().splitlines()[-1].split()[1:]]
    return {"wall_s": wall, "rss_mb": rss[0], "worker_rss_mb": rss[1], "stdout": proc.stdout}


def sweep(points: int, replicates: int, tmp: Path, spec: Path | None = None) -> dict[str, float]:
    """``omnibalance sweep`` of an LHS over Andijan's size and date and tau (or of ``spec``): wall
    seconds, the sweep's own seconds (as it reports them: no start-up) and peak memory."""
    if spec is None:
        spec = tmp / f"sweep_{points}x{replicates}.yaml"
        spec.write_text(SWEEP.format(scenario=HISTORY, points=points, replicates=replicates))
    out = tmp / f"out_{spec.stem}"
    r = command(["sweep", str(spec), "--out", str(out), "-q"])
    r["runs"] = points * replicates
    r["sweep_s"] = float(re.search(r" in ([\d.]+) s", r["stdout"]).group(1))  # from reading the spec to the last chunk
    shutil.rmtree(out)
    return r


def dashboard_refresh(n: int) -> float:
    """Median seconds of a dashboard refresh (100 replicates with a parameter moved: not cached)."""
    from sim.face.dashboard.results import run_replicates

    run_replicates(HISTORY, (), 100)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        run_replicates(HISTORY, (f"params.tau={3.0 + 0.01 * i}",), 100)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def table(e: dict[str, float], big: dict, mid: dict, example: dict, shaped: dict, calib: dict | None, refresh: float) -> str:
    ratio = e["fused"] / e["mesa"]
    rows = [
        ("Mesa model, one replay 1991Q4–2016Q4", f"{1e3 / e['mesa']:.0f} ms ({e['mesa']:.1f} runs/s)", "—"),
        ("numpy engine (the reference loop), runs of 2,000", f"{e['numpy']:,.0f} runs/s ({e['numpy'] / e['mesa']:,.0f}× Mesa)", "—"),
        ("fused kernel, runs of 2,000, each run's draws made from its seed", f"**{e['fused']:,.0f} runs/s ({ratio:,.0f}× Mesa)**", "≥ 1,000× Mesa"),
        ("fused kernel, runs sharing 100 replicates' draws (sweeps, calibration)", f"{e['fused_shared']:,.0f} runs/s", "—"),
        (f"sweep of {big['runs']:,} runs, outcome metrics to Parquet, local pool (2 workers)",
         f"**{big['wall_s']:.0f} s** ({big['runs'] / big['wall_s']:,.0f} runs/s), peak RSS {big['rss_mb']:.0f} MB / worker {big['worker_rss_mb']:.0f} MB",
         "< 2 min, ≥ 10,000 runs/s"),
        (f"the same sweep with {mid['runs']:,} runs", f"{mid['wall_s']:.0f} s, peak RSS {mid['rss_mb']:.0f} MB / worker {mid['worker_rss_mb']:.0f} MB",
         "memory flat in runs"),
        ("`omnibalance sweep scenarios/sweeps/andijan.yaml` (1,000 runs: 200 points × 5 replicates; median of 3)",
         f"the sweep **{example['sweep_s']:.2f} s ({1000 / example['sweep_s']:,.0f} runs/s)**, as the command reports it; "
         f"{example['wall_s']:.1f} s wall with Python's start-up and the libraries' loading", "≥ 5,000 runs/s"),
        (f"a design like it at scale ({shaped['runs'] // 5:,} points × 5 replicates)",
         f"{shaped['sweep_s']:.1f} s ({shaped['runs'] / shaped['sweep_s']:,.0f} runs/s)", "—"),
    ]
    if calib is not None:
        from sim.workflows.calibrate.spec import load_spec

        spec, _ = load_spec(ROOT / "calibration" / "spec.yaml")
        evals = (spec.de.maxiter + 1) * spec.de.popsize * len(spec.parameters)  # scipy's DE: the initial population, then one per generation
        rows.append((f"`omnibalance calibrate calibration/spec.yaml` (shipped DE budget, {evals:,} evaluations × {spec.replicates} runs)",
                     f"**{calib['wall_s']:.0f} s** wall", "< 90 s"))
    rows.append(("dashboard refresh, 100 replicates, a parameter moved (median)", f"**{refresh * 1e3:.0f} ms**", "< 50 ms"))
    lines = ["| measure | result | aim |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller sizes (a look, not the recorded figures)")
    p.add_argument("--no-calibrate", action="store_true", help="skip the shipped calibration (about 80 s)")
    p.add_argument("--write", action="store_true", help="regenerate the table in docs/benchmarks.md and README.md")
    args = p.parse_args()
    if args.quick and args.write:
        raise SystemExit("--quick figures are not the recorded ones; run without --quick to --write")
    tmp = Path(tempfile.mkdtemp())
    try:
        e = engines(5 if args.quick else 30, 2000 if args.quick else 10_000, 10_000 if args.quick else 100_000)
        print(f"engines: {e}", flush=True)
        big = sweep(1000 if args.quick else 10_000, 100, tmp)
        mid = sweep(100 if args.quick else 1000, 100, tmp)
        print(f"sweeps: {big['runs']:,} runs {big['wall_s']:.1f} s; {mid['runs']:,} runs {mid['wall_s']:.1f} s", flush=True)
        tries = [sweep(200, 5, tmp, spec=ROOT / "scenarios" / "sweeps" / "andijan.yaml") for _ in range(3)]
        example = {k: statistics.median(t[k] for t in tries) for k in ("wall_s", "sweep_s")}
        shaped = sweep(2000 if args.quick else 20_000, 5, tmp)
        calib = None if args.no_calibrate else command(["calibrate", str(ROOT / "calibration" / "spec.yaml"), "--out", str(tmp / "calib"), "--quiet"])
        refresh = dashboard_refresh(5 if args.quick else 15)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = table(e, big, mid, example, shaped, calib, refresh)
    stamp = time.strftime("%Y-%m-%d")
    block = f"Measured {stamp} with `python benchmarks/bench_speed.py --write` (peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB):\n\n{text}"
    print(block)
    if args.write:
        for path in (ROOT / "docs" / "benchmarks.md", ROOT / "README.md"):
            old = path.read_text(encoding="utf-8")
            if not MARK.search(old):
                raise SystemExit(f"{path}: no <!-- bench_speed --> ... <!-- /bench_speed --> block to regenerate")
            path.write_text(MARK.sub(lambda m: m.group(1) + block + m.group(2), old), encoding="utf-8")
            print(f"regenerated the table in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
