"""Shared fixtures and builders: the project's scenarios, a compiled history, and small variants of it."""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.kernel.environment import Environment
from sim.kernel.offers import Offers, patron_offers
from sim.kernel.params import Theta
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario, validate_data
from sim.scenario.resolve import resolve
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "scenarios" / "history.yaml"


def assert_same_runs(a: Any, b: Any) -> None:
    """Two trajectory tables (Arrow or pandas) of the same runs by two engines: every column equal,
    the choice probabilities (``p_*``) to 1e-12. The Mesa agents step with the numpy reference and
    the ensemble with the fused kernel, whose ``exp`` (LLVM's) may differ from numpy's in the last bit."""
    a, b = (t.to_pandas() if hasattr(t, "to_pandas") else t for t in (a, b))
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    probs = [c for c in a.columns if c.startswith("p_")]
    assert probs, "no probability columns"
    assert a.drop(columns=probs).equals(b.drop(columns=probs))
    np.testing.assert_allclose(a[probs].to_numpy(), b[probs].to_numpy(), rtol=0, atol=1e-12)


@pytest.fixture(scope="session")
def history():
    """The validated historical scenario."""
    return load_scenario(HISTORY)


@pytest.fixture(scope="session")
def history_exo(history):
    """The compiled historical scenario."""
    return compile_scenario(history)


def history_text_anywhere() -> str:
    """history.yaml's text with its parameter file made absolute, so a copy loads from any folder."""
    calibrated = ROOT / "calibration" / "calibrated.yaml"
    return HISTORY.read_text(encoding="utf-8").replace("params_file: ../calibration/calibrated.yaml", f"params_file: {calibrated}")


def history_with(shocks: list[dict[str, Any]] | None = None, params: dict[str, Any] | None = None, **fields: Any) -> Scenario:
    """history.yaml (its drivers, clients and instruments) with its shocks replaced by ``shocks`` and
    its parameters by the documented defaults updated with ``params``: a small scenario whose every
    cause the test states itself, independent of the (re)calibrated parameters."""
    data, origin = resolve(HISTORY)
    data = copy.deepcopy(data)
    data["shocks"] = [dict(s) for s in (shocks or [])]
    data["params"] = dict(params or {})
    data.update(fields)
    return validate_data(data, origin, HISTORY)


# ---------------------------------------------------------------------------------------------
# Hand-built environments and offers (every field by name, so a new field gets a neutral zero)
# ---------------------------------------------------------------------------------------------

#: Trailing axes of the Environment and Offers fields beyond ``[b, C]``.
_TRAILING = {"threat": ("K",), "patron_threat": ("P",), "tie_reset": ("P",), "protection": ("P", "K")}
_OFFER_TRAILING = {"rents": ("P",), "courting": ("P",), "protection": ("P", "K"), "sovereignty": ("P",), "exposure": ("P",)}


def _shape(b: int, c: int, trailing: tuple[str, ...]) -> tuple[int, ...]:
    from sim.kernel.actors import N_PATRONS, N_THREATS

    sizes = {"P": N_PATRONS, "K": N_THREATS}
    return (b, c, *(sizes[a] for a in trailing))


def make_environment(b: int = 1, c: int = 1, rng: np.random.Generator | None = None, ranges: dict[str, tuple[float, float]] | None = None,
                     **values: Any) -> Environment:
    """An :class:`Environment` of ``b`` runs and ``c`` clients: ``values`` as given, the rest zero
    (or, with ``rng``, drawn uniformly in ``ranges`` -- default ``[0, 1]`` -- and ``tie_reset`` at random)."""
    from dataclasses import fields

    out = {}
    for f in fields(Environment):
        shape = _shape(b, c, _TRAILING.get(f.name, ()))
        if f.name in values:
            out[f.name] = np.broadcast_to(np.asarray(values[f.name], dtype=bool if f.name == "tie_reset" else float), shape).copy()
        elif f.name == "tie_reset":
            out[f.name] = rng.random(shape) < 0.3 if rng is not None else np.zeros(shape, dtype=bool)
        elif rng is not None:
            lo, hi = (ranges or {}).get(f.name, (0.0, 1.0))
            out[f.name] = rng.uniform(lo, hi, shape)
        else:
            out[f.name] = np.zeros(shape)
    return Environment(**out)


def make_offers(b: int = 1, c: int = 1, rng: np.random.Generator | None = None, **values: Any) -> Offers:
    """:class:`Offers` of ``b`` runs and ``c`` clients: ``values`` as given, the rest zero (or uniform in [0, 1] with ``rng``)."""
    from dataclasses import fields

    out = {}
    for f in fields(Offers):
        shape = _shape(b, c, _OFFER_TRAILING.get(f.name, ("P",)))
        if f.name in values:
            out[f.name] = np.broadcast_to(np.asarray(values[f.name], dtype=float), shape).copy()
        elif rng is not None:
            out[f.name] = rng.uniform(0.0, 1.0, shape)
        else:
            out[f.name] = np.zeros(shape)
    return Offers(**out)


def offers_for(env: Environment, prev: np.ndarray, th: Theta) -> Offers:
    """The patrons' offers in ``env`` (``patron_offers`` with or without last quarter's stances, whichever the kernel takes)."""
    if len(inspect.signature(patron_offers).parameters) == 3:
        return patron_offers(env, prev, th)
    return patron_offers(env, th)
