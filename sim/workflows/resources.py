"""How much memory this machine can give a job, so sizes are refused before allocating, not after."""

from __future__ import annotations

import os

from sim.errors import OmnibalanceError


def available_memory() -> int:
    """Bytes of memory available to a new allocation: ``MemAvailable`` from ``/proc/meminfo`` where
    there is one (Linux), else free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return 2**63 - 1  # unknown: do not refuse


def check_fits(nbytes: float, what: str, advice: str) -> None:
    """Refuse, with a message, a job whose in-memory part ``nbytes`` exceeds the available memory.

    Raises:
        OmnibalanceError: ``what`` needs about X GiB, more than the Y GiB available; ``advice``.
    """
    free = available_memory()
    if nbytes > free:
        raise OmnibalanceError(f"{what} needs about {nbytes / 2**30:,.1f} GiB of memory, more than the {free / 2**30:,.1f} GiB available; {advice}")
