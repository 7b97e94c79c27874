"""Describing scenes: captions a model can be checked against, word by word.

:class:`SceneCaptionTask` draws pictures of one or two coloured shapes, each
in its own cell of a 2 x 2 grid, and writes the one caption that describes
each picture:

* one object: ``"a red disk"``;
* two objects: ``"a red disk left of a blue ring"`` when they share a row,
  ``"a red disk above a blue ring"`` otherwise; the object named first is
  always the first in reading order (left to right, then top to bottom), so
  the caption is a function of the picture and the best possible exact match
  is 1.

Everything a caption says is visible and known to the generator, so
:meth:`SceneCaptionTask.attribute_accuracy` can check exactly whether a
generated caption names the right colours, shapes and relation.

Token ids: this module is the one place that fixes the special ids every
captioner of the package uses (:data:`PAD_ID`, :data:`START_ID`,
:data:`END_ID`); words get the ids from :data:`FIRST_WORD_ID` on. A caption
of ``n`` words becomes the decoder's input ``[START, w_1, ..., w_n, PAD, ...]``
(``features["tokens"]``) and its target ``[w_1, ..., w_n, END, PAD, ...]``
(``labels``): teacher forcing, the target shifted one step left of the input.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .base import Split, SquarePictures, Task
from .referring import REFERRING_COLOURS, REFERRING_SHAPES
from .scene_kit import grid_image_size, object_maps, paint_objects, pixel_noise, place_in_cells

__all__ = [
    "PAD_ID",
    "START_ID",
    "END_ID",
    "FIRST_WORD_ID",
    "CAPTION_RELATIONS",
    "CaptionSplit",
    "SceneCaptionTask",
]

#: Padding: positions past the end of a caption; the loss and the metrics ignore them.
PAD_ID = 0
#: The first input of the decoder, before any word.
START_ID = 1
#: The last target of every caption: the decoder says it is done.
END_ID = 2
#: The id of the vocabulary's first word.
FIRST_WORD_ID = 3
#: How the first object of a two-object caption stands to the second.
CAPTION_RELATIONS = ("left of", "above")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class CaptionSplit(Split):
    """One split of :class:`SceneCaptionTask`: pictures, teacher-forcing inputs, targets, causes.

    ``features`` is ``{"image": images, "tokens": decoder inputs}``;
    ``labels`` is the int32 target sequences ``(n, sequence_length)``, the
    inputs shifted one step left and ended with :data:`END_ID`.

    Attributes:
        captions: the captions as strings.
        shapes, colours, cells: int32 ``(n, 2)``, per object in caption order
            (-1 in the second slot of a one-object scene).
        counts: int32 ``(n,)``, objects per scene (1 or 2).
        relation: int32 ``(n,)``, the index into :data:`CAPTION_RELATIONS`
            (-1 for one object).
    """

    captions: tuple = ()
    shapes: np.ndarray = None
    colours: np.ndarray = None
    cells: np.ndarray = None
    counts: np.ndarray = None
    relation: np.ndarray = None

    def _checked_labels(self, labels):
        if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"{type(self).__name__}: labels must be integer target sequences (n, "
                f"sequence_length); received shape {labels.shape} and dtype {labels.dtype}"
            )
        return labels.astype("int32", copy=False)

    @property
    def tokens(self) -> np.ndarray:
        """int32 ``(n, sequence_length)`` decoder inputs: ``START`` then the words (key ``"tokens"``)."""
        return self.features["tokens"]

    def _repr_head(self) -> str:
        return f"{len(self)} scenes, targets of length {self.labels.shape[1]}"


@dataclasses.dataclass(frozen=True)
class SceneCaptionTask(SquarePictures, Task):
    """Write the caption of a picture of one or two coloured shapes.

    Each scene holds one object with probability ``1 - two_objects``, else
    two, in distinct cells of a 2 x 2 grid; shapes and colours are uniform
    over :data:`~mmtutorial.data.referring.REFERRING_SHAPES` and
    :data:`~mmtutorial.data.referring.REFERRING_COLOURS`, independently. The
    caption is fixed by the picture (see :mod:`mmtutorial.data.captioning`),
    so a perfect captioner reaches an exact match of 1.

    Args:
        image_size: height and width of the pictures (>= 16, even).
        two_objects: the share of scenes with two objects, in [0, 1].
        noise: standard deviation of the Gaussian pixel noise, in [0, 0.1].
        sequence_length: the length of inputs and targets (>= 9: the longest
            caption, 8 words, and its end id).

    Example:
        >>> task = SceneCaptionTask()
        >>> split = task.generate(3, seed=0)
        >>> split.images.shape, split.tokens.shape, split.labels.shape
        ((3, 32, 32, 3), (3, 9), (3, 9))
        >>> task.decode(split.labels[:1]) == [split.captions[0]]
        True
    """

    image_size: int = 32
    two_objects: float = 0.5
    noise: float = 0.04
    sequence_length: int = 9

    split_sizes = (3000, 500, 1000)

    def __post_init__(self):
        owner = type(self).__name__
        self._store(
            image_size=grid_image_size(self.image_size, owner=owner),
            **self._probabilities("two_objects"),
            noise=pixel_noise(self.noise, owner=owner),
            sequence_length=self._sequence_length(9, "caption, 8 words, and its end id"),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        """The words, in id order from :data:`FIRST_WORD_ID` (the targets' classes)."""
        return self.vocabulary

    def input_specs(self) -> dict:
        return {
            "image": (self.image_shape, "float32"),
            "tokens": ((self.sequence_length,), "int32"),
        }

    @property
    def vocabulary(self) -> tuple:
        """Every word a caption can contain; word ``i`` has id ``FIRST_WORD_ID + i``."""
        words = ["a", *REFERRING_COLOURS, *REFERRING_SHAPES]
        for relation in CAPTION_RELATIONS:
            words.extend(relation.split())
        return tuple(dict.fromkeys(words))

    @property
    def vocab_size(self) -> int:
        """Ids in all: padding, start, end and the words."""
        return FIRST_WORD_ID + len(self.vocabulary)

    def ceilings(self) -> dict:
        """``{"bayes": 1.0}``, the best exact match (the caption is a function of the picture)."""
        return {"bayes": 1.0}

    # -- words and ids --------------------------------------------------------
    def encode(self, captions) -> np.ndarray:
        """Target ids ``(n, sequence_length)``: the words, :data:`END_ID`, then padding.

        Raises:
            ValueError: for a caption that is not a string, holds a word
                outside :attr:`vocabulary`, or does not fit ``sequence_length``.
        """
        ids = {word: FIRST_WORD_ID + i for i, word in enumerate(self.vocabulary)}
        captions = list(captions)
        targets = np.full((len(captions), self.sequence_length), PAD_ID, dtype="int32")
        for row, caption in enumerate(captions):
            if not isinstance(caption, str):
                raise ValueError(f"captions must be strings; received {caption!r}")
            words = caption.split()
            unknown = [w for w in words if w not in ids]
            if unknown:
                raise ValueError(
                    f"captions may only use the task's vocabulary {list(self.vocabulary)}; "
                    f"received {caption!r} with unknown word(s) {unknown}"
                )
            if len(words) + 1 > self.sequence_length:
                raise ValueError(
                    f"captions must have at most {self.sequence_length - 1} words (sequence_length "
                    f"{self.sequence_length} holds them and the end id); received {caption!r}"
                )
            targets[row, : len(words) + 1] = [ids[w] for w in words] + [END_ID]
        return targets

    def decode(self, ids) -> list:
        """Captions from id sequences ``(n, length)``: the words up to the first end or padding id.

        The start id is skipped; any other id outside the vocabulary is
        shown as ``"<id>"``, so a generated sequence always reads back.
        """
        ids = np.asarray(ids)
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"ids must be an integer array (n, length); received shape {ids.shape} and dtype "
                f"{ids.dtype}"
            )
        words = self.vocabulary
        captions = []
        for row in ids.tolist():
            out = []
            for i in row:
                if i in (END_ID, PAD_ID):
                    break
                if i == START_ID:
                    continue
                k = i - FIRST_WORD_ID
                out.append(words[k] if 0 <= k < len(words) else f"<{i}>")
            captions.append(" ".join(out))
        return captions

    @staticmethod
    def teacher_forcing_inputs(targets) -> np.ndarray:
        """The decoder's inputs for ``targets``: :data:`START_ID`, then the targets shifted right.

        The end id drops off (nothing follows it), so padding stays padding.
        """
        targets = np.asarray(targets, dtype="int32")
        inputs = np.roll(np.where(targets == END_ID, PAD_ID, targets), 1, axis=1)
        inputs[:, 0] = START_ID
        return inputs

    # -- the truth a caption can be checked against --------------------------
    def describe(self, shapes, colours, relation) -> str:
        """The caption of one scene from its objects (in caption order) and relation."""
        colour_names = list(REFERRING_COLOURS)
        parts = [f"a {colour_names[colours[0]]} {REFERRING_SHAPES[shapes[0]]}"]
        if relation >= 0:
            parts.append(
                f"{CAPTION_RELATIONS[relation]} a {colour_names[colours[1]]} "
                f"{REFERRING_SHAPES[shapes[1]]}"
            )
        return " ".join(parts)

    def attribute_accuracy(self, split: CaptionSplit, captions) -> dict:
        """How often generated captions name each true attribute, exactly.

        A caption is read back against the grammar of the task: ``a C S`` or
        ``a C S R a C S``. A caption that does not parse names nothing
        right; one with the wrong number of objects gets the count wrong and
        only the attributes of the objects both have.

        Args:
            split: the split the captions describe.
            captions: one generated caption (a string) per scene.

        Returns:
            ``{"count", "colour", "shape", "relation", "all"}``: the share of
            scenes whose caption gives the right number of objects; the share
            of objects whose colour (shape) it names right, in order; the share
            of two-object scenes whose relation it names right; and the share
            of scenes whose caption names everything right (the exact match,
            for a caption that parses).
        """
        if not isinstance(split, CaptionSplit):
            raise ValueError(f"split must be a CaptionSplit; received {type(split).__name__}")
        captions = list(captions)
        if len(captions) != len(split):
            raise ValueError(
                f"captions must hold one caption per scene ({len(split)}); received {len(captions)}"
            )
        colour_ids = {c: i for i, c in enumerate(REFERRING_COLOURS)}
        shape_ids = {s: i for i, s in enumerate(REFERRING_SHAPES)}
        relation_ids = {r: i for i, r in enumerate(CAPTION_RELATIONS)}
        right = {"count": 0, "colour": 0, "shape": 0, "relation": 0, "all": 0}
        objects = int(split.counts.sum())
        pairs = int((split.counts == 2).sum())
        for i, caption in enumerate(captions):
            parsed = _parse(caption, colour_ids, shape_ids, relation_ids)
            count = int(split.counts[i])
            if parsed is None:
                continue
            named, relation = parsed
            right["count"] += int(len(named) == count)
            for slot, (colour, shape) in enumerate(named[:count]):
                right["colour"] += int(colour == split.colours[i, slot])
                right["shape"] += int(shape == split.shapes[i, slot])
            if count == 2 and len(named) == 2:
                right["relation"] += int(relation == split.relation[i])
            truth = self.describe(split.shapes[i], split.colours[i], split.relation[i])
            right["all"] += int(caption.split() == truth.split())
        totals = {
            "count": len(split),
            "colour": objects,
            "shape": objects,
            "relation": pairs,
            "all": len(split),
        }
        return {k: (right[k] / totals[k] if totals[k] else float("nan")) for k in right}

    # -- generation ---------------------------------------------------------
    def generate(self, n: int, seed: int = 0) -> CaptionSplit:
        """Draw ``n`` scenes and their captions; the same ``seed`` gives the same ones."""
        n, rng = self._generator(n, seed)
        size = self.image_size
        counts = np.where(rng.random(n) < self.two_objects, 2, 1)
        cells, cy, cx, radius = place_in_cells(counts, 2, size, rng)
        # Caption order is reading order: the object in the lower cell is named first.
        swap = (counts == 2) & (cells[:, 1] < cells[:, 0])
        for array in (cells, cy, cx, radius):
            array[swap] = array[swap][:, ::-1]
        present = cells >= 0
        shapes = np.where(present, rng.integers(0, len(REFERRING_SHAPES), (n, 2)), -1)
        colours = np.where(present, rng.integers(0, len(REFERRING_COLOURS), (n, 2)), -1)
        same_row = cells[:, 0] // 2 == cells[:, 1] // 2
        relation = np.where(counts == 2, np.where(same_row, 0, 1), -1).astype("int32")
        objects = object_maps(shapes, cells, cy, cx, radius, size, names=REFERRING_SHAPES)

        images = paint_objects(objects, colours, self.noise, rng)

        captions = tuple(self.describe(shapes[i], colours[i], relation[i]) for i in range(n))
        targets = self.encode(captions)
        return CaptionSplit(
            features={"image": images, "tokens": self.teacher_forcing_inputs(targets)},
            labels=targets,
            captions=captions,
            shapes=shapes.astype("int32"),
            colours=colours.astype("int32"),
            cells=cells.astype("int32"),
            counts=counts.astype("int32"),
            relation=relation,
        )


def _parse(caption, colour_ids, shape_ids, relation_ids):
    """``([(colour, shape), ...], relation)`` from a caption of the task's grammar, else ``None``."""
    words = caption.split() if isinstance(caption, str) else []

    def thing(three):
        if len(three) == 3 and three[0] == "a" and three[1] in colour_ids and three[2] in shape_ids:
            return colour_ids[three[1]], shape_ids[three[2]]
        return None

    if len(words) == 3 and thing(words):
        return [thing(words)], -1
    for relation, r in relation_ids.items():
        k = len(relation.split())
        if len(words) == 6 + k and " ".join(words[3 : 3 + k]) == relation:
            first, second = thing(words[:3]), thing(words[3 + k :])
            if first and second:
                return [first, second], r
    return None
