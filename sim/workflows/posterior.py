"""Posterior-propagated runs: each replicate draws its parameters from an ABC posterior.

``omnibalance run SCENARIO --posterior DIR`` (``sim.run(..., posterior=DIR)``) reads
``DIR/posterior.parquet`` (what ``omnibalance calibrate --method abc`` writes: one row per particle,
a column per calibrated parameter, its ``weight``) and gives replicate ``r`` the parameters of a
particle drawn with probability proportional to its weight, so the bands of a run include the
uncertainty about the parameters as well as the model's own randomness. The draw of replicate
``r`` depends only on the root seed and ``r``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import OmnibalanceError
from sim.kernel.params import ModelParams

#: Spawn key of the particle draws (apart from every replicate's own stream).
PARTICLE_STREAM = 2**31 - 3


@dataclass(frozen=True)
class Posterior:
    """Weighted parameter sets from an ABC posterior.

    Attributes:
        source: The folder it was read from.
        params: One full parameter set per particle (the scenario's, with the posterior's values).
        weights: Normalised particle weights.
    """

    source: Path
    params: list[ModelParams]
    weights: np.ndarray

    def draw(self, root_seed: int, replicates: np.ndarray) -> np.ndarray:
        """The particle of each replicate: a function of the root seed and the replicate number only."""
        cdf = np.cumsum(self.weights)
        u = np.array([np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(PARTICLE_STREAM, int(r)))).random() for r in replicates])
        return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(self.params) - 1)


def load_posterior(folder: str | Path, base: ModelParams) -> Posterior:
    """Read ``folder/posterior.parquet`` onto the parameters ``base``.

    Raises:
        OmnibalanceError: if the folder has no posterior, or it names parameters the model does not have.
    """
    import pyarrow.parquet as pq

    from sim.workflows.calibrate.spec import get_dotted, set_dotted

    folder = Path(folder)
    path = folder / "posterior.parquet"
    if not path.is_file():
        raise OmnibalanceError(f"--posterior {folder}: no posterior.parquet there (omnibalance calibrate SPEC --method abc --out {folder} writes one)")
    try:
        table = pq.read_table(path).to_pydict()
    except Exception as exc:  # a damaged or foreign file: say so, in one line
        raise OmnibalanceError(f"--posterior {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    weights = np.asarray(table.pop("weight", None) or [], dtype=float)
    table.pop("distance", None)
    if not len(weights) or not table or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise OmnibalanceError(f"--posterior {path}: expected particles with parameter columns and non-negative 'weight's")
    dumped = base.model_dump(mode="json")
    for name in table:
        try:
            float(get_dotted(dumped, name))
        except (KeyError, TypeError, ValueError):
            raise OmnibalanceError(f"--posterior {path}: column '{name}' is not a numeric model parameter") from None
    params = []
    for i in range(len(weights)):
        values = copy.deepcopy(dumped)
        for name, column in table.items():
            set_dotted(values, name, float(column[i]))
        try:
            params.append(ModelParams.model_validate(values))
        except ValueError as exc:
            raise OmnibalanceError(f"--posterior {path}: particle {i} is not a valid parameter set ({str(exc).splitlines()[0]})") from None
    return Posterior(folder, params, weights / weights.sum())
