"""Does the Western-pressure verdict hang on Russia's protection against plain domestic unrest?

``protection.RUS.unrest`` is a hand-set, documented value (0: no patron sent forces against
domestic protest in 1991-2016; docs/model.md, section 2.3). Until 2026-12-07 it was 0.6. This
script holds it at each of a few values, refits the calibrated parameters with and without Western
normative pressure (the ablation of ``sim.workflows.validation.ABLATIONS``), and prints both fit
losses, so a reader can see how much the "needed" verdict of docs/validation.md depends on it.

Every refit is the spec's restarted Nelder-Mead polish from the shipped calibration (the same local
test as ``omnibalance validate-model``), two at a time on the two cores. Writes
``calibration/unrest_protection.json``; the table is quoted in docs/validation.md.

Run from the repository root (about a minute and a half on the 2-core machine)::

    python calibration/check_unrest_protection.py
"""

from __future__ import annotations

import itertools
from concurrent.futures import ProcessPoolExecutor

from profile_self_reliance import ROOT, fixed_problem, polish

from sim.workflows.outputs import write_json
from sim.workflows.validation import ABLATIONS, NEEDED_MARGIN

VALUES = (0.0, 0.1, 0.3, 0.6)
VARIANTS = ("full model", "no Western normative pressure")
OUT = ROOT / "calibration" / "unrest_protection.json"


def refit(job: tuple[float, str]) -> dict:
    """The fit loss (objective without the beta prior) of ``variant`` refitted with Russia's unrest protection at ``value``."""
    value, variant = job
    problem, x0 = fixed_problem({"protection.RUS.unrest": value} | ABLATIONS[variant][1])
    parts = problem.evaluate_many(polish(problem, x0)["x"][None])[0]
    return {"rus_unrest": value, "variant": variant, "fit_loss": parts["objective"] - parts["beta_penalty"],
            "hit_UZB": parts["hit_UZB"], "hit_KAZ": parts["hit_KAZ"]}


def main() -> None:
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(refit, itertools.product(VALUES, VARIANTS)))
    write_json(OUT, {"margin": NEEDED_MARGIN, "rows": rows})
    print("| Russia's protection against unrest | fit loss, full model | without Western pressure | pressure needed? |")
    print("|---|---|---|---|")
    for value in VALUES:
        full, ablated = (next(r["fit_loss"] for r in rows if r["rus_unrest"] == value and r["variant"] == v) for v in VARIANTS)
        print(f"| {value:g} | {full:.3f} | {ablated:.3f} | {'yes' if ablated > full + NEEDED_MARGIN else 'no'} |")


if __name__ == "__main__":
    main()
