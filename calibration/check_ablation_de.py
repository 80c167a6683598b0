"""Ablation refits at the shipped calibration's own budget: differential evolution from scratch, then the polish.

``omnibalance validate-model`` refits each switched-off mechanism by a Nelder-Mead polish from the
shipped point (a local test). This script refits the named ablations of
``sim.workflows.validation.ABLATIONS`` exactly as the shipped calibration was made — the spec's
differential evolution (160 generations x 15 per parameter, both cores) and then its restarted
polish — and prints each refit's objective, to compare with the shipped calibration's (the same
objective, beta prior included: ``calibration/report/summary.json``). The numbers are quoted in
docs/validation.md.

Run from the repository root (about five minutes an ablation on the 2-core machine of 2026-12-07)::

    python calibration/check_ablation_de.py "no Western normative pressure" "no regime-change channel"
"""

from __future__ import annotations

import argparse

from profile_self_reliance import de, fixed_problem, polish

from sim.workflows.validation import ABLATIONS


def refit(name: str) -> str:
    """DE then polish with ablation ``name`` switched off; one printable line."""
    problem, x0 = fixed_problem(ABLATIONS[name][1])
    first = de(problem, x0)
    parts = problem.evaluate_many(polish(problem, first["x"])["x"][None])[0]
    return (f"{name}: DE {first['fun']:.4f}, then polish {parts['objective']:.4f}; UZB {parts['hit_UZB']:.0%}, KAZ {parts['hit_KAZ']:.0%}, "
            f"timing {parts['timing']:.3f}, acts {parts['acts']:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ablations", nargs="+", choices=[n for n in ABLATIONS if n != "full model"], metavar="ABLATION")
    for name in p.parse_args().ablations:
        print(refit(name), flush=True)


if __name__ == "__main__":
    main()
