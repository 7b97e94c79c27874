"""Data: the tasks the book trains on, and the checks every input passes.

* :mod:`mmtutorial.data.synthetic` -- :class:`ShapeMaterialTask`, the procedurally
  generated image + caption task with analytic accuracy ceilings
* :mod:`mmtutorial.data.checks` -- :func:`check_features`, which names every bad input
"""

from .checks import check_features
from .synthetic import COLOURS, MATERIALS, SHAPES, ShapeMaterialTask, Split

__all__ = ["COLOURS", "MATERIALS", "SHAPES", "ShapeMaterialTask", "Split", "check_features"]
