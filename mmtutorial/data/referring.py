"""Referring segmentation: a phrase names one object of a scene, and the answer is its mask.

:class:`ReferringSegmentationTask` draws scenes of 3 or 4 coloured shapes,
one per cell of a 2 x 2 grid, and for each scene one phrase that names
exactly one object:

* by its colour and shape, "the red disk", when no other object shares both;
* or by its shape and its place next to another object, "the square left of
  the blue triangle", when the anchor (the blue triangle) is the only one of
  its kind and the target is the only object of its shape on that side.

The label is a binary mask of the named object: class 1 on its pixels, 0
elsewhere, so a segmenter with ``num_classes=2`` learns it and
:func:`mmtutorial.metrics.iou_scores` scores it. Every phrase is unambiguous
and the pictures are clean up to a little pixel noise, so the best possible
score is 1 for every pair; an image-only guess of one object at random
scores ``1 / count`` on a scene of ``count`` objects (:meth:`~ReferringSegmentationTask.ceilings`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import words
from .base import SquarePictures, Task
from .scene_kit import (
    COLOURS,
    grid_image_size,
    object_maps,
    paint_objects,
    pixel_noise,
    place_in_cells,
)
from .segmentation import SegmentationSplit

__all__ = [
    "REFERRING_SHAPES",
    "REFERRING_COLOURS",
    "RELATIONS",
    "ReferringSplit",
    "ReferringSegmentationTask",
]

#: The shapes of the referring scenes.
REFERRING_SHAPES = ("disk", "square", "triangle", "ring")
#: Colour name -> RGB: the scene kit's colours.
REFERRING_COLOURS = COLOURS
#: The relations a phrase can use; a cell is (row, column) of the 2 x 2 grid.
RELATIONS = ("left of", "right of", "above", "below")


def _relation_holds(relation, target_cell, anchor_cell) -> bool:
    (tr, tc), (ar, ac) = divmod(int(target_cell), 2), divmod(int(anchor_cell), 2)
    if relation == "left of":
        return tr == ar and tc < ac
    if relation == "right of":
        return tr == ar and tc > ac
    if relation == "above":
        return tc == ac and tr < ar
    return tc == ac and tr > ar  # below


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ReferringSplit(SegmentationSplit):
    """One split of :class:`ReferringSegmentationTask`: inputs, target masks and the causes.

    ``features`` is ``{"image": images, "text": tokens}``; ``labels`` is the
    int32 mask of the named object, ``(n, size, size)``, 1 on its pixels.

    Attributes:
        phrases: the phrases as strings.
        objects: int8 ``(n, size, size)``, the slot of the object at each pixel (-1 background).
        shapes, colours, cells: int32 ``(n, 4)`` per object slot (-1 past ``counts``).
        counts: int32 ``(n,)``, objects per scene.
        target: int32 ``(n,)``, the slot of the named object.
        anchor: int32 ``(n,)``, the slot of the object the phrase places it
            by, -1 for a phrase by colour and shape.
        relation: int32 ``(n,)``, the index into :data:`RELATIONS`, -1 likewise.
    """

    phrases: tuple = ()
    objects: np.ndarray = None
    shapes: np.ndarray = None
    colours: np.ndarray = None
    cells: np.ndarray = None
    counts: np.ndarray = None
    target: np.ndarray = None
    anchor: np.ndarray = None
    relation: np.ndarray = None

    @property
    def masks(self) -> np.ndarray:
        """The target masks as booleans, ``(n, size, size)``."""
        return self.labels.astype(bool)


@dataclasses.dataclass(frozen=True)
class ReferringSegmentationTask(words.FixedVocabulary, SquarePictures, Task):
    """Segment the one object a phrase names among 3 or 4 coloured shapes.

    Args:
        image_size: height and width of the pictures (>= 16, even).
        relational_share: the share of phrases that place the target next to
            another object ("the disk above the green ring") when the scene
            allows one; the others name colour and shape.
        noise: standard deviation of the Gaussian pixel noise, in [0, 0.1].
        sequence_length: length the token ids are padded to (>= 7, the longest phrase).

    Example:
        >>> task = ReferringSegmentationTask()
        >>> split = task.generate(6, seed=0)
        >>> split.images.shape, split.labels.shape, task.num_classes
        ((6, 32, 32, 3), (6, 32, 32), 2)
    """

    image_size: int = 32
    relational_share: float = 0.5
    noise: float = 0.04
    sequence_length: int = 8

    split_sizes = (3000, 500, 1000)

    def __post_init__(self):
        owner = type(self).__name__
        self._store(
            image_size=grid_image_size(self.image_size, owner=owner),
            **self._probabilities("relational_share"),
            noise=pixel_noise(self.noise, owner=owner),
            sequence_length=self._sequence_length(7, "phrase"),
        )

    @property
    def class_names(self) -> tuple:
        return ("background", "named object")

    def input_specs(self) -> dict:
        return {"image": (self.image_shape, "float32"), "text": ((self.sequence_length,), "int32")}

    @property
    def vocabulary(self) -> tuple:
        return words.vocabulary_of(("the",), REFERRING_COLOURS, REFERRING_SHAPES, RELATIONS)

    def tokenize(self, phrases) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of phrases."""
        return words.tokenize(phrases, self.vocabulary, self.sequence_length, name="phrases")

    def ceilings(self) -> dict:
        """Pixel accuracies: ``"bayes"`` 1 (every phrase names one object); ``"majority"``
        (background everywhere) and ``"chance"`` (1/2)."""
        return self._with_baselines(bayes=1.0)

    @property
    def majority_accuracy(self) -> float:
        """Answering background at every pixel, measured on 2,000 scenes of a fixed seed."""
        split = self.generate(2000, seed=20240302)
        return float(1.0 - split.labels.mean())

    @staticmethod
    def random_object_iou(split: ReferringSplit) -> float:
        """The mean IoU of guessing one of the scene's objects at random, ``mean(1 / count)``."""
        return float(np.mean(1.0 / split.counts))

    # -- generation ---------------------------------------------------------
    def _phrase(self, rng, shapes, colours, cells):
        """``(phrase, target, anchor, relation)`` for one scene, or ``None`` if no phrase fits."""
        kinds = list(zip(shapes, colours))
        unique = [i for i, kind in enumerate(kinds) if kinds.count(kind) == 1]
        relational = []
        if rng.random() < self.relational_share:
            for a in unique:
                for r, relation in enumerate(RELATIONS):
                    for t in range(len(kinds)):
                        if t == a or not _relation_holds(relation, cells[t], cells[a]):
                            continue
                        rivals = [
                            o
                            for o in range(len(kinds))
                            if o not in (t, a)
                            and shapes[o] == shapes[t]
                            and _relation_holds(relation, cells[o], cells[a])
                        ]
                        if not rivals:
                            relational.append((t, a, r))
        if relational:
            # Prefer targets whose shape alone would be ambiguous: there the relation matters.
            needed = [c for c in relational if list(shapes).count(shapes[c[0]]) > 1]
            t, a, r = (needed or relational)[rng.integers(len(needed or relational))]
            phrase = (
                f"the {REFERRING_SHAPES[shapes[t]]} {RELATIONS[r]} the "
                f"{list(REFERRING_COLOURS)[colours[a]]} {REFERRING_SHAPES[shapes[a]]}"
            )
            return phrase, t, a, r
        if not unique:
            return None
        t = unique[rng.integers(len(unique))]
        phrase = f"the {list(REFERRING_COLOURS)[colours[t]]} {REFERRING_SHAPES[shapes[t]]}"
        return phrase, t, -1, -1

    def generate(self, n: int, seed: int = 0) -> ReferringSplit:
        """Draw ``n`` scenes and their phrases; the same ``seed`` gives the same ones."""
        n, rng = self._generator(n, seed)
        size, k = self.image_size, 4
        counts = rng.integers(3, 5, n)
        cells, cy, cx, radius = place_in_cells(counts, k, size, rng)
        present = cells >= 0
        shapes = np.where(present, rng.integers(0, len(REFERRING_SHAPES), (n, k)), -1)
        colours = np.where(present, rng.integers(0, len(REFERRING_COLOURS), (n, k)), -1)
        phrases, target, anchor, relation = (
            [],
            np.zeros(n, "int32"),
            np.zeros(n, "int32"),
            np.zeros(n, "int32"),
        )
        for i in range(n):
            count = int(counts[i])
            found = self._phrase(rng, shapes[i, :count], colours[i, :count], cells[i, :count])
            while found is None:  # every object has a twin: recolour one, which makes it unique
                slot = rng.integers(count)
                colours[i, slot] = rng.integers(0, len(REFERRING_COLOURS))
                found = self._phrase(rng, shapes[i, :count], colours[i, :count], cells[i, :count])
            phrases.append(found[0])
            target[i], anchor[i], relation[i] = found[1:]
        objects = object_maps(shapes, cells, cy, cx, radius, size, names=REFERRING_SHAPES)

        images = paint_objects(objects, colours, self.noise, rng)
        labels = (objects == target[:, None, None]).astype("int32")
        return ReferringSplit(
            features={"image": images, "text": self.tokenize(phrases)},
            labels=labels,
            phrases=tuple(phrases),
            objects=objects,
            shapes=shapes.astype("int32"),
            colours=colours.astype("int32"),
            cells=cells.astype("int32"),
            counts=counts.astype("int32"),
            target=target,
            anchor=anchor,
            relation=relation,
        )
