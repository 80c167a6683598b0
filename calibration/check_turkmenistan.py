"""What keeps Turkmenistan in the CSTO? Its pulls toward Russia removed, alone and in pairs.

Turkmenistan has no target, so the calibration never sees it, and clients do not interact, so
its path depends only on its own inputs and the global parameters. Each pull can therefore be
removed for a replay of the shipped model without a refit, and read off Turkmenistan alone:

* border guards: no Soviet-era forces at independence (``clients.TKM.soviet_forces`` false), so
  the Russian-forces instrument, and the defiance it adds, is never open to it;
* gas route: its exports never depend on Russia's pipelines (the Russian share of every
  ``export_routes.csv`` row moved to other outlets);
* courting: Russia's extra rents for a client that drifted away (``court`` 0);
* commitment: the utility of the instruments already held (``commitment_bonus`` 0).

The two parameters are global, so those rows change the other clients too; only Turkmenistan is
read. For each variant it prints the share of replicates with Russia in 1991Q4 and in the CST at
the end of 1992, the mean share in the CST/CSTO at the ends of 1996-2011 and the years of that
window in which the modal path is a member. The table is quoted in docs/calibration.md.

Run from the repository root (about half a minute)::

    python calibration/check_turkmenistan.py
"""

from __future__ import annotations

import copy
import csv
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.kernel.actors import CLIENTS, Stance  # noqa: E402
from sim.scenario.loading import validate_data  # noqa: E402
from sim.scenario.resolve import resolve  # noqa: E402
from sim.workflows.causes import common_draws, year_end_runs  # noqa: E402

HISTORY = ROOT / "scenarios" / "history.yaml"
REPLICATES, SEED = 200, 20050513
WINDOW = (1996, 2011)
PULLS = ("border guards", "gas route", "courting", "commitment")


def _no_russian_route(src: Path, dst: Path) -> None:
    """``export_routes.csv`` with Turkmenistan's Russian share moved to ``other`` in every row."""
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    moved = {r["date"]: float(r["share"]) for r in rows if r["iso3c"] == "TKM" and r["route"] == "russia"}
    for r in rows:
        if r["iso3c"] == "TKM" and r["route"] in ("russia", "other"):
            r["share"] = "0.00" if r["route"] == "russia" else f"{float(r['share']) + moved[r['date']]:.2f}"
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def variant(removed: tuple[str, ...], work: Path):
    """The history scenario with the ``removed`` pulls taken away from Turkmenistan."""
    data, origin = resolve(HISTORY)
    data = copy.deepcopy(data)
    params = dict(data.get("params") or {})
    if "border guards" in removed:
        data["clients"]["TKM"]["soviet_forces"] = False
    if "gas route" in removed:
        routes = work / "export_routes_no_russia_tkm.csv"
        _no_russian_route(HISTORY.parent / data["drivers"]["export_routes"]["file"], routes)
        data["drivers"]["export_routes"] = {"file": str(routes), "source": "export_routes.csv without Turkmenistan's Russian outlet"}
    if "courting" in removed:
        params["court"] = 0.0
    if "commitment" in removed:
        params["commitment_bonus"] = 0.0
    data["params"] = params
    return validate_data(data, origin, HISTORY)


def readout(scn) -> tuple[float, float, float, int]:
    """Turkmenistan: share with Russia in the first quarter, in the CST at the end of 1992, mean CSTO share over ``WINDOW``, modal member years."""
    run = year_end_runs(scn, common_draws(REPLICATES, SEED))
    years, c = np.asarray(run["years"]), CLIENTS.index("TKM")
    bloc = run["bloc"][:, :, c].mean(axis=0)
    window = (years >= WINDOW[0]) & (years <= WINDOW[1])
    first = float((run["quarterly"][:, 0, c] == Stance.RUS).mean())
    return first, float(bloc[years == 1992][0]), float(bloc[window].mean()), int((bloc[window] > 0.5).sum())


def main() -> None:
    print(f"| removed | with Russia 1991Q4 | in the CST, end 1992 | in the CSTO, mean {WINDOW[0]}-{WINDOW[1]} | modal member years (of {WINDOW[1] - WINDOW[0] + 1}) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(3):
            for removed in itertools.combinations(PULLS, k):
                first, cst92, mean, modal = readout(variant(removed, Path(tmp)))
                print(f"| {' + '.join(removed) or 'nothing (shipped model)'} | {first:.2f} | {cst92:.2f} | {mean:.2f} | {modal} |")


if __name__ == "__main__":
    main()
