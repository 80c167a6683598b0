"""One way to spread work over processes, shared by sweeps and calibration.

:func:`executor` yields a ``map``-like callable, ``pmap(fn, items)``, that yields ``fn(item)`` for
every item in order: in this process (``serial``), on a local process pool (``local``), or on a
Dask cluster (``dask``: an existing scheduler, or a ``LocalCluster``). scipy's differential
evolution takes it as ``workers=``; a sweep maps its chunks through it. ``fn`` and the items must
be picklable for ``local`` and ``dask``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sim.errors import OmnibalanceError

#: The executors, in the order the command line lists them.
EXECUTORS = ("serial", "local", "dask")

MapFn = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


@contextmanager
def executor(kind: str = "local", workers: int | None = None, scheduler: str | None = None) -> Iterator[MapFn]:
    """A ``map``-like callable over ``kind`` workers, closed on exit.

    Args:
        kind: ``serial``, ``local`` (a process pool; one worker runs in process) or ``dask``.
        workers: Processes (``local``) or ``LocalCluster`` workers (``dask`` without a scheduler).
        scheduler: With ``dask``, the address of a running scheduler (``tcp://host:port``).

    Raises:
        OmnibalanceError: for an unknown kind, or a Dask scheduler that cannot be reached.

    Example:
        >>> with executor("serial") as pmap:
        ...     list(pmap(abs, [-1, 2, -3]))
        [1, 2, 3]
    """
    if kind not in EXECUTORS:
        raise OmnibalanceError(f"unknown executor '{kind}' ({', '.join(EXECUTORS[:-1])} or {EXECUTORS[-1]})")
    if kind == "serial" or (kind == "local" and workers is not None and workers <= 1):
        yield map
    elif kind == "local":
        from concurrent.futures import ProcessPoolExecutor

        from sim.engines.fused import warm_up

        warm_up()  # forked workers inherit the loaded kernel instead of each loading it
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_quiet_worker)
        try:
            yield pool.map
        except BaseException:  # an error or an interruption: drop the queued tasks, do not wait for them
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    else:
        with _dask_client(workers, scheduler) as client:
            yield lambda fn, items: (f.result() for f in client.map(fn, list(items), retries=3, pure=False))


def _quiet_worker() -> None:
    """A pool worker leaves interruptions to its parent: Ctrl-C reaches the whole process group, and
    the parent stops the pool (a worker finishes the task it holds, so a chunk on disk is complete)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def _dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A Dask client of ``scheduler``, or of a ``LocalCluster`` on 127.0.0.1 (closed on exit)."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="5s")
        else:
            cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise OmnibalanceError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
