"""omnibalance: an agent-based simulator of geopolitical alignment in Central Asia, 1991-2016.

The public API (:mod:`sim.api`)::

    import sim
    r = sim.run("scenarios/history.yaml", replicates=50, seed=1)
    r.summary.head()          # year-end stance shares per client (pandas)
    r.plot()                  # the alignment fan chart (matplotlib Figure)
    r.save("outputs/mine")    # the files `omnibalance run` writes

Also :func:`load_scenario`, :func:`compare` and :func:`sweep`, and the model's types
(:class:`Scenario`, :class:`ModelParams`, :class:`Rule`, :class:`Stance`, :class:`Client`,
:class:`Patron`). They load on first use, so ``import sim.kernel`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "load_scenario": "sim.api",
    "run": "sim.api",
    "compare": "sim.api",
    "sweep": "sim.api",
    "Results": "sim.api",
    "CompareResults": "sim.api",
    "SweepResults": "sim.api",
    "Scenario": "sim.scenario.schema",
    "ModelParams": "sim.kernel.params",
    "Rule": "sim.kernel.actors",
    "Stance": "sim.kernel.actors",
    "Client": "sim.kernel.actors",
    "Patron": "sim.kernel.actors",
}

__all__ = [
    "CompareResults",
    "Client",
    "ModelParams",
    "Patron",
    "Results",
    "Rule",
    "Scenario",
    "Stance",
    "SweepResults",
    "__version__",
    "compare",
    "load_scenario",
    "run",
    "sweep",
]

if TYPE_CHECKING:
    from sim.api import CompareResults, Results, SweepResults, compare, load_scenario, run, sweep
    from sim.kernel.actors import Client, Patron, Rule, Stance
    from sim.kernel.params import ModelParams
    from sim.scenario.schema import Scenario


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
