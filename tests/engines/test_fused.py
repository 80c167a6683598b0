"""The fused kernel (sim/engines/fused.py), the numpy reference loop and the Mesa model agree run for
run; the hoisted per-setting values (sim/kernel/quarter.every_quarter) equal the quarter-by-quarter ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines.ensemble import simulate
from sim.engines.model import AlignmentModel
from sim.kernel.actors import N_CLIENTS, Rule
from sim.kernel.decision import stance_values
from sim.kernel.exogenous import Exogenous
from sim.kernel.offers import patron_offers
from sim.kernel.params import stack_params
from sim.kernel.quarter import every_quarter, open_quarter
from sim.kernel.randomness import batch_draws, replicate_draws, run_seed
from sim.scenario.compile import compile_scenario
from tests.engines.test_engines import param_sets


def _same(a, b, probs_atol: float = 1e-12) -> None:
    np.testing.assert_array_equal(a.stance, b.stance)
    np.testing.assert_array_equal(a.member, b.member)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=probs_atol)
    assert a.closeness.keys() == b.closeness.keys()
    for k in a.closeness:
        np.testing.assert_allclose(a.closeness[k], b.closeness[k], rtol=0, atol=1e-6)


@settings(max_examples=10, deadline=None)
@given(params=st.lists(param_sets(), min_size=1, max_size=3), root=st.integers(0, 2**32 - 1), rule=st.sampled_from(list(Rule)))
def test_fused_numpy_and_mesa_give_the_same_runs(history, history_exo, params, root, rule):
    """Several parameter sets x the same three replicates (common random numbers by index): the
    fused kernel equals the numpy loop run for run, and each run equals its Mesa replay."""
    reps = 3
    draws = replicate_draws(root, reps, history_exo.n_steps)
    setting = np.repeat(np.arange(len(params)), reps)
    replicate = np.tile(np.arange(reps), len(params))
    th = stack_params(params)
    fused = simulate(history_exo, th, rule, draws, setting=setting, replicate=replicate)
    ref = simulate(history_exo, th, rule, draws, setting=setting, replicate=replicate, kernel="numpy")
    _same(fused, ref)
    scn = history.model_copy(update={"rule": rule})
    for i in (0, len(setting) - 1):
        mesa_run = AlignmentModel(scn, run_seed(root, int(replicate[i])), params=params[setting[i]], exo=history_exo).run()
        np.testing.assert_array_equal(mesa_run.stance[0], fused.stance[i])
        np.testing.assert_array_equal(mesa_run.member[0], fused.member[i])
        np.testing.assert_allclose(mesa_run.probs[0], fused.probs[i], rtol=0, atol=1e-12)


def test_kept_probabilities_and_lean_recording_agree(history, history_exo):
    draws = replicate_draws(5, 40, history_exo.n_steps)
    th = stack_params([history.params])
    steps = np.array([3, 50, 100])
    fused = simulate(history_exo, th, history.rule, draws, full=False, probs_steps=steps)
    ref = simulate(history_exo, th, history.rule, draws, full=False, probs_steps=steps, kernel="numpy")
    whole = simulate(history_exo, th, history.rule, draws)
    _same(fused, ref)
    assert fused.probs.shape == (40, 3, N_CLIENTS, 4) and fused.closeness == {}
    np.testing.assert_allclose(fused.probs, whole.probs[:, steps], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fused.stance, whole.stance)


def test_scenario_variants_run_the_same_on_both_kernels(history):
    """A stack of variants (Andijan off in the second): each run reads its setting's variant."""
    no_andijan = history.model_copy(update={"shocks": [s for s in history.shocks if s.id != "andijan"]})
    exo = Exogenous.stack([compile_scenario(history), compile_scenario(no_andijan)])
    draws = batch_draws([run_seed(2, r) for r in range(8)], exo.n_steps, N_CLIENTS)
    th = stack_params([history.params, history.params])
    setting = np.array([0, 1] * 4)
    fused = simulate(exo, th, history.rule, draws, variant=np.array([0, 1]), setting=setting)
    ref = simulate(exo, th, history.rule, draws, variant=np.array([0, 1]), setting=setting, kernel="numpy")
    _same(fused, ref)
    alone = simulate(compile_scenario(no_andijan), stack_params([history.params]), history.rule, draws.take(np.array([1, 3, 5, 7])))
    np.testing.assert_array_equal(alone.stance, fused.stance[1::2])


def test_every_quarter_equals_each_quarter_on_its_own(history):
    """The hoisted rows are bit for bit the quarter-by-quarter environment, offers and stance values."""
    other = history.params.model_copy(update={"tau": 7.5, "hostility": 0.3})
    exo = Exogenous.stack([compile_scenario(history)] * 2)
    th = stack_params([history.params, other])
    variant = np.array([1, 0])
    hoisted = every_quarter(exo, history.rule, th, 2, variant, rents=True)
    for t in (0, 1, 55, exo.n_steps - 1):
        q = open_quarter(exo, t, th, 2, variant)
        offers = patron_offers(q.env, th)
        v = stance_values(history.rule, q.env, offers, th)
        np.testing.assert_array_equal(hoisted.values.base[:, t], v.base)
        np.testing.assert_array_equal(hoisted.values.courting[:, t], v.courting)
        np.testing.assert_array_equal(hoisted.values.forces[:, t], v.forces)
        np.testing.assert_array_equal(hoisted.available[:, t], q.available)
        np.testing.assert_array_equal(hoisted.tie_reset[:, t], q.env.tie_reset)
        np.testing.assert_array_equal(hoisted.rents[:, t], offers.rents)


def test_blocks_of_settings_do_not_change_the_values(history, history_exo, monkeypatch):
    import sim.kernel.quarter as quarter

    th = stack_params([history.params.model_copy(update={"tau": float(x)}) for x in np.linspace(0, 9, 7)])
    whole = every_quarter(history_exo, history.rule, th, 7)
    monkeypatch.setattr(quarter, "BLOCK_ROWS", history_exo.n_steps * 2)  # blocks of two settings
    blocks = every_quarter(history_exo, history.rule, th, 7)
    np.testing.assert_array_equal(whole.values.base, blocks.values.base)


def test_unknown_kernel_is_refused(history, history_exo):
    with pytest.raises(ValueError, match="unknown kernel 'cuda'"):
        simulate(history_exo, stack_params([history.params]), history.rule, replicate_draws(1, 1, history_exo.n_steps), kernel="cuda")
