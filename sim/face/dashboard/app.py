"""The student dashboard page: Solara, with Mesa's own model controller for the single run.

Serve it with ``omnibalance dashboard`` (or ``python -m sim.face.dashboard``; ``solara run sim.face.dashboard.app``
works too). The page has two parts:

* the **ensemble views** (stance shares over time, a tile map of the chosen year, de jure vs de
  facto alliances, the fit to history), recomputed from the controls in the sidebar by
  :func:`sim.face.dashboard.run_replicates` (a cached :func:`sim.run`) on the vectorised ensemble runner;
* a **single Mesa run** stepped quarter by quarter with Mesa's ``ModelController`` (Reset, Play,
  Step, the same controls ``SolaraViz`` shows, placed beside the views they drive), using the same scenario and settings: replicate ``r`` of the Mesa model equals replicate
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
from mesa.visualization.solara_viz import ModelController  # noqa: E402  (after the filter, on purpose)
from mesa.visualization.utils import update_counter  # noqa: E402

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
/* One page that scrolls as a whole (Solara's layout scrolls the main area and the sidebar inside
   fixed-height boxes, so a full-page screenshot or print showed only the viewport). */
.solara-content-main { height: auto !important; }
.solara-content-main > .v-content__wrap > div { height: auto !important; max-height: none !important; overflow: visible !important; }
div[style*="height: 100vh"] { height: auto !important; min-height: 100vh; }
.v-navigation-drawer { position: absolute !important; height: auto !important; max-height: none !important; }
.v-navigation-drawer__content { overflow: visible !important; height: auto !important; }
.omni-cmd { font-family: monospace; font-size: 12px; background: #f4f6f7; padding: 6px; white-space: pre-wrap; word-break: break-all; }
"""


class SingleRun(AlignmentModel):
    """The Mesa model as the page builds it: replicate ``replicate`` of root seed ``root_seed``.

    Mesa's ``ModelController`` re-creates the model from keyword arguments when Reset is pressed;
    a text box would hand over a string, hence the ``int`` conversions.
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


@solara.component
def SingleRunViews(model: solara.Reactive[SingleRun]):
    """The Mesa run's map and stance path, redrawn whenever Mesa's controller steps or resets it."""
    update_counter.get()  # Mesa's ModelController bumps this after every step
    m = model.value
    quarter = f"{int(m.calendar.years()[m.step_index - 1])}Q{int(m.calendar.quarters()[m.step_index - 1])}" if m.step_index else "none yet"
    solara.HTML(tag="div", classes=["omni-status"], unsafe_innerHTML=f"Step: {m.step_index} of {m.n_steps} (last quarter run: {quarter})",
                attributes={"data-omni": "single-step", "data-step": str(m.step_index)})
    with solara.Columns([1, 1]):
        solara.Image(d.png_bytes(d.figure_single_run_map(m)), width="100%", classes=["omni-plot-single-map"])
        solara.Image(d.png_bytes(d.figure_single_run_path(m)), width="100%", classes=["omni-plot-single-path"])


@solara.component
def SingleRunPanel(scn: Scenario, root_seed: int, replicates: int, key: str):
    """One replicate of the current settings as a Mesa model, with Mesa's own controls beside its views.

    Replicate ``r`` here is replicate ``r`` of the ensemble (same seed, same numbers).
    """
    exo = solara.use_memo(lambda: compile_scenario(scn), [key])
    replicate = solara.use_reactive(0)
    rep = min(replicate.value, replicates - 1)

    def build():
        try:
            return SingleRun(scenario=scn, root_seed=root_seed, replicate=rep, exo=exo), None
        except Exception as exc:  # the ensemble views above stay usable whatever happens here
            traceback.print_exc(file=sys.stderr)
            return None, f"{type(exc).__name__}: {exc}"

    model, problem = solara.use_memo(build, [key, rep])
    with solara.Card("One replicate, quarter by quarter (Mesa model)"):
        if model is None:
            solara.Error(f"The single-run (Mesa) view is unavailable: {problem}")
            return
        solara.HTML(tag="p", classes=["omni-note"], unsafe_innerHTML=(
            "<b>Step</b> runs one quarter, <b>▶</b> plays, <b>Reset</b> starts again. Replicate <i>r</i> is replicate <i>r</i> "
            "of the ensemble above: same seed, same numbers."))
        with solara.Div(style={"max-width": "480px"}):
            solara.SliderInt(f"Replicate: {rep}", value=rep, min=0, max=max(replicates - 1, 1), on_value=lambda v: replicate.set(int(v)))
        SingleRunControls(model, {"scenario": scn, "root_seed": root_seed, "replicate": rep, "exo": exo}).key(f"mesa-{key}-{rep}")


@solara.component
def SingleRunControls(initial: SingleRun, params: dict[str, Any]):
    """Mesa's ModelController (Reset, play, Step) and the views it drives, for one freshly built model."""
    model = solara.use_reactive(initial)
    play, every, threads = solara.use_reactive(150), solara.use_reactive(1), solara.use_reactive(False)  # ModelController reads them reactively
    with solara.Column():
        with solara.Div(style={"max-width": "320px"}):
            ModelController(model, model_parameters=params, play_interval=play, render_interval=every, use_threads=threads)
        SingleRunViews(model)


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
    notice = solara.use_reactive("")
    last_good = solara.use_ref(None)  # the last scenario that loaded: its controls stay while a bad one is shown

    path = Path(other.value).expanduser() if other.value.strip() else library.get(choice.value, d.HISTORY)
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    base, base_error = solara.use_memo(lambda: _load_base(path), [str(path), mtime])

    def reset_settings(to: str):
        edited = bool(chosen.value or shocks.value or oil.value is not None)
        chosen.set({})
        shocks.set({})
        oil.set(None)
        notice.set(f"Opened {to}: your parameter and shock edits were reset to its own settings." if edited else "")

    def pick(name: str):
        other.set("")
        choice.set(name)
        reset_settings(name)

    def pick_file(text: str):
        other.set(text.strip())
        reset_settings(text.strip() or choice.value)

    def set_seed(v):
        if v is None:
            seed.set(None)
            seed_msg.set("")
        elif int(v) < 0:
            seed_msg.set(f"seed must be non-negative (got {v}); keeping {seed.value if seed.value is not None else 'the scenario seed'}")
        else:
            seed.set(int(v))
            seed_msg.set("")

    if base is not None:
        last_good.current = base
    shown = base if base is not None else last_good.current  # whose controls the sidebar shows
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
    solara.AppBarTitle(TITLE)

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
            source = d.params_source(path)
            Help(f"Scenario's parameters: {'those of ' + source if source else 'the values in the scenario file'} over the documented defaults. "
                 "Hand-set: the documented defaults in sim/kernel/params.py.")
            solara.SliderInt(f"Replicates: {replicates.value}", value=replicates.value, min=10, max=d.MAX_REPLICATES, step=10, on_value=lambda v: replicates.set(int(v)))
            solara.InputInt("Root seed", value=seed.value if seed.value is not None else (shown.seed if shown is not None else 0), on_value=set_seed)
            if seed_msg.value:
                solara.Warning(seed_msg.value, dense=True)
            if notice.value:
                solara.Info(notice.value, dense=True)
        if shown is not None:
            if base is None:
                Help(f"The controls below are {shown.name}'s, the last scenario that loaded; they apply again once a scenario loads.")
            present = {s.id: s for s in shown.shocks}
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
                boom = oil.value if oil.value is not None else Path(shown.drivers.brent.file).resolve() != d.BRENT_LOW.resolve()
                solara.Checkbox(label="Oil boom (Brent 2000-14)", value=boom, on_value=lambda v: oil.set(bool(v)))
                Help(d.OIL_HELP)
            with solara.Card("Parameters"):
                values = {name: _param_value(shown, handset.value, chosen.value, name) for name in d.SLIDER_PARAMS}
                for name in d.SLIDER_PARAMS:
                    spec = d.param_slider(name)
                    lo, hi = d.slider_bounds(name, values)

                    def set_param(v, name=name, spec=spec):
                        # The slider snaps the scenario's value to its step and reports it back: a value within
                        # half a step of the scenario's is the scenario's (no override), so the defaults stay exact.
                        start = float(getattr(ModelParams() if handset.value else shown.params, name))
                        rest = {k: x for k, x in chosen.value.items() if k != name}
                        chosen.set(rest if abs(float(v) - start) <= spec.step / 2 + 1e-9 else {**rest, name: d.clamp(name, v, values)})

                    value = d.clamp(name, values[name], values)
                    solara.SliderFloat(f"{name} = {value:.3g}", value=value, min=lo, max=hi, step=spec.step, on_value=set_param)
                    Help(f"{spec.help} [{spec.lo:g}-{spec.hi:g}]")
                solara.Button("Reset parameters", on_click=lambda: chosen.set({}), text=True, color="primary")

    # ------------------------------------------------------------------ main area: the views
    with solara.Column(style={"padding": "0 8px"}):
        if error is not None:
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
        SingleRunPanel(scn, int(result["seed"]), int(result["replicates"]), result["key"])


page = Page
