"""Tests of the decision rules (sim/kernel/decision.py) and the de jure layer (sim/kernel/dejure.update_commitments)."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.kernel.actors import N_PATRONS, N_STANCES, N_THREATS, Patron, Rule, Stance, Threat
from sim.kernel.decision import (
    choice_probabilities,
    effective_threat,
    hazard_balance_of_threat,
    hazard_omnibalancing,
    pressing_threat,
    sample_stance,
    utilities,
)
from sim.kernel.dejure import russian_forces, thresholds, update_commitments
from sim.kernel.environment import Environment, leverage
from sim.kernel.offers import Offers
from sim.kernel.params import ModelParams, Theta, stack_params
from tests.conftest import make_environment, make_offers

PROPERTY = settings(max_examples=50, deadline=None)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
#: A small de jure layer: a Russian alliance, a Western base, a Russian economic bloc, Russian forces.
EXO = SimpleNamespace(
    instrument_patron=np.array([Patron.RUS, Patron.WEST, Patron.RUS, Patron.RUS]),
    instrument_military=np.array([True, True, False, True]),
    instrument_alliance=np.array([True, False, False, False]),
)
J = len(EXO.instrument_patron)
FORCES = 3  # the index of the Russian-forces instrument in EXO
#: The four costs of defiance, one per channel of dependence, and all of them switched off.
LEVERAGE = ("defiance_ethnic", "defiance_forces", "defiance_remittances", "defiance_route")
NO_LEVERAGE = dict.fromkeys(LEVERAGE, 0.0)


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------

#: Ranges of the environment's arrays where they are not [0, 1].
ENV_RANGES = {"means": (0, 2), "need": (0, 2), "threat": (0, 2), "china_weight": (0, 2)}


def random_environment(rng: np.random.Generator, b: int, c: int) -> Environment:
    """An environment with every array drawn in its valid range."""
    return make_environment(b, c, rng=rng, ranges=ENV_RANGES)


def random_offers(rng: np.random.Generator, b: int, c: int) -> Offers:
    """Patron offers with every array drawn in its valid range (exposure up to 2)."""
    offers = make_offers(b, c, rng=rng)
    return replace(offers, exposure=rng.uniform(0, 2, offers.exposure.shape))


def random_theta(rng: np.random.Generator, **fixed: float | bool) -> Theta:
    """One parameter set with the behavioural parameters drawn inside their declared bounds."""
    drawn: dict[str, float | bool] = {
        "beta": float(rng.uniform(0.5, 50)),
        "chi": float(rng.uniform(0, 1)),
        "noise_sd": float(rng.uniform(0, 0.5)),
        "tau": float(rng.uniform(0, 10)),
        "rho": float(rng.uniform(0.1, 3)),
        "gamma": float(rng.uniform(0, 2)),
        "nonaligned_share": float(rng.uniform(0, 1)),
        **{name: float(rng.uniform(0, 1)) for name in LEVERAGE},
        "defiance_neutral": float(rng.uniform(0, 1)),
        "commitment_bonus": float(rng.uniform(0, 0.5)),
        "tie_weight": float(rng.uniform(0, 0.5)),
    }
    drawn.update(fixed)
    return stack_params([ModelParams(**drawn)])


def random_state(rng: np.random.Generator, b: int, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Previous stances ``[b, C]``, de jure membership ``[b, C, J]``, ties ``[b, C, P]`` and preference shocks ``[b, C, S]``."""
    prev = rng.integers(0, N_STANCES, (b, c))
    member = rng.random((b, c, J)) < 0.5
    ties = rng.uniform(0, 1, (b, c, N_PATRONS))
    noise = rng.standard_normal((b, c, N_STANCES))
    return prev, member, ties, noise


def one_client_environment(threat: list[float], patron_threat: list[float], self_reliance: float = 0.0) -> Environment:
    """A ``b = 1, C = 1`` environment: only the threat side is set, everything else zero."""
    return make_environment(threat=[[threat]], patron_threat=[[patron_threat]], self_reliance=self_reliance)


def one_client_offers(protection: list[list[float]], exposure: list[float] | None = None) -> Offers:
    """``b = 1, C = 1`` offers: protection ``[P, K]`` and exposure ``[P]``; no rents or costs."""
    return make_offers(protection=[[protection]], exposure=[[exposure or [0.0] * N_PATRONS]])


def no_state(b: int = 1, c: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Previous stance RUS, no instruments, no ties, no preference shocks."""
    return (np.zeros((b, c), dtype=int), np.zeros((b, c, J), dtype=bool), np.zeros((b, c, N_PATRONS)), np.zeros((b, c, N_STANCES)))


def omni_utilities(env: Environment, offers: Offers, state: tuple[np.ndarray, ...], th: Theta) -> np.ndarray:
    prev, member, ties, noise = state
    return utilities(Rule.OMNIBALANCING, env, offers, prev, member, ties, noise, EXO, th)


def omni_probabilities(env: Environment, offers: Offers, state: tuple[np.ndarray, ...], th: Theta) -> np.ndarray:
    return choice_probabilities(omni_utilities(env, offers, state, th), th.beta)


#: A protection table for the hand-computed cases, [P, K] in Threat order (the defaults until 2026-12-07, which protected against unrest too).
PROTECTION = [[0.4, 0.6, 0.4, 0.7, 0.7], [0.7, 0.0, 0.0, 0.5, 0.0], [0.1, 0.1, 0.0, 0.1, 0.3]]


# ---------------------------------------------------------------------------------------------
# Hand-computed unit tests
# ---------------------------------------------------------------------------------------------


def test_pressing_threat_is_log_mean_exp_by_hand() -> None:
    threat = np.array([0.2, 0.5, 0.1, 0.0, 0.3])
    expected = 0.5 * math.log((math.exp(0.4) + math.exp(1.0) + math.exp(0.2) + 1.0 + math.exp(0.6)) / 5)
    assert pressing_threat(threat, np.array(2.0)) == pytest.approx(expected, rel=1e-14)


def test_pressing_threat_runs_from_mean_to_max() -> None:
    threat = np.array([[[0.2, 0.5, 0.1, 0.0, 0.3]], [[1.9, 0.0, 0.3, 0.3, 0.0]]])  # [b, C, K]
    np.testing.assert_allclose(pressing_threat(threat, np.zeros((2, 1))), threat.mean(axis=-1), rtol=1e-14)
    np.testing.assert_allclose(pressing_threat(threat, np.full((2, 1), 1e4)), threat.max(axis=-1), atol=1e-3)


@PROPERTY
@given(seed=SEEDS, kind=st.sampled_from(list(Threat)), delta=st.floats(min_value=1e-3, max_value=2.0), rule=st.sampled_from(list(Rule)))
def test_hazard_never_falls_when_a_threat_rises(seed: int, kind: int, delta: float, rule: Rule) -> None:
    """Salience refocuses attention but a rising threat never makes a stance safer (any tau, either rule)."""
    rng = np.random.default_rng(seed)
    th = random_theta(rng)
    env, offers = random_environment(rng, 2, 5), random_offers(rng, 2, 5)
    threat = env.threat.copy()
    threat[..., kind] += delta
    hazard = hazard_omnibalancing if rule is Rule.OMNIBALANCING else hazard_balance_of_threat
    before = hazard(env, offers, th)
    after = hazard(replace(env, threat=threat), offers, th)
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


#: The hand-computed case: threats (insurgency, unrest, elite, external, regime change), the external
#: threat posed 0.3 / 0.05 / 0.05 by RUS / WEST / CHN, a regime that can do without 15% of every threat,
#: and the West exposing a regime aligned with it to half again its regime-change threat.
HAND_THREAT = [0.2, 0.5, 0.1, 0.4, 0.3]
HAND_OWN = [0.3, 0.05, 0.05]
HAND_EXPOSURE = [0.0, 0.5, 0.0]
# Effective threats T~_k(s) = 0.85 T_k (1 - pi_k(s)); external: 0.85 (T_ext - own) (1 - pi_ext) + 0.85 own;
# regime change: 0.85 T_rc (1 - pi_rc) (1 + exposure(s)).
HAND_EFF = {
    Stance.RUS: [0.85 * 0.2 * 0.6, 0.85 * 0.5 * 0.4, 0.85 * 0.1 * 0.6, 0.85 * ((0.4 - 0.3) * 0.3 + 0.3), 0.85 * 0.3 * 0.3],
    Stance.WEST: [0.85 * 0.2 * 0.3, 0.85 * 0.5, 0.85 * 0.1, 0.85 * ((0.4 - 0.05) * 0.5 + 0.05), 0.85 * 0.3 * 1.0 * 1.5],
    Stance.CHN: [0.85 * 0.2 * 0.9, 0.85 * 0.5 * 0.9, 0.85 * 0.1, 0.85 * ((0.4 - 0.05) * 0.9 + 0.05), 0.85 * 0.3 * 0.7],
    Stance.NONALIGNED: [0.85 * 0.2, 0.85 * 0.5, 0.85 * 0.1, 0.85 * 0.4, 0.85 * 0.3],  # no protection, no own patron threat
}


def test_effective_threat_by_hand() -> None:
    assert HAND_EFF[Stance.RUS] == pytest.approx([0.102, 0.17, 0.051, 0.2805, 0.0765])
    assert HAND_EFF[Stance.WEST] == pytest.approx([0.051, 0.425, 0.085, 0.19125, 0.3825])
    th = stack_params([ModelParams()])
    env = one_client_environment(HAND_THREAT, HAND_OWN, self_reliance=0.15)
    got = effective_threat(env, one_client_offers(PROTECTION, HAND_EXPOSURE), th)
    assert got.shape == (1, 1, N_STANCES, N_THREATS)
    for s in Stance:
        np.testing.assert_allclose(got[0, 0, s], HAND_EFF[s], rtol=1e-12)


def test_hazard_omnibalancing_by_hand() -> None:
    th = stack_params([ModelParams(tau=2.0, rho=0.8, internal_threats=True)])
    env = one_client_environment(HAND_THREAT, HAND_OWN, self_reliance=0.15)
    offers = one_client_offers(PROTECTION, HAND_EXPOSURE)
    expected = []
    for s in Stance:
        # pressing threat M = (1/tau) log(mean_k exp(tau T~_k)); hazard = rho K M, a rate (no 1 - exp saturation)
        m = 0.5 * math.log(sum(math.exp(2 * e) for e in HAND_EFF[s]) / 5)
        expected.append(0.8 * 5 * m)
    # e.g. RUS: M = 0.5 ln((e^0.204 + e^0.34 + e^0.102 + e^0.561 + e^0.153) / 5) = 0.143069, hazard = 4 M = 0.572275
    assert expected[Stance.RUS] == pytest.approx(0.572275, abs=1e-6)
    got = hazard_omnibalancing(env, offers, th)
    assert got.shape == (1, 1, N_STANCES)
    np.testing.assert_allclose(got[0, 0], expected, rtol=1e-12)


def test_hazard_omnibalancing_without_internal_threats_by_hand() -> None:
    th = stack_params([ModelParams(tau=2.0, rho=0.8, internal_threats=False)])
    env = one_client_environment([1.5, 1.0, 0.7, 0.4, 0.9], [0.3, 0.05, 0.05])
    protection = [[0.0, 0.0, 0.0, 0.5, 0.0], [0.0] * 5, [0.0] * 5]
    offers = one_client_offers(protection)
    # With internal threats off only the external threat counts: hazard = rho T~_ext, as in Walt's rule.
    expected = [0.8 * ((0.4 - 0.3) * 0.5 + 0.3), 0.8 * 0.4, 0.8 * 0.4, 0.8 * 0.4]
    np.testing.assert_allclose(hazard_omnibalancing(env, offers, th)[0, 0], expected, rtol=1e-12)


def test_hazard_balance_of_threat_ignores_internal_threats() -> None:
    rng = np.random.default_rng(7)
    th = random_theta(rng)
    env = random_environment(rng, 2, 5)
    offers = random_offers(rng, 2, 5)
    before = hazard_balance_of_threat(env, offers, th)
    threat = env.threat.copy()
    internal = [k for k in Threat if k != Threat.EXTERNAL]  # regime change included: it is not Walt's external threat
    threat[..., internal] = rng.uniform(0, 2, threat[..., internal].shape)
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
    internal = [k for k in Threat if k != Threat.EXTERNAL]
    threat[..., internal] = rng.uniform(0, 2, (b, c, len(internal)))
    exposure = rng.uniform(0, 2, offers.exposure.shape)  # exposure acts on the regime-change threat only
    np.testing.assert_array_equal(
        hazard_balance_of_threat(env, offers, th), hazard_balance_of_threat(replace(env, threat=threat), replace(offers, exposure=exposure), th)
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


def test_mixed_batch_switches_internal_threats_per_row() -> None:
    """An ablation batch: rows with internal threats off use Walt's hazard, the others the omnibalancing one."""
    rng = np.random.default_rng(3)
    th = stack_params([ModelParams(tau=2.0), ModelParams(tau=2.0, internal_threats=False)])
    env, offers = random_environment(rng, 2, 3), random_offers(rng, 2, 3)
    got = hazard_omnibalancing(env, offers, th)
    on, off = th.take(np.array([0])), th.take(np.array([1]))
    first = lambda x: replace(x, **{f.name: getattr(x, f.name)[:1] for f in fields(x)})  # noqa: E731
    second = lambda x: replace(x, **{f.name: getattr(x, f.name)[1:] for f in fields(x)})  # noqa: E731
    np.testing.assert_allclose(got[:1], hazard_omnibalancing(first(env), first(offers), on), rtol=1e-14)
    np.testing.assert_allclose(got[1:], hazard_balance_of_threat(second(env), second(offers), off), rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# The hazard is linear: it does not saturate
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seed=SEEDS, scale=st.floats(min_value=0.1, max_value=20.0), rule=st.sampled_from(list(Rule)))
def test_hazard_gap_scales_linearly_with_the_threats_at_tau_0(seed: int, scale: float, rule: Rule) -> None:
    """At tau = 0 the hazard is rho times the sum of the effective threats: scaling every threat (and every
    patron's share of the external one) by c scales every stance's hazard, and so the gap between any two
    stances, by c. A saturating hazard (1 - exp) would shrink the gaps as the threats grow."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, tau=0.0)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    hazard = hazard_omnibalancing if rule is Rule.OMNIBALANCING else hazard_balance_of_threat
    h1 = hazard(env, offers, th)
    hc = hazard(replace(env, threat=scale * env.threat, patron_threat=scale * env.patron_threat), offers, th)
    np.testing.assert_allclose(hc, scale * h1, rtol=1e-12, atol=1e-14)
    gap1 = h1[..., :, None] - h1[..., None, :]
    gapc = hc[..., :, None] - hc[..., None, :]
    np.testing.assert_allclose(gapc, scale * gap1, rtol=1e-10, atol=1e-12)


def test_hazard_at_tau_0_is_rho_times_the_sum_of_effective_threats() -> None:
    th = stack_params([ModelParams(tau=0.0, rho=0.8)])
    env = one_client_environment(HAND_THREAT, HAND_OWN, self_reliance=0.15)
    got = hazard_omnibalancing(env, one_client_offers(PROTECTION, HAND_EXPOSURE), th)[0, 0]
    np.testing.assert_allclose(got, [0.8 * sum(HAND_EFF[s]) for s in Stance], rtol=1e-12)
    # ten times the threats, ten times the hazard (1 - exp(-x) would have saturated near 1)
    big = hazard_omnibalancing(replace(env, threat=10 * env.threat, patron_threat=10 * env.patron_threat),
                               one_client_offers(PROTECTION, HAND_EXPOSURE), th)[0, 0]
    np.testing.assert_allclose(big, 10 * got, rtol=1e-12)
    assert big.max() > 1.0


# ---------------------------------------------------------------------------------------------
# The regime-change channel
# ---------------------------------------------------------------------------------------------


def _rc_case(exposure: list[float], protection_rc: list[float], rc_threat: float = 0.4, tau: float = 3.0) -> np.ndarray:
    th = stack_params([ModelParams(tau=tau, rho=0.5)])
    protection = [row[:4] + [p] for row, p in zip(PROTECTION, protection_rc, strict=True)]
    env = one_client_environment([0.2, 0.3, 0.1, 0.3, rc_threat], [0.1, 0.05, 0.05], self_reliance=0.2)
    return hazard_omnibalancing(env, one_client_offers(protection, exposure), th)[0, 0]


def test_west_exposure_raises_only_the_west_stance_hazard() -> None:
    base = _rc_case([0.0, 0.0, 0.0], [0.7, 0.0, 0.3])
    exposed = _rc_case([0.0, 1.0, 0.0], [0.7, 0.0, 0.3])
    assert exposed[Stance.WEST] > base[Stance.WEST] + 1e-6
    others = [s for s in Stance if s != Stance.WEST]
    np.testing.assert_array_equal(exposed[others], base[others])
    # no regime-change threat, nothing to be exposed to
    np.testing.assert_array_equal(_rc_case([0.0, 1.0, 0.0], [0.7, 0.0, 0.3], rc_threat=0.0), _rc_case([0.0] * 3, [0.7, 0.0, 0.3], rc_threat=0.0))


@pytest.mark.parametrize("patron", [Patron.RUS, Patron.CHN])
def test_protection_against_regime_change_lowers_only_the_protectors_hazard(patron: Patron) -> None:
    weak = [0.7, 0.0, 0.3]
    strong = list(weak)
    strong[patron] = 1.0
    before = _rc_case([0.0, 0.5, 0.0], weak)
    after = _rc_case([0.0, 0.5, 0.0], strong)
    assert after[patron] < before[patron] - 1e-6
    others = [s for s in Stance if s != patron]
    np.testing.assert_array_equal(after[others], before[others])


@PROPERTY
@given(seed=SEEDS, delta=st.floats(min_value=1e-3, max_value=2.0))
def test_exposure_never_makes_the_west_safer_and_never_touches_other_stances(seed: int, delta: float) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    exposure = offers.exposure.copy()
    exposure[..., Patron.WEST] += delta
    before = hazard_omnibalancing(env, offers, th)
    after = hazard_omnibalancing(env, replace(offers, exposure=exposure), th)
    assert (after[..., Stance.WEST] >= before[..., Stance.WEST] - 1e-12).all()
    others = [s for s in Stance if s != Stance.WEST]
    np.testing.assert_array_equal(after[..., others], before[..., others])


# ---------------------------------------------------------------------------------------------
# Self-reliance
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seed=SEEDS, r=st.floats(min_value=0.0, max_value=1.0), rule=st.sampled_from(list(Rule)))
def test_self_reliance_scales_every_stance_hazard(seed: int, r: float, rule: Rule) -> None:
    """A regime that can do without a share r of every threat faces (1 - r) of each stance's hazard
    (exactly so where the hazard is linear: tau = 0, or Walt's rule at any tau)."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, tau=0.0) if rule is Rule.OMNIBALANCING else random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    hazard = hazard_omnibalancing if rule is Rule.OMNIBALANCING else hazard_balance_of_threat
    none = hazard(replace(env, self_reliance=np.zeros((b, c))), offers, th)
    some = hazard(replace(env, self_reliance=np.full((b, c), r)), offers, th)
    np.testing.assert_allclose(some, (1 - r) * none, rtol=1e-12, atol=1e-14)


@PROPERTY
@given(seed=SEEDS, r=st.floats(min_value=0.0, max_value=1.0))
def test_self_reliance_scales_the_value_of_rents(seed: int, r: float) -> None:
    """With no threat, cost or state, a stance's utility is gamma (1 - r) times its rents."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    gamma, share, share_chn = float(rng.uniform(0.1, 2)), float(rng.uniform(0, 1)), float(rng.uniform(0, 1))
    th = stack_params([ModelParams(gamma=gamma, nonaligned_share=share, nonaligned_share_chn=share_chn, chi=0.0, **NO_LEVERAGE, commitment_bonus=0.0, tie_weight=0.0, noise_sd=0.0)])
    rents = rng.uniform(0, 1, (b, c, N_PATRONS))
    offers = make_offers(b, c, rents=rents)
    env = make_environment(b, c, self_reliance=np.full((b, c), r))
    prev = np.full((b, c), Stance.RUS)  # not drifted: no courting
    u = omni_utilities(env, offers, (prev, *no_state(b, c)[1:]), th)
    kept = np.full(N_PATRONS, share)
    kept[Patron.CHN] = share_chn  # a hedger keeps its own share of China's rents
    expected = np.concatenate([rents, (kept * rents).sum(axis=-1, keepdims=True)], axis=-1) * gamma * (1 - r)
    np.testing.assert_allclose(u, expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# The other terms of the utility
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seed=SEEDS)
def test_ties_and_preference_shocks_add_to_the_utility(seed: int) -> None:
    """U(s) gains tie_weight * ties(p) for s = p (nothing for NONALIGNED) and noise_sd * e(s)."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    prev, member, ties, noise = random_state(rng, b, c)
    u = utilities(Rule.OMNIBALANCING, env, offers, prev, member, ties, noise, EXO, th)
    u0 = utilities(Rule.OMNIBALANCING, env, offers, prev, member, np.zeros_like(ties), np.zeros_like(noise), EXO, th)
    personal = np.concatenate([ties, np.zeros((b, c, 1))], axis=-1) * th.tie_weight[0, 0]
    np.testing.assert_allclose(u - u0, personal + th.noise_sd[0, 0] * noise, rtol=1e-9, atol=1e-12)


def test_leverage_by_hand() -> None:
    """Each channel of dependence carries its own cost of defiance; the pipeline channel's serves Russia and China alike."""
    env = make_environment(1, 2, ethnic_russian=[[0.4, 0.1]], remittances=[[0.2, 0.0]], route_russia=[[1.0, 0.3]], route_china=[[0.0, 0.6]])
    th = stack_params([ModelParams(defiance_ethnic=0.9, defiance_forces=0.7, defiance_remittances=0.2, defiance_route=0.5)])
    lev = leverage(env, np.array([[1.0, 0.0]]), th)
    np.testing.assert_allclose(lev[0, 0], [0.9 * 0.4 + 0.7 * 1.0 + 0.2 * 0.2 + 0.5 * 1.0, 0.0, 0.0])
    np.testing.assert_allclose(lev[0, 1], [0.9 * 0.1 + 0.5 * 0.3, 0.0, 0.5 * 0.6])


def test_russian_forces_count_only_non_alliance_russian_military_instruments() -> None:
    member = np.zeros((1, 4, J), dtype=bool)
    member[0, 0, 0] = True  # the alliance only
    member[0, 1, 1] = True  # a Western base only
    member[0, 2, 2] = True  # the economic bloc only
    member[0, 3, FORCES] = True
    assert russian_forces(member, EXO).tolist() == [[0.0, 0.0, 0.0, 1.0]]


def test_hosting_russian_forces_raises_the_cost_of_defying_russia() -> None:
    """Forces on the soil add Russia's leverage through them: every stance but RUS pays defiance_forces
    more (NONALIGNED its neutral share of it)."""
    th = stack_params([ModelParams(defiance_forces=0.2, defiance_neutral=0.5, commitment_bonus=0.0, gamma=0.0, chi=0.0, tie_weight=0.0, noise_sd=0.0)])
    env = make_environment(ethnic_russian=0.3, route_china=0.2)
    state = no_state()
    hosts = state[1].copy()
    hosts[0, 0, FORCES] = True
    u0 = omni_utilities(env, make_offers(), state, th)[0, 0]
    u1 = omni_utilities(env, make_offers(), (state[0], hosts, *state[2:]), th)[0, 0]
    np.testing.assert_allclose(u1 - u0, [0.0, -0.2, -0.2, -0.1], atol=1e-12)


def test_instruments_held_add_the_commitment_bonus_to_their_patron() -> None:
    th = stack_params([ModelParams(commitment_bonus=0.05, **NO_LEVERAGE, gamma=0.0, chi=0.0, tie_weight=0.0, noise_sd=0.0)])
    state = no_state()
    member = state[1].copy()
    member[0, 0, [0, 1, 2]] = True  # two Russian instruments and a Western one
    u0 = omni_utilities(make_environment(), make_offers(), state, th)[0, 0]
    u1 = omni_utilities(make_environment(), make_offers(), (state[0], member, *state[2:]), th)[0, 0]
    np.testing.assert_allclose(u1 - u0, [0.1, 0.05, 0.0, 0.0], atol=1e-12)


def test_switching_costs_chi_for_every_stance_but_the_previous_one() -> None:
    th = stack_params([ModelParams(chi=0.3, **NO_LEVERAGE, gamma=0.0, tie_weight=0.0, noise_sd=0.0, commitment_bonus=0.0)])
    for prev in Stance:
        state = no_state()
        u = omni_utilities(make_environment(), make_offers(), (np.full((1, 1), prev), *state[1:]), th)[0, 0]
        expected = np.full(N_STANCES, -0.3)
        expected[prev] = 0.0
        np.testing.assert_allclose(u, expected, atol=1e-12)


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
    prev, member, ties, noise = random_state(rng, b, c)
    u = utilities(rule, env, offers, prev, member, ties, noise, EXO, th)
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
    prev, member, ties, noise = random_state(rng, b, c)
    uniform = rng.random((b, c))
    snapshot = {f.name: getattr(env, f.name).copy() for f in fields(env)}
    offer_snapshot = {f.name: getattr(offers, f.name).copy() for f in fields(offers)}
    state_snapshot = [x.copy() for x in (prev, member, ties, noise)]

    u1 = utilities(rule, env, offers, prev, member, ties, noise, EXO, th)
    u2 = utilities(rule, env, offers, prev.copy(), member.copy(), ties.copy(), noise.copy(), EXO, th)
    np.testing.assert_array_equal(u1, u2)
    p = choice_probabilities(u1, th.beta)
    np.testing.assert_array_equal(p, choice_probabilities(u2, th.beta))
    s1, s2 = sample_stance(p, uniform), sample_stance(p.copy(), uniform.copy())
    np.testing.assert_array_equal(s1, s2)
    assert ((s1 >= 0) & (s1 < N_STANCES)).all()
    # The functions are pure: they do not write into their inputs.
    for name, value in snapshot.items():
        np.testing.assert_array_equal(getattr(env, name), value)
    for name, value in offer_snapshot.items():
        np.testing.assert_array_equal(getattr(offers, name), value)
    for before, now in zip(state_snapshot, (prev, member, ties, noise), strict=True):
        np.testing.assert_array_equal(before, now)


def _permute_clients(obj: Environment | Offers, perm: np.ndarray) -> Environment | Offers:
    return replace(obj, **{f.name: getattr(obj, f.name)[:, perm] for f in fields(obj)})


@PROPERTY
@given(seed=SEEDS, rule=st.sampled_from(list(Rule)))
def test_relabelling_clients_permutes_utilities(seed: int, rule: Rule) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(2, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    prev, member, ties, noise = random_state(rng, b, c)
    perm = rng.permutation(c)
    u = utilities(rule, env, offers, prev, member, ties, noise, EXO, th)
    u_perm = utilities(
        rule,
        _permute_clients(env, perm),
        _permute_clients(offers, perm),
        prev[:, perm],
        member[:, perm],
        ties[:, perm],
        noise[:, perm],
        EXO,
        th,
    )
    np.testing.assert_allclose(u_perm, u[:, perm], rtol=1e-13, atol=1e-15)


# "Raising a threat k that patron p protects against never lowers P(p)" holds for any salience tau when p
# protects FULLY against k (test_full_protection_against_k_never_loses_share). With partial protection it
# holds at tau = 0, now that the hazard is linear (test_at_tau_0_the_best_protector_never_loses_share), but
# not at high tau, where attention shifts to the most pressing threat. The cases below are hand-built
# b = 1, C = 1 clients with no rents, costs, ties or shocks.
NO_PARAMS = {"chi": 0.0, "gamma": 0.0, **NO_LEVERAGE, "commitment_bonus": 0.0, "tie_weight": 0.0, "noise_sd": 0.0}


def _one_client_share(threat: list[float], patron_threat: list[float], protection: list[list[float]], tau: float) -> np.ndarray:
    th = stack_params([ModelParams(tau=tau, **NO_PARAMS)])
    env = one_client_environment(threat, patron_threat)
    return omni_probabilities(env, one_client_offers(protection), no_state(), th)[0, 0]


def test_a_better_protector_gains_when_its_threat_rises() -> None:
    """RUS protects 0.4 and the West 0.7 against insurgency: a rising insurgency moves share to the West."""
    protection = [[0.4, 0, 0, 0, 0], [0.7, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    low = _one_client_share([0.5, 0, 0, 0, 0], [0, 0, 0], protection, tau=4.0)
    high = _one_client_share([1.0, 0, 0, 0, 0], [0, 0, 0], protection, tau=4.0)
    assert high[Stance.WEST] > low[Stance.WEST]
    assert high[Stance.RUS] < low[Stance.RUS]


def test_salience_does_not_penalise_a_full_protector() -> None:
    """Regression: with the old max-normalised salience weights, raising the top threat discounted the others,
    and P(RUS) fell although Russia protects fully against the threat that rose."""
    protection = [[1.0, 0.7, 0.6, 0.6, 0.6], [0.9, 0.2, 0.2, 0.1, 0.0], [0.1, 0.5, 0.2, 0.8, 0.3]]
    low = _one_client_share([0.9, 0.8, 0.6, 0.5, 0.2], [0.3, 0.1, 0.4], protection, tau=4.0)[Stance.RUS]
    high = _one_client_share([1.0, 0.8, 0.6, 0.5, 0.2], [0.3, 0.1, 0.4], protection, tau=4.0)[Stance.RUS]
    assert high >= low


def test_a_tied_protector_no_longer_loses_share_as_threats_grow() -> None:
    """CHN and the West tie at 0.5 against insurgency; CHN is the safest stance overall. Under the old
    saturating hazard 1 - exp(-x) the same added threat raised the safest stance's hazard most and CHN lost
    share (tau = 0); the linear hazard raises CHN's and the West's alike and the worse protectors' more."""
    protection = [[0.3, 0.4, 0.8, 0.4, 0.0], [0.5, 0.0, 0.8, 0.5, 0.0], [0.5, 0.8, 0.3, 0.5, 0.0]]
    low = _one_client_share([1.0, 1.9, 0.3, 1.9, 0.0], [0, 0, 0], protection, tau=0.0)
    high = _one_client_share([1.5, 1.9, 0.3, 1.9, 0.0], [0, 0, 0], protection, tau=0.0)
    assert high[Stance.CHN] > low[Stance.CHN]
    assert high[Stance.WEST] > low[Stance.WEST]
    assert high[Stance.NONALIGNED] < low[Stance.NONALIGNED]  # the worst protector against insurgency


@PROPERTY
@given(
    seed=SEEDS,
    patron=st.sampled_from(list(Patron)),
    kind=st.sampled_from(list(Threat)),
    delta=st.floats(min_value=0.01, max_value=1.0),
)
def test_full_protection_against_k_never_loses_share(seed: int, patron: int, kind: int, delta: float) -> None:
    """Raising a threat that p protects against fully leaves U(p) unchanged and never raises any other U(s),
    so P(p) never falls, whatever the salience tau and the regime's self-reliance."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    protection = offers.protection.copy()
    protection[:, :, patron, kind] = 1.0
    offers = replace(offers, protection=protection)
    prev, member, ties, noise = random_state(rng, b, c)
    threat = env.threat.copy()
    threat[..., kind] += delta
    u0 = utilities(Rule.OMNIBALANCING, env, offers, prev, member, ties, noise, EXO, th)
    u1 = utilities(Rule.OMNIBALANCING, replace(env, threat=threat), offers, prev, member, ties, noise, EXO, th)
    np.testing.assert_allclose(u1[..., patron], u0[..., patron], rtol=1e-12, atol=1e-12)
    assert (u1 <= u0 + 1e-12).all()
    before = choice_probabilities(u0, th.beta)[..., patron]
    after = choice_probabilities(u1, th.beta)[..., patron]
    assert (after >= before - 1e-12).all()


@PROPERTY
@given(
    seed=SEEDS,
    patron=st.sampled_from(list(Patron)),
    kind=st.sampled_from([Threat.INSURGENCY, Threat.UNREST, Threat.ELITE, Threat.EXTERNAL]),
    delta=st.floats(min_value=0.01, max_value=2.0),
)
def test_at_tau_0_the_best_protector_never_loses_share(seed: int, patron: int, kind: int, delta: float) -> None:
    """With a linear hazard at tau = 0, a patron that protects against k at least as well as every other
    (partial protection will do) never loses share when k rises."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, tau=0.0)
    env, offers = random_environment(rng, b, c), random_offers(rng, b, c)
    protection = offers.protection.copy()
    protection[:, :, patron, kind] = protection[..., kind].max(axis=-1)
    offers = replace(offers, protection=protection)
    prev, member, ties, noise = random_state(rng, b, c)
    threat = env.threat.copy()
    threat[..., kind] += delta
    before = choice_probabilities(utilities(Rule.OMNIBALANCING, env, offers, prev, member, ties, noise, EXO, th), th.beta)
    after = choice_probabilities(utilities(Rule.OMNIBALANCING, replace(env, threat=threat), offers, prev, member, ties, noise, EXO, th), th.beta)
    assert (after[..., patron] >= before[..., patron] - 1e-12).all()


# ---------------------------------------------------------------------------------------------
# De jure layer
# ---------------------------------------------------------------------------------------------


def _exo_with_thresholds(rng: np.random.Generator) -> SimpleNamespace:
    join = rng.uniform(0.05, 1.0, J)
    return SimpleNamespace(instrument_patron=EXO.instrument_patron, instrument_alliance=np.zeros(J, dtype=bool), join_threshold=join,
                           exit_threshold=join * rng.uniform(0, 0.99, J))


@PROPERTY
@given(seed=SEEDS, all_available=st.booleans())
def test_membership_changes_only_when_memory_crosses_thresholds(seed: int, all_available: bool) -> None:
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, dejure_rate=float(rng.uniform(0.01, 1)), dejure_sticky=True)
    exo = _exo_with_thresholds(rng)
    join = exo.join_threshold
    memory = rng.uniform(0, 1, (b, c, J))
    member = rng.random((b, c, J)) < 0.5
    stance = rng.integers(0, N_STANCES, (b, c))
    available = np.ones((b, c, J), dtype=bool) if all_available else rng.random((b, c, J)) < 0.8
    renewal = rng.random(J) < 0.3

    new_memory, new_member = update_commitments(memory, member, stance, available, renewal, exo, th)

    toward = (stance[..., None] == EXO.instrument_patron).astype(float)
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


@PROPERTY
@given(seed=SEEDS)
def test_the_first_quarter_memory_is_the_first_stance_and_nothing_is_automatic(seed: int) -> None:
    """In the first quarter a new state has no record: its memory is its first stance exactly, whatever the
    starting memory, and it joins an open instrument only if that stance is toward the instrument's patron."""
    rng = np.random.default_rng(seed)
    b, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    th = random_theta(rng, dejure_rate=float(rng.uniform(0.01, 1)), dejure_sticky=True)
    exo = _exo_with_thresholds(rng)
    memory = rng.uniform(0, 1, (b, c, J))
    stance = rng.integers(0, N_STANCES, (b, c))
    available = np.ones((b, c, J), dtype=bool)
    new_memory, new_member = update_commitments(memory, np.zeros((b, c, J), dtype=bool), stance, available, np.zeros(J, dtype=bool), exo, th, first=True)
    toward = stance[..., None] == EXO.instrument_patron
    np.testing.assert_array_equal(new_memory, toward.astype(float))
    np.testing.assert_array_equal(new_member, toward)  # every join threshold is below 1, so toward means joined


@PROPERTY
@given(join=st.floats(0.3, 0.75), exit_share=st.floats(0.0, 0.95), offset=st.floats(-0.02, 0.02))
def test_an_alliance_takes_its_thresholds_from_the_parameters(join: float, exit_share: float, offset: float) -> None:
    """The CST/CSTO's thresholds are ``alliance_join`` and ``alliance_exit`` (the scenario gives none); every
    other instrument keeps the scenario's. A member whose memory falls just below ``alliance_exit`` leaves, one just
    above stays; a non-member just above ``alliance_join`` joins."""
    leave_at = join * exit_share
    th = stack_params([ModelParams(alliance_join=join, alliance_exit=leave_at)])
    exo = SimpleNamespace(**vars(EXO), join_threshold=np.array([np.nan, 0.8, 0.6, 0.6]), exit_threshold=np.array([np.nan, 0.7, 0.4, 0.3]))
    join_th, exit_th = thresholds(exo, th)
    alliance = EXO.instrument_alliance
    np.testing.assert_array_equal(join_th[0, alliance], [join])
    np.testing.assert_array_equal(exit_th[0, alliance], [leave_at])
    np.testing.assert_array_equal(join_th[0, ~alliance], exo.join_threshold[~alliance])
    np.testing.assert_array_equal(exit_th[0, ~alliance], exo.exit_threshold[~alliance])
    # One step of memory toward a non-Russian stance multiplies it by 1 - rate: start so it lands at threshold + offset.
    rate = th.dejure_rate[0, 0]
    j = int(np.flatnonzero(alliance)[0])
    for target, was_member in ((leave_at, True), (join, False)):
        land = min(max(target + offset, 0.0), 1.0)
        memory = np.full((1, 1, J), land / (1 - rate))
        member = np.full((1, 1, J), was_member)
        _, new = update_commitments(memory, member, np.array([[Stance.WEST]]), np.ones((1, 1, J), dtype=bool), np.zeros(J, dtype=bool), exo, th)
        new_memory = (1 - rate) * memory[0, 0, j]
        expected = new_memory >= leave_at if was_member else new_memory > join
        assert new[0, 0, j] == expected


def test_without_stickiness_membership_follows_the_stance_at_once() -> None:
    th = stack_params([ModelParams(dejure_sticky=False)])
    exo = SimpleNamespace(instrument_patron=EXO.instrument_patron, instrument_alliance=np.zeros(J, dtype=bool), join_threshold=np.full(J, 0.9),
                          exit_threshold=np.full(J, 0.1))
    member = np.array([[[True, True, False, False]]])
    memory = np.full((1, 1, J), 0.5)
    _, new = update_commitments(memory, member, np.array([[Stance.WEST]]), np.ones((1, 1, J), dtype=bool), np.zeros(J, dtype=bool), exo, th)
    assert new[0, 0].tolist() == [False, True, False, False]


@PROPERTY
@given(seed=SEEDS)
def test_plain_unrest_favours_no_patron_under_the_documented_protection(seed: int) -> None:
    """No patron protects against plain domestic unrest (docs/model.md, section 2.3): at tau = 0 an
    unrest threat adds the same hazard to every stance, so it moves no choice probability."""
    rng = np.random.default_rng(seed)
    th = stack_params([ModelParams(tau=0.0, rho=float(rng.uniform(0.1, 2)))])
    threat = rng.uniform(0, 1, N_THREATS).tolist()
    calm, unrest = list(threat), list(threat)
    unrest[Threat.UNREST] += float(rng.uniform(0.1, 2))
    offers = one_client_offers(ModelParams().protection_matrix(), rng.uniform(0, 2, N_PATRONS).tolist())
    own = rng.uniform(0, 0.3, N_PATRONS).tolist()
    h_calm = hazard_omnibalancing(one_client_environment(calm, own), offers, th)[0, 0]
    h_unrest = hazard_omnibalancing(one_client_environment(unrest, own), offers, th)[0, 0]
    np.testing.assert_allclose(h_unrest - h_calm, np.full(N_STANCES, h_unrest[0] - h_calm[0]), atol=1e-12)
    assert h_unrest[0] > h_calm[0]
