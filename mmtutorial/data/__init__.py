"""Data: the tasks the book trains on, a loader for your own folder, and the input checks.

Every source follows one contract (:mod:`mmtutorial.data.base`): a split is a
:class:`Split` (``features`` dict + ``labels``), and a task or data set names
its classes and tells its ``input_specs()`` and ``ceilings()``.

* :mod:`~mmtutorial.data.base` -- :class:`Split`, :class:`DataSource`, :class:`Task`
* :mod:`~mmtutorial.data.shape_material` -- :class:`ShapeMaterialTask`, the procedurally
  generated image + caption task with analytic accuracy ceilings (also reachable
  as ``data.synthetic``, its old name)
* :mod:`~mmtutorial.data.audio`, :mod:`~mmtutorial.data.driving`,
  :mod:`~mmtutorial.data.medical` -- the applications' tasks: speech + text,
  camera + range scan, scan + report
* :mod:`~mmtutorial.data.scene_questions` -- :class:`SceneQuestionTask`, where a
  question decides which part of a scene matters (the fusion chapter; also
  reachable as ``data.scenes``, its old name)
* :mod:`~mmtutorial.data.scene_kit` -- the drawing the segmentation, referring and
  captioning scenes share; :mod:`~mmtutorial.data.words` -- vocabularies and
  tokenizing, for every task with text
* :mod:`~mmtutorial.data.segmentation` -- ``segmentation.SceneSegmentationTask``,
  a class for every pixel (21 classes) from a grey scene and its caption, with
  derived ceilings; :class:`SegmentationSplit`, whose labels are label maps
* :mod:`~mmtutorial.data.referring` -- ``referring.ReferringSegmentationTask``,
  the mask of the one object a phrase names. The two segmentation tasks are
  reached through their modules: their labels are maps, not the class ids that
  ``mt.train`` expects.
* :mod:`~mmtutorial.data.captioning` -- ``captioning.SceneCaptionTask``, one or two
  coloured shapes and the one caption that describes them, for captioners; the
  special token ids (padding, start, end) every captioner uses
* :mod:`~mmtutorial.data.sort_of_clevr` -- ``sort_of_clevr.SortOfClevrTask``,
  Sort-of-CLEVR (Santoro et al., 2017): six coloured objects, non-relational
  and relational questions, pixels and the state description
* :mod:`~mmtutorial.data.folder` -- :func:`load_folder` for a folder of images
  plus a CSV file (its arguments in :mod:`~mmtutorial.data.folder_options`, its
  stages in :mod:`~mmtutorial.data.folder_csv` and :mod:`~mmtutorial.data.folder_images`,
  writing a folder and the shipped sample in :mod:`~mmtutorial.data.folder_write`)
* :mod:`~mmtutorial.data.input_checks` -- :func:`check_features`, which names every bad input

This package imports nothing from :mod:`mmtutorial` but :mod:`mmtutorial._checks`.
"""

from . import (
    audio,
    base,
    captioning,
    driving,
    medical,
    referring,
    scene_questions,
    scenes,
    segmentation,
    shape_material,
    sort_of_clevr,
    synthetic,
)
from .audio import SpokenWordSplit, SpokenWordTask, spectrogram_image, stft_magnitude
from .base import DataSource, Split, Task
from .driving import DrivingSceneTask, DrivingSplit
from .folder import (
    FolderDataError,
    FolderDataset,
    FolderSplit,
    RowProblem,
    SkippedRowsWarning,
    load_folder,
    sample_folder,
    write_folder,
)
from .input_checks import check_features
from .medical import ScanReportSplit, ScanReportTask
from .scene_questions import SceneQuestionSplit, SceneQuestionTask
from .segmentation import SegmentationSplit, check_label_maps
from .shape_material import COLOURS, MATERIALS, SHAPES, ShapeMaterialSplit, ShapeMaterialTask

__all__ = [
    # the contract
    "Split",
    "DataSource",
    "Task",
    "check_features",
    # the tasks and their splits
    "COLOURS",
    "MATERIALS",
    "SHAPES",
    "ShapeMaterialTask",
    "ShapeMaterialSplit",
    "SpokenWordTask",
    "SpokenWordSplit",
    "DrivingSceneTask",
    "DrivingSplit",
    "ScanReportTask",
    "ScanReportSplit",
    "SceneQuestionTask",
    "SceneQuestionSplit",
    "SegmentationSplit",
    "check_label_maps",
    "spectrogram_image",
    "stft_magnitude",
    # your own data
    "FolderDataError",
    "FolderDataset",
    "FolderSplit",
    "RowProblem",
    "SkippedRowsWarning",
    "load_folder",
    "sample_folder",
    "write_folder",
    # modules
    "audio",
    "base",
    "captioning",
    "driving",
    "medical",
    "scene_questions",
    "scenes",
    "segmentation",
    "shape_material",
    "synthetic",
    "referring",
    "sort_of_clevr",
]
