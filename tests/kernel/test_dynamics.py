"""Tests of the environment and the state a client carries (sim/kernel/environment.py, leaders.py, dejure.py; sim/scenario/compile.py): the
regime-change threat, self-reliance, leader changes and personal ties, Western engagement programmes,
the persistent preference shocks, and the de jure layer's availability and alliance status."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines.ensemble import simulate
from sim.engines.model import AlignmentModel
from sim.kernel.actors import CLIENTS, N_CLIENTS, N_PATRONS, N_STANCES, PATRONS, AllianceStatus, Patron, Rule, Stance, Threat
from sim.kernel.dejure import initial_commitments, instrument_availability
from sim.kernel.environment import environment
from sim.kernel.leaders import initial_ties, preference_noise, update_ties
from sim.kernel.measures import alliance_status
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.randomness import batch_draws, run_seed
from sim.scenario.compile import compile_scenario, shock_kernel
from tests.conftest import history_with, offers_for

UZB, KAZ, KGZ = CLIENTS.index("UZB"), CLIENTS.index("KAZ"), CLIENTS.index("KGZ")
PROPERTY = settings(max_examples=30, deadline=None)


def shock(sid: str, date: str, targets: list[str], effects: dict[str, float], **extra) -> dict:
    return {"id": sid, "date": date, "targets": targets, "effects": effects, "source": "test", **extra}


def theta(**params) -> object:
    return stack_params([ModelParams(**params)])


def rc_threat(exo, th, t: int) -> np.ndarray:
    """``[C]``: the regime-change threat each client faces at step ``t``."""
    return environment(exo, t, th, 1).threat[0, :, Threat.REGIME_CHANGE]


# ---------------------------------------------------------------------------------------------
# The regime-change threat: Western hostility times a revolt
# ---------------------------------------------------------------------------------------------


def quiet(exo):
    """``exo`` with no revolt anywhere: no contagion and no unrest shock."""
    shocks = exo.shock_threat.copy()
    shocks[..., Threat.UNREST] = 0.0
    return replace(exo, contagion=np.zeros_like(exo.contagion), shock_threat=shocks)


def test_no_regime_change_threat_without_a_revolt(history_exo):
    th = theta(hostility=2.0)
    exo = quiet(history_exo)
    for t in range(exo.n_steps):
        env = environment(exo, t, th, 1)
        assert (env.pressure > 0).all()  # the West is critical of every regime ...
        np.testing.assert_array_equal(env.threat[..., Threat.REGIME_CHANGE], 0.0)  # ... but without a revolt nobody fears regime change


def test_no_regime_change_threat_without_western_pressure(history_exo):
    assert (history_exo.contagion > 0).any() and (history_exo.shock_threat[..., Threat.UNREST] > 0).any()  # revolts there are
    th = theta(hostility=2.0, pressure_base=0.0, pressure_closure=0.0)
    for t in range(history_exo.n_steps):
        np.testing.assert_array_equal(rc_threat(history_exo, th, t), 0.0)
    # ... nor without hostility
    th = theta(hostility=0.0)
    for t in range(history_exo.n_steps):
        np.testing.assert_array_equal(rc_threat(history_exo, th, t), 0.0)


def test_regime_change_threat_is_hostility_times_pressure_times_revolt(history_exo):
    th = theta(hostility=0.7)
    t = history_exo.n_steps // 2
    env = environment(history_exo, t, th, 1)
    revolt = np.maximum(history_exo.contagion[0, t], 0) + np.maximum(history_exo.shock_threat[0, t, :, Threat.UNREST], 0)
    np.testing.assert_allclose(env.threat[0, :, Threat.REGIME_CHANGE], 0.7 * env.pressure[0] * revolt, rtol=1e-12)


@pytest.mark.parametrize("kind", ["contagion", "unrest"])
def test_regime_change_threat_rises_with_the_revolt_and_with_the_pressure(history_exo, kind):
    """A colour revolution next door (contagion) or an uprising at home (an unrest shock) is a revolt."""
    th = theta(hostility=1.0)
    t = 40
    levels = []
    for revolt in (0.0, 0.3, 0.6):
        exo = quiet(history_exo)
        if kind == "contagion":
            contagion = exo.contagion.copy()
            contagion[0, t, UZB] = revolt
            exo = replace(exo, contagion=contagion)
        else:
            shocks = exo.shock_threat.copy()
            shocks[0, t, UZB, Threat.UNREST] = revolt
            exo = replace(exo, shock_threat=shocks)
        rows = []
        for repression in (0.0, 0.5, 1.0):
            rep = exo.repression.copy()
            rep[0, t, UZB] = repression
            rows.append(rc_threat(replace(exo, repression=rep), th, t)[UZB])
        levels.append(rows)
    levels = np.array(levels)  # [revolt, repression]
    np.testing.assert_array_equal(levels[0], 0.0)
    assert (np.diff(levels[1:], axis=0) > 0).all()  # more revolt, more threat (at any pressure)
    assert (np.diff(levels[1:], axis=1) > 0).all()  # more repression, more pressure, more threat


def test_a_colour_revolution_threatens_only_its_targets_from_its_date():
    scn = history_with([shock("revolution", "2005-03-24", ["KGZ"], {"contagion": 1.0}, half_life=1.0)], {"hostility": 1.0})
    exo = compile_scenario(scn)
    th = stack_params([scn.params])
    step = scn.calendar.step_of(dt.date(2005, 3, 24))
    np.testing.assert_allclose(exo.contagion[0, :, KGZ], shock_kernel(exo.n_steps, step, 1.0))
    assert rc_threat(exo, th, step - 1).max() == 0.0
    now = rc_threat(exo, th, step)
    assert now[KGZ] > 0 and np.delete(now, KGZ).max() == 0.0
    later = rc_threat(exo, th, step + 4)
    assert 0 < later[KGZ] < now[KGZ]  # the contagion halves in a year


def test_only_the_west_exposes_its_clients(history_exo):
    th = theta(exposure=0.8)
    env = environment(history_exo, 50, th, 1)
    offers = offers_for(env, history_exo.initial_stance[None], th)
    np.testing.assert_allclose(offers.exposure[..., Patron.WEST], 0.8)
    np.testing.assert_array_equal(offers.exposure[..., [Patron.RUS, Patron.CHN]], 0.0)


# ---------------------------------------------------------------------------------------------
# Self-reliance and Western engagement
# ---------------------------------------------------------------------------------------------


def test_self_reliance_is_the_parameter_times_the_clients_capacity(history_exo):
    assert ((history_exo.capacity >= 0) & (history_exo.capacity <= 1)).all()
    assert history_exo.capacity.std(axis=1).min() > 0  # capacities differ between clients
    for r in (0.0, 0.4, 1.0):
        th = theta(self_reliance=r)
        for t in (0, 37, history_exo.n_steps - 1):
            np.testing.assert_allclose(environment(history_exo, t, th, 1).self_reliance[0], r * history_exo.capacity[t], rtol=1e-14)


def test_each_engagement_programme_adds_a_step_of_western_engagement():
    dates = ["1994-01-10", "1995-12-15"]
    scn = history_with([shock(f"programme_{i}", d, ["WEST"], {"engagement": 1}) for i, d in enumerate(dates)]
                       + [shock("cancelled", "1997-09-15", ["WEST"], {"engagement": 1}, magnitude=0)])
    exo = compile_scenario(scn)
    steps = [scn.calendar.step_of(dt.date.fromisoformat(d)) for d in dates]
    expected = np.zeros(exo.n_steps)
    for s in steps:
        expected[s:] += 1
    np.testing.assert_array_equal(exo.engagement_events[0], expected)
    th = theta(engagement_base=0.05, engagement_step=0.1)
    for t, n in ((steps[0] - 1, 0), (steps[0], 1), (steps[1], 2), (exo.n_steps - 1, 2)):
        env = environment(exo, t, th, 1)
        np.testing.assert_allclose(env.engagement, 0.05 + 0.1 * n + exo.need[0, t])
        offers = offers_for(env, exo.initial_stance[None], th)
        np.testing.assert_allclose(offers.protection[0, :, Patron.WEST], th.protection[0, Patron.WEST][None] * env.engagement[0, :, None])


# ---------------------------------------------------------------------------------------------
# Leader changes: ties reset and a succession threat
# ---------------------------------------------------------------------------------------------


def test_a_patron_leader_change_resets_every_clients_ties_with_that_patron_in_its_quarter_only():
    scn = history_with([shock("new_tsar", "2000-01-15", ["RUS"], {"leader_change": 1})])
    exo = compile_scenario(scn)
    step = scn.calendar.step_of(dt.date(2000, 1, 15))
    expected = np.zeros((exo.n_steps, N_CLIENTS, N_PATRONS), dtype=bool)
    expected[step, :, Patron.RUS] = True
    np.testing.assert_array_equal(exo.tie_reset[0], expected)
    np.testing.assert_array_equal(exo.succession, 0.0)  # a patron's succession does not threaten the clients' regimes


def test_a_client_leader_change_resets_its_ties_with_every_patron_and_adds_a_succession_threat():
    scn = history_with([shock("successor", "2005-07-01", ["UZB"], {"leader_change": 1})], {"succession_threat": 0.4})
    exo = compile_scenario(scn)
    step = scn.calendar.step_of(dt.date(2005, 7, 1))
    expected = np.zeros((exo.n_steps, N_CLIENTS, N_PATRONS), dtype=bool)
    expected[step, UZB, :] = True
    np.testing.assert_array_equal(exo.tie_reset[0], expected)
    np.testing.assert_allclose(exo.succession[0, :, UZB], shock_kernel(exo.n_steps, step, 1.0))
    np.testing.assert_array_equal(np.delete(exo.succession[0], UZB, axis=1), 0.0)
    th = stack_params([scn.params])
    without = compile_scenario(history_with([], {"succession_threat": 0.4}))
    for t, level in ((step - 1, 0.0), (step, 0.4), (step + 4, 0.2)):
        gap = environment(exo, t, th, 1).threat[0, :, Threat.ELITE] - environment(without, t, th, 1).threat[0, :, Threat.ELITE]
        np.testing.assert_allclose(gap, np.where(np.arange(N_CLIENTS) == UZB, level, 0.0), atol=1e-12)


def test_a_leader_change_with_magnitude_0_does_not_happen():
    scn = history_with([shock("no_change", "2005-07-01", ["UZB"], {"leader_change": 1}, magnitude=0), shock("no_tsar", "2000-01-15", ["RUS"], {"leader_change": 1}, magnitude=0)])
    exo = compile_scenario(scn)
    assert not exo.tie_reset.any()
    np.testing.assert_array_equal(exo.succession, 0.0)


def test_history_leader_changes_set_tie_reset_exactly(history, history_exo):
    cal = history.calendar
    expected = np.zeros(history_exo.tie_reset.shape[1:], dtype=bool)
    changes = [s for s in history.shocks if "leader_change" in s.effects]
    assert {t for s in changes for t in s.targets} >= {"RUS", "WEST", "CHN", "UZB", "KGZ", "TJK", "TKM"}
    for s in changes:
        for tgt in s.targets:
            if tgt in PATRONS:
                expected[cal.step_of(s.date), :, PATRONS.index(tgt)] = True
            else:
                expected[cal.step_of(s.date), CLIENTS.index(tgt), :] = True
    np.testing.assert_array_equal(history_exo.tie_reset[0], expected)


@PROPERTY
@given(rate=st.floats(min_value=0.01, max_value=1.0), n=st.integers(1, 60), patron=st.sampled_from(list(Patron)))
def test_ties_build_toward_one_while_aligned_and_fade_otherwise(rate, n, patron):
    th = theta(tie_rate=rate)
    ties = np.full((1, 1, N_PATRONS), 0.5)
    stance = np.array([[patron]])
    for _ in range(n):
        new = update_ties(ties, stance, th)
        assert ((new >= 0) & (new <= 1)).all()
        assert new[0, 0, patron] >= ties[0, 0, patron]
        ties = new
    expected = np.full(N_PATRONS, 0.5 * (1 - rate) ** n)
    expected[patron] = 1 - 0.5 * (1 - rate) ** n
    np.testing.assert_allclose(ties[0, 0], expected, rtol=1e-10, atol=1e-12)
    # nonaligned: every tie fades
    faded = update_ties(ties, np.array([[Stance.NONALIGNED]]), th)
    np.testing.assert_allclose(faded, ties * (1 - rate), rtol=1e-9, atol=1e-12)


def test_no_ties_at_independence(history_exo):
    np.testing.assert_array_equal(initial_ties(history_exo, 3), np.zeros((3, N_CLIENTS, N_PATRONS)))


def test_a_leader_change_breaks_the_ties_the_mesa_agents_hold():
    """Each client agent owns its ties: in the quarter Russia's leader changes they restart from zero
    (then build by tie_rate if the client stays with Russia), while ties with the West carry on."""
    scn = history_with([shock("new_tsar", "1994-01-15", ["RUS"], {"leader_change": 1})], {"tie_rate": 0.3, "beta": 40.0})
    exo = compile_scenario(scn)
    step = scn.calendar.step_of(dt.date(1994, 1, 15))
    model = AlignmentModel(scn, run_seed(1, 0), exo=exo)
    history_of_ties = []
    while model.running:
        model.step()
        history_of_ties.append(np.stack([c.ties[0, 0] for c in model.clients]))
    ties = np.array(history_of_ties)  # [T, C, P]
    stance = model.result.stance[0]
    toward = (stance[..., None] == np.arange(N_PATRONS)).astype(float)
    assert ties[step - 1, :, Patron.RUS].max() > 0.5  # built up over the first two years
    np.testing.assert_allclose(ties[step, :, Patron.RUS], 0.3 * toward[step, :, Patron.RUS], rtol=1e-12)
    np.testing.assert_allclose(ties[step, :, Patron.WEST], 0.7 * ties[step - 1, :, Patron.WEST] + 0.3 * toward[step, :, Patron.WEST], rtol=1e-12)
    # everywhere else the ties follow update_ties without a reset
    for t in range(1, exo.n_steps):
        if t != step:
            np.testing.assert_allclose(ties[t], 0.7 * ties[t - 1] + 0.3 * toward[t], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Persistent preference shocks (AR(1))
# ---------------------------------------------------------------------------------------------


def test_the_first_shock_is_the_first_innovation():
    z = np.random.default_rng(0).standard_normal((3, 5, N_STANCES))
    np.testing.assert_array_equal(preference_noise(None, z, theta(noise_persistence=0.9)), z)


def test_persistence_0_gives_the_innovations():
    rng = np.random.default_rng(1)
    previous, z = rng.standard_normal((2, 5, N_STANCES)), rng.standard_normal((2, 5, N_STANCES))
    np.testing.assert_array_equal(preference_noise(previous, z, theta(noise_persistence=0.0)), z)


@pytest.mark.parametrize("phi", [0.5, 0.9, 0.98])
def test_the_shocks_have_unit_stationary_variance_and_autocorrelation_phi(phi):
    """From e(0) = z(0) the process is stationary at once: variance 1 every quarter, lag-1 correlation phi.
    Fixed seed, 20 000 series: the sampling error of a variance is about 0.01, the tolerance 0.05."""
    th = theta(noise_persistence=phi)
    rng = np.random.default_rng(20050513)
    e = None
    path = []
    for _ in range(60):
        e = preference_noise(e, rng.standard_normal((5000, 1, 4)), th)
        path.append(e)
    x = np.array(path).reshape(60, -1)  # [T, series]
    for t in (0, 1, 10, 59):
        assert x[t].var() == pytest.approx(1.0, abs=0.05)
    assert np.mean(x[1:] * x[:-1]) == pytest.approx(phi, abs=0.03)
    assert abs(x.mean()) < 0.03


def test_the_mesa_agents_carry_their_preference_shocks(history, history_exo):
    params = ModelParams(noise_persistence=0.8)
    model = AlignmentModel(history, run_seed(2, 0), params=params, exo=history_exo)
    z = model.draws.normal[0]  # [T, C, S]
    model.step()
    for c, agent in enumerate(model.clients):
        np.testing.assert_array_equal(agent.noise[0, 0], z[0, c])
    e0 = np.stack([a.noise[0, 0] for a in model.clients])
    model.step()
    e1 = np.stack([a.noise[0, 0] for a in model.clients])
    np.testing.assert_allclose(e1, 0.8 * e0 + 0.6 * z[1], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# The de jure layer
# ---------------------------------------------------------------------------------------------


def test_soviet_legacy_instruments_are_open_only_to_clients_with_soviet_forces(history_exo):
    j = history_exo.instrument_ids.index("russian_forces")
    assert history_exo.instrument_legacy[j] and history_exo.instrument_legacy.sum() == 1
    th = theta()
    for t in range(history_exo.n_steps):
        avail = instrument_availability(history_exo, t, environment(history_exo, t, th, 1))[0, :, j]
        np.testing.assert_array_equal(avail, history_exo.soviet_forces & history_exo.instrument_open[t, j])
    assert not history_exo.soviet_forces[UZB] and history_exo.soviet_forces[KAZ]


def test_the_bloc_is_russias_alliance_only(history_exo):
    assert [i for i, b in zip(history_exo.instrument_ids, history_exo.bloc, strict=True) if b] == ["csto"]
    ids = list(history_exo.instrument_ids)
    member = np.zeros((3, N_CLIENTS, len(ids)), dtype=bool)
    member[0, :, ids.index("russian_forces")] = True  # Russian forces but no alliance
    member[0, :, ids.index("eaeu")] = True
    member[1, :, ids.index("csto")] = True
    member[2, :, ids.index("west_base")] = True
    stance = np.array([[Stance.RUS] * N_CLIENTS, [Stance.RUS, Stance.WEST, Stance.CHN, Stance.NONALIGNED, Stance.RUS], [Stance.RUS] * N_CLIENTS])
    status = alliance_status(member, stance, history_exo)
    assert status[0].tolist() == [AllianceStatus.NONE] * N_CLIENTS
    assert status[1].tolist() == [AllianceStatus.TRUE, AllianceStatus.PAPER, AllianceStatus.PAPER, AllianceStatus.PAPER, AllianceStatus.TRUE]
    assert status[2].tolist() == [AllianceStatus.NONE] * N_CLIENTS


def test_no_instrument_is_held_at_the_start(history_exo):
    memory, member = initial_commitments(history_exo, 2)
    assert not member.any() and member.shape == (2, N_CLIENTS, len(history_exo.instrument_ids))


@pytest.fixture(scope="module")
def noisy_runs(history_exo):
    """200 runs of history whose first stances vary (a low choice precision)."""
    th = stack_params([ModelParams(beta=1.0, noise_sd=0.0)])
    seeds = np.array([run_seed(17, r) for r in range(200)])
    return simulate(history_exo, th, Rule.OMNIBALANCING, batch_draws(seeds, history_exo.n_steps, N_CLIENTS))


def test_no_membership_is_automatic(history_exo, noisy_runs):
    """A client joins an instrument at its opening only if its own stance points there: one whose stances up
    to the CST's opening are not RUS is no member then, and hosts no Russian forces."""
    res, ids = noisy_runs, history_exo.instrument_ids
    csto, forces = ids.index("csto"), ids.index("russian_forces")
    opening = int(np.argmax(history_exo.instrument_open[:, csto]))
    assert opening > 0 and history_exo.instrument_open[0, forces]
    away = (res.stance[:, : opening + 1] != Stance.RUS).all(axis=1)  # [R, C]
    assert away.sum() >= 20  # enough such clients for the test to bite
    assert not res.member[:, opening, :, csto][away].any()
    assert not res.member[:, : opening + 1, :, forces].any(axis=1)[away].any()
    # and the same test lets a client in at once when its first stance is toward Russia
    first_rus = res.stance[:, 0] == Stance.RUS
    np.testing.assert_array_equal(res.member[:, 0, :, forces], first_rus & history_exo.soviet_forces[None])


def test_a_client_without_soviet_forces_never_hosts_russian_forces(history_exo, noisy_runs):
    forces = history_exo.instrument_ids.index("russian_forces")
    assert not noisy_runs.member[:, :, ~history_exo.soviet_forces, forces].any()
    assert noisy_runs.member[:, :, history_exo.soviet_forces, forces].any()


def test_recorded_status_is_the_alliance_status_of_the_recorded_state(history_exo, noisy_runs):
    res = noisy_runs
    for t in (0, 30, 60, 100):
        np.testing.assert_array_equal(res.status[:, t], alliance_status(res.member[:, t], res.stance[:, t], history_exo))
    assert (res.status == AllianceStatus.PAPER).any() and (res.status == AllianceStatus.TRUE).any()
    assert res.probs.shape == (200, history_exo.n_steps, N_CLIENTS, N_STANCES)
