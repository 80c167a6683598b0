"""Profile of the calibration objective in ``self_reliance``, with Turkmenistan's CSTO membership.

For each fixed value of ``self_reliance`` the other calibrated parameters are refitted (the
restarted Nelder-Mead polish of ``calibration/spec.yaml``, from the shipped calibration), and the
refit is replayed to read Turkmenistan's share of replicates in the CST/CSTO at the end of
1996-2011. Turkmenistan has no target, so the objective sees only Uzbekistan and Kazakhstan: the
profile says what their history allows, and what Turkmenistan would need.

Run from the repository root (a few minutes on two cores: eight refits of up to 3,000 evaluations)::

    python calibration/profile_self_reliance.py

Writes ``calibration/profile_self_reliance/profile.json`` and ``profile.png``.

A polish from the shipped point can miss a basin that fits better with a self-reliant Turkmenistan;
``--de 0.4 0.5`` instead refits each given value by the spec's differential evolution from scratch
(its full budget, both cores) followed by the polish, and writes ``de.json`` (about four minutes a
value on the 2-core machine of 2026-12-06).
"""

from __future__ import annotations

import argparse
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
from sim.workflows.calibrate.de import run_de, run_polish  # noqa: E402
from sim.workflows.calibrate.problem import Problem  # noqa: E402
from sim.workflows.calibrate.run import start_point  # noqa: E402
from sim.workflows.calibrate.spec import load_spec  # noqa: E402
from sim.workflows.executors import executor  # noqa: E402
from sim.workflows.loss import load_calibration_targets  # noqa: E402
from sim.workflows.outputs import write_json  # noqa: E402

VALUES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
OUT = ROOT / "calibration" / "profile_self_reliance"
YEARS = (1996, 2011)


def fixed_problem(fixed: dict[str, float]) -> tuple[Problem, np.ndarray]:
    """The spec's calibration problem with ``fixed`` held (and out of the fitted set), and the shipped start point."""
    spec, history = load_spec(ROOT / "calibration" / "spec.yaml")
    spec.parameters = {k: v for k, v in spec.parameters.items() if k not in fixed}
    problem = Problem(spec, history, load_calibration_targets(), fixed=fixed)
    return problem, start_point(problem, ROOT / "calibration" / "calibrated.yaml")


def polish(problem: Problem, x0: np.ndarray) -> dict:
    """The spec's restarted Nelder-Mead polish from ``x0``; its trace is not kept."""
    with tempfile.TemporaryDirectory() as work:
        return run_polish(problem, Path(work), x0, progress=False)


def de(problem: Problem, x0: np.ndarray) -> dict:
    """The spec's differential evolution from scratch on both cores (``x0`` only builds the problem's
    state before the pool forks); its trace is not kept."""
    problem.evaluate_many(x0[None])
    with tempfile.TemporaryDirectory() as work, executor("local", 2) as wmap:
        return run_de(problem, Path(work), wmap, progress=False, workers=2)


def tkm_in_csto(problem: Problem, x: np.ndarray) -> tuple[float, int, int]:
    """Turkmenistan's mean share of replicates in the CST/CSTO over ``YEARS``, the years the modal path is a member, and the window's years."""
    st = problem._setup()
    R = problem.spec.replicates
    run = simulate(st["exo"], stack_params([problem.params(x)]), st["rule"], st["draws"], full=False, probs_steps=st["steps"],
                   setting=np.zeros(R, dtype=np.int64), replicate=np.arange(R))
    years = np.asarray(st["years"])
    bloc = st["exo"].in_bloc(run.member[:, st["steps"]])[:, :, CLIENTS.index("TKM")]  # [R, Y]
    window = (years >= YEARS[0]) & (years <= YEARS[1])
    share = bloc[:, window].mean(axis=0)
    return float(share.mean()), int((share > 0.5).sum()), int(window.sum())


def refit(value: float, from_scratch: bool = False) -> dict:
    """Refit every other parameter with ``self_reliance`` held at ``value`` (by the polish from the
    shipped point, or ``from_scratch`` by differential evolution and then the polish); score and
    replay it."""
    problem, x0 = fixed_problem({"self_reliance": value})
    if from_scratch:
        x0 = de(problem, x0)["x"]
    res = polish(problem, x0)
    parts = problem.evaluate_many(res["x"][None])[0]
    share, modal, n_years = tkm_in_csto(problem, res["x"])
    return {"self_reliance": value, "objective": res["fun"], "evaluations": res["nfev"], "hit_UZB": parts["hit_UZB"], "hit_KAZ": parts["hit_KAZ"],
            "dejure": parts["dejure"], "tkm_csto_share_mean": share, "tkm_csto_modal_years": modal, "window_years": n_years}


def plot(rows: list[dict], path: Path) -> None:
    """Objective and Turkmenistan's CSTO share against ``self_reliance``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["self_reliance"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(x, [r["objective"] for r in rows], "o-", color="#1f4e79", label="objective, refitted (UZB, KAZ)")
    ax.set_xlabel("self_reliance (held fixed; the rest refitted)")
    ax.set_ylabel("calibration objective (lower is better)")
    ax2 = ax.twinx()
    ax2.plot(x, [r["tkm_csto_share_mean"] for r in rows], "s--", color="#b03a2e", label=f"Turkmenistan in the CSTO, {YEARS[0]}-{YEARS[1]}")
    ax2.axhline(0.5, color="#b03a2e", lw=0.6, ls=":")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("TKM share of replicates in the CSTO")
    lines = ax.get_lines()[:1] + ax2.get_lines()[:1]
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper center", fontsize=8, frameon=False)
    ax.set_title("What Uzbekistan's and Kazakhstan's history allows, and what Turkmenistan needs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--de", type=float, nargs="+", metavar="VALUE", help="refit these values by differential evolution, then the polish")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.de:
        rows = [refit(v, from_scratch=True) for v in args.de]
        write_json(OUT / "de.json", {"years": list(YEARS), "rows": rows})
    else:
        with ProcessPoolExecutor(2) as pool:
            rows = list(pool.map(refit, VALUES))
        write_json(OUT / "profile.json", {"years": list(YEARS), "rows": rows})
        plot(rows, OUT / "profile.png")
    for r in rows:
        print(f"self_reliance {r['self_reliance']:.2f}: objective {r['objective']:.4f}, UZB {r['hit_UZB']:.0%}, KAZ {r['hit_KAZ']:.0%}, "
              f"TKM in the CSTO {r['tkm_csto_share_mean']:.2f} (modal in {r['tkm_csto_modal_years']} of {r['window_years']} years)")


if __name__ == "__main__":
    main()
