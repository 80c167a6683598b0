"""What the dashboard shows, computed by :func:`sim.run` (the same numbers as ``omnibalance run``),
cached by settings, and the command line that reproduces it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import OmnibalanceError
from sim.face.dashboard.controls import MARKED_SHOCKS, MAX_REPLICATES, ROOT
from sim.kernel.actors import CLIENTS, STANCES
from sim.kernel.timeline import decimal_date


def run_replicates(scenario_path: str | Path, overrides: Sequence[str] = (), replicates: int = 100, seed: int | None = None) -> dict[str, Any]:
    """Run ``replicates`` replays of a scenario on the ensemble runner and summarise them.

    It calls :func:`sim.run` (no second implementation of a run): replicate ``r`` uses seed
    ``run_seed(seed, r)``, as ``omnibalance run`` does, so the numbers
    equal those of ``omnibalance run SCENARIO -n R --seed S --set ...``. Results are cached by
    scenario file (and its modification time), overrides, replicates and seed: treat them as
    read-only.

    Args:
        scenario_path: A scenario YAML file.
        overrides: ``KEY=VALUE`` assignments as for ``--set``.
        replicates: Number of replicates, 1 to :data:`MAX_REPLICATES`.
        seed: Root seed (default: the scenario's).

    Returns:
        A dict with ``scenario`` (the validated scenario), ``years`` ``[Y]``, ``time`` ``[T]``
        (decimal years), ``shares`` ``[T, C, 4]`` and ``status_shares`` ``[T, C, 3]`` (per quarter),
        ``year_end_shares`` ``[Y, C, 4]`` and ``year_end_status`` ``[Y, C, 3]``, ``fit`` (as
        ``fit.json``), ``shocks`` (marked shocks still switched on), ``seed``,
        ``replicates``, ``seconds`` (compute time of the first, uncached call) and ``key``.

    Raises:
        ScenarioError: if the scenario or an override is invalid (the message names file, line, field).
        OmnibalanceError: if ``replicates`` or ``seed`` is out of range.
    """
    path = Path(scenario_path).expanduser().resolve()
    try:
        replicates = int(replicates)
    except (TypeError, ValueError):
        raise OmnibalanceError(f"replicates must be a whole number, got {replicates!r}") from None
    if not 1 <= replicates <= MAX_REPLICATES:
        raise OmnibalanceError(f"replicates must be between 1 and {MAX_REPLICATES}, got {replicates}")
    if seed is not None:
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise OmnibalanceError(f"seed must be a whole number, got {seed!r}") from None
        if seed < 0:
            raise OmnibalanceError(f"seed must be non-negative, got {seed}")
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    return _run_cached(str(path), mtime, tuple(overrides), replicates, seed)

@functools.lru_cache(maxsize=48)
def _run_cached(path: str, mtime: int, overrides: tuple[str, ...], replicates: int, seed: int | None) -> dict[str, Any]:
    from sim.api import run

    del mtime  # part of the cache key only
    r = run(path, replicates, seed, engine="ensemble", overrides=list(overrides), trajectories=False)
    scn, root = r.scenario, r.seed
    _, ye_steps = scn.calendar.year_end_steps()
    marked = [{"id": s.id, "label": MARKED_SHOCKS[s.id], "time": decimal_date(s.date)} for s in scn.shocks if s.id in MARKED_SHOCKS and s.magnitude > 0]
    key = hashlib.sha256(json.dumps([path, list(overrides), replicates, root]).encode()).hexdigest()[:16]
    return {
        "key": key,
        "scenario": scn,
        "scenario_path": path,
        "overrides": list(overrides),
        "seed": root,
        "replicates": replicates,
        "years": r.years,
        "time": scn.calendar.decimal_years(),
        "shares": r.stance_shares,
        "status_shares": r.status_shares,
        "year_end_shares": r.stance_shares[ye_steps],
        "year_end_status": r.status_shares[ye_steps],
        "fit": r.fit,
        "targets": r.targets,
        "shocks": marked,
        "seconds": r.seconds,
    }

def year_index(result: dict[str, Any], year: int) -> int:
    """Index of ``year`` in ``result['years']``, clamped to the run."""
    years = result["years"]
    year = int(min(max(int(year), int(years[0])), int(years[-1])))
    return int(np.flatnonzero(years == year)[0])

def year_end_table(result: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Year-end stance shares as ``{client: {year: {stance: share}}}`` (rounded to 3 decimals)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for c, code in enumerate(CLIENTS):
        out[code] = {
            str(int(y)): {s: round(float(result["year_end_shares"][i, c, k]), 3) for k, s in enumerate(STANCES)}
            for i, y in enumerate(result["years"])
        }
    return out

def command_line(result: dict[str, Any]) -> str:
    """The ``omnibalance run`` command that reproduces ``result`` (same numbers)."""
    path = Path(result["scenario_path"])
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    parts = ["omnibalance", "run", str(shown), "-n", str(result["replicates"]), "--seed", str(result["seed"])]
    for o in result["overrides"]:
        k, v = o.split("=", 1)
        if k == "drivers.brent.file":
            with contextlib.suppress(ValueError):
                v = str(Path(v).relative_to(ROOT))
        parts += ["--set", f"{k}={v}"]
    return " ".join(parts)
