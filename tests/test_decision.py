"""Tests of the decision rules (sim/decision.py) and the de jure layer (sim/dynamics.update_commitments)."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.actors import N_PATRONS, N_STANCES, N_THREATS, Patron, Stance, Threat
from sim.decision import (
    choice_probabilities,
    hazard_balance_of_threat,
    hazard_omnibalancing,
    pressing_threat,
    sample_stance,
    utilities,
)
from sim.dynamics import Environment, Offers, update_commitments
from sim.params import ModelParams, Theta, stack_params
from sim.scenario import Rule

PROPERTY = settings(max_examples=50, deadline=None)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
J = 3  # instruments in the random de jure layer
INSTRUMENT_PATRON = np.array([Patron.RUS, Patron.WEST, Patron.RUS])


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------


def random_environment(rng: np.random.Generator, b: int, c: int) -> Environment:
    """An environment with every array drawn in its valid range."""
    u = rng.uniform
    return Environment(
        means=u(0, 2, (b, c)),
        need=u(0, 2, (b, c)),
        engagement=u(0, 1, (b, c)),
        pressure=u(0, 1, (b, c)),
        threat=u(0, 2, (b, c, N_THREATS)),
        patron_threat=u(0, 1, (b, c, N_PATRONS)),
        dependence=u(0, 1, (b, c, N_PATRONS)),
        affinity=u(-0.5, 0.5, (b, c, N_PATRONS)),
        china_weight=u(0, 2, (b, c)),
        courting=u(0, 1, (b, c)),
        troops=u(0, 1, (b, c)),
        capability=u(0, 1, (b, c)),
    )


def random_offers(rng: np.random.Generator, b: int, c: int) -> Offers:
    """Patron offers with every array drawn in its valid range."""
    u = rng.uniform
    return Offers(
        rents=u(0, 1, (b, c, N_PATRONS)),
        protection=u(0, 1, (b, c, N_PATRONS, N_THREATS)),
        sovereignty=u(0, 1, (b, c, N_PATRONS)),
        pressure=u(0, 1, (b, c, N_PATRONS)),
    )


def random_theta(rng: np.random.Generator, **fixed: float | bool) -> Theta:
    """One parameter set with the behavioural parameters drawn inside their declared bounds."""
    drawn: dict[str, float | bool] = {
        "beta": float(rng.uniform(0.5, 50)),
        "chi": float(rng.uniform(0, 1)),
        "tau": float(rng.uniform(0, 10)),
        "rho": float(rng.uniform(0.1, 3)),
        "lambda_pressure": float(rng.uniform(0, 2)),
        "gamma": float(rng.uniform(0, 2)),
        "nonaligned_share": float(rng.uniform(0, 1)),
        "defiance": float(rng.uniform(0, 1)),
        "defiance_neutral": float(rng.uniform(0, 1)),
        "self_reliance": float(rng.uniform(0, 1)),
        "commitment_bonus": float(rng.uniform(0, 0.5)),
    }
    drawn.update(fixed)
    return stack_params([ModelParams(**drawn)])


def random_state(rng: np.random.Generator, b: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Previous stances ``[b, C]`` and de jure membership ``[b, C, J]``."""
    prev = rng.integers(0, N_STANCES, (b, c))
    member = rng.random((b, c, J)) < 0.5
    return prev, member


def one_client_environment(threat: list[float], patron_threat: list[float], capability: float) -> Environment:
    """A ``b = 1, C = 1`` environment: only the threat side is set, everything else zero."""
    z = np.zeros((1, 1))
    zp = np.zeros((1, 1, N_PATRONS))
    return Environment(
        means=z,
        need=z,
        engagement=z,
        pressure=z,
        threat=np.array([[threat]], dtype=float),
        patron_threat=np.array([[patron_threat]], dtype=float),
        dependence=zp,
        affinity=zp,
        china_weight=z,
        courting=z,
        troops=z,
        capability=np.full((1, 1), capability),
    )


def one_client_offers(protection: list[list[float]], pressure: list[float]) -> Offers:
    """``b = 1, C = 1`` offers: protection ``[P, K]`` and normative pressure ``[P]``; no rents or costs."""
    zp = np.zeros((1, 1, N_PATRONS))
    return Offers(
        rents=zp,
        protection=np.array([[protection]], dtype=float),
        sovereignty=zp,
        pressure=np.array([[pressure]], dtype=float),
    )


def omni_probabilities(env: Environment, offers: Offers, prev: np.ndarray, member: np.ndarray, th: Theta) -> np.ndarray:
    u = utilities(Rule.OMNIBALANCING, env, offers, prev, member, INSTRUMENT_PATRON, th)
    return choice_probabilities(u, th.beta)


# ---------------------------------------------------------------------------------------------
# Hand-computed unit tests
# ---------------------------------------------------------------------------------------------


def test_pressing_threat_is_log_mean_exp_by_hand() -> None:
    threat = np.array([0.2, 0.5, 0.1, 0.0])
    expected = 0.5 * math.log((math.exp(0.4) + math.exp(1.0) + math.exp(0.2) + 1.0) / 4)
    assert pressing_threat(threat, np.array(2.0)) == pytest.approx(expected, rel=1e-14)


def test_pressing_threat_runs_from_mean_to_max() -> None:
    threat = np.array([[[0.2, 0.5, 0.1, 0.0]], [[1.9, 0.0, 0.3, 0.3]]])  # [b, C, K]
    np.testing.assert_allclose(pressing_threat(threat, np.zeros((2, 1))), threat.mean(axis=-1), rtol=1e-14)
    np.testing.assert_allclose(pressing_threat(threat, np.full((2, 1), 1e4)), threat.max(axis=-1), atol=1e-3)


@PROPERTY
@given(seed=SEEDS, kind=st.sampled_from(list(Threat)), delta=st.floats(min_value=1e-3, max_value=2.0))
def test_hazard_never_falls_when_a_threat_rises(seed: int, kind: int, delta: float) -> None:
    """Salience refocuses attention but a rising threat never makes a regime safer (any tau)."""
    rng = np.random.default_rng(seed)
    th = random_theta(rng)
    env, offers = random_environment(rng, 2, 5), random_offers(rng, 2, 5)
    threat = env.threat.copy()
    threat[..., kind] += delta
    before = hazard_omnibalancing(env, offers, th)
    after = hazard_omnibalancing(replace(env, threat=threat), offers, th)
    assert (after >= before - 1e-12).all()


def test_choice_probabilities_is_softmax_by_hand() -> None:
    u = np.array([[[0.1, -0.2, 0.3, 0.0]]])
    beta = np.array([[2.0]])
    e = [math.exp(0.2), math.exp(-0.4), math.exp(0.6), math.exp(0.0)]
    total = sum(e)
    expected = [x / total for x in e]
    np.testing.assert_allclose(choice_probabilities(u, beta)[0, 0], expected, rtol=1e-14)


@pytest.mark.parametrize(
    ("uniform", "stance"),
    [(0.05, 0), (0.1, 1), (0.29, 1), (0.65, 3), (0.999, 3)],
)
def test_sample_stance_inverts_the_cdf(uniform: float, stance: int) -> None:
    probs = np.array([[0.1, 0.2, 0.3, 0.4]])  # cumulative [0.1, 0.3, 0.6, 1.0]
    np.testing.assert_allclose(np.cumsum(probs[0]), [0.1, 0.3, 0.6, 1.0])
    out = sample_stance(probs, np.array([uniform]))
    assert out.dtype == np.int8
    assert out.tolist() == [stance]


def test_sample_stance_vectorised_matches_scalar_cases() -> None:
    probs = np.broadcast_to(np.array([0.1, 0.2, 0.3, 0.4]), (5, 4))
    out = sample_stance(probs, np.array([0.05, 0.1, 0.29, 0.65, 0.999]))
    assert out.tolist() == [0, 1, 1, 3, 3]


def test_hazard_omnibalancing_by_hand() -> None:
    th = stack_params([ModelParams(tau=2.0, rho=0.8, lambda_pressure=0.8, self_reliance=0.3, internal_threats=True)])
    # Threats (insurgency, unrest, elite, external); the external one is posed 0.3 / 0.05 / 0.05 by RUS / WEST / CHN.
    env = one_client_environment([0.2, 0.5, 0.1, 0.4], [0.3, 0.05, 0.05], capability=0.5)
    offers = one_client_offers(
        [[0.4, 0.7, 0.4, 0.7], [0.7, 0.0, 0.0, 0.5], [0.1, 0.1, 0.0, 0.1]],
        [0.0, 0.2, 0.0],  # the West presses a client aligned with it
    )
    # Protection is worth 1 - self_reliance * capability = 1 - 0.3 * 0.5 = 0.85 to this client.
    # Effective threats T~_k(s) = T_k (1 - 0.85 pi_k(s)); external: (T_ext - own) (1 - 0.85 pi_ext) + own;
    # unrest gains lambda_pressure * pressure of the aligned patron.
    eff = {
        # RUS: protection x 0.85 = [0.34, 0.595, 0.34, 0.595]
        Stance.RUS: [0.2 * 0.66, 0.5 * 0.405 + 0.8 * 0.0, 0.1 * 0.66, (0.4 - 0.3) * 0.405 + 0.3],
        # WEST: protection x 0.85 = [0.595, 0, 0, 0.425]
        Stance.WEST: [0.2 * 0.405, 0.5 * 1.0 + 0.8 * 0.2, 0.1 * 1.0, (0.4 - 0.05) * 0.575 + 0.05],
        # CHN: protection x 0.85 = [0.085, 0.085, 0, 0.085]
        Stance.CHN: [0.2 * 0.915, 0.5 * 0.915, 0.1 * 1.0, (0.4 - 0.05) * 0.915 + 0.05],
        # NONALIGNED: no protection, no own patron threat, no pressure
        Stance.NONALIGNED: [0.2, 0.5, 0.1, 0.4],
    }
    assert eff[Stance.RUS] == pytest.approx([0.132, 0.2025, 0.066, 0.3405])
    assert eff[Stance.WEST] == pytest.approx([0.081, 0.66, 0.1, 0.25125])
    assert eff[Stance.CHN] == pytest.approx([0.183, 0.4575, 0.1, 0.37025])
    expected = []
    for s in Stance:
        # pressing threat M = (1/tau) log(mean_k exp(tau T~_k)); hazard = 1 - exp(-rho K M)
        m = 0.5 * math.log(sum(math.exp(2 * e) for e in eff[s]) / 4)
        expected.append(1.0 - math.exp(-0.8 * 4 * m))
    # e.g. RUS: M = 0.5 ln((e^0.264 + e^0.405 + e^0.132 + e^0.681) / 4) = 0.19589, hazard = 1 - e^(-3.2 M) = 0.46572
    assert expected[Stance.RUS] == pytest.approx(0.46572, abs=1e-5)
    got = hazard_omnibalancing(env, offers, th)
    assert got.shape == (1, 1, N_STANCES)
    np.testing.assert_allclose(got[0, 0], expected, rtol=1e-12)


def test_hazard_omnibalancing_without_internal_threats_by_hand() -> None:
    th = stack_params([ModelParams(tau=2.0, rho=0.8, self_reliance=0.0, internal_threats=False)])
    env = one_client_environment([1.5, 1.0, 0.7, 0.4], [0.3, 0.05, 0.05], capability=0.5)
    offers = one_client_offers([[0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]], [0.0, 0.0, 0.0])
    # With internal threats off only the external threat counts: hazard = 1 - exp(-rho T~_ext), as in Walt's rule.
    def hazard(ext: float) -> float:
        return 1 - math.exp(-0.8 * ext)

    expected = [hazard((0.4 - 0.3) * 0.5 + 0.3), hazard(0.4), hazard(0.4), hazard(0.4)]
    np.testing.assert_allclose(hazard_omnibalancing(env, offers, th)[0, 0], expected, rtol=1e-12)


def test_hazard_balance_of_threat_ignores_internal_threats() -> None:
    rng = np.random.default_rng(7)
    th = random_theta(rng)
    env = random_environment(rng, 2, 5)
    offers = random_offers(rng, 2, 5)
    before = hazard_balance_of_threat(env, offers, th)
    threat = env.threat.copy()
    threat[..., : Threat.EXTERNAL] = rng.uniform(0, 2, threat[..., : Threat.EXTERNAL].shape)
    after = hazard_balance_of_threat(replace(env, threat=threat), offers, th)
    np.testing.assert_array_equal(before, after)
    # ... but it does respond to the external threat.
    threat[..., Threat.EXTERNAL] += 0.5
    moved = hazard_balance_of_threat(replace(env, threat=threat), offers, th)
    assert (moved[..., Stance.NONALIGNED] > before[..., Stance.NONALIGNED]).all()


@PROPERTY
@given(seed=SEEDS)
def test_hazard_balance_of_threat_depends_only_on_external_threat(seed: int) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng)
    env = random_environment(rng, b, c)
    offers = random_offers(rng, b, c)
    threat = env.threat.copy()
    threat[..., : Threat.EXTERNAL] = rng.uniform(0, 2, (b, c, Threat.EXTERNAL))
    np.testing.assert_array_equal(
        hazard_balance_of_threat(env, offers, th), hazard_balance_of_threat(replace(env, threat=threat), offers, th)
    )


@PROPERTY
@given(seed=SEEDS)
def test_omnibalancing_without_internal_threats_is_balance_of_threat(seed: int) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, internal_threats=False)
    env = random_environment(rng, b, c)
    offers = random_offers(rng, b, c)
    np.testing.assert_allclose(
        hazard_omnibalancing(env, offers, th), hazard_balance_of_threat(env, offers, th), rtol=1e-12, atol=1e-15
    )


# ---------------------------------------------------------------------------------------------
# Properties of the choice
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(
    seed=SEEDS,
    beta=st.floats(min_value=0, max_value=200, exclude_min=True),
    rule=st.sampled_from(list(Rule)),
)
def test_probabilities_of_model_utilities_are_a_distribution(seed: int, beta: float, rule: Rule) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, beta=beta)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    prev, member = random_state(rng, b, c)
    u = utilities(rule, env, offers, prev, member, INSTRUMENT_PATRON, th)
    assert u.shape == (b, c, N_STANCES)
    assert np.isfinite(u).all()
    p = choice_probabilities(u, th.beta)
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@PROPERTY
@given(
    u=st.lists(
        st.lists(st.floats(min_value=-1e100, max_value=1e100), min_size=N_STANCES, max_size=N_STANCES),
        min_size=1,
        max_size=5,
    ),
    beta=st.floats(min_value=0, max_value=200, exclude_min=True),
)
def test_probabilities_of_arbitrary_finite_utilities_are_a_distribution(u: list[list[float]], beta: float) -> None:
    p = choice_probabilities(np.array([u]), np.array([[beta]]))
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@PROPERTY
@given(seed=SEEDS, rule=st.sampled_from(list(Rule)))
def test_utilities_and_sampling_are_deterministic(seed: int, rule: Rule) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    prev, member = random_state(rng, b, c)
    uniform = rng.random((b, c))
    snapshot = {f.name: getattr(env, f.name).copy() for f in fields(env)}

    u1 = utilities(rule, env, offers, prev, member, INSTRUMENT_PATRON, th)
    u2 = utilities(rule, env, offers, prev.copy(), member.copy(), INSTRUMENT_PATRON, th)
    np.testing.assert_array_equal(u1, u2)
    p = choice_probabilities(u1, th.beta)
    np.testing.assert_array_equal(p, choice_probabilities(u2, th.beta))
    s1, s2 = sample_stance(p, uniform), sample_stance(p.copy(), uniform.copy())
    np.testing.assert_array_equal(s1, s2)
    assert ((s1 >= 0) & (s1 < N_STANCES)).all()
    # The functions are pure: they do not write into their inputs.
    for name, value in snapshot.items():
        np.testing.assert_array_equal(getattr(env, name), value)


def _permute_clients(obj: Environment | Offers, perm: np.ndarray) -> Environment | Offers:
    return replace(obj, **{f.name: getattr(obj, f.name)[:, perm] for f in fields(obj)})


@PROPERTY
@given(seed=SEEDS, rule=st.sampled_from(list(Rule)))
def test_relabelling_clients_permutes_utilities(seed: int, rule: Rule) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(2, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    prev, member = random_state(rng, b, c)
    perm = rng.permutation(c)
    u = utilities(rule, env, offers, prev, member, INSTRUMENT_PATRON, th)
    u_perm = utilities(
        rule,
        _permute_clients(env, perm),
        _permute_clients(offers, perm),
        prev[:, perm],
        member[:, perm],
        INSTRUMENT_PATRON,
        th,
    )
    np.testing.assert_allclose(u_perm, u[:, perm], rtol=1e-13, atol=1e-15)


# "Raising a threat k that patron p protects against never lowers P(p)" holds when p protects FULLY against k,
# for any salience tau (test_full_protection_against_k_never_loses_share). With partial protection it is not a
# theorem of the model, and should not be: the two cases below pin down why (hand-built b = 1, C = 1 clients with
# ModelParams(chi=0, gamma=0, defiance=0, commitment_bonus=0), capability 0, no rents, costs or pressure).
NO_PARAMS = {"chi": 0.0, "gamma": 0.0, "defiance": 0.0, "commitment_bonus": 0.0}


def _one_client_share(
    threat: list[float], patron_threat: list[float], protection: list[list[float]], tau: float
) -> np.ndarray:
    th = stack_params([ModelParams(tau=tau, **NO_PARAMS)])
    env = one_client_environment(threat, patron_threat, 0.0)
    offers = one_client_offers(protection, [0.0, 0.0, 0.0])
    prev, member = np.zeros((1, 1), dtype=int), np.zeros((1, 1, J), dtype=bool)
    return omni_probabilities(env, offers, prev, member, th)[0, 0]


def test_a_better_protector_gains_when_its_threat_rises() -> None:
    """RUS protects 0.4 and the West 0.7 against insurgency: a rising insurgency moves share to the West."""
    protection = [[0.4, 0, 0, 0], [0.7, 0, 0, 0], [0, 0, 0, 0]]
    low = _one_client_share([0.5, 0, 0, 0], [0, 0, 0], protection, tau=4.0)
    high = _one_client_share([1.0, 0, 0, 0], [0, 0, 0], protection, tau=4.0)
    assert high[Stance.WEST] > low[Stance.WEST]
    assert high[Stance.RUS] < low[Stance.RUS]


def test_salience_does_not_penalise_a_full_protector() -> None:
    """Regression: with the old max-normalised salience weights, raising the top threat discounted the others,
    and P(RUS) fell from 0.937 to 0.914 although Russia protects fully against the threat that rose."""
    protection = [[1.0, 0.7, 0.6, 0.6], [0.9, 0.2, 0.2, 0.1], [0.1, 0.5, 0.2, 0.8]]
    low = _one_client_share([0.9, 0.8, 0.6, 0.5], [0.3, 0.1, 0.4], protection, tau=4.0)[Stance.RUS]
    high = _one_client_share([1.0, 0.8, 0.6, 0.5], [0.3, 0.1, 0.4], protection, tau=4.0)[Stance.RUS]
    assert high >= low


def test_a_tied_protector_can_lose_share_as_the_hazard_saturates() -> None:
    """CHN and the West tie at 0.5 against insurgency; CHN is the safest stance overall. The hazard
    1 - exp(-x) is concave, so the same added threat raises the safest stance's hazard most (tau = 0)."""
    protection = [[0.3, 0.4, 0.8, 0.4], [0.5, 0.0, 0.8, 0.5], [0.5, 0.8, 0.3, 0.5]]
    low = _one_client_share([1.0, 1.9, 0.3, 1.9], [0, 0, 0], protection, tau=0.0)[Stance.CHN]
    high = _one_client_share([1.5, 1.9, 0.3, 1.9], [0, 0, 0], protection, tau=0.0)[Stance.CHN]
    assert high < low


@PROPERTY
@given(
    seed=SEEDS,
    patron=st.sampled_from(list(Patron)),
    kind=st.sampled_from(list(Threat)),
    delta=st.floats(min_value=0.01, max_value=1.0),
)
def test_full_protection_against_k_never_loses_share(seed: int, patron: int, kind: int, delta: float) -> None:
    """Raising a threat that p protects against fully (for a client that values protection fully, capability 0)
    leaves U(p) unchanged and never raises any other U(s), so P(p) never falls, whatever the salience tau."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    env = replace(env, capability=np.zeros((b, c)))
    protection = offers.protection.copy()
    protection[:, :, patron, kind] = 1.0
    offers = replace(offers, protection=protection)
    prev, member = random_state(rng, b, c)
    threat = env.threat.copy()
    threat[..., kind] += delta
    u0 = utilities(Rule.OMNIBALANCING, env, offers, prev, member, INSTRUMENT_PATRON, th)
    u1 = utilities(Rule.OMNIBALANCING, replace(env, threat=threat), offers, prev, member, INSTRUMENT_PATRON, th)
    np.testing.assert_allclose(u1[..., patron], u0[..., patron], rtol=1e-12, atol=1e-12)
    assert (u1 <= u0 + 1e-12).all()
    before = choice_probabilities(u0, th.beta)[..., patron]
    after = choice_probabilities(u1, th.beta)[..., patron]
    assert (after >= before - 1e-12).all()


# ---------------------------------------------------------------------------------------------
# De jure layer
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seed=SEEDS, all_available=st.booleans())
def test_membership_changes_only_when_memory_crosses_thresholds(seed: int, all_available: bool) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, dejure_rate=float(rng.uniform(0.01, 1)), dejure_sticky=True)
    join = rng.uniform(0.05, 1.0, J)
    exo = SimpleNamespace(
        instrument_patron=INSTRUMENT_PATRON,
        join_threshold=join,
        exit_threshold=join * rng.uniform(0, 0.99, J),
    )
    memory = rng.uniform(0, 1, (b, c, J))
    member = rng.random((b, c, J)) < 0.5
    stance = rng.integers(0, N_STANCES, (b, c))
    available = np.ones((b, c, J), dtype=bool) if all_available else rng.random((b, c, J)) < 0.8
    renewal = rng.random(J) < 0.3

    new_memory, new_member = update_commitments(memory, member, stance, available, renewal, exo, th)

    toward = (stance[..., None] == INSTRUMENT_PATRON).astype(float)
    rate = th.dejure_rate[0, 0]
    np.testing.assert_allclose(new_memory, (1 - rate) * memory + rate * toward, rtol=1e-14)
    joined = ~member & new_member
    left = member & ~new_member
    # No join when the memory is at or below the join threshold (or the instrument is closed) ...
    assert not (joined & (new_memory <= join)).any()
    assert not (joined & ~available).any()
    # ... and no exit while the memory is at or above the exit threshold, with no renewal and the instrument open.
    assert not (left & (new_memory >= exo.exit_threshold) & ~renewal & available).any()
    # At a renewal a member stays only if its memory still exceeds the join threshold.
    assert not (left & (new_memory >= exo.exit_threshold) & renewal & (new_memory > join) & available).any()
    # Conversely, the thresholds are obeyed when crossed.
    assert (new_member[~member & (new_memory > join) & available]).all()
    assert not new_member[member & (new_memory < exo.exit_threshold)].any()
    assert not new_member[~available].any()
