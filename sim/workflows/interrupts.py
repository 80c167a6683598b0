"""Interruptions (Ctrl-C, SIGTERM) that no library can swallow.

Python turns a signal into a ``KeyboardInterrupt`` raised wherever the main thread happens to be. If
that is inside a compiled library that clears the errors of a failed fast path (numba's dispatcher,
llvmlite, an extension module's initialisation), the exception is lost and the command carries on
as if nothing had happened. The handler installed here also *remembers* the request, and the long
loops and the commit of an output folder call :func:`check`, so a swallowed interruption still stops
the command before anything is written under its final name.
"""

from __future__ import annotations

import signal
from types import FrameType

_requested = False


def _handler(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGINT and SIGTERM interrupt the command (the CLI calls this once, in the main thread).

    A signal another handler owns, or one the parent told this process to ignore (a background job
    in a non-interactive shell ignores SIGINT), is left as it is.
    """
    for sig, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(sig) is default:
            signal.signal(sig, _handler)


def requested() -> bool:
    """Whether an interruption has arrived in this process."""
    return _requested


def check() -> None:
    """Raise ``KeyboardInterrupt`` if an interruption has arrived, even one a library swallowed."""
    if _requested:
        raise KeyboardInterrupt
