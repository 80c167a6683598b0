"""Scoring against history at quarterly resolution: the dated acts (sim/workflows/fit.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.kernel.actors import CLIENTS, Stance
from sim.kernel.timeline import Calendar
from sim.workflows.fit import (
    ACT_MAX_ERROR,
    ACT_SEARCH,
    ACT_SUSTAIN,
    DatedAct,
    act_error,
    act_steps,
    act_window,
    acts_per_run,
    acts_report,
    load_targets,
    modal_quarterly,
    quarter_label,
)

CAL = Calendar("1991Q4", "2016Q4")
T = CAL.n_steps
IDS = ("csto", "eaeu", "russian_forces", "west_base")
CSTO = IDS.index("csto")


def act(layer: str = "de_jure", direction: str = "leave", window: tuple[str, str] = ("1999-02-04", "1999-04-20"), instrument: str = "csto") -> DatedAct:
    return DatedAct("UZB", "test act", layer, instrument if layer == "de_jure" else "", direction, dt.date.fromisoformat(window[1]),
                    dt.date.fromisoformat(window[0]), dt.date.fromisoformat(window[1]), "test")


def member_path(change_at: int | None, joining: bool) -> np.ndarray:
    """``[T, J]`` membership with one change of the CSTO at step ``change_at``."""
    m = np.zeros((T, len(IDS)), dtype=bool)
    if change_at is None:
        m[:, CSTO] = not joining
    elif joining:
        m[change_at:, CSTO] = True
    else:
        m[:change_at, CSTO] = True
    return m


def stance_path(*spans: tuple[int, Stance]) -> np.ndarray:
    """``[T]`` stances: each ``(from_step, stance)`` holds until the next."""
    s = np.full(T, Stance.WEST, dtype=np.int8)
    for start, stance in spans:
        s[start:] = stance
    return s


def test_the_window_of_an_act_is_its_quarters() -> None:
    a, b = act_window(act(), CAL)
    assert (quarter_label(CAL, a), quarter_label(CAL, b)) == ("1999Q1", "1999Q2")
    assert quarter_label(CAL, 0) == "1991Q4" and quarter_label(CAL, -1) is None


@pytest.mark.parametrize("direction", ["join", "leave"])
def test_act_steps_finds_a_de_jure_change_at_its_step(direction: str) -> None:
    a, b = act_window(act(direction=direction), CAL)
    stance = np.zeros(T, dtype=np.int8)
    for at in (a, b, a - 5, b + 7, a - ACT_SEARCH, b + ACT_SEARCH):
        got = act_steps(act(direction=direction), CAL, stance[None], member_path(at, direction == "join")[None], IDS)
        assert got.tolist() == [at]
    # the other direction, or no change at all, does not make the act
    for m in (member_path(a, direction != "join"), member_path(None, direction == "join")):
        assert act_steps(act(direction=direction), CAL, stance[None], m[None], IDS).tolist() == [-1]


def test_act_steps_returns_minus_one_outside_the_search_window() -> None:
    a, b = act_window(act(), CAL)
    stance = np.zeros(T, dtype=np.int8)
    for at in (a - ACT_SEARCH - 1, b + ACT_SEARCH + 1, 1, T - 1):
        assert act_steps(act(), CAL, stance[None], member_path(at, False)[None], IDS).tolist() == [-1]


def test_act_steps_takes_the_first_change_in_the_search_window() -> None:
    a, b = act_window(act(direction="join"), CAL)
    m = member_path(a - 3, True)
    m[a + 2 : a + 4, CSTO] = False  # leaves and joins again inside the window
    assert act_steps(act(direction="join"), CAL, np.zeros((1, T), dtype=np.int8), m[None], IDS).tolist() == [a - 3]


def test_act_steps_finds_a_sustained_de_facto_turn() -> None:
    turn = act(layer="de_facto", direction="RUS", window=("2005-05-13", "2005-11-14"))
    a, b = act_window(turn, CAL)
    member = np.zeros((T, len(IDS)), dtype=bool)
    for at in (a, b, a - 4, b + 9):
        path = stance_path((0, Stance.WEST), (at, Stance.RUS))
        assert act_steps(turn, CAL, path[None], member[None], IDS).tolist() == [at]


def test_a_one_quarter_flicker_is_not_a_turn() -> None:
    turn = act(layer="de_facto", direction="RUS", window=("2005-05-13", "2005-11-14"))
    a, _ = act_window(turn, CAL)
    member = np.zeros((T, len(IDS)), dtype=bool)
    flicker = stance_path((a, Stance.RUS), (a + 1, Stance.WEST))
    assert act_steps(turn, CAL, flicker[None], member[None], IDS).tolist() == [-1]
    # held for one quarter less than ACT_SUSTAIN: still not a turn; then a sustained turn later is found
    short = stance_path((a, Stance.RUS), (a + ACT_SUSTAIN - 1, Stance.WEST), (a + 6, Stance.RUS))
    assert act_steps(turn, CAL, short[None], member[None], IDS).tolist() == [a + 6]


def test_a_de_facto_turn_into_any_of_several_stances() -> None:
    turn = act(layer="de_facto", direction="WEST|NONALIGNED", window=("2008-10-16", "2008-11-12"))
    a, _ = act_window(turn, CAL)
    path = stance_path((0, Stance.RUS), (a + 1, Stance.NONALIGNED), (a + 3, Stance.WEST))  # NONALIGNED then WEST: inside throughout
    assert turn.to_set == frozenset({Stance.WEST, Stance.NONALIGNED})
    assert act_steps(turn, CAL, path[None], np.zeros((1, T, len(IDS)), dtype=bool), IDS).tolist() == [a + 1]


def test_act_steps_is_vectorised_over_runs() -> None:
    a, _ = act_window(act(), CAL)
    members = np.stack([member_path(at, False) for at in (a, a + 2, a + ACT_SEARCH + 5)])
    got = act_steps(act(), CAL, np.zeros((3, T), dtype=np.int8), members, IDS)
    assert got.tolist() == [a, a + 2, -1]


def test_act_error_is_zero_in_the_window_and_grows_by_quarters_outside_capped_at_one() -> None:
    a, b = act_window(act(window=("2012-06-28", "2012-12-19")), CAL)
    assert b - a == 2
    steps = np.array([a, a + 1, b, a - 1, b + 1, b + 3, a - 8, b + ACT_MAX_ERROR + 1, b + 40, -1])
    err = act_error(steps, act(window=("2012-06-28", "2012-12-19")), CAL)
    q = ACT_MAX_ERROR + 1
    np.testing.assert_allclose(err, [0, 0, 0, 1 / q, 1 / q, 3 / q, 8 / q, 1, 1, 1])


@settings(max_examples=50, deadline=None)
@given(step=st.integers(-1, T - 1))
def test_act_error_is_in_unit_interval_and_monotone_in_the_distance(step: int) -> None:
    a_ = act(window=("2005-05-13", "2005-11-14"))
    a, b = act_window(a_, CAL)
    e = float(act_error(np.array([step]), a_, CAL)[0])
    assert 0.0 <= e <= 1.0
    if step >= 0:
        off = max(a - step, step - b, 0)
        assert e == pytest.approx(min(off, ACT_MAX_ERROR + 1) / (ACT_MAX_ERROR + 1))


def test_acts_per_run_reads_each_acts_actor() -> None:
    leave, turn = act(), act(layer="de_facto", direction="RUS", window=("2005-05-13", "2005-11-14"))
    a, _ = act_window(leave, CAL)
    c, _ = act_window(turn, CAL)
    stance = np.zeros((2, T, len(CLIENTS)), dtype=np.int8)
    member = np.zeros((2, T, len(CLIENTS), len(IDS)), dtype=bool)
    uzb, kaz = CLIENTS.index("UZB"), CLIENTS.index("KAZ")
    member[:, :a, uzb, CSTO] = True
    member[:, :, kaz, CSTO] = True  # Kazakhstan's membership is not Uzbekistan's act
    stance[0, :, uzb] = stance_path((0, Stance.WEST), (c, Stance.RUS))
    stance[1, :, uzb] = Stance.WEST
    got = acts_per_run((leave, turn), CAL, stance, member, IDS)
    assert got.tolist() == [[a, c], [a, -1]]


def test_acts_report_and_modal_quarterly() -> None:
    leave = act()
    a, b = act_window(leave, CAL)
    per_run = np.array([[a], [b + 2], [-1], [b]])
    report = acts_report((leave,), per_run, np.array([b]), CAL)[0]
    assert report["window"] == ["1999Q1", "1999Q2"]
    assert report["modal_quarter"] == "1999Q2" and report["modal_on_time"]
    assert report["share_on_time"] == 0.5 and report["share_made"] == 0.75
    assert report["median_quarter"] == quarter_label(CAL, b)
    counts = np.zeros((T, len(CLIENTS), 4))
    counts[..., Stance.CHN] = 3
    counts[5, 0, Stance.WEST] = 4
    counts[6, 0, [Stance.RUS, Stance.CHN]] = 3  # a tie goes to the lower index
    share = np.full((T, len(CLIENTS), len(IDS)), 0.5)
    share[7, 1, 0] = 0.51
    stance, member = modal_quarterly(counts, share)
    assert stance.shape == (1, T, len(CLIENTS)) and member.shape == (1, T, len(CLIENTS), len(IDS))
    assert stance[0, 5, 0] == Stance.WEST and stance[0, 6, 0] == Stance.RUS and stance[0, 8, 2] == Stance.CHN
    assert member.sum() == 1 and member[0, 7, 1, 0]


def test_dated_acts_file_is_consistent() -> None:
    acts = load_targets().acts
    assert len(acts) == 8 and {a.actor for a in acts} == {"UZB"}
    for a in acts:
        assert a.window_from <= a.date <= a.window_to, a.label
        assert CAL.contains(a.window_from) and CAL.contains(a.window_to)
        if a.layer == "de_jure":
            assert a.instrument in IDS and a.direction in ("join", "leave"), a.label
        else:
            assert a.layer == "de_facto" and a.to_set, a.label
    assert sum(a.scored for a in acts) == 5
