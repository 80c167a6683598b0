"""Benchmark: one Mesa replay, the ensemble path, their ratio, and a large streamed run.

Run from the repository root:

    python benchmarks/bench_replay.py              # Mesa vs ensemble, side by side
    python benchmarks/bench_replay.py --large 100000   # also a full run with Parquet written

Peak memory of the large run is measured in a fresh child process per size
(``resource.getrusage`` max RSS), so sizes do not contaminate each other.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.engines.ensemble import simulate  # noqa: E402
from sim.engines.model import AlignmentModel  # noqa: E402
from sim.kernel.actors import N_CLIENTS  # noqa: E402
from sim.kernel.params import stack_params  # noqa: E402
from sim.kernel.randomness import batch_draws, run_seed  # noqa: E402
from sim.scenario.compile import compile_scenario  # noqa: E402
from sim.scenario.loading import load_scenario  # noqa: E402

HISTORY = ROOT / "scenarios" / "history.yaml"


def bench_mesa(n: int) -> float:
    """Seconds per Mesa replay (mean of ``n``, after one warm-up)."""
    scn = load_scenario(HISTORY)
    exo = compile_scenario(scn)
    AlignmentModel(scn, run_seed(0, 0), exo=exo).run()
    t0 = time.perf_counter()
    for r in range(n):
        AlignmentModel(scn, run_seed(1, r), exo=exo).run()
    return (time.perf_counter() - t0) / n


def bench_ensemble(n: int) -> float:
    """Seconds per run for one batch of ``n`` runs (random numbers included, outputs in memory)."""
    scn = load_scenario(HISTORY)
    exo = compile_scenario(scn)
    th = stack_params([scn.params])
    t0 = time.perf_counter()
    seeds = np.array([run_seed(1, r) for r in range(n)])
    simulate(exo, th, scn.rule, batch_draws(seeds, exo.n_steps, N_CLIENTS))
    return (time.perf_counter() - t0) / n


def large_run(n: int) -> dict:
    """A full ``omnibalance run`` of ``n`` replicates (Parquet written), in a child process."""
    code = f"""
import json, resource, sys, time, tempfile
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
import sim
scn = sim.load_scenario({str(HISTORY)!r})
out = Path(tempfile.mkdtemp()) / "run"
t0 = time.perf_counter()
sim.run(scn, {n}, out=out, plot=False, source={str(HISTORY)!r})
wall = time.perf_counter() - t0
size = (out / "trajectories.parquet").stat().st_size
print(json.dumps({{"runs": {n}, "wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "parquet_mb": size / 2**20}}))
import shutil; shutil.rmtree(out.parent)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mesa-runs", type=int, default=20)
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--large", type=int, nargs="*", default=[], help="sizes of full runs with Parquet written, e.g. 10000 100000")
    args = p.parse_args()
    mesa = bench_mesa(args.mesa_runs)
    ens = bench_ensemble(args.batch)
    print(f"Mesa replay 1991Q4-2016Q4 (8 agents, 101 steps): {mesa * 1e3:.1f} ms per run, {1 / mesa:.1f} runs/s")
    print(f"Ensemble, batch of {args.batch}: {ens * 1e6:.1f} us per run, {1 / ens:,.0f} runs/s")
    print(f"Ratio ensemble/Mesa runs per second: {mesa / ens:,.0f}x")
    for n in args.large:
        r = large_run(n)
        print(f"Full run, {r['runs']:,} replicates with trajectories.parquet ({r['parquet_mb']:.0f} MB): {r['wall_s']:.1f} s wall, {r['runs'] / r['wall_s']:,.0f} runs/s, peak RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
