"""Segmentation, per pixel: a scene task where every pixel gets one of 21 classes.

The source article says it does semantic segmentation into 21 classes (the
PASCAL VOC count: 20 object classes and background) and then builds a
classifier of whole images. :class:`SceneSegmentationTask` is the per-pixel
task it names, generated with NumPy in a fraction of a second per thousand
scenes:

* a scene is a grey picture with 2 or 3 objects, each in its own cell of a
  2 x 2 grid, each a *shape* (one of 5) made of a *material* (one of 4);
  a pixel's class is background (0) or ``1 + shape * 4 + material``, so there
  are 1 + 5 x 4 = 21 classes;
* the image shows where each object is and its shape, but every object is
  grey, so it says nothing about the material;
* the caption names every object's shape and material ("wood disk and metal
  ring"), in random order, but says nothing about where they are; with
  probability ``1 - caption_reliability`` it names a random material instead
  of the true one;
* both channels are noisy: Gaussian noise on every pixel, random grey levels,
  and the caption's wrong materials.

So neither modality suffices: the image gives the shape and the place, the
caption gives the material of each shape, and a model must bind the two at
every pixel. The splits follow the data contract of :mod:`mmtutorial.data.base`
with one change: ``labels`` holds a label map per scene, ``(n, height,
width)``, instead of one class id (:class:`SegmentationSplit`).

The ceilings (:meth:`SceneSegmentationTask.ceilings`,
:meth:`~SceneSegmentationTask.iou_ceilings`) follow from the generator; the
class docstring derives them.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .. import _checks
from . import words
from .base import Split as _Split
from .base import Task

# The scene kit's drawing, also reachable from here, where it was first written.
from .scene_kit import SHAPES as SEGMENTATION_SHAPES
from .scene_kit import grid_image_size, object_maps, pixel_noise, place_in_cells, render_shapes

__all__ = [
    "SEGMENTATION_SHAPES",
    "SEGMENTATION_MATERIALS",
    "SegmentationSplit",
    "SceneSplit",
    "SceneSegmentationTask",
    "check_label_maps",
    "render_shapes",
    "place_in_cells",
    "object_maps",
]

#: The four materials a caption can name.
SEGMENTATION_MATERIALS = ("wood", "metal", "glass", "stone")

_OPENINGS = ("", "there is", "we see", "here are")
_FRACTION_SCENES = 20_000  # scenes drawn to measure the expected share of object pixels
_FRACTION_SEED = 20240301


# -- label maps: the contract's labels, one map per sample -----------------------------


def check_label_maps(labels, *, shape=None, num_classes=None, name="labels") -> np.ndarray:
    """``labels`` as an int32 array of label maps ``(n, height, width)``, or a clear ``ValueError``.

    Args:
        labels: integer class ids, one map per sample.
        shape: the expected ``(height, width)``, or ``None``.
        num_classes: ids must lie in ``[0, num_classes)``, or ``None``.
        name: what the messages call the argument.

    Returns:
        The label maps as an int32 array.

    Example:
        >>> check_label_maps(np.zeros((2, 4, 4), "int64"), shape=(4, 4), num_classes=21).dtype
        dtype('int32')
        >>> check_label_maps(np.zeros((2, 4, 4, 21)), shape=(4, 4))
        Traceback (most recent call last):
            ...
        ValueError: labels must be integer label maps of shape (batch, 4, 4) (one class id per pixel, not one-hot); received shape (2, 4, 4, 21) and dtype float64
    """
    array = np.asarray(labels)
    where = f"(batch, {shape[0]}, {shape[1]})" if shape is not None else "(batch, height, width)"
    if (
        array.ndim != 3
        or array.dtype.kind not in "iu"
        or (shape is not None and tuple(array.shape[1:]) != tuple(shape))
    ):
        raise ValueError(
            f"{name} must be integer label maps of shape {where} (one class id per pixel, not "
            f"one-hot); received shape {array.shape} and dtype {array.dtype}"
        )
    if num_classes is not None and array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"{name} must hold class ids in [0, {num_classes}); received min {int(array.min())} "
            f"and max {int(array.max())}"
        )
    return array.astype("int32", copy=False)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SegmentationSplit(_Split):
    """A split whose labels are label maps: ``labels`` is int32 ``(n, height, width)``.

    Everything else is the contract's :class:`~mmtutorial.data.Split`:
    ``features`` is a dict of arrays with one entry per sample, and
    :meth:`take` cuts every per-sample field (the label maps too).
    """

    _label_noun = "label map"

    def _checked_labels(self, labels: np.ndarray) -> np.ndarray:
        """``labels`` as int32 label maps ``(n, height, width)``: the base's hook for its labels."""
        return check_label_maps(labels, name=f"{type(self).__name__}: labels")

    def _repr_head(self) -> str:
        return f"{len(self)} scenes, label maps {tuple(self.labels.shape[1:])}"


# -- the 21-class scene task -----------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SceneSplit(SegmentationSplit):
    """One split of :class:`SceneSegmentationTask`: inputs, label maps and the hidden causes.

    ``features`` is ``{"image": images, "text": tokens}``; ``labels`` is int32
    ``(n, size, size)``. Object slots past a scene's ``counts`` hold -1.

    Attributes:
        captions: the captions as strings.
        objects: int8 ``(n, size, size)``, the slot of the object at each
            pixel, -1 on background.
        shapes: int32 ``(n, max_objects)``, each object's shape.
        materials: int32 ``(n, max_objects)``, each object's true material.
        stated_materials: int32 ``(n, max_objects)``, the material the
            caption names for it.
        cells: int32 ``(n, max_objects)``, each object's cell of the 2 x 2 grid.
        counts: int32 ``(n,)``, the number of objects in each scene.
    """

    captions: tuple = ()
    objects: np.ndarray = None
    shapes: np.ndarray = None
    materials: np.ndarray = None
    stated_materials: np.ndarray = None
    cells: np.ndarray = None
    counts: np.ndarray = None


@dataclasses.dataclass(frozen=True)
class SceneSegmentationTask(words.FixedVocabulary, Task):
    """Label every pixel of a grey scene with one of 21 classes, from the picture and its caption.

    With ``M = 4`` materials and caption reliability ``q``, write
    ``a = q + (1 - q) / M``, the probability that the material a caption
    names for an object is its true one, and ``f`` for the expected share of
    object pixels (:attr:`foreground_fraction`). The image shows exactly which
    pixels belong to which object and its shape; only the material is
    unknown to it. So, per pixel:

    * **Bayes** (both inputs): the shape from the image, the stated material
      from the caption. Pixel accuracy ``1 - f (1 - a)``. An object class's
      intersection over union is ``a / (2 - a)`` (its true pixels and its
      predicted pixels are each ``1 / M`` of the shape's pixels, and they
      share ``a / M`` of them), and background's is 1.
    * **image only**: the shape and the place, the material a guess.
      Pixel accuracy ``1 - f (1 - 1 / M)``. Guessing the material uniformly at
      random per object gives every object class an IoU of ``1 / (2M - 1)``,
      the best mean IoU any image-only rule reaches (the IoU of a class that
      gets a share ``w`` of the shape's pixels is ``w / (1 + (M - 1) w)``,
      concave in ``w``, so equal shares maximise the sum).
    * **text only**: no place, so the best pixel accuracy is answering
      background everywhere, ``1 - f``. Background is the most probable class
      at every pixel whatever the caption says: an object covers a pixel only
      from the pixel's own cell, so with at most 3 objects in 4 cells
      ``p(background) >= 1/4``, while any object class has at most ``a / 4``
      (a test checks the coverage by Monte Carlo). Background's IoU is then
      ``1 - f`` and every object class's 0.

    :meth:`ceiling_predictions` returns these three rules' label maps for a
    split, computed from its hidden causes, so that a chapter can score them
    on the very scenes a model is tested on.

    Args:
        image_size: height and width of the square pictures (>= 16, even).
        caption_reliability: probability ``q`` in [0, 1].
        noise: standard deviation of the Gaussian pixel noise, in [0, 0.1]
            (beyond 0.1 noise could hide where an object ends, which the
            ceilings assume it never does).
        min_objects, max_objects: objects per scene, drawn uniformly between
            them (1 <= min_objects <= max_objects <= 3; with a fourth object
            background would no longer be the most probable class everywhere
            for a reader of the caption alone, and the text-only ceiling below
            would not hold).
        sequence_length: length the token ids are padded to (>= the longest caption).

    Example:
        >>> task = SceneSegmentationTask()
        >>> split = task.generate(10, seed=0)
        >>> split.images.shape, split.tokens.shape, split.labels.shape, task.num_classes
        ((10, 32, 32, 1), (10, 10), (10, 32, 32), 21)
    """

    image_size: int = 32
    caption_reliability: float = 0.9
    noise: float = 0.06
    min_objects: int = 2
    max_objects: int = 3
    sequence_length: int = 10

    split_sizes = (4000, 500, 1000)

    def __post_init__(self):
        owner = type(self).__name__
        size = grid_image_size(self.image_size, owner=owner)
        most = _checks.integer("max_objects", self.max_objects, minimum=1, maximum=3, owner=owner)
        least = _checks.integer(
            "min_objects", self.min_objects, minimum=1, maximum=most, owner=owner
        )
        longest = len(self._caption(["x"] * most, ["y"] * most, _OPENINGS[1]).split())
        self._store(
            image_size=size,
            **self._probabilities("caption_reliability"),
            noise=pixel_noise(self.noise, owner=owner),
            min_objects=least,
            max_objects=most,
            sequence_length=self._sequence_length(longest, "caption"),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        """``"background"``, then ``"wood disk"``, ``"metal disk"``, ...: class ``1 + shape * 4 + material``."""
        return ("background",) + tuple(
            f"{m} {s}" for s in SEGMENTATION_SHAPES for m in SEGMENTATION_MATERIALS
        )

    @property
    def image_shape(self) -> tuple:
        return (self.image_size, self.image_size, 1)

    def input_specs(self) -> dict:
        """``{"image": ((size, size, 1), "float32"), "text": ((sequence_length,), "int32")}``."""
        return {"image": (self.image_shape, "float32"), "text": ((self.sequence_length,), "int32")}

    @property
    def vocabulary(self) -> tuple:
        """Every word a caption can contain, in a fixed order."""
        return words.vocabulary_of(_OPENINGS, ("and",), SEGMENTATION_MATERIALS, SEGMENTATION_SHAPES)

    def tokenize(self, captions) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of strings."""
        return words.tokenize(captions, self.vocabulary, self.sequence_length, name="captions")

    # -- ceilings -----------------------------------------------------------
    @property
    def material_accuracy(self) -> float:
        """``a = q + (1 - q) / M``: the chance that a stated material is the true one."""
        q = self.caption_reliability
        return q + (1.0 - q) / len(SEGMENTATION_MATERIALS)

    @functools.cached_property
    def foreground_fraction(self) -> float:
        """``f``, the expected share of object pixels, measured on 20,000 scenes of a fixed seed.

        Its standard error is below 0.0005 (the share varies by about 0.05
        from scene to scene).
        """
        rng = np.random.default_rng(_FRACTION_SEED)
        total = 0.0
        for _ in range(_FRACTION_SCENES // 5000):
            _, _, _, _, objects = self._scenes(5000, rng)
            total += float(np.mean(objects >= 0))
        return total / (_FRACTION_SCENES // 5000)

    @property
    def majority_accuracy(self) -> float:
        """Answering background at every pixel: ``1 - f``."""
        return 1.0 - self.foreground_fraction

    def ceilings(self) -> dict:
        """Pixel accuracies: ``{"bayes", "image", "text", "chance", "majority"}`` (see the class docstring).

        >>> {k: round(v, 3) for k, v in SceneSegmentationTask().ceilings().items()}
        {'bayes': 0.982, 'image': 0.817, 'text': 0.756, 'chance': 0.048, 'majority': 0.756}
        """
        f, a, m = self.foreground_fraction, self.material_accuracy, len(SEGMENTATION_MATERIALS)
        return self._with_baselines(bayes=1 - f * (1 - a), image=1 - f * (1 - 1 / m), text=1 - f)

    def iou_ceilings(self) -> dict:
        """Per-class IoU of the three rules: ``{"bayes", "image", "text"}`` -> array ``(21,)``.

        >>> {k: round(float(v.mean()), 3) for k, v in SceneSegmentationTask().iou_ceilings().items()}
        {'bayes': 0.867, 'image': 0.184, 'text': 0.036}
        """
        a, m, k = self.material_accuracy, len(SEGMENTATION_MATERIALS), self.num_classes - 1
        return {
            "bayes": np.array([1.0] + [a / (2 - a)] * k),
            "image": np.array([1.0] + [1 / (2 * m - 1)] * k),
            "text": np.array([1.0 - self.foreground_fraction] + [0.0] * k),
        }

    def mean_iou_ceilings(self) -> dict:
        """The mean over the 21 classes of :meth:`iou_ceilings`, ``{"bayes", "image", "text"}``."""
        return {name: float(v.mean()) for name, v in self.iou_ceilings().items()}

    def ceiling_predictions(self, split: SceneSplit, rule: str, seed: int = 0) -> np.ndarray:
        """The label maps of one of the ceilings' rules on ``split``, int32 ``(n, size, size)``.

        Args:
            split: a :class:`SceneSplit` of this task.
            rule: ``"bayes"`` (stated materials), ``"image"`` (a uniformly
                random material per object, drawn from ``seed``) or
                ``"text"`` (background everywhere).
            seed: the image rule's guesses.
        """
        rule = _checks.choice("rule", rule, ("bayes", "image", "text"), owner=type(self).__name__)
        if not isinstance(split, SceneSplit):
            raise ValueError(f"split must be a SceneSplit; received {type(split).__name__}")
        if rule == "text":
            return np.zeros_like(split.labels)
        if rule == "bayes":
            materials = split.stated_materials
        else:
            rng = np.random.default_rng(_checks.integer("seed", seed, minimum=0))
            materials = rng.integers(0, len(SEGMENTATION_MATERIALS), split.shapes.shape)
        return self._label_maps(split.objects, split.shapes, materials)

    # -- generation ---------------------------------------------------------
    @staticmethod
    def _caption(materials, shapes, opening) -> str:
        items = [f"{m} {s}" for m, s in zip(materials, shapes)]
        body = items[0] if len(items) == 1 else " ".join(items[:-1]) + " and " + items[-1]
        return f"{opening} {body}".strip()

    def _label_maps(self, objects, shapes, materials) -> np.ndarray:
        n = objects.shape[0]
        slot = np.maximum(objects, 0).astype("intp")
        rows = np.arange(n)[:, None, None]
        classes = 1 + shapes[rows, slot] * len(SEGMENTATION_MATERIALS) + materials[rows, slot]
        return np.where(objects >= 0, classes, 0).astype("int32")

    def _scenes(self, n, rng):
        """The layout of ``n`` scenes: counts, shapes, cells, centres and the object maps."""
        k, size = self.max_objects, self.image_size
        counts = rng.integers(self.min_objects, self.max_objects + 1, n)
        shapes = np.argsort(rng.random((n, len(SEGMENTATION_SHAPES))), axis=1)[:, :k]
        cells, cy, cx, radius = place_in_cells(counts, k, size, rng)
        shapes = np.where(cells >= 0, shapes, -1)
        objects = object_maps(shapes, cells, cy, cx, radius, size)
        return counts, shapes, cells, (cy, cx, radius), objects

    def generate(self, n: int, seed: int = 0) -> SceneSplit:
        """Draw ``n`` scenes; the same ``seed`` gives the same scenes."""
        n, rng = self._generator(n, seed)
        size, k, m = self.image_size, self.max_objects, len(SEGMENTATION_MATERIALS)
        counts, shapes, cells, _, objects = self._scenes(n, rng)
        present = cells >= 0
        materials = np.where(present, rng.integers(0, m, (n, k)), -1)
        honest = rng.random((n, k)) < self.caption_reliability
        stated = np.where(honest, materials, rng.integers(0, m, (n, k)))
        stated = np.where(present, stated, -1)

        # Grey pictures: a dark background, objects of random light grey, noise on every pixel.
        background = rng.uniform(0.05, 0.25, (n, 1, 1))
        grey = rng.uniform(0.55, 0.85, (n, k))
        level = grey[np.arange(n)[:, None, None], np.maximum(objects, 0)]
        images = np.where(objects >= 0, level, background)
        images = images + self.noise * rng.standard_normal((n, size, size))
        images = np.clip(images, 0.0, 1.0).astype("float32")[..., None]

        order = np.argsort(rng.random((n, k)), axis=1)
        opening = rng.integers(0, len(_OPENINGS), n)
        captions = []
        for i in range(n):
            slots = [s for s in order[i] if present[i, s]]
            captions.append(
                self._caption(
                    [SEGMENTATION_MATERIALS[stated[i, s]] for s in slots],
                    [SEGMENTATION_SHAPES[shapes[i, s]] for s in slots],
                    _OPENINGS[opening[i]],
                )
            )
        return SceneSplit(
            features={"image": images, "text": self.tokenize(captions)},
            labels=self._label_maps(objects, np.maximum(shapes, 0), np.maximum(materials, 0)),
            captions=tuple(captions),
            objects=objects,
            shapes=shapes.astype("int32"),
            materials=materials.astype("int32"),
            stated_materials=stated.astype("int32"),
            cells=cells.astype("int32"),
            counts=counts.astype("int32"),
        )
