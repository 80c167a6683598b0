"""Benchmark: a sweep on the local process pool and on a Dask LocalCluster, side by side.

    python benchmarks/bench_sweep.py              # 1,000 LHS points x 100 replicates each way
    python benchmarks/bench_sweep.py --points 100 # a quicker look

Each sweep runs in a fresh child process (`omnibalance sweep`, the spec of bench_speed.py); wall
time is measured around it and peak memory is the largest resident set of the sweep process and of
any one of its workers (`ru_maxrss` of the process and of its children).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_speed import HISTORY, SWEEP, command  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--replicates", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    d = Path(tempfile.mkdtemp())
    spec = d / "bench.yaml"
    spec.write_text(SWEEP.format(scenario=HISTORY, points=args.points, replicates=args.replicates))
    n = args.points * args.replicates
    for executor in ("local", "dask"):
        out = d / executor
        r = command(["sweep", str(spec), "--executor", executor, "--workers", str(args.workers), "--out", str(out), "-q"])
        size = sum(f.stat().st_size for f in (out / "chunks").glob("*.parquet")) / 2**20
        print(f"{executor:5s}: {n:,} runs in {r['wall_s']:.1f} s ({n / r['wall_s']:,.0f} runs/s), peak RSS {r['rss_mb']:.0f} MB "
              f"(largest worker {r['worker_rss_mb']:.0f} MB), outcome Parquet {size:.1f} MB")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
