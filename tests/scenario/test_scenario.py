"""Tests of scenario loading (sim/scenario/loading.py, schema.py, yamlio.py): located errors, --set overrides, causes-only shocks."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.kernel.actors import CLIENTS, PATRONS
from sim.scenario.loading import load_scenario
from sim.scenario.schema import CLIENT_KINDS, EVENT_KINDS, FORBIDDEN_KINDS, PATRON_KINDS, Rule, Scenario
from tests.conftest import ROOT, history_text_anywhere

SCENARIOS = ROOT / "scenarios"
HISTORY = SCENARIOS / "history.yaml"
SHOCK = "andijan"  # the shock the bad-input cases edit


# ---------------------------------------------------------------------------------------------
# Helpers: edit the real history.yaml text, write it next to a copy of scenarios/data
# ---------------------------------------------------------------------------------------------


def history_text() -> str:
    return history_text_anywhere()


def line_index(lines: list[str], pattern: str, start: int = 0) -> int:
    """0-based index of the first line at or after ``start`` matching the regex ``pattern``."""
    for i in range(start, len(lines)):
        if re.search(pattern, lines[i]):
            return i
    raise AssertionError(f"no line matches {pattern!r} in history.yaml (after line {start + 1})")


def shock_line(lines: list[str], key: str, shock: str = SHOCK) -> int:
    """0-based index of the ``key:`` line of shock ``shock``."""
    first = line_index(lines, rf"^\s*- id: {shock}\s*$")
    if key == "id":
        return first
    return line_index(lines, rf"^\s+{key}:", first + 1)


def write_scenario(tmp_path: Path, text: str, name: str = "bad_scenario.yaml") -> Path:
    """Write ``text`` as a scenario next to a copy of the real driver data."""
    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(SCENARIOS / "data", data)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, overrides: list[str] | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


def assert_located(err: ScenarioError, path: Path, line: int | None, field: str | None) -> None:
    """The message names the file, the 1-based line and the field."""
    text = str(err)
    assert path.name in text, text
    if line is not None:
        assert f"{path.name}:{line}:" in text, text
        assert err.line == line
    if field is not None:
        assert f"field '{field}'" in text, text
        assert err.field == field


def _shock_indent(lines: list[str]) -> str:
    key = lines[shock_line(lines, "date")]
    return key[: len(key) - len(key.lstrip())]


# ---------------------------------------------------------------------------------------------
# The real scenario and --set
# ---------------------------------------------------------------------------------------------


def test_history_loads() -> None:
    scn = load_scenario(HISTORY)
    assert isinstance(scn, Scenario)
    assert scn.name == "history"
    assert scn.rule is Rule.OMNIBALANCING
    assert set(scn.clients) == set(CLIENTS)
    assert set(scn.patrons) == set(PATRONS)
    assert scn.shock(SHOCK).magnitude == 1.0
    for name in ("brent", "freedom_house", "cinc", "remittances", "ethnic_russians", "export_routes", "hydrocarbons"):
        f = Path(getattr(scn.drivers, name).file)
        assert f.is_absolute() and f.is_file()
    assert {c for c, x in scn.clients.items() if x.soviet_forces} == {"KAZ", "KGZ", "TJK", "TKM"}
    instruments = {i.id: i for i in scn.instruments}
    assert [i for i, x in instruments.items() if x.alliance] == ["csto"]
    assert [i for i, x in instruments.items() if x.requires_soviet_forces] == ["russian_forces"]


def test_set_tau_takes_effect() -> None:
    scn = load_scenario(HISTORY, ["params.tau=2"])
    assert scn.params.tau == 2.0
    defaults = load_scenario(HISTORY).params.model_dump()  # the scenario's own (calibrated) parameters
    assert {k: v for k, v in scn.params.model_dump().items() if k != "tau"} == {
        k: v for k, v in defaults.items() if k != "tau"
    }


def test_set_shock_magnitude_takes_effect() -> None:
    base = load_scenario(HISTORY)
    scn = load_scenario(HISTORY, [f"shocks.{SHOCK}.magnitude=0"])
    assert scn.shock(SHOCK).magnitude == 0.0
    assert scn.shock(SHOCK).effects == base.shock(SHOCK).effects
    others = [s for s in scn.shocks if s.id != SHOCK]
    assert others == [s for s in base.shocks if s.id != SHOCK]


def test_set_nested_protection_keeps_other_defaults() -> None:
    scn = load_scenario(HISTORY, ["params.protection.RUS.insurgency=0.3"])
    own = load_scenario(HISTORY).params
    default = own.protection
    assert scn.params.protection.RUS.insurgency == 0.3
    assert scn.params.protection.RUS.unrest == default.RUS.unrest
    assert scn.params.protection.RUS.elite == default.RUS.elite
    assert scn.params.protection.RUS.external == default.RUS.external
    assert scn.params.protection.RUS.regime_change == default.RUS.regime_change
    assert scn.params.protection.WEST == default.WEST
    assert scn.params.protection.CHN == default.CHN
    rest = {k: v for k, v in scn.params.model_dump().items() if k != "protection"}
    assert rest == {k: v for k, v in own.model_dump().items() if k != "protection"}


def test_several_overrides_apply_together() -> None:
    scn = load_scenario(HISTORY, ["params.tau=2", f"shocks.{SHOCK}.magnitude=0.5", "params.beta=3"])
    assert (scn.params.tau, scn.params.beta, scn.shock(SHOCK).magnitude) == (2.0, 3.0, 0.5)


# ---------------------------------------------------------------------------------------------
# Bad input: a ScenarioError naming the file, the line and the field
# ---------------------------------------------------------------------------------------------


def test_yaml_syntax_error(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = line_index(lines, r"^seed:") + 1
    lines.insert(at, "oops: a: b")
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, None)
    assert "YAML syntax error" in str(err)


def test_unknown_top_level_field(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = line_index(lines, r"^seed:") + 1
    lines.insert(at, "bogus_field: 1")
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, "bogus_field")
    assert "unknown field 'bogus_field'" in str(err)


def _unknown_actor_scenario(tmp_path: Path) -> tuple[Path, int]:
    lines = history_text().splitlines()
    at = line_index(lines, r"^  KGZ:\s*$", line_index(lines, r"^clients:"))
    lines[at] = "  XXX:"
    return write_scenario(tmp_path, "\n".join(lines) + "\n"), at + 1


def test_unknown_actor_in_clients(tmp_path: Path) -> None:
    path, _ = _unknown_actor_scenario(tmp_path)
    err = load_error(path)
    assert path.name in str(err)
    assert "field 'clients" in str(err)
    assert "unknown actor 'XXX'" in str(err)
    assert err.line is not None


def test_unknown_actor_is_located_at_its_own_line(tmp_path: Path) -> None:
    path, line = _unknown_actor_scenario(tmp_path)
    assert_located(load_error(path), path, line, "clients.XXX")


def test_unknown_field_in_shock(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = shock_line(lines, "date") + 1
    lines.insert(at, f"{_shock_indent(lines)}colour: red")
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, f"shocks.{SHOCK}.colour")
    assert "unknown field 'colour'" in str(err)


def test_shock_date_outside_run(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = shock_line(lines, "date")
    lines[at] = f"{_shock_indent(lines)}date: 1985-01-01"
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, f"shocks.{SHOCK}.date")
    assert "outside the run" in str(err)


def test_negative_magnitude(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = shock_line(lines, "date") + 1
    lines.insert(at, f"{_shock_indent(lines)}magnitude: -1")
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, f"shocks.{SHOCK}.magnitude")
    assert "greater than or equal to 0" in str(err)


def _forbidden_effect_scenario(tmp_path: Path, kind: str) -> tuple[Path, int]:
    lines = history_text().splitlines()
    at = shock_line(lines, "effects")
    lines[at] = f"{_shock_indent(lines)}effects: {{{kind}: 1.0}}"
    return write_scenario(tmp_path, "\n".join(lines) + "\n"), at + 1


@pytest.mark.parametrize("kind", FORBIDDEN_KINDS)
def test_forbidden_effect_is_rejected(tmp_path: Path, kind: str) -> None:
    path, _ = _forbidden_effect_scenario(tmp_path, kind)
    err = load_error(path)
    text = str(err)
    assert path.name in text
    assert f"field 'shocks.{SHOCK}" in text
    assert f"effect '{kind}' would set a client's alignment directly" in text
    assert err.line is not None


def test_forbidden_stance_effect_is_located_at_effects(tmp_path: Path) -> None:
    path, line = _forbidden_effect_scenario(tmp_path, "stance")
    assert_located(load_error(path), path, line, f"shocks.{SHOCK}.effects.stance")


def test_missing_driver_file(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = line_index(lines, r"^\s+file:", line_index(lines, r"^\s+cinc:\s*$"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}file: data/no_such_driver.csv"
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, "drivers.cinc.file")
    assert "driver file not found:" in str(err)
    assert "data/no_such_driver.csv" in str(err)


@pytest.mark.parametrize(
    ("assignment", "field", "detail"),
    [
        ("params.nonexistent=1", "params.nonexistent", "'nonexistent' is not a field here"),
        ("shocks.nosuchshock.magnitude=0", "shocks.nosuchshock.magnitude", "no item with id 'nosuchshock'"),
        ("nonexistent=1", "nonexistent", "'nonexistent' is not a field here"),
        ("params.protection.XXX.insurgency=0.3", "params.protection.XXX.insurgency", "'XXX' is not a field here"),
    ],
)
def test_unknown_set_path(tmp_path: Path, assignment: str, field: str, detail: str) -> None:
    path = write_scenario(tmp_path, history_text())
    err = load_error(path, [assignment])
    # The value comes from the command line, so the error is located at '--set' rather than a line of the file.
    assert str(err).startswith("--set: ")
    assert err.line is None
    assert err.field == field
    assert f"field '{field}'" in str(err)
    assert detail in str(err)


def test_malformed_set_assignment(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, history_text())
    err = load_error(path, ["params.tau"])
    assert "expected KEY=VALUE" in str(err)


def test_bad_set_value_type(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, history_text())
    err = load_error(path, ["params.beta=abc"])
    text = str(err)
    assert path.name in text
    assert err.field == "params.beta"
    assert "field 'params.beta'" in text
    assert "valid number" in text
    assert "(set by --set params.beta=abc)" in text


def test_out_of_range_set_value(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, history_text())
    err = load_error(path, ["params.protection.RUS.insurgency=1.5"])
    assert err.field == "params.protection.RUS.insurgency"
    assert "(set by --set params.protection.RUS.insurgency=1.5)" in str(err)


# ---------------------------------------------------------------------------------------------
# Garbage input
# ---------------------------------------------------------------------------------------------

#: Texts that crash the YAML reader with something other than ScenarioError (bugs in sim/scenario/yamlio.py).
CRASHERS = {
    "unhashable_flow_key": ("[]: 1\n", TypeError),
    "unhashable_complex_key": ("? {a: 1}\n: 2\n", TypeError),
    "invalid_calendar_date": ("a: 2005-02-30\n", ValueError),
    "explicit_int_tag": ("a: !!int abc\n", ValueError),
    "explicit_bool_tag": ("a: !!bool maybe\n", KeyError),
    "explicit_timestamp_tag": ("a: !!timestamp xyz\n", AttributeError),
    "recursive_alias": ("a: &x [*x]\n", RecursionError),
    "deep_nesting": ("[" * 2000 + "]" * 2000 + "\n", RecursionError),
}
def _loads_or_scenario_error(path: Path, text: str) -> None:
    if not (path.parent / "data").exists():
        shutil.copytree(SCENARIOS / "data", path.parent / "data")
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # lone surrogates make the file undecodable
    try:
        load_scenario(path)
    except ScenarioError as err:
        assert str(path) in str(err)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(text, id=name) for name, (text, _exc) in CRASHERS.items()
    ],
)
def test_crashing_yaml_gives_scenario_error(tmp_path: Path, text: str) -> None:
    # Each case once crashed with a raw Python exception (see CRASHERS); now each must be a ScenarioError.
    path = write_scenario(tmp_path, text)
    err = load_error(path)
    assert path.name in str(err)


def test_invalid_shock_date_is_located(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = shock_line(lines, "date")
    lines[at] = f"{_shock_indent(lines)}date: 2005-02-30"
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    assert_located(load_error(path), path, at + 1, None)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
@example(text="[]:")  # found by hypothesis on plain st.text(): TypeError: unhashable type: 'list'
def test_garbage_text_only_raises_scenario_error(tmp_path: Path, text: str) -> None:
    _loads_or_scenario_error(tmp_path / "garbage.yaml", text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_characters="[]{}?&*!-")))
@example(text="")
@example(text="\x00")
@example(text="a:\n\tb: 1\n")
@example(text="- 1\n- 2\n")
@example(text="name: x\n")
@example(text="name: x\nseed: .inf\n")
@example(text="1: 2\n")
@example(text="%YAML 9.9\n")
@example(text=history_text().replace("\n", "\r\n"))
def test_garbage_text_without_the_known_crashers_only_raises_scenario_error(tmp_path: Path, text: str) -> None:
    """Garbage avoiding the characters the known crashers need (flow collections and complex keys, anchors and
    aliases, tags, dashes for dates) never raises anything but ScenarioError."""
    _loads_or_scenario_error(tmp_path / "garbage.yaml", text)


# ---------------------------------------------------------------------------------------------
# Causes only
# ---------------------------------------------------------------------------------------------


def test_history_shocks_are_causes_only() -> None:
    raw = yaml.safe_load(history_text())
    assert raw["shocks"], "history.yaml has no shocks"
    allowed = set(CLIENT_KINDS) | set(PATRON_KINDS)
    assert not allowed & set(FORBIDDEN_KINDS)
    for shock in raw["shocks"]:
        kinds = set(shock["effects"])
        assert kinds <= allowed, (shock["id"], kinds - allowed)
        assert not kinds & set(FORBIDDEN_KINDS), shock["id"]
        if "pressure" in kinds:
            assert str(shock.get("reason") or "").strip(), f"shock {shock['id']} scripts pressure without a reason"
        if kinds & set(EVENT_KINDS):  # a leader change or a Western programme: the kind alone, no size, no shape
            assert len(kinds) == 1 and set(shock["effects"].values()) == {1}, shock["id"]
            assert shock.get("magnitude", 1) in (0, 1) and "half_life" not in shock and "until" not in shock, shock["id"]
        if "engagement" in kinds:
            assert shock["targets"] == ["WEST"], shock["id"]
        if "leader_change" in kinds:  # whose leader: one actor, a client or a patron
            assert len(shock["targets"]) == 1 and shock["targets"][0] in set(CLIENTS) | set(PATRONS), shock["id"]
            continue
        actors = set(CLIENTS) if kinds <= set(CLIENT_KINDS) else set(PATRONS)
        assert set(shock["targets"]) <= actors, shock["id"]
    # The validated scenario agrees with the raw file.
    scn = load_scenario(HISTORY)
    assert [s.id for s in scn.shocks] == [s["id"] for s in raw["shocks"]]
    assert all(not set(s.effects) & set(FORBIDDEN_KINDS) for s in scn.shocks)

    kinds = {k for s in scn.shocks for k in s.effects}
    assert {"leader_change", "engagement", "contagion"} <= kinds
    assert "medvedev" in [s.id for s in scn.shocks] and set(scn.shock("medvedev").effects) == {"leader_change"}


# ---------------------------------------------------------------------------------------------
# Events without a size: leader changes and Western engagement programmes
# ---------------------------------------------------------------------------------------------

LEADER = "medvedev"  # a leader change in history.yaml
PROGRAMME = "partnership_for_peace"  # a Western engagement programme in history.yaml


def _edit_shock(tmp_path: Path, shock: str, effects: str | None = None, insert: str | None = None) -> tuple[Path, dict[str, int]]:
    """history.yaml with shock ``shock``'s effects line replaced and/or a line inserted after it; the 1-based
    lines of the shock's id, effects and inserted line."""
    lines = history_text().splitlines()
    first = shock_line(lines, "id", shock)
    at = shock_line(lines, "effects", shock)
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    if effects is not None:
        lines[at] = f"{indent}effects: {effects}"
    where = {"id": first + 1, "effects": at + 1}
    if insert is not None:
        lines.insert(at + 1, f"{indent}{insert}")
        where["inserted"] = at + 2
    return write_scenario(tmp_path, "\n".join(lines) + "\n"), where


@pytest.mark.parametrize(("shock", "kind"), [(LEADER, "leader_change"), (PROGRAMME, "engagement")])
@pytest.mark.parametrize("size", ["2", "0.5", "0", "-1"])
def test_an_event_with_a_size_is_rejected(tmp_path: Path, shock: str, kind: str, size: str) -> None:
    path, where = _edit_shock(tmp_path, shock, effects=f"{{{kind}: {size}}}")
    err = load_error(path)
    assert_located(err, path, where["effects"], f"shocks.{shock}.effects.{kind}")
    assert f"'{kind}' has no size of its own (write '{kind}: 1' alone)" in str(err)


@pytest.mark.parametrize(("shock", "kind", "other"), [(LEADER, "leader_change", "means: 0.2"), (PROGRAMME, "engagement", "need: 0.5"),
                                                      ("mirziyoyev", "leader_change", "elite: 0.3")])
def test_an_event_mixed_with_other_effects_is_rejected(tmp_path: Path, shock: str, kind: str, other: str) -> None:
    path, where = _edit_shock(tmp_path, shock, effects=f"{{{kind}: 1, {other}}}")
    err = load_error(path)
    assert_located(err, path, where["effects"], f"shocks.{shock}.effects.{kind}")
    assert "has no size of its own" in str(err)


@pytest.mark.parametrize(("shock", "kind"), [(LEADER, "leader_change"), (PROGRAMME, "engagement")])
@pytest.mark.parametrize("magnitude", ["0.5", "2", "1.5"])
def test_an_event_cannot_be_scaled(tmp_path: Path, shock: str, kind: str, magnitude: str) -> None:
    path, where = _edit_shock(tmp_path, shock, insert=f"magnitude: {magnitude}")
    err = load_error(path)
    assert_located(err, path, where["inserted"], f"shocks.{shock}.magnitude")
    assert f"a '{kind}' event happens (magnitude 1) or not (0); it cannot be scaled" in str(err)


@pytest.mark.parametrize(("shock", "kind"), [(LEADER, "leader_change"), (PROGRAMME, "engagement")])
@pytest.mark.parametrize("shape", ["half_life: 1.0", "until: 2015-01-01"])
def test_an_event_takes_no_shape(tmp_path: Path, shock: str, kind: str, shape: str) -> None:
    path, where = _edit_shock(tmp_path, shock, insert=shape)
    err = load_error(path)
    assert_located(err, path, where["id"], f"shocks.{shock}")
    assert f"a '{kind}' event is dated, not shaped: it takes no 'half_life' or 'until'" in str(err)


@pytest.mark.parametrize(("shock", "magnitude"), [(LEADER, "0"), (LEADER, "1"), (PROGRAMME, "0"), (PROGRAMME, "1.0")])
def test_an_event_happens_or_not(tmp_path: Path, shock: str, magnitude: str) -> None:
    path, _ = _edit_shock(tmp_path, shock, insert=f"magnitude: {magnitude}")
    assert load_scenario(path).shock(shock).magnitude == float(magnitude)


def test_a_leader_change_targets_clients_or_patrons_not_both(tmp_path: Path) -> None:
    lines = history_text().splitlines()
    at = shock_line(lines, "targets", LEADER)
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}targets: [RUS, UZB]"
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, f"shocks.{LEADER}.targets.1")
    assert "target 'UZB' is not a patron" in str(err)


@pytest.mark.parametrize("targets", ["[CHN]", "[RUS]", "[WEST, RUS]"])
def test_an_engagement_programme_must_be_western(tmp_path: Path, targets: str) -> None:
    lines = history_text().splitlines()
    at = shock_line(lines, "targets", PROGRAMME)
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}targets: {targets}"
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 1, f"shocks.{PROGRAMME}.targets")
    assert "Western programme" in str(err)


def test_affinity_is_no_longer_an_effect(tmp_path: Path) -> None:
    """Personal ties come from the model (leader changes reset them); no shock can set a leader's liking."""
    assert "affinity" not in CLIENT_KINDS and "affinity" not in PATRON_KINDS
    path, line = _forbidden_effect_scenario(tmp_path, "affinity")
    err = load_error(path)
    assert_located(err, path, line, f"shocks.{SHOCK}.effects.affinity")
    assert "unknown effect 'affinity'" in str(err)


@pytest.mark.parametrize("field", ["ethnic_russian_share", "russian_troops", "remittance_share", "route_russia"])
def test_time_varying_client_facts_are_drivers_now(tmp_path: Path, field: str) -> None:
    """Ethnic Russians, remittances and export routes are dated driver series; Russian forces are an instrument."""
    lines = history_text().splitlines()
    at = line_index(lines, r"^\s+soviet_forces:", line_index(lines, r"^  UZB:\s*$", line_index(lines, r"^clients:")))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines.insert(at + 1, f"{indent}{field}: 0.1")
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert_located(err, path, at + 2, f"clients.UZB.{field}")
    assert f"unknown field '{field}'" in str(err)


def test_an_alliance_takes_no_thresholds_of_its_own(tmp_path: Path) -> None:
    """The CST/CSTO's thresholds are model parameters (``alliance_join``, ``alliance_exit``): a scenario that sets its own is rejected."""
    lines = history_text().splitlines()
    at = line_index(lines, r"^\s+alliance: true\s*$")
    lines.insert(at + 1, lines[at].replace("alliance: true", "join_threshold: 0.6"))
    path = write_scenario(tmp_path, "\n".join(lines) + "\n")
    err = load_error(path)
    assert path.name in str(err) and "alliance_join" in str(err), str(err)
    assert "csto" in str(err), str(err)


def test_an_instrument_that_is_not_an_alliance_needs_its_thresholds(tmp_path: Path) -> None:
    text = history_text()
    path = write_scenario(tmp_path, text.replace("    join_threshold: 0.6\n    exit_threshold: 0.4\n", "", 1))
    assert text.count("    join_threshold: 0.6\n    exit_threshold: 0.4\n") == 1
    err = load_error(path)
    assert path.name in str(err) and "join_threshold and exit_threshold are required" in str(err), str(err)
    assert "eaeu" in str(err), str(err)
