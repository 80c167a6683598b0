"""The dashboard's controls: the scenario library, parameter sliders with their documented bounds,
shock switches, and how the controls' settings become ``--set`` overrides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import OmnibalanceError
from sim.kernel.params import ModelParams
from sim.project import project_root
from sim.scenario.schema import EVENT_KINDS

ROOT = project_root()

SCENARIOS = ROOT / "scenarios"

HISTORY = SCENARIOS / "history.yaml"

COUNTERFACTUALS = SCENARIOS / "counterfactuals"

BRENT_HISTORY = SCENARIOS / "data" / "brent_annual_eia.csv"

BRENT_LOW = SCENARIOS / "data" / "brent_held_at_1990s_level.csv"

#: Most replicates the dashboard runs at once (a 1,000-replicate refresh stays under a second).
MAX_REPLICATES = 1000

#: Shocks marked on the time chart when present (and not switched off).
MARKED_SHOCKS = {
    "september_11": "9/11",
    "rose_revolution": "Rose",
    "orange_revolution": "Orange",
    "andijan": "Andijan",
    "medvedev": "Medvedev",
    "crimea": "Crimea",
}

#: The parameters the dashboard has sliders for (bounds and explanations come from :class:`ModelParams`).
SLIDER_PARAMS = ("tau", "rho", "beta", "chi", "gamma", "court", "defiance_ethnic", "defiance_route", "self_reliance", "pressure_base", "hostility", "tie_weight", "noise_sd",
                 "alliance_join", "alliance_exit")

#: Slider pairs that must stay ordered (lower, upper): a defence pact is left below the memory it is joined above.
ORDERED = (("alliance_exit", "alliance_join"),)

_SLIDER_STEP = {"beta": 0.5, "tau": 0.1}

@dataclass(frozen=True)
class ShockGroup:
    """Shocks switched and scaled together by one dashboard control."""

    key: str
    label: str
    ids: tuple[str, ...]
    help: str

SHOCK_GROUPS: tuple[ShockGroup, ...] = (
    ShockGroup("september_11", "9/11 (2001)", ("september_11",), "Western need for Central Asian bases and transit after 9/11."),
    ShockGroup(
        "colour_revolutions",
        "Colour revolutions (2003-05)",
        ("rose_revolution", "orange_revolution", "tulip_revolution", "tulip_revolution_far", "tulip_revolution_kgz"),
        "Contagion from Georgia, Ukraine and Kyrgyzstan (a regime-change threat where the West is hostile), and the Tulip Revolution itself.",
    ),
    ShockGroup("andijan", "Andijan (May 2005)", ("andijan",), "Uprising and massacre in Uzbekistan: unrest, and repression that draws Western pressure."),
    ShockGroup("medvedev", "Medvedev's presidency (2008-12)", ("medvedev", "putin_return"),
               "A change of leader in Moscow breaks Karimov's personal ties with the Kremlin (off: Putin stays; on/off only, its size is tie_weight)."),
)

OIL_HELP = "Brent as history (off: held at its 1991-98 mean from 1999, so Russia's means stay small)."

@dataclass(frozen=True)
class SliderSpec:
    """A bounded slider for one parameter."""

    name: str
    lo: float
    hi: float
    step: float
    help: str

def param_slider(name: str) -> SliderSpec:
    """The slider of parameter ``name``: its documented bounds (``Field(ge/gt, le)``) and one-line description."""
    info = ModelParams.model_fields[name]
    lo, hi = 0.0, 5.0
    step = _SLIDER_STEP.get(name, 0.01)
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = float(m.ge)
        if getattr(m, "gt", None) is not None:
            lo = float(m.gt) + step  # strictly positive: the smallest step above the bound
        if getattr(m, "le", None) is not None:
            hi = float(m.le)
        if getattr(m, "lt", None) is not None:
            hi = float(m.lt) - step  # strictly below: the largest step under the bound
    return SliderSpec(name, lo, hi, step, info.description or "")

def slider_bounds(name: str, values: dict[str, float]) -> tuple[float, float]:
    """Parameter ``name``'s slider range given the other sliders' ``values``: its documented bounds,
    narrowed by a step so that an :data:`ORDERED` pair cannot cross (the model would refuse it)."""
    spec = param_slider(name)
    lo, hi = spec.lo, spec.hi
    for low, high in ORDERED:
        if name == low and high in values:
            hi = min(hi, float(values[high]) - spec.step)
        if name == high and low in values:
            lo = max(lo, float(values[low]) + spec.step)
    return lo, hi

def clamp(name: str, value: float, values: dict[str, float] | None = None) -> float:
    """``value`` held within parameter ``name``'s slider bounds (a hand-typed or stale value cannot escape
    them), and on its side of an :data:`ORDERED` partner whose value is in ``values``."""
    lo, hi = slider_bounds(name, values or {})
    return float(min(max(float(value), lo), hi))

def handset_params() -> dict[str, Any]:
    """The documented hand-set defaults of every parameter (``sim/params.py``), as override values."""
    return ModelParams().model_dump(mode="json")

def _flatten(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(_flatten(f"{prefix}.{k}", v))
        else:
            out[f"{prefix}.{k}"] = v
    return out

def build_overrides(
    base: Any,
    handset: bool = False,
    params: dict[str, float] | None = None,
    shocks: dict[str, tuple[bool, float]] | None = None,
    oil_boom: bool | None = None,
) -> list[str]:
    """The ``--set`` overrides that turn scenario ``base`` into the dashboard's settings.

    Args:
        base: The scenario as loaded without overrides (a :class:`sim.scenario.Scenario`).
        handset: Start from the documented hand-set parameter defaults instead of the scenario's
            (calibrated) parameters.
        params: Parameter values set by the sliders (clamped to their bounds).
        shocks: Per :data:`SHOCK_GROUPS` key, ``(on, magnitude)``; off means magnitude 0. Shocks the
            scenario does not have are ignored.
        oil_boom: ``True`` Brent as history, ``False`` held at its 1990s level, ``None`` the scenario's.

    Returns:
        ``KEY=VALUE`` strings, each path set once, in a stable order.
    """
    current = _flatten("params", base.params.model_dump(mode="json"))
    values: dict[str, Any] = {}
    if handset:
        for k, v in _flatten("params", handset_params()).items():
            if current.get(k) != v:
                values[k] = v
    for name, v in (params or {}).items():
        if name not in ModelParams.model_fields:
            raise OmnibalanceError(f"unknown parameter '{name}'")
        values[f"params.{name}"] = clamp(name, v)
    present = {s.id: s for s in base.shocks}
    for g in SHOCK_GROUPS:
        if g.key not in (shocks or {}):
            continue
        on, magnitude = shocks[g.key]
        for sid in g.ids:
            if sid in present:
                scalable = not (set(present[sid].effects) & set(EVENT_KINDS))  # a leader change happens or not
                m = (float(min(max(float(magnitude), 0.0), 10.0)) if scalable else 1.0) if on else 0.0
                if m != present[sid].magnitude:
                    values[f"shocks.{sid}.magnitude"] = m
    if oil_boom is not None:
        target = BRENT_HISTORY if oil_boom else BRENT_LOW
        if Path(base.drivers.brent.file).resolve() != target.resolve():
            values["drivers.brent.file"] = str(target)
    return [f"{k}={_fmt(v)}" for k, v in values.items()]

def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)

def scenario_question(path: str | Path) -> str:
    """The question a scenario file opens with (``# Question: ...``), else its ``description``."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for i, line in enumerate(lines):
        if line.startswith("# Question:"):
            text = [line.removeprefix("# Question:").strip()]
            for more in lines[i + 1 :]:
                if text[-1].endswith("?") or not more.startswith("# ") or more.startswith("# Historical basis"):
                    break
                text.append(more[2:].strip())
            return " ".join(text)
    for line in lines:
        if line.startswith("description:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return ""

def params_source(path: str | Path) -> str | None:
    """The ``params_file:`` a scenario reads, following its ``extends:`` chain (relative to the
    project when it lies inside it), or ``None`` if it reads none."""
    import yaml

    seen: set[Path] = set()
    p = Path(path).expanduser().resolve()
    while p.is_file() and p not in seen:
        seen.add(p)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return None
        if not isinstance(data, dict):
            return None
        if isinstance(data.get("params_file"), str):
            ref = (p.parent / data["params_file"]).resolve()
            return str(ref.relative_to(ROOT)) if ref.is_relative_to(ROOT) else str(ref)
        if not isinstance(data.get("extends"), str):
            return None
        p = (p.parent / data["extends"]).resolve()
    return None


def scenario_library(extra: str | Path | None = None) -> dict[str, Path]:
    """Scenarios offered by the picker: history, the counterfactual library, and ``extra`` if given."""
    lib = {"history": HISTORY}
    for p in sorted(COUNTERFACTUALS.glob("*.yaml")):
        lib[p.stem] = p
    if extra is not None:
        p = Path(extra).expanduser().resolve()
        if p not in lib.values():
            lib[p.stem if p.stem not in lib else str(p)] = p
    return lib
