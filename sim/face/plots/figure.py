"""Figures without a display: a new Agg-backed :class:`~matplotlib.figure.Figure`, and saving it
as a PNG atomically (a temporary file in the same folder, then a rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A figure of ``width`` x ``height`` inches on the Agg canvas (no pyplot, no display)."""
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path, **savefig: Any) -> None:
    """Save ``fig`` as a PNG at ``path`` atomically; ``savefig`` options go to :meth:`Figure.savefig`.

    The parent folder is created if missing; a failure leaves no partial file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.png")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", **savefig)
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; give the plot ordinary file permissions
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
