"""The book's synthetic image + caption task, generated with NumPy in a second.

The book needs a task that (1) runs offline, (2) is generated in seconds,
(3) cannot be solved from either modality alone, and (4) has accuracy
ceilings we can derive on paper. :class:`ShapeMaterialTask` is that task.

Each sample is an object with a *shape* (one of 7) and a *material* (one of
3); its label is the pair, so there are 7 x 3 = 21 classes, the count the
source article uses. The image shows the shape (in a random colour, position
and size, on a noisy background) but says nothing about the material. The
caption names the material (and the colour, which is visible in the image
too) but says nothing about the shape. Both channels are noisy: with
probability ``1 - image_reliability`` the image shows a random shape, and with
probability ``1 - caption_reliability`` the caption names a random material.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import _checks
from . import words
from .base import Split, SquarePictures, Task
from .scene_kit import render_shapes

__all__ = ["SHAPES", "MATERIALS", "COLOURS", "ShapeMaterialSplit", "ShapeMaterialTask"]

SHAPES = ("disk", "square", "triangle", "plus", "ring", "diamond", "bar")
MATERIALS = ("wood", "metal", "glass")
COLOURS = {
    "red": (0.90, 0.20, 0.15),
    "green": (0.20, 0.75, 0.25),
    "blue": (0.20, 0.35, 0.95),
    "yellow": (0.95, 0.85, 0.15),
    "purple": (0.65, 0.25, 0.85),
    "orange": (0.95, 0.55, 0.10),
}

# Caption templates. Each names the material exactly once, most name the
# colour, and none names the shape. Their lengths differ on purpose: padding and masking matter.
_TEMPLATES = (
    "{material}",
    "{colour} {material}",
    "this {colour} thing is made of {material}",
    "{material} painted {colour}",
    "the {colour} object is {material}",
    "someone left the {colour} {material} object on the table",
    "it looks {colour} and it is made of {material}",
    "a small {material} piece with {colour} paint",
)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ShapeMaterialSplit(Split):
    """One split of :class:`ShapeMaterialTask`: the inputs, the labels and the hidden causes.

    ``features`` is ``{"image": images, "text": tokens}``.

    Attributes:
        captions: the captions as Python strings (length ``n``).
        shape: true shape index of each sample.
        material: true material index of each sample.
        shown_shape: the shape the image actually shows (differs from
            ``shape`` where the image is corrupted).
        stated_material: the material the caption actually names.
    """

    captions: tuple
    shape: np.ndarray
    material: np.ndarray
    shown_shape: np.ndarray
    stated_material: np.ndarray


@dataclasses.dataclass(frozen=True)
class ShapeMaterialTask(words.FixedVocabulary, SquarePictures, Task):
    """The book's synthetic image + caption classification task.

    Label ``y = shape * 3 + material``. With image reliability ``p`` (the
    probability that the image shows the true shape instead of a uniformly
    random one) and caption reliability ``q`` (likewise for the material), the
    best possible accuracies are

    * Bayes-optimal, both modalities: ``(p + (1 - p) / 7) * (q + (1 - q) / 3)``
    * image only: ``(p + (1 - p) / 7) / 3``
    * text only: ``(q + (1 - q) / 3) / 7``

    because the shown shape and the stated material are the most probable
    causes and the two halves of the label are independent.

    Args:
        image_size: height and width of the square images, in pixels (>= 24).
        image_reliability: probability ``p`` in [0, 1].
        caption_reliability: probability ``q`` in [0, 1].
        sequence_length: length the token ids are padded or cut to (>= 9, the
            longest caption).

    Example:
        >>> task = ShapeMaterialTask()
        >>> split = task.generate(100, seed=0)
        >>> split.images.shape, split.tokens.shape, task.num_classes
        ((100, 32, 32, 3), (100, 12), 21)
    """

    image_size: int = 32
    image_reliability: float = 0.9
    caption_reliability: float = 0.9
    sequence_length: int = 12

    split_sizes = (6000, 1000, 2000)

    def __post_init__(self):
        owner = type(self).__name__
        longest = max(len(t.split()) for t in _TEMPLATES)
        self._store(
            image_size=_checks.integer("image_size", self.image_size, minimum=24, owner=owner),
            **self._probabilities("image_reliability", "caption_reliability"),
            sequence_length=self._sequence_length(longest, "caption"),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        """Names such as ``"glass disk"``, indexed by label."""
        return tuple(f"{m} {s}" for s in SHAPES for m in MATERIALS)

    def input_specs(self) -> dict:
        """``{"image": ((size, size, 3), "float32"), "text": ((sequence_length,), "int32")}``."""
        return {"image": (self.image_shape, "float32"), "text": ((self.sequence_length,), "int32")}

    @property
    def vocabulary(self) -> tuple:
        """Every word a caption can contain, in a fixed order."""
        words = []
        for template in _TEMPLATES:
            for word in template.split():
                if word == "{colour}":
                    words.extend(COLOURS)
                elif word == "{material}":
                    words.extend(MATERIALS)
                else:
                    words.append(word)
        return tuple(dict.fromkeys(words))

    # -- analytic ceilings --------------------------------------------------
    def ceilings(self) -> dict:
        """``{"bayes", "image", "text", "chance", "majority"}`` accuracies (see the class docstring).

        >>> {k: round(v, 3) for k, v in ShapeMaterialTask().ceilings().items()}
        {'bayes': 0.853, 'image': 0.305, 'text': 0.133, 'chance': 0.048, 'majority': 0.048}
        """
        return self._with_baselines(
            bayes=self.bayes_accuracy, image=self.image_only_accuracy, text=self.text_only_accuracy
        )

    @property
    def shape_accuracy(self) -> float:
        """Probability that the shown shape is the true shape."""
        p = self.image_reliability
        return p + (1.0 - p) / len(SHAPES)

    @property
    def material_accuracy(self) -> float:
        """Probability that the stated material is the true material."""
        q = self.caption_reliability
        return q + (1.0 - q) / len(MATERIALS)

    @property
    def bayes_accuracy(self) -> float:
        """Best accuracy any classifier can reach with both modalities."""
        return self.shape_accuracy * self.material_accuracy

    @property
    def image_only_accuracy(self) -> float:
        """Best accuracy from the image alone (the material is a guess)."""
        return self.shape_accuracy / len(MATERIALS)

    @property
    def text_only_accuracy(self) -> float:
        """Best accuracy from the caption alone (the shape is a guess)."""
        return self.material_accuracy / len(SHAPES)

    # -- generation ---------------------------------------------------------
    def vectorizer(self):
        """A Keras ``TextVectorization`` layer with the task's fixed vocabulary.

        Id 0 is padding and id 1 is the out-of-vocabulary token, so the
        vocabulary does not depend on which captions a split happens to hold.
        """
        return words.caption_vectorizer(self.vocabulary, self.sequence_length)

    def tokenize(self, captions) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of strings."""
        return words.tokenize(captions, self.vocabulary, self.sequence_length, name="captions")

    def generate(self, n: int, seed: int = 0) -> ShapeMaterialSplit:
        """Draw ``n`` samples; the same ``seed`` gives the same samples."""
        n, rng = self._generator(n, seed)
        n_shapes, n_materials = len(SHAPES), len(MATERIALS)

        shape = rng.integers(0, n_shapes, n)
        material = rng.integers(0, n_materials, n)
        shown_shape = np.where(
            rng.random(n) < self.image_reliability, shape, rng.integers(0, n_shapes, n)
        )
        stated_material = np.where(
            rng.random(n) < self.caption_reliability,
            material,
            rng.integers(0, n_materials, n),
        )
        colour = rng.integers(0, len(COLOURS), n)
        images = self._draw(shown_shape, colour, rng)

        colour_names = list(COLOURS)
        template = rng.integers(0, len(_TEMPLATES), n)
        captions = tuple(
            _TEMPLATES[t].format(colour=colour_names[c], material=MATERIALS[m])
            for t, c, m in zip(template, colour, stated_material)
        )
        labels = (shape * n_materials + material).astype("int32")
        return ShapeMaterialSplit(
            features={"image": images, "text": self.tokenize(captions)},
            labels=labels,
            captions=captions,
            shape=shape.astype("int32"),
            material=material.astype("int32"),
            shown_shape=shown_shape.astype("int32"),
            stated_material=stated_material.astype("int32"),
        )

    def _draw(self, shapes: np.ndarray, colours: np.ndarray, rng) -> np.ndarray:
        """Render one object per image, vectorised over the whole batch."""
        n, size = shapes.shape[0], self.image_size
        radius = (rng.uniform(0.22, 0.34, n) * size).astype("float32")
        margin = radius + 1.0
        cy = rng.uniform(margin, size - 1 - margin).astype("float32")
        cx = rng.uniform(margin, size - 1 - margin).astype("float32")
        mask = render_shapes(shapes, cy, cx, radius, size, SHAPES, thickness=0.3)

        palette = np.array(list(COLOURS.values()), dtype="float32")
        rgb = palette[colours] + 0.04 * rng.standard_normal((n, 3), dtype="float32")
        background = rng.uniform(0.0, 0.25, (n, 1, 1, 1)).astype("float32")
        images = rng.standard_normal((n, size, size, 3), dtype="float32")
        images *= 0.05
        images += background
        images = np.where(mask[..., None], rgb[:, None, None, :], images)
        return np.clip(images, 0.0, 1.0, out=images)
