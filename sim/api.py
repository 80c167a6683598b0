"""The Python API: load a scenario, run it, compare counterfactuals and sweep, with the CLI's numbers.

``omnibalance run``, ``omnibalance compare`` and the dashboard call these functions, so a run made
here equals the same run made there (same scenario, parameters and seed: the same trajectories).

Example:
    >>> import sim
    >>> r = sim.run("scenarios/history.yaml", replicates=20, seed=1)
    >>> r.summary.columns[:3].tolist()
    ['actor', 'year', 'share_RUS']
    >>> fig = r.plot()  # a matplotlib Figure; r.save("outputs/mine") writes what `omnibalance run` writes
    >>> calm = sim.run("scenarios/history.yaml", replicates=20, seed=1, overrides=["shocks.andijan.magnitude=0"])
    >>> 0.0 <= calm.share("UZB", 2006, "RUS") <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.kernel.actors import ALLIANCE_STATUS, CLIENTS, STANCES
from sim.scenario import loading
from sim.scenario.schema import Scenario
from sim.workflows import compare as _compare
from sim.workflows import run as _run
from sim.workflows.outputs import check_out

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.workflows.fit import Targets

#: What the API accepts as a scenario: a YAML file, a mapping, or a loaded :class:`Scenario`.
ScenarioLike = str | Path | Mapping[str, Any] | Scenario


def load_scenario(source: ScenarioLike, overrides: Sequence[str] | None = None) -> Scenario:
    """Load and validate a scenario, with ``--set``-style overrides.

    Args:
        source: A YAML file (``extends:`` and ``params_file:`` resolved), a scenario mapping (its
            relative paths start from the current folder), or a :class:`Scenario`.
        overrides: ``KEY=VALUE`` assignments by dotted path, e.g. ``["params.tau=2",
            "shocks.andijan.magnitude=0"]``.

    Raises:
        ScenarioError: naming the file, line and field of the first problem.

    Example:
        >>> import sim
        >>> sim.load_scenario("scenarios/history.yaml", overrides=["params.tau=2"]).params.tau
        2.0
    """
    if isinstance(source, Scenario):
        return source if not overrides else loading.load_scenario(source.model_dump(mode="json"), list(overrides))
    return loading.load_scenario(source, list(overrides or []))


def _source(scenario: ScenarioLike) -> Path | None:
    return Path(scenario) if isinstance(scenario, str | Path) else None


class Results:
    """The outcome of :func:`run`: tables (pandas), the fit to history, a figure, and the output files.

    Attributes:
        scenario: The scenario that ran (resolved, overrides applied).
        replicates: Number of stochastic replicates.
        seed: The root seed (replicate ``r`` used ``run_seed(seed, r)``).
        engine: ``ensemble`` or ``mesa``.
        fit: The fit to history, as ``fit.json`` holds it: ``hit_rate`` per scored client, ``events``
            (the year the modal path makes each realignment), ``acts`` (dated acts, quarterly) and
            ``switches_per_run``.
        seconds: Compute time.
    """

    def __init__(self, replay: _run.Replay) -> None:
        self._replay = replay
        self.scenario: Scenario = replay.scenario
        self.replicates: int = replay.replicates
        self.seed: int = replay.root_seed
        self.engine: str = replay.engine
        self.fit: dict[str, Any] = replay.fit
        self.seconds: float = replay.seconds

    def __repr__(self) -> str:
        return f"<Results {self.scenario.name}: {self.replicates} replicates, seed {self.seed}, {self.engine}>"

    @property
    def years(self) -> np.ndarray:
        """``[Y]`` the calendar years of the run (year-end values)."""
        return self._replay.years

    @property
    def stance_shares(self) -> np.ndarray:
        """``[T, C, S]`` the share of replicates in each stance every quarter (clients and stances in ``Client`` and ``Stance`` order)."""
        return self._replay.stance_shares

    @property
    def status_shares(self) -> np.ndarray:
        """``[T, C, 3]`` the share of replicates in no, a true or a paper alliance with Russia every quarter."""
        return self._replay.status_shares

    @property
    def targets(self) -> Targets:
        """The history the fit scored against (``calibration/targets``)."""
        return self._replay.targets

    @property
    def summary(self) -> pd.DataFrame:
        """Per client and year: the share of replicates in each stance at year end, and the modal stance (``summary.csv``)."""
        import pandas as pd

        from sim.workflows.outputs import summary_rows

        return pd.DataFrame(summary_rows(self._replay.year_end, self.years))

    def share(self, actor: str, year: int, stance: str) -> float:
        """The share of replicates in which ``actor`` holds ``stance`` at the end of ``year``."""
        i = int(np.flatnonzero(self.years == year)[0])
        return float((self._replay.year_end[:, i, CLIENTS.index(actor)] == STANCES.index(stance)).mean())

    @property
    def dejure(self) -> pd.DataFrame:
        """De jure and de facto at each year end, per client: the share of replicates holding each
        instrument (one column per instrument id, e.g. ``csto``) and in a ``true``, ``paper`` or
        ``none`` alliance with Russia (de jure member and de facto aligned; member only; not a member)."""
        import pandas as pd

        rep = self._replay
        _, steps = self.scenario.calendar.year_end_steps()
        rows = []
        for c, actor in enumerate(CLIENTS):
            for i, y in enumerate(self.years):
                row: dict[str, Any] = {"actor": actor, "year": int(y)}
                row |= {j: float(rep.member_shares[steps[i], c, k]) for k, j in enumerate(rep.exo.instrument_ids)}
                row |= {s: float(rep.status_shares[steps[i], c, k]) for k, s in enumerate(ALLIANCE_STATUS)}
                rows.append(row)
        return pd.DataFrame(rows)

    @property
    def trajectories(self) -> pd.DataFrame:
        """Long format, one row per replicate x quarter x client (the columns of ``trajectories.parquet``).

        Raises:
            OmnibalanceError: if the run kept no trajectories (``run(..., trajectories=False)``).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from sim.errors import OmnibalanceError
        from sim.workflows.outputs import trajectory_table

        rep = self._replay
        if rep.chunks is not None:
            return pa.concat_tables([trajectory_table(res, rep.exo, self.scenario.calendar, idx, seeds) for idx, seeds, res in rep.chunks]).to_pandas()
        if rep.trajectory_file is not None:
            return pq.read_table(rep.trajectory_file).to_pandas()
        raise OmnibalanceError("this run kept no trajectories (run with trajectories=True)")

    def plot(self, title: str | None = None) -> Figure:
        """The alignment fan chart (``alignment.png``): per client, stance shares over time against history."""
        return _run.alignment_figure(self._replay, title)

    def save(self, out: str | Path, plot: bool = True) -> Path:
        """Write exactly the files ``omnibalance run`` writes into ``out``: ``trajectories.parquet``,
        ``summary.csv``, ``fit.json``, ``manifest.json`` and ``alignment.png``.

        Raises:
            OmnibalanceError: if ``out`` exists and is not empty, or the run kept no trajectories.
        """
        return _run.save_replay(self._replay, out, plot)


def run(
    scenario: ScenarioLike,
    replicates: int = 100,
    seed: int | None = None,
    engine: str | None = None,
    *,
    overrides: Sequence[str] | None = None,
    out: str | Path | None = None,
    trajectories: bool = True,
    plot: bool = True,
    progress: bool = False,
    chunk_size: int = 2000,
    source: str | Path | None = None,
    posterior: str | Path | None = None,
) -> Results:
    """Run ``replicates`` stochastic replays of a scenario.

    Args:
        scenario: A YAML file, a scenario mapping or a :class:`Scenario`.
        replicates: Number of replicates.
        seed: Root seed (default: the scenario's).
        engine: ``ensemble`` (vectorised) or ``mesa`` (agent by agent); default ensemble for more than one replicate.
        overrides: ``KEY=VALUE`` assignments, as ``--set`` takes them.
        out: Write the run's files here as it goes (what ``omnibalance run`` does; trajectories are
            streamed to disk, so memory stays flat for any number of replicates).
        trajectories: Keep the full trajectories (probabilities, closeness) for :attr:`Results.trajectories`
            and :meth:`Results.save`; ``False`` is faster and keeps only what the tables, fit and figure need.
        plot: With ``out``, also write ``alignment.png``.
        progress: Show a progress bar.
        chunk_size: Runs simulated at once.
        source: The scenario's file, for the manifest, when ``scenario`` is already loaded.
        posterior: An ABC calibration folder (``posterior.parquet``): each replicate draws its
            parameters from it, so the bands include parameter uncertainty (ensemble engine).

    Example:
        >>> import sim
        >>> r = sim.run("scenarios/history.yaml", replicates=10, seed=1)
        >>> sorted(r.fit["hit_rate"])
        ['KAZ', 'UZB']
    """
    scn = load_scenario(scenario, overrides)
    kw = {"replicates": replicates, "seed": seed, "engine": engine, "source": source or _source(scenario), "chunk_size": chunk_size, "progress": progress}
    if posterior is not None:
        from sim.workflows.posterior import load_posterior

        kw["posterior"] = load_posterior(posterior, scn.params)
    if out is not None:
        return Results(_run.run_to_folder(scn, out, plot, **kw))
    return Results(_run.replay(scn, full=trajectories, keep=trajectories, **kw))


class CompareResults:
    """The outcome of :func:`compare`: each alternative's difference from the base, with 95% intervals.

    Attributes:
        names: The scenarios' names, the base first.
        replicates: Common-seed replicates per scenario.
        seed: The root seed.
    """

    def __init__(self, comparison: _compare.Comparison) -> None:
        self._comparison = comparison
        self.names: list[str] = comparison.names
        self.replicates: int = comparison.replicates
        self.seed: int = comparison.root_seed

    def __repr__(self) -> str:
        return f"<CompareResults {self.names[0]} vs {', '.join(self.names[1:])}: {self.replicates} replicates>"

    @property
    def table(self) -> pd.DataFrame:
        """``compare.csv``: per scenario, client, year and stance, the year-end share and its difference from the base (``diff``, ``diff_lo``, ``diff_hi``)."""
        import pandas as pd

        return pd.DataFrame(self._comparison.rows)

    @property
    def events(self) -> pd.DataFrame:
        """``events.csv``: per scenario and historical realignment, its probability and timing."""
        import pandas as pd

        return pd.DataFrame(self._comparison.events)

    @property
    def report(self) -> str:
        """``compare.md``: the clearest effects, as Markdown."""
        return self._comparison.report()

    def effect(self, scenario: str, actor: str, year: int, stance: str) -> dict[str, float]:
        """``{"diff", "lo", "hi"}``: how much ``scenario`` changes ``actor``'s year-end share in ``stance`` from the base."""
        t = self.table
        row = t[(t.scenario == scenario) & (t.actor == actor) & (t.year == year) & (t.stance == stance)].iloc[0]
        return {"diff": float(row["diff"]), "lo": float(row["diff_lo"]), "hi": float(row["diff_hi"])}

    def save(self, out: str | Path) -> Path:
        """Write ``compare.csv``, ``events.csv``, ``compare.png``, ``compare.md`` and ``manifest.json`` into ``out``."""
        _compare.write_comparison(self._comparison, Path(out))
        return Path(out)


def compare(base: ScenarioLike, *alternatives: ScenarioLike, replicates: int = 500, seed: int | None = None, out: str | Path | None = None,
            progress: bool = False) -> CompareResults:
    """Run ``base`` and each alternative with common random numbers and compare them.

    Args:
        base: The base scenario (file, mapping or :class:`Scenario`).
        alternatives: The counterfactuals.
        replicates: Replicates per scenario (replicate ``r`` uses the same seed in every scenario).
        seed: Root seed (default: the base scenario's).
        out: Also write the comparison's files here (what ``omnibalance compare`` writes).
        progress: Show a progress bar.

    Example:
        >>> import sim
        >>> c = sim.compare("scenarios/history.yaml", "scenarios/counterfactuals/no_andijan.yaml", replicates=20, seed=1)
        >>> c.names
        ['history', 'no_andijan']
    """
    sources = [base, *alternatives]
    scenarios = [load_scenario(s) for s in sources]
    if out is not None:
        check_out(Path(out))  # before the runs, not after them
    result = CompareResults(_compare.run_comparison(scenarios, [_source(s) for s in sources], replicates, seed, progress))
    if out is not None:
        result.save(out)
    return result


class SweepResults:
    """The outcome of :func:`sweep`: a folder of Parquet chunks, one row per run.

    Attributes:
        out: The sweep folder.
        n_runs: Runs in the sweep.
        n_chunks: Chunks (Parquet files) they are written in.
        ran_chunks: Chunks this call ran (the rest were already on disk).
        seconds: Wall time of this call.
    """

    def __init__(self, out: Path, summary: dict[str, Any]) -> None:
        self.out = out
        self.n_runs: int = int(summary["n_runs"])
        self.n_chunks: int = int(summary["n_chunks"])
        self.ran_chunks: int = int(summary["ran_chunks"])
        self.seconds: float = float(summary["seconds"])

    def __repr__(self) -> str:
        return f"<SweepResults {self.out}: {self.n_runs} runs>"

    @property
    def table(self) -> pd.DataFrame:
        """Per run: design point, inputs (``x.*``), seed, stance shares per client and realignment years."""
        from sim.workflows.sweep.execute import read_sweep

        return read_sweep(self.out).to_pandas()

    def analyze(self, method: str | None = None) -> pd.DataFrame:
        """Sensitivity indices (SALib), written to ``sensitivity.csv`` and plots in the folder, returned as a table."""
        import pandas as pd

        from sim.workflows.sweep.analyze import analyze_sweep

        return pd.DataFrame(analyze_sweep(self.out, method)["rows"])


def sweep(spec: str | Path, out: str | Path | None = None, *, executor: str = "local", workers: int | None = None, scheduler: str | None = None,
          resume: bool = False, chunk_size: int | None = None, trajectories: bool = False, progress: bool = False) -> SweepResults:
    """Run (or resume) a sweep spec into ``out`` (default ``outputs/sweep-<timestamp>/``), as ``omnibalance sweep`` does.

    Args:
        spec: A sweep spec YAML (see ``scenarios/sweeps/``).
        out: The sweep folder.
        executor: ``serial``, ``local`` (a process pool) or ``dask``.
        workers: Processes or Dask workers.
        scheduler: With ``dask``, an existing scheduler's address.
        resume: Finish an interrupted sweep in ``out``.
        chunk_size: Runs per task (default about a second of work).
        trajectories: Also write every run's full trajectory.
        progress: Show a progress bar.
    """
    from sim.workflows.outputs import default_out
    from sim.workflows.sweep.execute import run_sweep

    out = Path(out) if out is not None else default_out("sweep")
    r = run_sweep(Path(spec), out, executor=executor, workers=workers, scheduler=scheduler, resume=resume, chunk_size=chunk_size,
                  trajectories=trajectories, progress=progress)
    return SweepResults(out, r)
