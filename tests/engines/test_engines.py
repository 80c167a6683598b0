"""The Mesa model and the ensemble runner give the same trajectories; the runs' random numbers (sim/kernel/randomness.py)."""

from __future__ import annotations

import mesa
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines.ensemble import simulate
from sim.engines.model import AlignmentModel
from sim.kernel.actors import N_CLIENTS, N_STANCES, Rule
from sim.kernel.params import ModelParams, stack_params
from sim.kernel.randomness import Draws, batch_draws, run_draws, run_seed
from sim.workflows.outputs import trajectory_table
from sim.workflows.run import run_batch
from tests.conftest import assert_same_runs

PARAM_RANGES = {
    "beta": (2.0, 40.0),
    "tau": (0.0, 10.0),
    "rho": (0.2, 2.0),
    "chi": (0.0, 0.5),
    "gamma": (0.0, 1.5),
    "defiance_ethnic": (0.0, 1.0),
    "defiance_forces": (0.0, 1.0),
    "defiance_remittances": (0.0, 1.0),
    "defiance_route": (0.0, 1.0),
    "self_reliance": (0.0, 1.0),
    "dejure_rate": (0.05, 0.5),
    "noise_sd": (0.0, 0.5),
    "noise_persistence": (0.0, 0.98),
    "hostility": (0.0, 3.0),
    "exposure": (0.0, 2.0),
    "tie_weight": (0.0, 0.5),
    "tie_rate": (0.02, 0.5),
    "succession_threat": (0.0, 1.0),
    "court": (0.0, 1.5),
    "commitment_bonus": (0.0, 0.3),
}


@st.composite
def param_sets(draw):
    values = {k: draw(st.floats(lo, hi, allow_nan=False)) for k, (lo, hi) in PARAM_RANGES.items()}
    values["dejure_sticky"] = draw(st.booleans())
    values["internal_threats"] = draw(st.booleans())
    return ModelParams(**values)


@settings(max_examples=12, deadline=None)
@given(params=param_sets(), root=st.integers(0, 2**32 - 1), replicate=st.integers(0, 10_000), rule=st.sampled_from(list(Rule)))
def test_mesa_equals_ensemble(history, history_exo, params, root, replicate, rule):
    seed = run_seed(root, replicate)
    scn = history.model_copy(update={"rule": rule})
    mesa_run = AlignmentModel(scn, seed, params=params, exo=history_exo).run()
    th = stack_params([params])
    ens = simulate(history_exo, th, rule, batch_draws([seed], history_exo.n_steps, N_CLIENTS))
    np.testing.assert_array_equal(mesa_run.stance, ens.stance)
    np.testing.assert_array_equal(mesa_run.member, ens.member)
    np.testing.assert_array_equal(mesa_run.status, ens.status)
    np.testing.assert_allclose(mesa_run.probs, ens.probs, rtol=0, atol=1e-12)
    for k in ens.closeness:
        np.testing.assert_allclose(mesa_run.closeness[k], ens.closeness[k], rtol=0, atol=1e-12)


def test_mixed_parameter_batch_equals_single_runs(history, history_exo):
    """A batch whose runs each have their own parameters equals those runs done one by one."""
    rng = np.random.default_rng(7)
    params = [
        ModelParams(beta=float(rng.uniform(4, 30)), tau=float(rng.uniform(0, 8)), chi=float(rng.uniform(0, 0.3)),
                    noise_sd=float(rng.uniform(0, 0.4)), noise_persistence=float(rng.uniform(0, 0.95)), tie_weight=float(rng.uniform(0, 0.4)),
                    hostility=float(rng.uniform(0, 2)), internal_threats=bool(rng.random() < 0.7))
        for _ in range(6)
    ]
    seeds = np.array([run_seed(11, r) for r in range(6)])
    draws = batch_draws(seeds, history_exo.n_steps, N_CLIENTS)
    batch = simulate(history_exo, stack_params(params), history.rule, draws)
    for i, p in enumerate(params):
        one = simulate(history_exo, stack_params([p]), history.rule, draws.take(slice(i, i + 1)))
        np.testing.assert_array_equal(batch.stance[i], one.stance[0])
        np.testing.assert_allclose(batch.probs[i], one.probs[0], atol=1e-12, rtol=0)


def test_batch_table_equals_concatenated_single_runs(history, history_exo):
    seeds = [run_seed(history.seed, r) for r in range(5)]
    batch = run_batch(history, history_exo, seeds, "ensemble")
    whole = trajectory_table(batch, history_exo, history.calendar, np.arange(5), np.array(seeds))
    parts = [
        trajectory_table(
            run_batch(history, history_exo, [s], "ensemble"),
            history_exo,
            history.calendar,
            np.array([r]),
            np.array([s]),
        )
        for r, s in enumerate(seeds)
    ]
    assert whole.equals(pa.concat_tables(parts))
    mesa = trajectory_table(
        run_batch(history, history_exo, seeds, "mesa"), history_exo, history.calendar, np.arange(5), np.array(seeds)
    )
    assert_same_runs(mesa, whole)


@settings(max_examples=5, deadline=None)
@given(order_seed=st.integers(0, 2**32 - 1), reverse=st.booleans())
def test_activation_order_does_not_matter(history, history_exo, order_seed, reverse):
    """Clients decide on last quarter's state, own their ties, shocks and treaties, and draw pre-drawn numbers,
    so no activation order of clients or patrons can change a run: it equals the ensemble's."""
    seed = run_seed(3, 0)
    params = ModelParams(noise_sd=0.3, tie_weight=0.3, beta=8.0)
    reference = simulate(history_exo, stack_params([params]), history.rule, run_draws(seed, history_exo.n_steps, N_CLIENTS))
    m = AlignmentModel(history, seed, params=params, exo=history_exo)
    clients = list(reversed(m.clients)) if reverse else list(m.clients)
    m.client_set = mesa.agent.AgentSet(clients, random=m.random).shuffle()
    m.patron_set = mesa.agent.AgentSet(list(reversed(m.patrons)) if reverse else m.patrons, random=m.random).shuffle()
    m.random.seed(order_seed)  # a different shuffle_do order every quarter
    run = m.run()
    np.testing.assert_array_equal(run.stance, reference.stance)
    np.testing.assert_array_equal(run.member, reference.member)
    np.testing.assert_allclose(run.probs, reference.probs, rtol=0, atol=1e-12)


def test_same_seed_same_result_different_seed_differs(history, history_exo):
    th = stack_params([history.params] * 3)
    seeds = np.array([run_seed(5, r) for r in range(3)])
    a = simulate(history_exo, th, history.rule, batch_draws(seeds, history_exo.n_steps, N_CLIENTS))
    b = simulate(history_exo, th, history.rule, batch_draws(seeds, history_exo.n_steps, N_CLIENTS))
    np.testing.assert_array_equal(a.stance, b.stance)
    c = simulate(history_exo, th, history.rule, batch_draws(seeds + 1, history_exo.n_steps, N_CLIENTS))
    assert not np.array_equal(a.stance, c.stance)


# ---------------------------------------------------------------------------------------------
# The random numbers
# ---------------------------------------------------------------------------------------------


def test_run_draws_are_uniforms_then_normals_from_the_seed():
    d = run_draws(12345, 7, N_CLIENTS)
    rng = np.random.default_rng(12345)
    np.testing.assert_array_equal(d.uniform[0], rng.random((7, N_CLIENTS)))
    np.testing.assert_array_equal(d.normal[0], rng.standard_normal((7, N_CLIENTS, N_STANCES)))
    assert len(d) == 1 and d.n_steps == 7
    assert ((d.uniform >= 0) & (d.uniform < 1)).all()


def test_batch_draws_take_and_tile():
    seeds = [run_seed(9, r) for r in range(4)]
    batch = batch_draws(seeds, 11, N_CLIENTS)
    assert isinstance(batch, Draws) and len(batch) == 4 and batch.n_steps == 11
    assert batch.uniform.shape == (4, 11, N_CLIENTS) and batch.normal.shape == (4, 11, N_CLIENTS, N_STANCES)
    for i, s in enumerate(seeds):
        one = run_draws(s, 11, N_CLIENTS)
        np.testing.assert_array_equal(batch.uniform[i], one.uniform[0])
        np.testing.assert_array_equal(batch.normal[i], one.normal[0])
    part = batch.take(np.array([2, 0]))
    np.testing.assert_array_equal(part.uniform, batch.uniform[[2, 0]])
    np.testing.assert_array_equal(part.normal, batch.normal[[2, 0]])
    tiled = batch.tile(3)
    assert len(tiled) == 12
    for k in range(3):
        np.testing.assert_array_equal(tiled.take(slice(4 * k, 4 * k + 4)).uniform, batch.uniform)
        np.testing.assert_array_equal(tiled.take(slice(4 * k, 4 * k + 4)).normal, batch.normal)
    assert not np.array_equal(batch.normal[0], batch.normal[1])  # each run has its own seed


def test_run_seeds_are_stable_and_distinct():
    seeds = [run_seed(20050513, r) for r in range(200)]
    assert len(set(seeds)) == 200 and all(0 <= s < 2**63 for s in seeds)
    assert seeds == [run_seed(20050513, r) for r in range(200)]
    assert run_seed(1, 0) != run_seed(2, 0)


def test_tiled_draws_give_each_parameter_set_the_same_runs(history, history_exo):
    """Common random numbers: a batch of two parameter sets over tiled draws equals each set run alone."""
    draws = batch_draws([run_seed(4, r) for r in range(3)], history_exo.n_steps, N_CLIENTS)
    p = [ModelParams(tau=1.0, noise_sd=0.2), ModelParams(tau=6.0, noise_sd=0.05)]
    th = stack_params([p[0]] * 3 + [p[1]] * 3)
    both = simulate(history_exo, th, history.rule, draws.tile(2))
    for k in range(2):
        alone = simulate(history_exo, stack_params([p[k]]), history.rule, draws)
        np.testing.assert_array_equal(both.stance[3 * k : 3 * k + 3], alone.stance)
        np.testing.assert_allclose(both.probs[3 * k : 3 * k + 3], alone.probs, rtol=0, atol=1e-12)
