"""Output files: long-format trajectories (Parquet), summary, fit, manifest — written atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.engines.ensemble import RunResult
from sim.errors import OmnibalanceError
from sim.kernel.actors import ALLIANCE_STATUS, CLIENTS, STANCES
from sim.kernel.exogenous import Exogenous
from sim.kernel.timeline import Calendar
from sim.project import project_root
from sim.workflows import interrupts


def trajectory_schema(exo: Exogenous, closeness_keys: list[str]) -> pa.Schema:
    """The columns of ``trajectories.parquet``."""
    cols = [
        ("replicate", pa.int32()),
        ("seed", pa.int64()),
        ("step", pa.int16()),
        ("date", pa.date32()),
        ("year", pa.int16()),
        ("actor", pa.dictionary(pa.int8(), pa.string())),
        ("stance", pa.dictionary(pa.int8(), pa.string())),
        *[(f"p_{s}", pa.float64()) for s in STANCES],
        *[(f"{i}_member", pa.bool_()) for i in exo.instrument_ids],
        *[(k, pa.float32()) for k in closeness_keys],
        ("alliance_status", pa.dictionary(pa.int8(), pa.string())),
    ]
    return pa.schema(cols)


def _dict_column(codes: np.ndarray, labels: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(list(labels)))


def trajectory_table(result: RunResult, exo: Exogenous, calendar: Calendar, replicates: np.ndarray, seeds: np.ndarray) -> pa.Table:
    """Long format: one row per replicate x step x client, rows ordered that way."""
    R, T, C = result.stance.shape
    n = R * T * C
    dates = np.array(calendar.dates(), dtype="datetime64[D]")
    step = np.tile(np.repeat(np.arange(T, dtype=np.int16), C), R)
    keys = sorted(result.closeness)
    data: dict[str, Any] = {
        "replicate": np.repeat(np.asarray(replicates, dtype=np.int32), T * C),
        "seed": np.repeat(np.asarray(seeds, dtype=np.int64), T * C),
        "step": step,
        "date": pa.array(dates[step]),
        "year": calendar.years().astype(np.int16)[step],
        "actor": _dict_column(np.tile(np.arange(C), R * T), CLIENTS),
        "stance": _dict_column(result.stance.reshape(n), STANCES),
    }
    probs = result.probs.reshape(n, -1)
    for i, s in enumerate(STANCES):
        data[f"p_{s}"] = probs[:, i]
    member = result.member.reshape(n, -1)
    for j, ins in enumerate(exo.instrument_ids):
        data[f"{ins}_member"] = member[:, j]
    for k in keys:
        data[k] = result.closeness[k].reshape(n).astype(np.float32)
    data["alliance_status"] = _dict_column(result.status.reshape(n), ALLIANCE_STATUS)
    return pa.table(data, schema=trajectory_schema(exo, keys))


@contextlib.contextmanager
def trajectory_writer(path: Path, exo: Exogenous, calendar: Calendar) -> Iterator[Callable[[np.ndarray, np.ndarray, RunResult], None]]:
    """Stream chunks of runs into one ``trajectories.parquet``: yields ``write(replicates, seeds, result)``.

    The file is opened with the first chunk (its closeness columns fix the schema) and closed on exit.
    """
    import pyarrow.parquet as pq

    writer: list[pq.ParquetWriter] = []

    def write(replicates: np.ndarray, seeds: np.ndarray, result: RunResult) -> None:
        table = trajectory_table(result, exo, calendar, replicates, seeds)
        if not writer:
            writer.append(pq.ParquetWriter(path, trajectory_schema(exo, sorted(result.closeness)), compression="zstd"))
        writer[0].write_table(table)

    try:
        yield write
    finally:
        if writer:
            writer[0].close()


def git_commit() -> str | None:
    """The checkout's commit, if this package runs from a git checkout."""
    root = project_root()
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_csv(path: Path, rows: list[dict[str, Any]], fieldnames: list[str] | None = None) -> None:
    """Write rows as CSV atomically (header from the first row unless ``fieldnames`` is given)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames or list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def write_parquet(path: Path, table: pa.Table | dict[str, Any]) -> None:
    """Write a Parquet table atomically (a hidden temporary file in the same folder, then rename)."""
    import time

    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{time.time_ns()}.tmp")
    pq.write_table(table if isinstance(table, pa.Table) else pa.table(table), tmp)
    tmp.replace(path)


def utc_now() -> str:
    """The time now, UTC, ISO 8601 (for manifests)."""
    return dt.datetime.now(dt.UTC).isoformat()


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_out(target: Path, *, existing_ok: bool = False, hint: str = "choose another --out") -> Path:
    """Check that ``target`` can become an output folder, before any work starts.

    Args:
        target: The ``--out`` folder.
        existing_ok: Accept a non-empty folder (a ``--resume``).
        hint: What the message about a non-empty folder tells the user to do.

    Raises:
        OmnibalanceError: naming ``--out`` and what is wrong: a file where the folder (or one of its
            parents) would be, a non-empty folder, or a place that cannot be written.
    """
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise OmnibalanceError(f"--out {target}: is a file, not a folder; {hint} (nothing was overwritten)")
        if not existing_ok and any(target.iterdir()):
            raise OmnibalanceError(f"--out {target}: output folder exists and is not empty; {hint} (nothing was overwritten)")
        if not os.access(target, os.W_OK | os.X_OK):
            raise OmnibalanceError(f"--out {target}: the folder is not writable")
        return target
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OmnibalanceError(f"--out {target}: cannot be created, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OmnibalanceError(f"--out {target}: cannot be created, {parent} is not writable")
    return target


def make_out(target: Path, **check: Any) -> Path:
    """:func:`check_out`, then create the folder (and its parents) with the user's umask."""
    target = check_out(target, **check)
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o777)
    except OSError as exc:
        raise OmnibalanceError(f"--out {target}: cannot be created ({exc.strerror})") from None
    return target


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Build an output folder under a temporary name and rename it into place on success.

    The folder gets the user's umask (a lab group can read it). On any failure or interruption
    the temporary folder is removed and nothing exists under ``target``'s name.

    Raises:
        OmnibalanceError: if ``target`` cannot be an output folder (see :func:`check_out`).
    """
    target = check_out(Path(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        tmp.chmod(0o777 & ~_umask())
    except OSError as exc:
        raise OmnibalanceError(f"--out {target}: cannot be created ({exc.strerror})") from None
    try:
        yield tmp
        interrupts.check()  # an interruption a library swallowed still leaves nothing under the final name
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        target.rmdir()
    os.replace(tmp, target)


def default_out(scenario_name: str, base: Path | None = None) -> Path:
    """``outputs/<scenario>-<timestamp>/``."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return (base or Path("outputs")) / f"{scenario_name}-{stamp}"


def summary_rows(year_end: np.ndarray, years: np.ndarray) -> list[dict[str, Any]]:
    """Per actor and year: the share of replicates in each stance at year end, and the modal stance."""
    R = year_end.shape[0]
    rows = []
    for c, actor in enumerate(CLIENTS):
        for i, y in enumerate(years):
            counts = np.bincount(year_end[:, i, c], minlength=len(STANCES)) / R
            row: dict[str, Any] = {"actor": actor, "year": int(y)}
            row.update({f"share_{s}": round(float(counts[k]), 6) for k, s in enumerate(STANCES)})
            row["modal_stance"] = STANCES[int(counts.argmax())]
            rows.append(row)
    return rows
