"""Scenario discovery on a finished sweep: under which inputs does an outcome of the user's choice hold?

``omnibalance analyze SWEEP --method prim --outcome "event_UZB_2005 <= 2006"`` marks every run in
which the condition holds and runs the Patient Rule Induction Method (Friedman & Fisher 1999) of
the EMA Workbench (Kwakkel 2017) on the design inputs: PRIM peels the input space into a sequence
of ever smaller boxes, each with its **coverage** (the share of all runs where the outcome holds
that fall in the box) and **density** (the share of runs in the box where it holds). The reported
box is the one of highest coverage whose density reaches ``threshold``.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.kernel.timeline import decimal_date
from sim.workflows.outputs import write_csv, write_json
from sim.workflows.sweep.analyze import design_value, finished_sweep
from sim.workflows.sweep.spec import Dimension

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*$|^\s*([A-Za-z_][A-Za-z0-9_.]*)\s+is\s+(not\s+)?null\s*$")


def outcome_mask(table: Any, condition: str) -> np.ndarray:
    """Per run, whether ``condition`` holds: ``COLUMN OP NUMBER`` (``<``, ``<=``, ``>``, ``>=``, ``==``,
    ``!=``) or ``COLUMN is null`` / ``COLUMN is not null`` (an event that does not happen is null).

    Raises:
        OmnibalanceError: for a malformed condition or an unknown column (the message lists them).
    """
    m = _CONDITION.match(condition)
    if not m:
        raise OmnibalanceError(f"--outcome '{condition}': expected COLUMN OP NUMBER (e.g. 'event_UZB_2005 <= 2006', 'share_UZB_RUS > 0.5') "
                               "or 'COLUMN is null'")
    column = m.group(1) or m.group(4)
    outcomes = [c for c in table.column_names if c.startswith(("share_", "event_"))]
    if column not in table.column_names or column not in outcomes:
        raise OmnibalanceError(f"--outcome '{condition}': unknown outcome '{column}' (one of {', '.join(outcomes)})")
    values = table.column(column).to_numpy(zero_copy_only=False).astype(float)  # nulls become nan
    if m.group(4):
        return ~np.isnan(values) if m.group(5) else np.isnan(values)
    with np.errstate(invalid="ignore"):
        return _OPS[m.group(2)](values, float(m.group(3))) & ~np.isnan(values)


def _readable(dim: Dimension, v: Any) -> float:
    """A design value on a scale a reader knows: dates as decimal years, otherwise as the analysis reads it."""
    if dim.range is not None and isinstance(dim.range[0], dt.date):
        return decimal_date(dt.date.fromisoformat(v) if isinstance(v, str) else v)
    return design_value(dim, v)


#: The workbench's threshold for a 0/1 outcome: every box holding a case of interest reaches it.
_ANY_CASE = 1e-9


def discover(out: Path, condition: str, threshold: float = 0.8) -> dict[str, Any]:
    """PRIM scenario discovery on the sweep in ``out``; writes ``prim_trajectory.csv`` (every box of
    the peeling), ``prim_box.csv`` (the chosen box's limits), ``prim.json`` and ``prim.png``.

    Args:
        out: A finished sweep folder.
        condition: The outcome, see :func:`outcome_mask`.
        threshold: Least density of the reported box; when no box of the peeling reaches it, the
            densest box is reported and ``reached`` is false.

    Raises:
        OmnibalanceError: if the outcome never or always holds (nothing to discover), or as
            :func:`outcome_mask` and :func:`~sim.workflows.sweep.analyze.finished_sweep`.
    """
    import pandas as pd

    if not 0 < threshold <= 1:
        raise OmnibalanceError(f"--threshold {threshold}: must be in (0, 1]")
    out = Path(out)
    spec, manifest, table = finished_sweep(out)
    y = outcome_mask(table, condition)
    if y.all() or not y.any():
        raise OmnibalanceError(f"--outcome '{condition}' holds in {'every' if y.all() else 'no'} run of {out}: there is no condition to discover")
    names = list(spec.dimensions)
    design = np.array([[_readable(spec.dimensions[n], p[n]) for n in names] for p in manifest["design_points"]])
    X = pd.DataFrame(design[table.column("point").to_numpy()], columns=names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the workbench warns about optional parallel back ends it does not need here
        from ema_workbench.analysis import prim

        # The workbench returns only its whole-design "dump box" when the last box of the peeling
        # misses its threshold, so it is given the lowest one (a box with any case of interest is
        # kept) and the reported box is chosen from the whole peeling trajectory here.
        box = prim.Prim(X, y, threshold=_ANY_CASE).find_box()
    traj = box.peeling_trajectory
    ok = traj.index[traj["density"] >= threshold]
    reached = bool(len(ok))
    chosen = int(traj.loc[ok, "coverage"].idxmax()) if reached else int(traj["density"].idxmax())
    lims = box.box_lims[chosen]
    full = box.box_lims[0]
    limits = [{"input": n, "low": float(lims[n].iloc[0]), "high": float(lims[n].iloc[1]), "design_low": float(full[n].iloc[0]), "design_high": float(full[n].iloc[1]),
               "restricted": bool(lims[n].iloc[0] > full[n].iloc[0] or lims[n].iloc[1] < full[n].iloc[1])} for n in names]
    rows = [{k: (float(v) if k in ("coverage", "density", "mass") else int(v)) for k, v in r.items() if k in ("id", "coverage", "density", "mass", "res_dim", "n")}
            for r in traj.to_dict("records")]
    write_csv(out / "prim_trajectory.csv", rows, ["id", "coverage", "density", "mass", "res_dim", "n"])
    write_csv(out / "prim_box.csv", limits, ["input", "low", "high", "design_low", "design_high", "restricted"])
    result = {"outcome": condition, "threshold": threshold, "reached": reached, "runs": int(len(y)), "share_holding": float(y.mean()), "box": int(chosen),
              "coverage": float(traj.loc[chosen, "coverage"]), "density": float(traj.loc[chosen, "density"]), "mass": float(traj.loc[chosen, "mass"]),
              "limits": limits, "dates_as": "decimal years"}
    write_json(out / "prim.json", result)
    from sim.face.plots.sensitivity import plot_prim

    plot_prim(rows, chosen, limits, condition, out / "prim.png")
    return result
