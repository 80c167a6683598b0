"""Scenario inheritance: ``extends:`` a parent, then edit its shocks and override its fields.

A child scenario may say::

    extends: ../history.yaml
    remove_shocks: [andijan]
    scale_shocks: {orange_revolution: 0.5}
    move_shocks: {medvedev: 2012-05-07}
    add_shocks: [...]
    params: {tau: 2}            # any other field: mappings are merged, values replaced

Every value keeps the file and line it came from, so an error in the resolved
scenario still names the file, line and field that caused it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from sim.errors import ScenarioError
from sim.scenario.yamlio import load_yaml

T = TypeVar("T")

#: Where each key path of a resolved scenario came from: ``(file, line)``.
Origin = dict[tuple[Any, ...], tuple[str, int]]

EDIT_KEYS = ("extends", "remove_shocks", "scale_shocks", "move_shocks", "add_shocks")


def locate(origin: Origin, loc: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """File and line of the longest prefix of ``loc`` that has an origin."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in origin:
            return origin[loc[:n]]
    return None, None


def _absolute_drivers(data: dict[str, Any], base: Path) -> None:
    drivers = data.get("drivers")
    if isinstance(drivers, dict):
        for drv in drivers.values():
            if isinstance(drv, dict) and isinstance(drv.get("file"), str) and not Path(drv["file"]).is_absolute():
                drv["file"] = str(base / drv["file"])


def _err(origin: Origin, loc: tuple[Any, ...], message: str, field: str) -> ScenarioError:
    f, line = locate(origin, loc)
    return ScenarioError(f, message, line=line, field=field)


def _merge(into: dict[str, Any], child: dict[str, Any], origin: Origin, child_origin: Origin, prefix: tuple[Any, ...]) -> None:
    for key, value in child.items():
        here = prefix + (key,)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin, child_origin, here)
        else:
            into[key] = copy.deepcopy(value)
            for k in [k for k in origin if k[: len(here)] == here]:
                del origin[k]
            origin.update({k: v for k, v in child_origin.items() if k[: len(here)] == here})
        if here in child_origin:
            origin[here] = child_origin[here]


def _shock_index(data: dict[str, Any]) -> dict[str, int]:
    return {str(s.get("id")): i for i, s in enumerate(data.get("shocks") or []) if isinstance(s, dict)}


def _reindex_shocks(data: dict[str, Any], origin: Origin, keep: list[int]) -> Origin:
    """Drop shocks not in ``keep`` (old indices, in order) and renumber their origins."""
    new_of = {old: new for new, old in enumerate(keep)}
    out: Origin = {}
    for k, v in origin.items():
        if len(k) >= 2 and k[0] == "shocks" and isinstance(k[1], int):
            if k[1] in new_of:
                out[("shocks", new_of[k[1]]) + k[2:]] = v
        else:
            out[k] = v
    data["shocks"] = [data["shocks"][i] for i in keep]
    return out


def _load_params_file(data: dict[str, Any], origin: Origin, path: Path) -> None:
    """Merge ``params_file:`` (a YAML file with a ``params:`` mapping, e.g. a calibration's
    ``best.yaml``) under the scenario's own ``params:``, which take precedence."""
    if "params_file" not in data:
        return
    ref = data.pop("params_file")
    if not isinstance(ref, str) or not ref:
        raise _err(origin, ("params_file",), "'params_file' must be the path of a YAML file with a 'params:' mapping", "params_file")
    pf = (path.parent / ref).resolve()
    if not pf.is_file():
        raise _err(origin, ("params_file",), f"parameter file not found: {ref}", "params_file")
    pdata, plines = load_yaml(pf)
    if not isinstance(pdata, dict) or not isinstance(pdata.get("params"), dict):
        raise ScenarioError(pf, "a parameter file must hold a 'params:' mapping", line=1, field="params")
    own = data.get("params") or {}
    if not isinstance(own, dict):
        raise _err(origin, ("params",), "'params' must be a mapping", "params")
    data["params"] = deep_merge(pdata["params"], own)
    for k, v in plines.items():
        if k[:1] == ("params",):
            origin.setdefault(k, (str(pf), v))  # the scenario's own params keep their own origin


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` updated by ``over``, recursing into nested mappings."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def resolve(source: str | Path | Mapping[str, Any], _chain: tuple[Path, ...] = (), base: str | Path | None = None) -> tuple[dict[str, Any], Origin]:
    """Read a scenario file (or take a mapping) and resolve its ``extends`` chain into one mapping.

    Args:
        source: A scenario file, or a scenario mapping (no line numbers to report).
        base: For a mapping, the folder its relative paths start from (default: the current one).

    Raises:
        ScenarioError: on a cycle, a missing parent, or an edit naming a shock the parent lacks.
    """
    if isinstance(source, Mapping):
        path = Path(base or Path.cwd()).resolve() / "<mapping>"
        data, origin = copy.deepcopy(dict(source)), {}
    else:
        path = Path(source).resolve()
        data, lines = load_yaml(path)
        if not isinstance(data, dict):
            raise ScenarioError(path, "a scenario must be a YAML mapping", line=1)
        origin = {k: (str(path), v) for k, v in lines.items()}
    _absolute_drivers(data, path.parent)
    _load_params_file(data, origin, path)
    if "extends" not in data:
        for key in EDIT_KEYS[1:]:
            if key in data:
                raise _err(origin, (key,), f"'{key}' needs 'extends:' (a parent scenario to edit)", key)
        return data, origin

    parent_ref = data["extends"]
    if not isinstance(parent_ref, str) or not parent_ref:
        raise _err(origin, ("extends",), "'extends' must be the path of a parent scenario file", "extends")
    parent = (path.parent / parent_ref).resolve()
    if parent == path or parent in _chain:
        names = " -> ".join(p.name for p in (*_chain, path, parent))
        raise _err(origin, ("extends",), f"'extends' cycle: {names}", "extends")
    if not parent.is_file():
        raise _err(origin, ("extends",), f"parent scenario not found: {parent_ref}", "extends")
    merged, morigin = resolve(parent, (*_chain, path))
    merged = copy.deepcopy(merged)
    merged.setdefault("shocks", [])

    # --- shock edits --------------------------------------------------------------------------
    removes = data.get("remove_shocks") or []
    if not isinstance(removes, list):
        raise _err(origin, ("remove_shocks",), "'remove_shocks' must be a list of shock ids", "remove_shocks")
    index = _shock_index(merged)
    for i, sid in enumerate(removes):
        if str(sid) not in index:
            raise _err(origin, ("remove_shocks", i), f"no shock '{sid}' in {parent.name} to remove", f"remove_shocks.{sid}")
    gone = {index[str(s)] for s in removes}
    morigin = _reindex_shocks(merged, morigin, [i for i in range(len(merged["shocks"])) if i not in gone])

    for key in ("scale_shocks", "move_shocks"):
        edits = data.get(key) or {}
        if not isinstance(edits, dict):
            raise _err(origin, (key,), f"'{key}' must map shock ids to values", key)
        index = _shock_index(merged)
        for sid, value in edits.items():
            where = (key, sid)
            if str(sid) not in index:
                raise _err(origin, where, f"no shock '{sid}' in {parent.name} (after removals)", f"{key}.{sid}")
            shock = merged["shocks"][index[str(sid)]]
            if key == "scale_shocks":
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise _err(origin, where, f"scale factor must be a number >= 0, got {value!r}", f"{key}.{sid}")
                shock["magnitude"] = float(shock.get("magnitude", 1.0)) * float(value)
                if where in origin:
                    morigin[("shocks", index[str(sid)], "magnitude")] = origin[where]
            else:
                if not isinstance(value, dt.date):
                    raise _err(origin, where, f"new date must be a date like 2006-05-13, got {value!r}", f"{key}.{sid}")
                shock["date"] = value
                if where in origin:
                    morigin[("shocks", index[str(sid)], "date")] = origin[where]

    adds = data.get("add_shocks") or []
    if not isinstance(adds, list):
        raise _err(origin, ("add_shocks",), "'add_shocks' must be a list of shocks", "add_shocks")
    n0 = len(merged["shocks"])
    for i, shock in enumerate(adds):
        merged["shocks"].append(copy.deepcopy(shock))
        for k, v in origin.items():
            if k[:2] == ("add_shocks", i):
                morigin[("shocks", n0 + i) + k[2:]] = v

    # --- field overrides -----------------------------------------------------------------------
    overrides = {k: v for k, v in data.items() if k not in EDIT_KEYS}
    if "shocks" in overrides:
        raise _err(origin, ("shocks",), "a child scenario edits its parent's shocks with remove_shocks, scale_shocks, move_shocks and add_shocks", "shocks")
    _merge(merged, overrides, morigin, origin, ())
    return merged, morigin


def load_spec_file(path: str | Path, model: type[T]) -> tuple[T, Origin, Path]:
    """Read a spec file (calibration, sweep) into ``model``, with located errors.

    Raises:
        ScenarioError: naming the file, line and field of the first problem.
    """
    from pydantic import ValidationError

    path = Path(path).resolve()
    data, origin = resolve(path)
    try:
        return model.model_validate(data), origin, path
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        ctx = (err.get("ctx") or {}).get("error")
        msg = str(ctx) if ctx is not None else err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field '{loc[-1]}'"
        if not loc and "dimension '" in msg:  # a model-level check that names its dimension
            loc = ("dimensions", msg.split("'")[1])
        f, line = locate(origin, loc)
        raise ScenarioError(f or path, msg, line=line, field=".".join(map(str, loc)) or None) from None
