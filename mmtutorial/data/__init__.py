"""Data: the tasks the book trains on, and the checks every input passes.

* :mod:`mmtutorial.data.synthetic` -- :class:`ShapeMaterialTask`, the procedurally
  generated image + caption task with analytic accuracy ceilings
* :mod:`mmtutorial.data.checks` -- :func:`check_features`, which names every bad input
"""

from .checks import check_features
from .synthetic import COLOURS, MATERIALS, SHAPES, ShapeMaterialTask, Split

__all__ = ["COLOURS", "MATERIALS", "SHAPES", "ShapeMaterialTask", "Split", "check_features"]

from .folder import FolderDataError, FolderDataset, FolderSplit, RowProblem, SkippedRowsWarning, load_folder, sample_folder, write_folder  # noqa: E402,E501

__all__ += ["FolderDataError", "FolderDataset", "FolderSplit", "RowProblem", "SkippedRowsWarning", "load_folder", "sample_folder", "write_folder"]

# The applications' tasks: speech + text, camera + range scan, scan + report.
from . import audio, driving, medical  # noqa: E402
from .audio import SpokenWordTask, spectrogram_image, stft_magnitude  # noqa: E402
from .driving import DrivingSceneTask  # noqa: E402
from .medical import ScanReportTask  # noqa: E402

__all__ += ["audio", "driving", "medical", "SpokenWordTask", "DrivingSceneTask", "ScanReportTask", "spectrogram_image", "stft_magnitude"]
