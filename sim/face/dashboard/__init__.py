"""The student dashboard: a Solara page with Mesa's model controller for a single run.

``omnibalance dashboard`` (or ``python -m sim.face.dashboard``) serves the page of
:mod:`~sim.face.dashboard.app` on 127.0.0.1. Everything the page shows is computed and drawn by
plain functions, without Solara, so it can be tested and used from Python directly
(``docs/tutorial.md`` does):

* :mod:`~sim.face.dashboard.controls`: the scenario library, sliders and shock switches, and
  :func:`build_overrides`, which turns the controls into ``--set`` overrides;
* :mod:`~sim.face.dashboard.results`: :func:`run_replicates`, a cached call of :func:`sim.run`;
* :mod:`~sim.face.dashboard.figures` and :mod:`~sim.face.dashboard.tables`: the views;
* :mod:`~sim.face.dashboard.server`: :func:`serve`.

The Solara packages are an optional extra (``pip install -e ".[dashboard]"``); only ``app`` and
:func:`serve` import them.
"""

from sim.face.dashboard.controls import (
    BRENT_HISTORY,
    BRENT_LOW,
    COUNTERFACTUALS,
    HISTORY,
    MARKED_SHOCKS,
    MAX_REPLICATES,
    OIL_HELP,
    ROOT,
    SCENARIOS,
    SHOCK_GROUPS,
    SLIDER_PARAMS,
    ShockGroup,
    SliderSpec,
    build_overrides,
    clamp,
    handset_params,
    param_slider,
    params_source,
    scenario_library,
    scenario_question,
    slider_bounds,
)
from sim.face.dashboard.figures import (
    figure_alliance,
    figure_map,
    figure_shares,
    figure_single_run_map,
    figure_single_run_path,
    png_bytes,
)
from sim.face.dashboard.results import command_line, run_replicates, year_end_table, year_index
from sim.face.dashboard.server import DEFAULT_PORT, SCENARIO_ENV, free_port, main, serve
from sim.face.dashboard.tables import fit_html, shares_table_html

__all__ = [
    "BRENT_HISTORY", "BRENT_LOW", "COUNTERFACTUALS", "DEFAULT_PORT", "HISTORY", "MARKED_SHOCKS", "MAX_REPLICATES", "OIL_HELP", "ROOT",
    "SCENARIOS", "SCENARIO_ENV", "SHOCK_GROUPS", "SLIDER_PARAMS", "ShockGroup", "SliderSpec", "build_overrides", "clamp", "command_line",
    "figure_alliance", "figure_map", "figure_shares", "figure_single_run_map", "figure_single_run_path", "fit_html", "free_port",
    "handset_params", "main", "param_slider", "params_source", "png_bytes", "run_replicates", "scenario_library", "scenario_question", "serve",
    "shares_table_html", "slider_bounds", "year_end_table", "year_index",
]
