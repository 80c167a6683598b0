"""The figures a person looks at first: the alignment fan chart of a run, counterfactual
differences, sweep sensitivity and calibration diagnostics (matplotlib, no display needed)."""

from sim.face.plots.alignment import SAVE_OPTIONS, alignment_figure, plot_alignment
from sim.face.plots.compare import plot_compare
from sim.face.plots.figure import new_figure, save_png

__all__ = ["SAVE_OPTIONS", "alignment_figure", "new_figure", "plot_alignment", "plot_compare", "save_png"]
