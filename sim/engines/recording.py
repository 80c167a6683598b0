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
from sim.kernel.offers import Offers


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


class Recorder:
    """Stances, de jure states and alliance status every quarter; probabilities and closeness too if ``full``.

    Args:
        exo: The compiled scenario (instruments, Russia's alliance).
        n_runs: Runs recorded at once.
        full: Record probabilities and closeness every quarter.
        probs_steps: Without ``full``, record probabilities at these steps only.
    """

    def __init__(self, exo: Exogenous, n_runs: int, full: bool = True, probs_steps: np.ndarray | None = None) -> None:
        T, C, J = exo.n_steps, len(exo.initial_stance), len(exo.instrument_ids)
        self.exo = exo
        self.full = full
        self.keep = {int(t): i for i, t in enumerate(probs_steps)} if (probs_steps is not None and not full) else {}
        self.stance = np.empty((T, n_runs, C), dtype=np.int8)
        self.probs = np.empty((T, n_runs, C, N_STANCES)) if full else np.empty((len(self.keep), n_runs, C, N_STANCES))
        self.member = np.empty((T, n_runs, C, J), dtype=bool)
        self.status = np.empty((T, n_runs, C), dtype=np.int8)
        self.closeness: dict[str, np.ndarray] = {}

    def record(self, t: int, stance: np.ndarray, probs: np.ndarray, member: np.ndarray, offers: Offers | None = None) -> None:
        """Record quarter ``t`` (``offers``, one row per run, are needed only with ``full``)."""
        self.stance[t] = stance
        self.member[t] = member
        self.status[t] = alliance_status(member, stance, self.exo)
        if t in self.keep:
            self.probs[self.keep[t]] = probs
        if self.full:
            self.probs[t] = probs
            for k, v in closeness(stance, probs, member, offers, self.exo).items():
                self.closeness.setdefault(k, np.empty(self.stance.shape, dtype=np.float32))[t] = v

    def result(self) -> RunResult:
        """The trajectories so far, run-major (views of the recorder's arrays)."""
        run_major = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731
        return RunResult(run_major(self.stance), run_major(self.probs), run_major(self.member), run_major(self.status),
                         {k: run_major(v) for k, v in self.closeness.items()})
