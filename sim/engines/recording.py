"""Recording trajectories: one recorder for both engines.

The Mesa model records its one run through a :class:`Recorder` each quarter, as a Mesa
``DataCollector`` would; the ensemble runner records all its runs through the same class. Arrays
are written time-major (contiguous writes each quarter) and returned run-major as views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernel.actors import N_STANCES
from sim.kernel.exogenous import Exogenous
from sim.kernel.measures import alliance_status, closeness


@dataclass
class RunResult:
    """Trajectories of a batch of runs. Shapes ``[R, T, C, ...]``."""

    stance: np.ndarray  # [R, T, C] int8
    probs: np.ndarray  # [R, T, C, S] (or [R, len(probs_steps), C, S])
    member: np.ndarray  # [R, T, C, J] bool
    status: np.ndarray  # [R, T, C] int8 (AllianceStatus)
    closeness: dict[str, np.ndarray]  # each [R, T, C]

    @property
    def n_runs(self) -> int:
        return self.stance.shape[0]

    @staticmethod
    def concatenate(parts: list[RunResult]) -> RunResult:
        """The runs of ``parts``, one after another."""
        return RunResult(
            stance=np.concatenate([p.stance for p in parts]),
            probs=np.concatenate([p.probs for p in parts]),
            member=np.concatenate([p.member for p in parts]),
            status=np.concatenate([p.status for p in parts]),
            closeness={k: np.concatenate([p.closeness[k] for p in parts]) for k in parts[0].closeness},
        )


def run_result(exo: Exogenous, stance: np.ndarray, probs: np.ndarray, member: np.ndarray, rents: np.ndarray | None = None) -> RunResult:
    """Trajectories from stances, probabilities and de jure states (``[R, T, ...]``): the alliance
    status follows, and with the patrons' ``rents`` (``[R, T, C, P]``) the closeness measures."""
    near = {} if rents is None else {k: v.astype(np.float32) for k, v in closeness(stance, probs, member, rents, exo).items()}
    return RunResult(stance, probs, member, alliance_status(member, stance, exo), near)


class Recorder:
    """Stances and de jure states every quarter; probabilities and closeness too if ``full``.

    Args:
        exo: The compiled scenario (instruments, Russia's alliance).
        n_runs: Runs recorded at once.
        full: Record probabilities and closeness every quarter.
        probs_steps: Without ``full``, record probabilities at these steps only.
    """

    def __init__(self, exo: Exogenous, n_runs: int, full: bool = True, probs_steps: np.ndarray | None = None) -> None:
        T, C, J, P = exo.n_steps, len(exo.initial_stance), len(exo.instrument_ids), exo.power.shape[1]
        self.exo = exo
        self.full = full
        self.keep = {int(t): i for i, t in enumerate(probs_steps)} if (probs_steps is not None and not full) else {}
        self.stance = np.zeros((T, n_runs, C), dtype=np.int8)
        self.probs = np.zeros((T, n_runs, C, N_STANCES)) if full else np.zeros((len(self.keep), n_runs, C, N_STANCES))
        self.member = np.zeros((T, n_runs, C, J), dtype=bool)
        self.rents = np.zeros((T, n_runs, C, P)) if full else None

    def record(self, t: int, stance: np.ndarray, probs: np.ndarray, member: np.ndarray, rents: np.ndarray | None = None) -> None:
        """Record quarter ``t`` (the patrons' ``rents``, one row per run, are needed only with ``full``)."""
        self.stance[t] = stance
        self.member[t] = member
        if t in self.keep:
            self.probs[self.keep[t]] = probs
        if self.full:
            self.probs[t] = probs
            self.rents[t] = rents

    def result(self) -> RunResult:
        """The trajectories so far, run-major."""
        run_major = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731
        return run_result(self.exo, run_major(self.stance), run_major(self.probs), run_major(self.member),
                          None if self.rents is None else run_major(self.rents))
