"""The student dashboard page: Solara, built around Mesa's ``SolaraViz``.

Serve it with ``omnibalance dashboard`` (or ``python -m sim.face.dashboard``; ``solara run sim.face.dashboard.app``
works too). The page has two parts:

* the **ensemble views** (stance shares over time, a tile map of the chosen year, de jure vs de
  facto alliances, the fit to history), recomputed from the controls in the sidebar by
  :func:`sim.face.dashboard.run_replicates` (a cached :func:`sim.run`) on the vectorised ensemble runner;
* a **single Mesa run** stepped quarter by quarter with ``SolaraViz``'s own controls (Reset, Play,
  Step), using the same scenario and settings: replicate ``r`` of the Mesa model equals replicate
  ``r`` of the ensemble (same seed, same numbers).

All numbers and drawings come from :mod:`sim.face.dashboard`; this module only lays them out. A scenario
that fails validation shows its one-line error (file, line, field) in the page and the controls
keep working.
"""

from __future__ import annotations

import html
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import solara

from sim.engines.model import AlignmentModel
from sim.errors import OmnibalanceError
from sim.face import dashboard as d
from sim.kernel.params import ModelParams
from sim.kernel.randomness import run_seed
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario

# mesa 3.3's own ComponentsView trips Solara's hook check when it is defined; the warning is about
# Mesa's code, not this page's, so keep it out of the server log (mesa.visualization is imported below).
warnings.filterwarnings("ignore", message=r"(?s).*ComponentsView: `use_state` found despite early return", category=UserWarning)
from mesa.visualization import Slider, SolaraViz  # noqa: E402  (after the filter, on purpose)

TITLE = "omnibalance: Central Asian alignments, 1991-2016"
DEFAULT_YEAR = 2006
PARAM_SETS = ("scenario's parameters", "hand-set defaults")

CSS = """
.omni-table { border-collapse: collapse; font-size: 13px; width: 100%; }
.omni-table th, .omni-table td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left; }
.omni-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.omni-help { font-size: 11.5px; color: #666; margin: 0 0 10px 0; line-height: 1.25; }
.omni-note { font-size: 12px; color: #666; }
.omni-status { font-size: 13px; color: #333; }
.omni-cmd { font-family: monospace; font-size: 12px; background: #f4f6f7; padding: 6px; white-space: pre-wrap; word-break: break-all; }
"""


class SingleRun(AlignmentModel):
    """The Mesa model as SolaraViz builds it: replicate ``replicate`` of root seed ``root_seed``.

    ``SolaraViz`` re-creates the model from keyword arguments when Reset is pressed; its seed
    box would hand over a string, hence the ``int`` conversions.
    """

    def __init__(self, scenario: Scenario, root_seed: int | str = 0, replicate: int | str = 0, exo: Any = None) -> None:
        self.replicate = int(replicate)
        self.root_seed = int(root_seed)
        super().__init__(scenario, run_seed(self.root_seed, self.replicate), exo=exo)
        self.calendar = scenario.calendar  # what the drawings read (not Mesa's own ``scenario`` slot)


def _param_value(base: Scenario, handset: bool, chosen: dict[str, float], name: str) -> float:
    if name in chosen:
        return d.clamp(name, chosen[name])
    source = ModelParams() if handset else base.params
    return d.clamp(name, float(getattr(source, name)))


def _load_base(path: Path) -> tuple[Scenario | None, str | None]:
    try:
        return load_scenario(path), None
    except OmnibalanceError as exc:
        return None, str(exc)
    except Exception as exc:  # an unexpected failure still shows as one line, never a stack trace
        traceback.print_exc(file=sys.stderr)
        return None, f"{path}: could not load the scenario ({type(exc).__name__}: {exc})"


def _compute(path: Path, overrides: list[str], replicates: int, seed: int | None) -> tuple[dict | None, str | None]:
    try:
        return d.run_replicates(path, overrides, replicates, seed), None
    except OmnibalanceError as exc:
        return None, str(exc)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return None, f"could not run the scenario ({type(exc).__name__}: {exc})"


@solara.component
def Chart(make, key: str, css_class: str):
    """A matplotlib figure drawn once per ``key`` and shown as a PNG scaled to its column."""
    png = solara.use_memo(lambda: d.png_bytes(make()), [key])
    with solara.Div(classes=[css_class]):
        solara.Image(png, width="100%")


def Help(text: str):
    """A one-line explanation under a control."""
    return solara.HTML(tag="div", unsafe_innerHTML=html.escape(text), classes=["omni-help"])


def single_run_map(model: SingleRun):
    """SolaraViz component: the tile map of the quarter the Mesa run has reached."""
    return solara.Image(d.png_bytes(d.figure_single_run_map(model)), width="100%")


def single_run_path(model: SingleRun):
    """SolaraViz component: the stance path of the Mesa run so far."""
    return solara.Image(d.png_bytes(d.figure_single_run_path(model)), width="100%")


@solara.component
def SingleRunPanel(scn: Scenario, root_seed: int, replicates: int, key: str):
    """Mesa's SolaraViz for one replicate of the current settings (re-created when they change)."""
    exo = solara.use_memo(lambda: compile_scenario(scn), [key])

    def build():
        try:
            return SingleRun(scenario=scn, root_seed=root_seed, replicate=0, exo=exo), None
        except Exception as exc:  # the ensemble views above stay usable whatever happens here
            traceback.print_exc(file=sys.stderr)
            return None, f"{type(exc).__name__}: {exc}"

    model, problem = solara.use_memo(build, [key])
    if model is None:
        solara.AppBarTitle(TITLE)
        solara.Error(f"The single-run (Mesa) view is unavailable: {problem}")
        return
    SolaraViz(
        model,
        components=[(single_run_map, 0), (single_run_path, 0)],
        model_params={
            "scenario": scn,
            "exo": exo,
            "root_seed": root_seed,
            "replicate": Slider("Replicate to step through (then Reset)", 0, 0, max(replicates - 1, 1), 1),
        },
        name=TITLE,
        play_interval=150,
    ).key(f"viz-{key}")


@solara.component
def Page():
    extra = os.environ.get(d.SCENARIO_ENV) or None
    library = solara.use_memo(lambda: d.scenario_library(extra), [extra])
    first = "history"
    if extra:
        first = next((k for k, p in library.items() if p == Path(extra).resolve()), "history")
    choice = solara.use_reactive(first)
    other = solara.use_reactive("")
    handset = solara.use_reactive(False)
    chosen = solara.use_reactive({})
    shocks = solara.use_reactive({})
    oil = solara.use_reactive(None)
    replicates = solara.use_reactive(100)
    seed = solara.use_reactive(None)
    seed_msg = solara.use_reactive("")
    year = solara.use_reactive(DEFAULT_YEAR)

    path = Path(other.value).expanduser() if other.value.strip() else library.get(choice.value, d.HISTORY)
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    base, base_error = solara.use_memo(lambda: _load_base(path), [str(path), mtime])

    def reset_settings():
        chosen.set({})
        shocks.set({})
        oil.set(None)

    def pick(name: str):
        other.set("")
        choice.set(name)
        reset_settings()

    def pick_file(text: str):
        other.set(text.strip())
        reset_settings()

    def set_seed(v):
        if v is None:
            seed.set(None)
            seed_msg.set("")
        elif int(v) < 0:
            seed_msg.set(f"seed must be non-negative (got {v}); keeping {seed.value if seed.value is not None else 'the scenario seed'}")
        else:
            seed.set(int(v))
            seed_msg.set("")

    result, error = None, base_error
    overrides: list[str] = []
    if base is not None:
        try:
            overrides = d.build_overrides(base, handset.value, chosen.value, shocks.value, oil.value)
        except OmnibalanceError as exc:
            error = str(exc)
        if error is None:
            result, error = _compute(path, overrides, replicates.value, seed.value)

    solara.Style(CSS)
    solara.Title("omnibalance dashboard")

    # ------------------------------------------------------------------ sidebar: the controls
    with solara.Sidebar():
        with solara.Card("Scenario"):
            solara.Select(label="Scenario (history or a counterfactual)", value=choice.value if not other.value else None, values=list(library), on_value=pick)
            if base is not None:
                Help(d.scenario_question(path))
            solara.InputText("…or a scenario file (path, then Enter)", value=other.value, on_value=pick_file)
            solara.ToggleButtonsSingle(
                value=PARAM_SETS[1] if handset.value else PARAM_SETS[0], values=list(PARAM_SETS),
                on_value=lambda v: (handset.set(v == PARAM_SETS[1]), chosen.set({})), dense=True,
            )
            Help("Scenario's parameters: the calibrated ones history.yaml reads. Hand-set: the documented defaults in sim/params.py.")
            solara.SliderInt(f"Replicates: {replicates.value}", value=replicates.value, min=10, max=d.MAX_REPLICATES, step=10, on_value=lambda v: replicates.set(int(v)))
            solara.InputInt("Root seed", value=seed.value if seed.value is not None else (base.seed if base is not None else 0), on_value=set_seed)
            if seed_msg.value:
                solara.Warning(seed_msg.value, dense=True)
        if base is not None:
            present = {s.id: s for s in base.shocks}
            with solara.Card("Key shocks"):
                for g in d.SHOCK_GROUPS:
                    ids = [i for i in g.ids if i in present]
                    if not ids:
                        solara.Checkbox(label=f"{g.label}: not in this scenario", value=False, disabled=True)
                        continue
                    on, mag = shocks.value.get(g.key, (True, float(present[ids[0]].magnitude)))

                    def set_on(v, g=g, mag=mag):
                        shocks.set({**shocks.value, g.key: (bool(v), mag)})

                    def set_mag(v, g=g, on=on):
                        shocks.set({**shocks.value, g.key: (on, float(v))})

                    solara.Checkbox(label=g.label, value=on, on_value=set_on)
                    solara.SliderFloat(f"size × {mag:.2f}" if on else "size (switched off)", value=mag, min=0.0, max=3.0, step=0.05,
                                       on_value=set_mag, disabled=not on)
                    Help(g.help)
                boom = oil.value if oil.value is not None else Path(base.drivers.brent.file).resolve() != d.BRENT_LOW.resolve()
                solara.Checkbox(label="Oil boom (Brent 2000-14)", value=boom, on_value=lambda v: oil.set(bool(v)))
                Help(d.OIL_HELP)
            with solara.Card("Parameters"):
                for name in d.SLIDER_PARAMS:
                    spec = d.param_slider(name)

                    def set_param(v, name=name, spec=spec):
                        # The slider snaps the scenario's value to its step and reports it back: a value within
                        # half a step of the scenario's is the scenario's (no override), so the defaults stay exact.
                        start = float(getattr(ModelParams() if handset.value else base.params, name))
                        rest = {k: x for k, x in chosen.value.items() if k != name}
                        chosen.set(rest if abs(float(v) - start) <= spec.step / 2 + 1e-9 else {**rest, name: d.clamp(name, v)})

                    value = _param_value(base, handset.value, chosen.value, name)
                    solara.SliderFloat(f"{name} = {value:.3g}", value=value, min=spec.lo, max=spec.hi, step=spec.step, on_value=set_param)
                    Help(f"{spec.help} [{spec.lo:g}-{spec.hi:g}]")
                solara.Button("Reset parameters", on_click=lambda: chosen.set({}), text=True, color="primary")

    # ------------------------------------------------------------------ main area: the views
    with solara.Column(style={"padding": "0 8px"}):
        if error is not None:
            solara.AppBarTitle(TITLE)
            solara.Error(f"This scenario cannot be run: {error}", icon=True)
            solara.Info("Fix the file, or pick another scenario in the sidebar; the dashboard keeps working.")
            return
        assert result is not None and base is not None
        scn = result["scenario"]
        yr = int(min(max(year.value, int(result["years"][0])), int(result["years"][-1])))
        solara.HTML(
            tag="div",
            classes=["omni-status"],
            unsafe_innerHTML=(
                f"<b>{html.escape(scn.name)}</b>: {result['replicates']} replicates, seed {result['seed']}, "
                f"{'hand-set' if handset.value else 'scenario'} parameters; computed in {result['seconds']:.2f} s on the ensemble runner. "
                f"<span class='omni-note'>{html.escape(d.scenario_question(path))}</span>"
            ),
            attributes={"data-omni": "status", "data-key": result["key"], "data-seconds": f"{result['seconds']:.3f}"},
        )
        with solara.Columns([11, 8]):
            with solara.Column():
                Chart(lambda: d.figure_shares(result, yr), f"{result['key']}-{yr}", "omni-plot-shares")
            with solara.Column():
                solara.SliderInt(f"Year: {yr}", value=yr, min=int(result["years"][0]), max=int(result["years"][-1]), on_value=lambda v: year.set(int(v)))
                i = d.year_index(result, yr)
                Chart(
                    lambda: d.figure_map(result["year_end_shares"][i], result["year_end_status"][i], f"Modal stance at the end of {yr}"),
                    f"{result['key']}-{yr}", "omni-plot-map",
                )
                Chart(lambda: d.figure_alliance(result, yr), f"{result['key']}-{yr}", "omni-plot-alliance")
        with solara.Columns([1, 1]):
            with solara.Card(f"Stance shares at the end of {yr}"):
                solara.HTML(tag="div", unsafe_innerHTML=d.shares_table_html(result, yr))
            with solara.Card("Fit to history (these settings)"):
                solara.HTML(tag="div", unsafe_innerHTML=d.fit_html(result))
        with solara.Card("The same run from the command line"):
            solara.HTML(tag="div", classes=["omni-cmd"], unsafe_innerHTML=html.escape(d.command_line(result)))
        # (solara.Markdown would pull KaTeX, which solara-assets does not ship: plain HTML stays offline)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                "<h3>One replicate, quarter by quarter (Mesa model)</h3><p class='omni-note'>Use <b>Step</b> or <b>▶</b> under "
                "<i>Controls</i> at the bottom of the sidebar; <i>Model Parameters</i> there picks the replicate (press <b>Reset</b> "
                "to load it). Replicate <i>r</i> here is replicate <i>r</i> of the ensemble above: same seed, same numbers.</p>"
            ),
        )
        SingleRunPanel(scn, int(result["seed"]), int(result["replicates"]), result["key"])


page = Page
