"""Plots: the figures the book draws, each returning a matplotlib ``Figure``.

Charts and segmentation panels take plain arrays or dicts, so they are cheap to
call and easy to test; :func:`model_diagram` takes a built Keras model and
draws its graph. Every function returns the figure instead of showing it.

* :mod:`mmtutorial.plots.charts` -- sample grids, learning curves, confusion
  matrices, accuracy bars, robustness panels
* :mod:`mmtutorial.plots.segmentation` -- label maps and per-class IoU
* :mod:`mmtutorial.plots.diagrams` -- a model's layers and connections, drawn
  from its own graph, with alt text
"""

from .base import BookFigure
from .charts import (
    accuracy_vs_ceiling,
    confusion_counts,
    confusion_matrix,
    learning_curves,
    robustness_panels,
    sample_grid,
)
from .diagrams import model_diagram, model_diagrams, model_graph
from .segmentation import class_colours, iou_bars, segmentation_panels

__all__ = [
    "BookFigure",
    "sample_grid",
    "learning_curves",
    "confusion_counts",
    "confusion_matrix",
    "accuracy_vs_ceiling",
    "robustness_panels",
    "class_colours",
    "segmentation_panels",
    "iou_bars",
    "model_graph",
    "model_diagram",
    "model_diagrams",
]
