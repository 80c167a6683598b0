"""Inputs the first audit (issue 14) found silently accepted, now refused at their line or given a
documented meaning: dates beyond the driver data, duplicate keys, whole mappings set at once,
nested YAML overrides, shock sizes out of range."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario.loading import load_scenario
from sim.scenario.schema import EFFECT_BOUND, FIRST_QUARTER, LAST_QUARTER
from tests.conftest import HISTORY


def child(tmp_path: Path, body: str, name: str = "child.yaml") -> Path:
    p = tmp_path / name
    p.write_text(f"extends: {HISTORY}\nname: child\n{body}", encoding="utf-8")
    return p


def error_of(path: Path | str, overrides: list[str] | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


@pytest.mark.parametrize(("field", "value"), [("start", "1980Q1"), ("end", "2030Q4"), ("start", "1991Q3")])
def test_run_dates_beyond_the_driver_data_are_refused_at_the_childs_line(tmp_path, field, value):
    p = child(tmp_path, f"{field}: {value}\n")
    err = error_of(p)
    assert f"{p.name}:3:" in str(err) and err.field == field
    assert f"{FIRST_QUARTER}-{LAST_QUARTER}" in str(err)


def test_run_dates_set_on_the_command_line_are_refused_too():
    err = error_of(HISTORY, ["start=1970Q1"])
    assert "set by --set start=1970Q1" in str(err) and "outside 1991Q4-2016Q4" in str(err)


def test_the_documented_span_itself_loads(tmp_path):
    scn = load_scenario(child(tmp_path, f"start: {FIRST_QUARTER}\nend: {LAST_QUARTER}\n"))
    assert (scn.start, scn.end) == (FIRST_QUARTER, LAST_QUARTER)


def test_duplicate_keys_name_both_lines(tmp_path):
    p = child(tmp_path, "seed: 1\nseed: 2\n")
    err = error_of(p)
    assert f"{p.name}:4:" in str(err) and "duplicate key 'seed' (first on line 3)" in str(err)


def test_duplicate_keys_in_a_nested_mapping(tmp_path):
    p = child(tmp_path, "params:\n  tau: 1\n  beta: 20\n  tau: 2\n")
    err = error_of(p)
    assert f"{p.name}:6:" in str(err) and "duplicate key 'tau' (first on line 4)" in str(err)


def test_setting_a_whole_mapping_merges_it():
    base = load_scenario(HISTORY)
    scn = load_scenario(HISTORY, ["params={tau: 2}"])
    assert scn.params.tau == 2.0
    assert scn.params.beta == base.params.beta and scn.params.self_reliance == base.params.self_reliance  # the calibrated rest is kept
    nested = load_scenario(HISTORY, ["params.protection={RUS: {unrest: 0.5}}"])
    assert nested.params.protection.RUS.unrest == 0.5 and nested.params.protection.RUS.insurgency == base.params.protection.RUS.insurgency


def test_a_yaml_override_of_one_nested_value_keeps_its_siblings(tmp_path):
    base = load_scenario(HISTORY)
    scn = load_scenario(child(tmp_path, "params: {protection: {RUS: {unrest: 0.5}}}\n"))
    assert scn.params.protection.RUS.unrest == 0.5
    assert scn.params.protection.RUS.insurgency == base.params.protection.RUS.insurgency
    assert scn.params.protection.WEST == base.params.protection.WEST
    assert scn.params.beta == base.params.beta  # and the calibrated parameters stay


SHOCK = "add_shocks:\n  - id: big\n    date: 2005-01-01\n    targets: [UZB]\n    effects: {{unrest: {effect}}}\n    half_life: {half_life}\n    magnitude: {magnitude}\n    source: test\n"


@pytest.mark.parametrize(
    ("effect", "half_life", "magnitude", "line", "field", "says"),
    [
        ("1.0e300", "2", "1", 7, "shocks.big.effects.unrest", f"outside [-{EFFECT_BOUND:g}, {EFFECT_BOUND:g}]"),
        ("-6", "2", "1", 7, "shocks.big.effects.unrest", "outside"),
        ("1.0", "1.0e308", "1", 8, "shocks.big.half_life", "less than or equal to 100"),
        ("1.0", "2", "11", 9, "shocks.big.magnitude", "less than or equal to 10"),
    ],
)
def test_shock_sizes_are_bounded(tmp_path, effect, half_life, magnitude, line, field, says):
    p = child(tmp_path, SHOCK.format(effect=effect, half_life=half_life, magnitude=magnitude))
    err = error_of(p)
    assert f"{p.name}:{line}:" in str(err) and err.field == field and says in str(err)


def test_shock_sizes_inside_the_bounds_load(tmp_path):
    scn = load_scenario(child(tmp_path, SHOCK.format(effect=EFFECT_BOUND, half_life=100, magnitude=10)))
    assert next(s for s in scn.shocks if s.id == "big").effects["unrest"] == EFFECT_BOUND
