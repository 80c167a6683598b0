"""Posterior-propagated runs (`run --posterior DIR`): each replicate's parameters are a particle of
the posterior, drawn by weight, reproducibly."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sim
from sim.errors import OmnibalanceError
from sim.workflows.posterior import load_posterior
from tests.conftest import HISTORY


def posterior_dir(tmp_path, columns: dict, name: str = "post"):
    d = tmp_path / name
    d.mkdir()
    pq.write_table(pa.table(columns), d / "posterior.parquet")
    return d


def test_a_one_particle_posterior_is_that_parameter_set(tmp_path):
    d = posterior_dir(tmp_path, {"tau": [2.5], "protection.RUS.unrest": [0.3], "weight": [1.0], "distance": [0.2]})
    with_posterior = sim.run(HISTORY, replicates=30, seed=4, posterior=d, trajectories=False)
    by_hand = sim.run(HISTORY, replicates=30, seed=4, overrides=["params.tau=2.5", "params.protection.RUS.unrest=0.3"], trajectories=False)
    assert np.array_equal(with_posterior._replay.year_end, by_hand._replay.year_end)
    assert with_posterior.fit["posterior"] == {"source": str(d), "particles": 1, "distinct_used": 1}


def test_particle_draws_follow_the_weights_and_depend_only_on_seed_and_replicate(tmp_path):
    d = posterior_dir(tmp_path, {"tau": [1.0, 9.0], "weight": [1.0, 4.0]})
    post = load_posterior(d, sim.load_scenario(HISTORY).params)
    assert post.weights.tolist() == [0.2, 0.8]
    draws = post.draw(7, np.arange(4000))
    assert abs((draws == 1).mean() - 0.8) < 0.03
    assert np.array_equal(post.draw(7, np.arange(100)), draws[:100]) and np.array_equal(post.draw(7, np.array([3, 99])), draws[[3, 99]])
    small = sim.run(HISTORY, replicates=40, seed=7, posterior=d, trajectories=False)
    large = sim.run(HISTORY, replicates=80, seed=7, posterior=d, trajectories=False)
    assert np.array_equal(small._replay.year_end, large._replay.year_end[:40])  # replicate r is the same run in both
    assert post.params[0].beta == sim.load_scenario(HISTORY).params.beta  # parameters not in the posterior keep the scenario's


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        ({"tauu": [1.0], "weight": [1.0]}, "column 'tauu' is not a numeric model parameter"),
        ({"tau": [1.0], "weight": [-1.0]}, "non-negative 'weight'"),
        ({"tau": [1.0]}, "non-negative 'weight'"),
        ({"tau": [-5.0], "weight": [1.0]}, "particle 0 is not a valid parameter set"),
    ],
)
def test_bad_posteriors_are_named(tmp_path, columns, says):
    with pytest.raises(OmnibalanceError, match=says):
        load_posterior(posterior_dir(tmp_path, columns), sim.load_scenario(HISTORY).params)


def test_a_folder_without_a_posterior(tmp_path):
    with pytest.raises(OmnibalanceError, match="no posterior.parquet"):
        sim.run(HISTORY, replicates=2, posterior=tmp_path)
