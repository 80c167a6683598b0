"""Does regime closure keep Turkmenistan in the CSTO? Refits without closure's latent unrest.

``unrest_from_closure`` (a documented default, not calibrated) is set to 0, alone and with
``self_reliance`` held at 0.2; every other calibrated parameter is refitted by the restarted
Nelder-Mead polish of ``calibration/spec.yaml`` from the shipped calibration. For the start point and
the refit it prints the objective, the scored hit rates, and Turkmenistan's share of replicates in
the CST/CSTO over 1996-2011 (and in how many of those years the modal path is a member).
The numbers are quoted in docs/calibration.md; the refit and the replay are profile_self_reliance.py's.

Run from the repository root (about a minute on two cores)::

    python calibration/check_closure_unrest.py
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from profile_self_reliance import fixed_problem, polish, tkm_in_csto

CASES = ({"unrest_from_closure": 0.0}, {"unrest_from_closure": 0.0, "self_reliance": 0.2})


def check(fixed: dict[str, float]) -> str:
    """Score the shipped point and its refit with ``fixed`` held; one printable line each."""
    problem, x0 = fixed_problem(fixed)
    x1 = polish(problem, x0)["x"]
    lines = []
    for label, x in (("shipped point", x0), ("refitted", x1)):
        parts = problem.evaluate_many(x[None])[0]
        share, modal, n_years = tkm_in_csto(problem, x)
        lines.append(
            f"{fixed} {label}: objective {parts['objective']:.4f}, UZB {parts['hit_UZB']:.0%}, KAZ {parts['hit_KAZ']:.0%}, "
            f"TKM in the CSTO {share:.2f} (modal in {modal} of {n_years} years)"
        )
    return "\n".join(lines)


def main() -> None:
    with ProcessPoolExecutor(2) as pool:
        for text in pool.map(check, CASES):
            print(text)


if __name__ == "__main__":
    main()
