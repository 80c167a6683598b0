"""Benchmark: a 100,000-run sweep with the local process pool and with a Dask LocalCluster.

    python benchmarks/bench_sweep.py              # 1,000 LHS points x 100 replicates each way
    python benchmarks/bench_sweep.py --points 100 # a quicker look

Each sweep runs in a fresh child process (`omnibalance sweep`); wall time is measured around it
and peak memory is the largest resident set of the sweep process and of any one of its workers
(`ru_maxrss` of the process and of its children).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = """scenario: {scenario}
design: {{kind: lhs, points: {points}, seed: 1}}
replicates: {replicates}
seed: 1
dimensions:
  shocks.andijan.magnitude: {{range: [0.0, 2.0]}}
  shocks.andijan.date: {{range: [2003-01-01, 2008-12-31]}}
  params.tau: {{range: [0.0, 10.0]}}
"""


def one(executor: str, spec: Path, workers: int) -> dict:
    out = Path(tempfile.mkdtemp()) / "sweep"
    code = (
        "import resource, sys\n"
        "from sim.face.cli import main\n"
        f"rc = main(['sweep', {str(spec)!r}, '--executor', {executor!r}, '--workers', '{workers}', '--out', {str(out)!r}, '-q'])\n"
        "self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(f'RSS {self:.0f} {kids:.0f}')\n"
        "sys.exit(rc)\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    wall = time.perf_counter() - t0
    rss = [float(x) for x in proc.stdout.strip().splitlines()[-1].split()[1:]]
    size = sum(f.stat().st_size for f in (out / "chunks").glob("*.parquet")) / 2**20
    shutil.rmtree(out.parent)
    return {"wall_s": wall, "peak_rss_mb": rss[0], "peak_worker_rss_mb": rss[1], "parquet_mb": size}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--replicates", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    d = Path(tempfile.mkdtemp())
    spec = d / "bench.yaml"
    spec.write_text(SPEC.format(scenario=ROOT / "scenarios" / "history.yaml", points=args.points, replicates=args.replicates))
    n = args.points * args.replicates
    for executor in ("local", "dask"):
        r = one(executor, spec, args.workers)
        print(f"{executor:5s}: {n:,} runs in {r['wall_s']:.1f} s ({n / r['wall_s']:,.0f} runs/s), peak RSS {r['peak_rss_mb']:.0f} MB "
              f"(largest worker {r['peak_worker_rss_mb']:.0f} MB), outcome Parquet {r['parquet_mb']:.1f} MB")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
