"""Could a refit place Turkmenistan out of the CSTO? Mechanisms changed, the rest refitted.

``check_turkmenistan.py`` takes Turkmenistan's pulls toward Russia away with the calibration as it
is. Here each variant changes a mechanism for every client, refits every calibrated parameter on
Uzbekistan's and Kazakhstan's history (the restarted polish of ``calibration/spec.yaml`` from the
shipped point, as ``profile_self_reliance.py`` does) and reads the refit's Turkmenistan: so a
variant that keeps Turkmenistan out only because the others no longer fit shows as a worse
objective.

* ``defiance_route`` 0: no leverage through export pipelines.
* ``defiance_neutral`` 0 and 0.25: a hedger pays none, or a quarter, of the cost of defying the
  patrons it depends on (the shipped 0.5 is held at its default).
* leverage x means: Russia's leverage scaled by its oil-driven means (its capacity to punish defiance,
  weak in the 1990s).
* fiscal self-reliance 0.4 and 0.6: self-reliance lowers the value of rents and leverage but absorbs
  no threat.
* absolute self-reliance 0.15 and 0.3: a regime handles each threat up to ``self_reliance`` times its
  capacity on its own (not a share of it), and needs patrons' money as much as before.

The last three change kernel functions, which this script replaces in its own processes only
(``sim.kernel.decision``'s ``leverage``, ``effective_threat`` and ``stance_values``); the package is
not changed. Results are quoted in docs/calibration.md.

Run from the repository root (about four minutes on two cores)::

    python calibration/check_turkmenistan_refits.py
"""

from __future__ import annotations

import dataclasses
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "calibration"))

from profile_self_reliance import fixed_problem, polish, tkm_in_csto  # noqa: E402

import sim.kernel.decision as decision  # noqa: E402
import sim.kernel.quarter as quarter  # noqa: E402
from sim.kernel.actors import Patron, Threat  # noqa: E402

ORIGINAL = {"leverage": decision.leverage, "effective_threat": decision.effective_threat, "stance_values": decision.stance_values}


def _leverage_by_means(env, forces, th):
    lev = ORIGINAL["leverage"](env, forces, th)
    lev[:, :, Patron.RUS] *= env.means
    return lev


def _threats_not_absorbed(env, offers, th):
    return ORIGINAL["effective_threat"](dataclasses.replace(env, self_reliance=np.zeros_like(env.self_reliance)), offers, th)


def _threats_absorbed_up_to_capacity(env, offers, th):
    absorb = env.self_reliance_absolute[..., None]
    threat = np.maximum(env.threat - absorb, 0.0)
    own = np.minimum(env.patron_threat, threat[..., Threat.EXTERNAL, None])  # a patron's threat is part of the external threat left
    return ORIGINAL["effective_threat"](dataclasses.replace(env, threat=threat, patron_threat=own), offers, th)


def _values_without_fiscal_relief(rule, env, offers, th):
    plain = dataclasses.replace(env, self_reliance=np.zeros_like(env.self_reliance))
    plain.self_reliance_absolute = env.self_reliance
    return ORIGINAL["stance_values"](rule, plain, offers, th)


def _patch(name: str, fn) -> None:
    setattr(decision, name, fn)
    if name == "stance_values":
        quarter.stance_values = fn


#: (label, parameters held, kernel replacements)
VARIANTS = [
    ("shipped mechanisms", {}, {}),
    ("defiance_route 0", {"defiance_route": 0.0}, {}),
    ("defiance_neutral 0", {"defiance_neutral": 0.0}, {}),
    ("defiance_neutral 0.25", {"defiance_neutral": 0.25}, {}),
    ("leverage x means", {}, {"leverage": _leverage_by_means}),
    ("fiscal self-reliance 0.4", {"self_reliance": 0.4}, {"effective_threat": _threats_not_absorbed}),
    ("fiscal self-reliance 0.6", {"self_reliance": 0.6}, {"effective_threat": _threats_not_absorbed}),
    ("absolute self-reliance 0.15", {"self_reliance": 0.15}, {"effective_threat": _threats_absorbed_up_to_capacity, "stance_values": _values_without_fiscal_relief}),
    ("absolute self-reliance 0.3", {"self_reliance": 0.3}, {"effective_threat": _threats_absorbed_up_to_capacity, "stance_values": _values_without_fiscal_relief}),
]


def refit(i: int) -> str:
    """Refit variant ``i`` (in a worker process, which its kernel replacements stay in) and format its row."""
    label, held, kernel = VARIANTS[i]
    for name, fn in kernel.items():
        _patch(name, fn)
    problem, x0 = fixed_problem(held)
    res = polish(problem, x0)
    parts = problem.evaluate_many(res["x"][None])[0]
    share, modal, n_years = tkm_in_csto(problem, res["x"])
    return f"| {label} | {res['fun']:.4f} | {parts['hit_UZB']:.0%} / {parts['hit_KAZ']:.0%} | {share:.2f} | {modal} of {n_years} |"


def main() -> None:
    print("| variant (every client; the rest refitted) | objective | UZB / KAZ hit rate | TKM in the CSTO, mean 1996-2011 | modal member years |")
    print("|---|---|---|---|---|")
    with ProcessPoolExecutor(2, max_tasks_per_child=1) as pool:  # a fresh process per variant: no replacement leaks into the next
        for row in pool.map(refit, range(len(VARIANTS))):
            print(row, flush=True)


if __name__ == "__main__":
    main()
