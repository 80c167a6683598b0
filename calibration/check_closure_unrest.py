"""Does regime closure keep Turkmenistan in the CSTO? Refits without closure's latent unrest.

``unrest_from_closure`` (a documented default, not calibrated) is set to 0, alone and with
``self_reliance`` held at 0.2; every other calibrated parameter is refitted by the restarted
Nelder-Mead polish of ``calibration/spec.yaml`` from the shipped calibration. For the start point and
the refit it prints the objective, the scored hit rates, and Turkmenistan's share of replicates in
the CST/CSTO over 1996-2011 (and in how many of those years the modal path is a member).
The numbers are quoted in docs/calibration.md.

Run from the repository root (about a minute on two cores)::

    python calibration/check_closure_unrest.py
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.engines.ensemble import simulate  # noqa: E402
from sim.kernel.actors import CLIENTS  # noqa: E402
from sim.kernel.params import stack_params  # noqa: E402
from sim.workflows.calibrate.de import run_polish  # noqa: E402
from sim.workflows.calibrate.problem import Problem  # noqa: E402
from sim.workflows.calibrate.run import start_point  # noqa: E402
from sim.workflows.calibrate.spec import load_spec  # noqa: E402
from sim.workflows.loss import load_calibration_targets  # noqa: E402

CASES = ({"unrest_from_closure": 0.0}, {"unrest_from_closure": 0.0, "self_reliance": 0.2})
YEARS = (1996, 2011)


def tkm_in_csto(problem: Problem, x: np.ndarray) -> tuple[float, int]:
    """Turkmenistan's mean share of replicates in the CSTO over ``YEARS``, and the modal member years."""
    st = problem._setup()
    R = problem.spec.replicates
    run = simulate(
        st["exo"],
        stack_params([problem.params(x)]),
        st["rule"],
        st["draws"],
        full=False,
        probs_steps=st["steps"],
        setting=np.zeros(R, dtype=np.int64),
        replicate=np.arange(R),
    )
    years = np.asarray(st["years"])
    bloc = st["exo"].in_bloc(run.member[:, st["steps"]])[:, :, CLIENTS.index("TKM")]
    share = bloc[:, (years >= YEARS[0]) & (years <= YEARS[1])].mean(axis=0)
    return float(share.mean()), int((share > 0.5).sum())


def check(fixed: dict[str, float]) -> str:
    """Score the shipped point and its refit with ``fixed`` held; one printable line each."""
    spec, history = load_spec(ROOT / "calibration" / "spec.yaml")
    spec.parameters = {k: v for k, v in spec.parameters.items() if k not in fixed}
    problem = Problem(spec, history, load_calibration_targets(), fixed=fixed)
    x0 = start_point(problem, ROOT / "calibration" / "calibrated.yaml")
    with tempfile.TemporaryDirectory() as work:  # the polish's trace is not kept
        x1 = run_polish(problem, Path(work), x0, progress=False)["x"]
    lines = []
    for label, x in (("shipped point", x0), ("refitted", x1)):
        parts = problem.evaluate_many(x[None])[0]
        share, modal = tkm_in_csto(problem, x)
        lines.append(
            f"{fixed} {label}: objective {parts['objective']:.4f}, UZB {parts['hit_UZB']:.0%}, KAZ {parts['hit_KAZ']:.0%}, "
            f"TKM in the CSTO {share:.2f} (modal in {modal} of {YEARS[1] - YEARS[0] + 1} years)"
        )
    return "\n".join(lines)


def main() -> None:
    with ProcessPoolExecutor(2) as pool:
        for text in pool.map(check, CASES):
            print(text)


if __name__ == "__main__":
    main()
