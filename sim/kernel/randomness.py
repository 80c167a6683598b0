"""Per-run random numbers, drawn up front so no engine or activation order can change them.

A run needs two tables: one uniform per quarter and client, which draws the stance from
the choice probabilities, and one standard normal per quarter, client and stance, the
innovations of the leader's persistent preference shocks (``sim.kernel.leaders.preference_noise``).
Both come from the run's own seed, in a fixed order, before the run starts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.kernel.actors import N_CLIENTS, N_STANCES

#: Mask that keeps derived seeds within a signed 64-bit integer (Parquet int64).
_SEED_MASK = (1 << 63) - 1


def run_seed(root_seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` under ``root_seed``: ``SeedSequence(root, spawn_key=(replicate,))``.

    The returned integer alone reproduces the run (``numpy.random.default_rng(seed)``).
    """
    state = np.random.SeedSequence(int(root_seed), spawn_key=(int(replicate),)).generate_state(2, np.uint32)
    return int((int(state[0]) << 32 | int(state[1])) & _SEED_MASK)


@dataclass(frozen=True)
class Draws:
    """The random numbers of a batch of runs.

    Attributes:
        uniform: ``[R, T, C]`` uniforms for the stance draws.
        normal: ``[R, T, C, S]`` standard normals, the innovations of the preference shocks.
    """

    uniform: np.ndarray
    normal: np.ndarray

    def __len__(self) -> int:
        return self.uniform.shape[0]

    @property
    def n_steps(self) -> int:
        return self.uniform.shape[1]

    def take(self, index: np.ndarray | slice) -> Draws:
        """The draws of runs ``index``."""
        return Draws(self.uniform[index], self.normal[index])

    def tile(self, n: int) -> Draws:
        """The same runs repeated ``n`` times (one block per parameter set: common random numbers)."""
        return Draws(np.tile(self.uniform, (n, 1, 1)), np.tile(self.normal, (n, 1, 1, 1)))


def run_draws(seed: int, n_steps: int, n_clients: int) -> Draws:
    """One run's draws (a batch of one): uniforms first, then the normals, from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    uniform = rng.random((n_steps, n_clients))
    normal = rng.standard_normal((n_steps, n_clients, N_STANCES))
    return Draws(uniform[None], normal[None])


def replicate_seeds(root_seed: int, replicates: int | Iterable[int]) -> np.ndarray:
    """The seeds of replicates ``0 .. replicates - 1`` (or of the replicate numbers given) under ``root_seed``."""
    reps = range(replicates) if isinstance(replicates, int | np.integer) else replicates
    return np.array([run_seed(root_seed, int(r)) for r in reps], dtype=np.int64)


def replicate_draws(root_seed: int, replicates: int | Iterable[int], n_steps: int, n_clients: int = N_CLIENTS) -> Draws:
    """The draws of replicates ``0 .. replicates - 1`` under ``root_seed`` (common random numbers:
    replicate ``r`` draws the same numbers in every scenario and parameter set)."""
    return batch_draws(replicate_seeds(root_seed, replicates), n_steps, n_clients)


def batch_draws(seeds: np.ndarray | list[int], n_steps: int, n_clients: int) -> Draws:
    """The draws of a batch of runs, each from its own seed."""
    seeds = list(seeds)
    uniform = np.empty((len(seeds), n_steps, n_clients))
    normal = np.empty((len(seeds), n_steps, n_clients, N_STANCES))
    for i, s in enumerate(seeds):  # as run_draws, written in place
        rng = np.random.Generator(np.random.PCG64(int(s)))  # what default_rng(s) builds
        rng.random(out=uniform[i])
        rng.standard_normal(out=normal[i])
    return Draws(uniform, normal)


@functools.lru_cache(maxsize=8)
def shared_draws(seeds: tuple[int, ...], n_steps: int, n_clients: int = N_CLIENTS) -> Draws:
    """:func:`batch_draws`, kept per process for reuse: sweep workers run the same replicates for
    every design point, and the dashboard reruns the same replicates with other parameters.
    Callers share the arrays and must not write to them."""
    return batch_draws(seeds, n_steps, n_clients)
