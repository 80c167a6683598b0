"""Tests of the alignment figure (sim/face/plots/alignment.py): it renders, is a readable PNG of a sensible size."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from sim.face.plots import plot_alignment

CLIENTS = ["UZB", "KAZ", "KGZ", "TJK", "TKM"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TARGETS = [
    {"actor": "UZB", "year_from": 1992, "year_to": 1994, "accepted": ["RUS"], "scored": "yes"},
    {"actor": "UZB", "year_from": 1995, "year_to": 1998, "accepted": ["RUS", "NONALIGNED"], "scored": "yes"},
    {"actor": "UZB", "year_from": 1999, "year_to": 2003, "accepted": ["WEST"], "scored": "yes"},
    {
        "actor": "UZB",
        "year_from": 2004,
        "year_to": 2004,
        "accepted": ["RUS", "WEST", "NONALIGNED"],
        "scored": "transition",
    },
    {"actor": "UZB", "year_from": 2005, "year_to": 2016, "accepted": ["RUS"], "scored": "yes"},
    {"actor": "KAZ", "year_from": 1992, "year_to": 2016, "accepted": ["RUS"], "scored": "yes"},
]
EVENTS = [
    {"actor": "UZB", "time": 1999.3, "label": "leaves CST"},
    {"actor": "UZB", "time": 2005.87, "label": "Treaty on Allied Relations with Russia"},
    {"actor": "UZB", "time": 2006.63, "label": "returns to the CSTO"},
]
KEY_SHOCKS = [
    {"time": 2001.7, "label": "9/11"},
    {"time": 2005.36, "label": "Andijan"},
    {"time": 2014.2, "label": "Crimea"},
]


def _inputs(n_clients: int = len(CLIENTS)) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic time, stance shares, status shares and 95% band for ``n_clients`` clients."""
    rng = np.random.default_rng(0)
    time = 1991.75 + 0.25 * np.arange(101)
    shares = rng.random((101, n_clients, 4))
    shares /= shares.sum(axis=-1, keepdims=True)
    status = rng.random((101, n_clients, 3))
    status /= status.sum(axis=-1, keepdims=True)
    band = np.stack([np.clip(shares - 0.05, 0.0, 1.0), np.clip(shares + 0.05, 0.0, 1.0)], axis=-1)
    return time, shares, status, band


def _check_png(path: Path) -> None:
    """The file is a PNG of more than 20 kB that matplotlib reads back at more than 800 px high."""
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 20_000
    image = mpimg.imread(path)
    assert image.ndim == 3
    assert image.shape[0] > 800
    # the atomic write leaves no temporary file behind
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_plot_alignment_writes_png(tmp_path: Path) -> None:
    time, shares, status, _ = _inputs()
    out = tmp_path / "alignment.png"
    plot_alignment(time, shares, status, CLIENTS, TARGETS, EVENTS, KEY_SHOCKS, out, title="synthetic run")
    _check_png(out)


def test_plot_alignment_with_band(tmp_path: Path) -> None:
    time, shares, status, band = _inputs()
    out = tmp_path / "alignment.png"
    plot_alignment(time, shares, status, CLIENTS, TARGETS, EVENTS, KEY_SHOCKS, out, title="with band", band=band)
    _check_png(out)


def test_plot_alignment_client_without_targets(tmp_path: Path) -> None:
    """A client with no target rows (and no events) still renders; so does a run with no history at all."""
    time, shares, status, _ = _inputs(n_clients=2)
    out = tmp_path / "one.png"
    plot_alignment(time, shares, status, ["UZB", "TKM"], TARGETS, EVENTS, KEY_SHOCKS, out)
    _check_png(out)
    out2 = tmp_path / "none" / "two.png"
    plot_alignment(time, shares, status, ["TKM", "TJK"], [], [], [], out2)
    _check_png(out2)


def test_plot_alignment_overwrites_existing_file(tmp_path: Path) -> None:
    time, shares, status, _ = _inputs()
    out = tmp_path / "alignment.png"
    out.write_bytes(b"stale")
    plot_alignment(time, shares, status, CLIENTS, TARGETS, EVENTS, KEY_SHOCKS, out)
    _check_png(out)


def test_plot_alignment_rejects_bad_shapes(tmp_path: Path) -> None:
    time, shares, status, band = _inputs()
    out = tmp_path / "bad.png"
    with pytest.raises(ValueError, match="shares"):
        plot_alignment(time, shares[:, :4], status, CLIENTS, TARGETS, EVENTS, KEY_SHOCKS, out)
    with pytest.raises(ValueError, match="band"):
        plot_alignment(time, shares, status, CLIENTS, TARGETS, EVENTS, KEY_SHOCKS, out, band=band[..., 0])
    with pytest.raises(ValueError, match="unknown stance"):
        plot_alignment(time, shares, status, CLIENTS, [{**TARGETS[0], "accepted": ["MARS"]}], [], [], out)
    assert not any(tmp_path.iterdir())
