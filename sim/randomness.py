"""Per-run random numbers, drawn up front so no engine or activation order can change them."""

from __future__ import annotations

import numpy as np

#: Mask that keeps derived seeds within a signed 64-bit integer (Parquet int64).
_SEED_MASK = (1 << 63) - 1


def run_seed(root_seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` under ``root_seed``: ``SeedSequence(root, spawn_key=(replicate,))``.

    The returned integer alone reproduces the run (``numpy.random.default_rng(seed)``).
    """
    state = np.random.SeedSequence(int(root_seed), spawn_key=(int(replicate),)).generate_state(2, np.uint32)
    return int((int(state[0]) << 32 | int(state[1])) & _SEED_MASK)


def run_uniforms(seed: int, n_steps: int, n_clients: int) -> np.ndarray:
    """``[T, C]`` uniforms that drive one run's stance draws (client order fixed by ``Client``)."""
    return np.random.default_rng(seed).random((n_steps, n_clients))


def batch_uniforms(seeds: np.ndarray, n_steps: int, n_clients: int) -> np.ndarray:
    """``[R, T, C]`` uniforms for a batch of runs, each from its own seed."""
    out = np.empty((len(seeds), n_steps, n_clients))
    for i, s in enumerate(seeds):
        out[i] = run_uniforms(int(s), n_steps, n_clients)
    return out
