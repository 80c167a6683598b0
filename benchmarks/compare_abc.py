"""The in-project ABC-SMC against pyabc's at the same budget (issue 14): tolerance reached, best
distance, effective sample size and evaluations, for the shipped calibration spec.

    python benchmarks/compare_abc.py            # both samplers, the spec's ABC budget, 2 workers

The in-project sampler runs as ``omnibalance calibrate --method abc`` does; pyabc
(``sim/workflows/calibrate/smc.py``) gets the same number of model evaluations (the total the
in-project sampler used), the same prior box, distance (the calibration objective) and median
tolerance schedule, with an adaptive population size. Results go to docs/calibration.md by hand.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.workflows.calibrate.abc import run_abc  # noqa: E402
from sim.workflows.calibrate.problem import Problem  # noqa: E402
from sim.workflows.calibrate.smc import run_pyabc  # noqa: E402
from sim.workflows.calibrate.spec import load_spec  # noqa: E402
from sim.workflows.executors import executor  # noqa: E402
from sim.workflows.loss import load_calibration_targets  # noqa: E402


def main() -> None:
    spec, scenario = load_spec(ROOT / "calibration" / "spec.yaml")
    problem = Problem(spec, scenario, load_calibration_targets())
    problem.evaluate_many(problem.start()[None])
    tmp = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    with executor("local", 2) as pmap:
        ours = run_abc(problem, tmp / "ours", pmap, progress=False)
    ours_s = time.perf_counter() - t0
    used = sum(h["evaluations"] for h in ours["history"])
    (tmp / "pyabc").mkdir()
    t0 = time.perf_counter()
    theirs = run_pyabc(problem, tmp / "pyabc", workers=2, progress=False, max_evaluations=used)
    theirs_s = time.perf_counter() - t0
    rows = {
        "in-project": {"evaluations": used, "generations": sum("stopped" not in h for h in ours["history"]),
                       "tolerance": [h for h in ours["history"] if "stopped" not in h][-1]["tolerance"],
                       "best": ours["fun"], "ess": float(1 / np.sum(ours["weights"] ** 2)), "seconds": ours_s},
        "pyabc": {"evaluations": sum(h.get("evaluations", 0) for h in theirs["history"]), "generations": sum("stopped" not in h for h in theirs["history"]),
                  "tolerance": [h for h in theirs["history"] if "stopped" not in h][-1]["tolerance"], "stopped": theirs["history"][-1].get("stopped"), "best": theirs["fun"], "ess": float(1 / np.sum(theirs["weights"] ** 2)),
                  "seconds": theirs_s},
    }
    print(json.dumps(rows, indent=1))
    print(json.dumps({"pyabc_trace": theirs["history"], "ours_trace": [{k: h.get(k) for k in ("generation", "tolerance", "evaluations")} for h in ours["history"]]}))


if __name__ == "__main__":
    main()
