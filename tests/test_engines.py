"""The Mesa model and the ensemble runner give the same trajectories."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.actors import N_CLIENTS
from sim.ensemble import expand_theta, simulate
from sim.model import AlignmentModel
from sim.outputs import trajectory_table
from sim.params import ModelParams, stack_params
from sim.randomness import batch_uniforms, run_seed
from sim.runner import run_batch

PARAM_RANGES = {
    "beta": (2.0, 40.0),
    "tau": (0.0, 10.0),
    "rho": (0.2, 2.0),
    "chi": (0.0, 0.5),
    "gamma": (0.0, 1.5),
    "defiance": (0.0, 1.0),
    "self_reliance": (0.0, 1.0),
    "dejure_rate": (0.05, 0.5),
}


@st.composite
def param_sets(draw):
    values = {k: draw(st.floats(lo, hi, allow_nan=False)) for k, (lo, hi) in PARAM_RANGES.items()}
    values["dejure_sticky"] = draw(st.booleans())
    values["internal_threats"] = draw(st.booleans())
    return ModelParams(**values)


@settings(max_examples=12, deadline=None)
@given(params=param_sets(), root=st.integers(0, 2**32 - 1), replicate=st.integers(0, 10_000))
def test_mesa_equals_ensemble(history, history_exo, params, root, replicate):
    seed = run_seed(root, replicate)
    mesa_run = AlignmentModel(history, seed, params=params, exo=history_exo).run()
    th = stack_params([params])
    ens = simulate(history_exo, th, history.rule, batch_uniforms(np.array([seed]), history_exo.n_steps, N_CLIENTS))
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
        ModelParams(beta=float(rng.uniform(4, 30)), tau=float(rng.uniform(0, 8)), chi=float(rng.uniform(0, 0.3)))
        for _ in range(6)
    ]
    seeds = np.array([run_seed(11, r) for r in range(6)])
    u = batch_uniforms(seeds, history_exo.n_steps, N_CLIENTS)
    batch = simulate(history_exo, stack_params(params), history.rule, u)
    for i, p in enumerate(params):
        one = simulate(history_exo, stack_params([p]), history.rule, u[i : i + 1])
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
    assert mesa.equals(whole)


def test_activation_order_does_not_matter(history, history_exo):
    """Clients decide on last quarter's state and draw pre-drawn numbers, so order is irrelevant."""
    seed = run_seed(3, 0)
    runs = []
    for order_seed in (1, 2, 3):
        m = AlignmentModel(history, seed, exo=history_exo)
        m.client_set = m.client_set.shuffle()  # a different activation order each time
        m.random.seed(order_seed)
        runs.append(m.run())
    for r in runs[1:]:
        np.testing.assert_array_equal(r.stance, runs[0].stance)
        np.testing.assert_array_equal(r.probs, runs[0].probs)


def test_same_seed_same_result_different_seed_differs(history, history_exo):
    th = expand_theta(stack_params([history.params]), 3)
    seeds = np.array([run_seed(5, r) for r in range(3)])
    a = simulate(history_exo, th, history.rule, batch_uniforms(seeds, history_exo.n_steps, N_CLIENTS))
    b = simulate(history_exo, th, history.rule, batch_uniforms(seeds, history_exo.n_steps, N_CLIENTS))
    np.testing.assert_array_equal(a.stance, b.stance)
    c = simulate(history_exo, th, history.rule, batch_uniforms(seeds + 1, history_exo.n_steps, N_CLIENTS))
    assert not np.array_equal(a.stance, c.stance)
