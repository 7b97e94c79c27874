"""Sort-of-CLEVR: questions about a picture of six coloured objects, some of them relational.

Santoro et al. (2017) built Sort-of-CLEVR to separate two kinds of question
about the same picture. :class:`SortOfClevrTask` generates it with NumPy
(thousands of scenes a second):

* a scene is a 75 x 75 picture on a white background with six objects, one
  in each of the six colours of :data:`CLEVR_COLOURS`; each object is a
  square or a circle (:data:`CLEVR_SHAPES`), 10 pixels across, and no two
  objects overlap;
* its **state description** lists the objects, one row each: the colour
  (one-hot, 6), the shape (one-hot, 2) and the centre (``x``, ``y`` in
  ``[0, 1]``), in a random order per scene, so a model must find the object a
  question names by its colour, not by its row;
* a **question** is a binary vector of 11 entries: the colour of the object
  it is about (one-hot, 6), whether it is relational (one-hot, 2) and which of
  the three questions of its kind it asks (one-hot, 3);
* the **answer** is one of the ten :data:`CLEVR_ANSWERS`, computed exactly
  from the scene.

The six questions (:data:`QUESTION_TYPES`), about the object of colour ``c``:

* non-relational: ``"shape"`` (square or circle?), ``"horizontal"`` (is it in
  the left half? yes or no), ``"vertical"`` (is it in the top half?);
* relational: ``"closest"`` (the shape of the object nearest to it),
  ``"furthest"`` (the shape of the object furthest from it), ``"count"`` (how
  many objects have its shape, itself included: 1 to 6).

A non-relational question needs one object; a relational one needs every
object's relation to the named one. The splits follow the data contract of
:mod:`mmtutorial.data.base`; ``features`` holds ``"image"`` (uint8),
``"question"`` and ``"state"`` (float32), so the same split feeds a pixel
model and a state-description model.

Example:
    >>> task = SortOfClevrTask()
    >>> split = task.generate(4, seed=0)
    >>> split.features["image"].shape, split.features["question"].shape
    ((4, 75, 75, 3), (4, 11))
    >>> task.class_names[:4]
    ('no', 'yes', 'square', 'circle')
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import _checks
from .base import Split, SquarePictures, Task, integer_with_reason

__all__ = [
    "CLEVR_COLOURS",
    "CLEVR_RGB",
    "CLEVR_SHAPES",
    "CLEVR_ANSWERS",
    "QUESTION_TYPES",
    "RELATIONAL",
    "SortOfClevrSplit",
    "SortOfClevrTask",
    "answers_from_scene",
    "encode_questions",
    "question_text",
]

#: The six colours of every scene, in the order of the question's colour one-hot.
CLEVR_COLOURS = ("red", "green", "blue", "orange", "grey", "yellow")
#: Their RGB values, uint8.
CLEVR_RGB = np.array(
    [[230, 25, 25], [25, 170, 25], [25, 25, 230], [245, 140, 0], [128, 128, 128], [230, 210, 0]],
    dtype="uint8",
)
#: The two shapes, in the order of the state description's shape one-hot.
CLEVR_SHAPES = ("square", "circle")
#: The ten answers: yes/no, the two shapes, the counts 1 to 6.
CLEVR_ANSWERS = ("no", "yes", *CLEVR_SHAPES, "1", "2", "3", "4", "5", "6")
#: The six questions: three non-relational, then three relational.
QUESTION_TYPES = ("shape", "horizontal", "vertical", "closest", "furthest", "count")
#: Whether each of :data:`QUESTION_TYPES` is relational.
RELATIONAL = np.array([False, False, False, True, True, True])

_NO, _YES, _SQUARE = 0, 1, 2
_COUNT_ONE = 4
_CHUNK = 512  # scenes drawn at once: 512 x 6 x 75 x 75 booleans, about 17 MB


def encode_questions(colours, question_types) -> np.ndarray:
    """The 11-entry binary question vectors of the given colour and question-type ids.

    Entries 0-5: the colour, one-hot; 6-7: non-relational / relational; 8-10:
    which of the three questions of that kind.

    >>> encode_questions([0], [4]).astype(int).tolist()
    [[1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0]]
    """
    colours = np.asarray(colours)
    types = np.asarray(question_types)
    if colours.shape != types.shape or colours.ndim != 1:
        raise ValueError(
            "colours and question_types must be 1-D arrays of one length; received shapes "
            f"{colours.shape} and {types.shape}"
        )
    if colours.size and not (0 <= colours.min() and colours.max() < len(CLEVR_COLOURS)):
        raise ValueError(f"colours must be ids in [0, 6); received {colours.tolist()[:8]}")
    if types.size and not (0 <= types.min() and types.max() < len(QUESTION_TYPES)):
        raise ValueError(f"question_types must be ids in [0, 6); received {types.tolist()[:8]}")
    rows = np.arange(colours.shape[0])
    vectors = np.zeros((colours.shape[0], 11), dtype="float32")
    vectors[rows, colours] = 1.0
    vectors[rows, 6 + (types >= 3)] = 1.0
    vectors[rows, 8 + types % 3] = 1.0
    return vectors


_WORDING = (
    "What shape is the {} object?",
    "Is the {} object on the left?",
    "Is the {} object at the top?",
    "What shape is the object closest to the {} one?",
    "What shape is the object furthest from the {} one?",
    "How many objects have the shape of the {} one?",
)


def question_text(colour, question_type) -> str:
    """The question a colour id and a question-type id encode, in words.

    >>> question_text(0, 4)
    'What shape is the object furthest from the red one?'
    """
    if not (_checks.is_integer(colour) and 0 <= colour < len(CLEVR_COLOURS)):
        raise ValueError(f"colour must be an id in [0, 6); received {colour!r}")
    if not (_checks.is_integer(question_type) and 0 <= question_type < len(QUESTION_TYPES)):
        raise ValueError(f"question_type must be an id in [0, 6); received {question_type!r}")
    return _WORDING[question_type].format(CLEVR_COLOURS[colour])


def answers_from_scene(shapes, centres, colours, question_types, image_size=75) -> np.ndarray:
    """The answer ids of the questions, computed from the scenes, vectorised over scenes.

    Args:
        shapes: int ``(n, 6)``, the shape of the object of each colour (0 square, 1 circle).
        centres: float ``(n, 6, 2)``, each colour's object centre as ``(x, y)`` in pixels.
        colours: int ``(n,)``, the colour each question names.
        question_types: int ``(n,)``, indices into :data:`QUESTION_TYPES`.
        image_size: the picture's side in pixels (the halves are split at its middle).

    Returns:
        int32 ``(n,)``, indices into :data:`CLEVR_ANSWERS`.
    """
    rows = np.arange(shapes.shape[0])
    own = centres[rows, colours]  # (n, 2)
    distance = np.linalg.norm(centres - own[:, None, :], axis=-1)  # (n, 6)
    middle = image_size / 2.0
    nearest = np.where(np.eye(6, dtype=bool)[colours], np.inf, distance).argmin(axis=1)
    furthest = distance.argmax(axis=1)
    same = (shapes == shapes[rows, colours][:, None]).sum(axis=1)
    candidates = np.stack(
        [
            _SQUARE + shapes[rows, colours],
            np.where(own[:, 0] < middle, _YES, _NO),
            np.where(own[:, 1] < middle, _YES, _NO),
            _SQUARE + shapes[rows, nearest],
            _SQUARE + shapes[rows, furthest],
            _COUNT_ONE + same - 1,
        ],
        axis=1,
    )
    return candidates[rows, question_types].astype("int32")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SortOfClevrSplit(Split):
    """One split of :class:`SortOfClevrTask`: inputs, answers and the scene behind them.

    ``features`` is ``{"image": uint8 (n, 75, 75, 3), "question": float32 (n,
    11), "state": float32 (n, 6, 10)}``; ``labels`` are answer ids.

    Attributes:
        shapes: int32 ``(n, 6)``, the shape of the object of each colour.
        centres: float32 ``(n, 6, 2)``, each colour's object centre ``(x, y)`` in pixels.
        colours: int32 ``(n,)``, the colour each question names.
        question_types: int32 ``(n,)``, indices into :data:`QUESTION_TYPES`.
    """

    shapes: np.ndarray = None
    centres: np.ndarray = None
    colours: np.ndarray = None
    question_types: np.ndarray = None

    @property
    def relational(self) -> np.ndarray:
        """Boolean ``(n,)``: whether each question is relational."""
        return RELATIONAL[self.question_types]

    def _repr_head(self) -> str:
        return f"{len(self)} scenes, {int(self.relational.sum())} relational questions"


@dataclasses.dataclass(frozen=True, eq=False)
class SortOfClevrTask(SquarePictures, Task):
    """Sort-of-CLEVR scenes, one question each, with the exact answers.

    Each object's centre is drawn uniformly where the whole object fits in
    the picture and at least ``min_distance`` pixels from the objects already
    placed (redrawn until it is, for every scene at once). Every question's
    colour and type are drawn uniformly, with a relational type with
    probability ``relational_share``.

    The ceilings: the answer is a function of the scene, so ``"bayes"`` is 1
    (up to the sub-pixel ties of a picture, see below). From the question
    alone (``"question"``), a model knows nothing of the shapes (each a fair
    coin) nor the place (uniform over a symmetric range): the best it can do is
    1/2 on the five two-way questions and, on ``"count"``, the commonest count,
    1 + Binomial(5, 1/2) = 3 or 4, with probability 10/32. The closest and
    furthest objects are defined on the centres, which the picture shows to
    the pixel; two distances within a pixel of each other happen in a few
    scenes in a hundred (``tests/test_sort_of_clevr.py`` counts them), so a pixel model's ceiling on
    those two questions is slightly below 1.

    Args:
        image_size: the picture's side in pixels (75 in the paper).
        object_size: an object's side (square) or diameter (circle) in pixels.
        min_distance: the least distance between two centres, in pixels; at
            least ``object_size * sqrt(2)``, so objects never overlap.
        relational_share: the probability that a question is relational.
    """

    image_size: int = 75
    object_size: int = 10
    min_distance: float = 15.0
    relational_share: float = 0.5

    class_names = CLEVR_ANSWERS
    split_sizes = (9000, 1000, 2000)

    def __post_init__(self):
        owner = type(self).__name__
        size = _checks.integer("image_size", self.image_size, minimum=16, owner=owner)
        obj = _checks.integer("object_size", self.object_size, minimum=2, owner=owner)
        integer_with_reason(
            "image_size", size, 4 * obj, "room for six objects of object_size", owner=owner
        )
        low = obj * np.sqrt(2.0)
        distance = _checks.number(
            "min_distance",
            self.min_distance,
            low=low,
            high=size / 3.0,
            owner=owner,
            what=f"a number in [{low:.2f}, {size / 3.0:.2f}] (objects never overlap, "
            f"and six fit in {size} x {size} pixels)",
        )
        share = _checks.probability("relational_share", self.relational_share, owner=owner)
        self._store(image_size=size, object_size=obj, min_distance=distance, relational_share=share)

    def input_specs(self) -> dict:
        return {
            "image": (self.image_shape, "uint8"),
            "question": ((11,), "float32"),
            "state": ((6, 10), "float32"),
        }

    @property
    def majority_accuracy(self) -> float:
        """The commonest answer: ``"square"`` (as often as ``"circle"``)."""
        r = self.relational_share
        return (1 - r) / 3 * 0.5 + r * 2 / 3 * 0.5

    def question_ceiling(self, relational: bool | None = None) -> float:
        """The best accuracy from the question alone: overall, or on one kind of question."""
        non_relational, relational_best = 0.5, (0.5 + 0.5 + 10 / 32) / 3
        if relational is None:
            r = self.relational_share
            return (1 - r) * non_relational + r * relational_best
        return relational_best if relational else non_relational

    def ceilings(self) -> dict:
        return self._with_baselines(bayes=1.0, question=self.question_ceiling())

    # -- drawing ---------------------------------------------------------------------
    def _centres(self, n, rng) -> np.ndarray:
        """float32 ``(n, 6, 2)`` centres ``(x, y)``, at least ``min_distance`` apart."""
        half = self.object_size / 2.0
        low, high = half, self.image_size - half
        centres = np.zeros((n, 6, 2))
        for slot in range(6):
            todo = np.arange(n)
            while todo.size:
                centres[todo, slot] = rng.uniform(low, high, (todo.size, 2))
                if slot == 0:
                    break
                gaps = np.linalg.norm(
                    centres[todo, :slot] - centres[todo, slot][:, None, :], axis=-1
                )
                todo = todo[gaps.min(axis=1) < self.min_distance]
        return centres.astype("float32")

    def render(self, shapes, centres) -> np.ndarray:
        """uint8 pictures ``(n, size, size, 3)`` of the scenes ``shapes`` ``(n, 6)``, ``centres`` ``(n, 6, 2)``.

        A pixel ``(row, column)`` has its centre at ``(column + 0.5, row +
        0.5)``; it belongs to a square if both coordinates are within half a
        side of the object's centre, to a circle if its distance is within the
        radius.
        """
        shapes = np.asarray(shapes)
        centres = np.asarray(centres, dtype="float32")
        n, size = shapes.shape[0], self.image_size
        images = np.full((n, size, size, 3), 255, dtype="uint8")
        grid = np.arange(size, dtype="float32") + 0.5
        half = self.object_size / 2.0
        for start in range(0, n, _CHUNK):
            part = slice(start, start + _CHUNK)
            dx = grid[None, None, None, :] - centres[part, :, 0, None, None]
            dy = grid[None, None, :, None] - centres[part, :, 1, None, None]
            square = (np.abs(dx) <= half) & (np.abs(dy) <= half)
            circle = dx**2 + dy**2 <= half**2
            masks = np.where(shapes[part, :, None, None] == 0, square, circle)  # (m, 6, H, W)
            owner = np.where(masks.any(axis=1), masks.argmax(axis=1), -1)  # objects never overlap
            drawn = owner >= 0
            images[part][drawn] = CLEVR_RGB[owner[drawn]]
        return images

    def state_description(self, shapes, centres, rng) -> np.ndarray:
        """float32 ``(n, 6, 10)``: colour one-hot, shape one-hot, ``x``, ``y`` in [-1, 1], rows shuffled."""
        n = shapes.shape[0]
        state = np.zeros((n, 6, 10), dtype="float32")
        state[:, :, :6] = np.eye(6, dtype="float32")[None]
        state[:, :, 6:8] = np.eye(2, dtype="float32")[shapes]
        state[:, :, 8:] = 2.0 * centres / self.image_size - 1.0
        order = np.argsort(rng.random((n, 6)), axis=1)
        return np.take_along_axis(state, order[:, :, None], axis=1)

    def generate(
        self, n: int, seed: int = 0, *, images: bool = True, questions_per_scene: int = 1
    ) -> SortOfClevrSplit:
        """``n`` questions, each about a scene; the same ``seed`` gives the same split.

        With ``images=False`` the split has no ``"image"`` feature (the
        pictures take most of the time and memory); everything else is
        identical to the split with pictures. With ``questions_per_scene=k``,
        ``ceil(n / k)`` scenes are drawn and each is asked ``k`` questions,
        each drawn as usual (consecutive rows share a scene; the last scene
        may have fewer), as in the reference implementations, which ask 20
        questions of every picture; ``k = 1`` (the default) gives every
        question a scene of its own.
        """
        owner = type(self).__name__
        images = _checks.boolean("images", images, owner=owner)
        per_scene = _checks.integer(
            "questions_per_scene", questions_per_scene, minimum=1, owner=owner
        )
        n, rng = self._generator(n, seed)
        scenes = -(-n // per_scene)
        shapes = rng.integers(0, 2, (scenes, 6)).astype("int32")
        centres = self._centres(scenes, rng)
        colours = rng.integers(0, 6, n).astype("int32")
        relational = rng.random(n) < self.relational_share
        types = (rng.integers(0, 3, n) + 3 * relational).astype("int32")
        features = {
            "question": encode_questions(colours, types),
            "state": self.state_description(shapes, centres, rng),
        }
        if images:
            features = {"image": self.render(shapes, centres), **features}
        if per_scene > 1:  # every row of a scene's arrays, once per question about it
            scene_of = np.arange(n) // per_scene
            shapes, centres = shapes[scene_of], centres[scene_of]
            features = {
                key: value if key == "question" else value[scene_of]
                for key, value in features.items()
            }
        return SortOfClevrSplit(
            features=features,
            labels=answers_from_scene(shapes, centres, colours, types, self.image_size),
            shapes=shapes,
            centres=centres,
            colours=colours,
            question_types=types,
        )
