"""Loading a scenario: resolve its ``extends`` chain, apply ``--set`` overrides, validate it, and
report the first problem as one :class:`~sim.errors.ScenarioError` naming the file, line and field.

A scenario can come from a YAML file or from a mapping (``load_scenario({...})``): a mapping's
relative driver and parent paths are taken from ``base_dir`` (default: the current folder).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import ScenarioError
from sim.kernel.params import ModelParams, Protection, ThreatTable
from sim.scenario.resolve import Origin, deep_merge, locate, resolve
from sim.scenario.schema import ClientInputs, Driver, Drivers, Instrument, PatronInputs, Scenario, Shock, _LocatedError

#: What :func:`load_scenario` reads: a scenario file, or a scenario mapping.
Source = str | Path | Mapping[str, Any]


def _friendly_loc(data: Any, loc: tuple[Any, ...]) -> str:
    """A dotted field path, naming shocks and instruments by id rather than list index."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(node, list) and isinstance(p, int) and p < len(node) and isinstance(node[p], dict) and "id" in node[p]:
            parts.append(str(node[p]["id"]))
        else:
            parts.append(str(p))
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts)

def validate_data(data: Any, origin: Origin, path: str | Path, set_paths: dict[tuple[Any, ...], str] | None = None, set_by: str = "--set") -> Scenario:
    """Validate raw scenario data, turning the first problem into a located ``ScenarioError``.

    Args:
        data: The (resolved) scenario mapping.
        origin: File and line of each key path (see :mod:`sim.scenario.resolve`).
        path: The file the user named (used when no origin is known).
        set_paths: Key paths set on the command line, with their ``--set`` text.
        set_by: What set them, for the message (``--set``, or a sweep's design).
    """
    if not isinstance(data, dict):
        raise ScenarioError(path, "a scenario must be a YAML mapping", line=1)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _LocatedError):
            loc = loc + ctx_err.loc if ctx_err.relative else ctx_err.loc
        msg = str(ctx_err) if ctx_err is not None else err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field '{loc[-1]}'"
        elif err["type"] == "missing":
            msg = f"required field '{loc[-1]}' is missing"
        elif "input" in err and err["type"] not in ("value_error",) and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        field = _friendly_loc(data, loc) or None
        for n in range(len(loc), 0, -1):
            if set_paths and loc[:n] in set_paths:
                raise ScenarioError(path, msg + f" (set by {set_by} {set_paths[loc[:n]]})", field=field) from None
        where, line = locate(origin, loc)
        raise ScenarioError(where or path, msg, line=line, field=field) from None

def apply_set(data: dict[str, Any], assignment: str) -> tuple[Any, ...]:
    """Apply one ``KEY=VALUE`` override (dotted path; shocks by id) to raw scenario data.

    Returns:
        The key path (with list indices) that was set.

    Raises:
        ScenarioError: if the assignment is malformed or names no known field.
    """
    import yaml

    if "=" not in assignment:
        raise ScenarioError("--set", f"expected KEY=VALUE, got '{assignment}'")
    key, raw = assignment.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ScenarioError("--set", f"empty key in '{assignment}'")
    if parts[0] == "params":
        data["params"] = deep_merge(ModelParams().model_dump(mode="json"), data.get("params") or {})
    node: Any = data
    model: Any = Scenario
    loc: list[Any] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        fields = getattr(model, "model_fields", None) if model is not None else None
        if isinstance(node, list):
            idx = next((j for j, el in enumerate(node) if isinstance(el, dict) and str(el.get("id")) == part), None)
            if idx is None:
                raise ScenarioError("--set", f"unknown path '{key}': no item with id '{part}'", field=key)
            loc.append(idx)
            node = node[idx]
            model = _item_model(model)
            if last:
                raise ScenarioError("--set", f"path '{key}' names a whole item; set one of its fields", field=key)
            continue
        if not isinstance(node, dict):
            raise ScenarioError("--set", f"unknown path '{key}'", field=key)
        keyed = isinstance(model, tuple) and model[0] == "dict"
        known = part in node or (not keyed and fields is not None and part in fields)
        if not known:
            raise ScenarioError("--set", f"unknown path '{key}' ('{part}' is not a field here)", field=key)
        loc.append(part)
        if last:
            # a whole mapping is merged into what is there (``--set 'params={tau: 2}'`` changes tau only)
            node[part] = deep_merge(node[part], value) if isinstance(value, dict) and isinstance(node.get(part), dict) else value
            break
        if part not in node or node[part] is None:
            node[part] = {}
        node = node[part]
        model = model[1] if keyed else _child_model(model, part)
    return tuple(loc)

def _child_model(model: Any, field: str) -> Any:
    table: dict[tuple[Any, str], Any] = {
        (Scenario, "params"): ModelParams,
        (Scenario, "drivers"): Drivers,
        (Scenario, "clients"): ("dict", ClientInputs),
        (Scenario, "patrons"): ("dict", PatronInputs),
        (Scenario, "shocks"): ("list", Shock),
        (Scenario, "instruments"): ("list", Instrument),
        (ModelParams, "protection"): Protection,
        (Protection, "RUS"): ThreatTable,
        (Protection, "WEST"): ThreatTable,
        (Protection, "CHN"): ThreatTable,
    } | {(Drivers, name): Driver for name in Drivers.model_fields}
    return table.get((model, field))

def _item_model(model: Any) -> Any:
    return model[1] if isinstance(model, tuple) and model[0] == "list" else None

def resolve_data(source: Source, overrides: list[str] | None = None, base_dir: str | Path | None = None) -> tuple[dict[str, Any], Origin, dict[tuple[Any, ...], str]]:
    """The raw scenario mapping after ``extends`` and ``--set`` overrides, with origins."""
    data, origin = resolve(source, base=base_dir)
    params = data.get("params")
    if isinstance(params, dict):  # a nested parameter set in YAML (params.protection.RUS.unrest) keeps its siblings' defaults
        defaults = ModelParams().model_dump(mode="json")
        for k, v in params.items():
            if isinstance(v, dict) and isinstance(defaults.get(k), dict):
                params[k] = deep_merge(defaults[k], v)
    set_paths: dict[tuple[Any, ...], str] = {}
    for a in overrides or []:
        set_paths[apply_set(data, a)] = a
    return data, origin, set_paths

def load_scenario(source: Source, overrides: list[str] | None = None, base_dir: str | Path | None = None) -> Scenario:
    """Load, resolve (``extends``), override and validate a scenario.

    Args:
        source: A YAML file, or a scenario mapping (e.g. another scenario's ``model_dump()``).
        overrides: ``KEY=VALUE`` assignments by dotted path (``params.tau=2``,
            ``shocks.andijan.magnitude=0``).
        base_dir: For a mapping, the folder its relative paths start from (default: the current one).

    Raises:
        ScenarioError: naming the file, line and field of the first problem.

    Example:
        >>> scn = load_scenario("scenarios/history.yaml", ["params.tau=2"])
        >>> scn.params.tau, scn.name
        (2.0, 'history')
    """
    data, origin, set_paths = resolve_data(source, overrides, base_dir)
    path = _label(source, base_dir)
    scenario = validate_data(data, origin, path, set_paths)
    for name in Drivers.model_fields:
        drv: Driver = getattr(scenario.drivers, name)
        if not Path(drv.file).is_file():
            where, line = locate(origin, ("drivers", name, "file"))
            raise ScenarioError(where or path, f"driver file not found: {drv.file}", line=line, field=f"drivers.{name}.file")
    return scenario


def _label(source: Source, base_dir: str | Path | None) -> str | Path:
    """What an error names as the scenario's file."""
    return source if not isinstance(source, Mapping) else f"<scenario mapping in {Path(base_dir or Path.cwd()).resolve()}>"

def resolved_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML: exactly what runs."""
    import yaml

    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)

def scenario_hash(scenario: Scenario) -> str:
    """A SHA-256 of the resolved scenario (driver files included by content)."""
    h = hashlib.sha256(json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode())
    for name in Drivers.model_fields:
        h.update(Path(getattr(scenario.drivers, name).file).read_bytes())
    return h.hexdigest()
