"""Where the project's folders are: ``scenarios/``, ``calibration/`` and the git checkout.

Running from a checkout (an editable install, or ``python -m sim`` in the repository) they sit
beside the package; a regular install has no checkout beside it, so the current folder is used.
"""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    """The checkout this package runs from, else the current working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "scenarios").is_dir() else Path.cwd()
