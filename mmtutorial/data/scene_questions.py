"""Scenes and questions: a task where one modality decides how the other is read.

A scene holds one object in each of four quadrants, and a question asks for
the shape of one of them ("what is at the top left?"). The task skips the
pixels and the words and gives a model what a detector and a parser would
output:

* the **scene**: for each quadrant ``k`` a noisy score for each shape ``c``,
  ``s_kc = [shape_k = c] + noise``;
* the **question**: a noisy indicator of the quadrant it names,
  ``q_k = [asked = k] + noise``;

both with Gaussian noise of standard deviation ``noise``. The answer (the
label) is the shape in the named quadrant, so no score of the scene is useful
on its own: it matters only when the question points at its quadrant. The
fusion chapter uses it to show fusions that multiply (tensor, low-rank,
cross-attention) far ahead of concatenation.

The inputs come in two layouts (:meth:`SceneQuestionSplit.as_layout`):
``"vectors"`` for the vector fusions (the scene's scores flattened, the
question as one vector) and ``"tokens"`` for a token-level fusion (each
quadrant a token of its scores plus a one-hot code of its position, so that the
question can find it, and the question a single token).

With ``e_k`` the ``k``-th unit vector, Bayes' rule gives the posterior of the
answer (:meth:`SceneQuestionTask.posterior`):

``p(c | s, q) = sum_k p(k | q) p(c | s_k)``, with
``p(k | q) ∝ exp(-||q - e_k||² / 2σ²)`` and ``p(c | s_k) ∝ exp(-||s_k - e_c||² / 2σ²)``.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .. import _checks
from .base import Split, Task
from .shape_material import SHAPES

__all__ = ["LAYOUTS", "QUADRANT_NAMES", "SceneQuestionSplit", "SceneQuestionTask"]

#: The two layouts of the inputs.
LAYOUTS = ("vectors", "tokens")
#: Names of the four places when ``quadrants=4``.
QUADRANT_NAMES = ("top left", "top right", "bottom left", "bottom right")

_CEILING_SAMPLES = 200_000  # scenes drawn to estimate the ceilings
_CEILING_SEED = 20240229
_CHUNK = 20_000


def _inputs(scores, question, layout) -> dict:
    """The model inputs (float32) in ``layout`` from the float64 scores and question."""
    n, quadrants, _ = scores.shape
    if layout == "vectors":
        inputs = {"scene": scores.reshape(n, -1), "question": question}
    else:
        position = np.broadcast_to(np.eye(quadrants), (n, quadrants, quadrants))
        inputs = {
            "scene": np.concatenate([scores, position], axis=-1),
            "question": question[:, None, :],
        }
    return {key: value.astype("float32") for key, value in inputs.items()}


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _shape_given_scores(scores, noise) -> np.ndarray:
    """``p(c | s_k)``, ``(n, quadrants, shapes)``: a softmax over the shapes of each quadrant's
    squared distances ``||s_k - e_c||²`` to the shapes' unit vectors, over ``-2σ²``."""
    return _softmax(
        -((scores[..., None] - np.eye(scores.shape[2])) ** 2).sum(axis=2) / (2 * noise**2)
    )


def _quadrant_given_question(question, noise) -> np.ndarray:
    """``p(k | q)``, ``(n, quadrants)``, likewise from ``||q - e_k||²``."""
    return _softmax(
        -((question[:, :, None] - np.eye(question.shape[1])) ** 2).sum(axis=1) / (2 * noise**2)
    )


def _posterior(p_shape, p_named) -> np.ndarray:
    """``p(c | s, q) = sum_k p(k | q) p(c | s_k)``, ``(n, shapes)``."""
    return (p_named[..., None] * p_shape).sum(axis=1)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SceneQuestionSplit(Split):
    """One split of :class:`SceneQuestionTask`: the inputs in one layout, the answers and the causes.

    ``features`` is ``{"scene": ..., "question": ...}`` in the split's
    ``layout``; ``labels`` is the shape in the asked quadrant.

    Attributes:
        scene_shapes: int32 ``(n, quadrants)``, the shape in each quadrant.
        asked: int32 ``(n,)``, the quadrant the question names.
        scores: float64 ``(n, quadrants, shapes)``, the detector's scores
            before the float32 cast of the inputs.
        question: float64 ``(n, quadrants)``, the parser's indicator, likewise.
        layout: ``"vectors"`` or ``"tokens"``.
    """

    scene_shapes: np.ndarray
    asked: np.ndarray
    scores: np.ndarray
    question: np.ndarray
    layout: str = "vectors"

    def as_layout(self, layout: str) -> SceneQuestionSplit:
        """The same scenes with the inputs in ``layout`` (``"vectors"`` or ``"tokens"``)."""
        layout = _checks.choice("layout", layout, LAYOUTS, owner=type(self).__name__)
        return dataclasses.replace(
            self, features=_inputs(self.scores, self.question, layout), layout=layout
        )

    def _repr_head(self) -> str:
        return f"{len(self)} scenes, {self.layout}"


@dataclasses.dataclass(frozen=True)
class SceneQuestionTask(Task):
    """Name the shape in the quadrant a question points at.

    Every quadrant's shape is uniform over ``shapes`` and the asked quadrant
    uniform over ``quadrants``, independently. The question alone says
    nothing about the answer (``"question"`` ceiling ``1 / shapes``); the
    scene alone gives at best the most common shape of the scene (about 0.43
    for the defaults); both together, read with Bayes' rule
    (:meth:`posterior`), reach the ``"bayes"`` ceiling, about 0.937. These
    two have no closed form, so they are estimated once per task from
    200,000 scenes of a fixed seed (standard error below 0.0012).

    Args:
        quadrants: places in a scene (>= 2; 4 = the quadrants of a picture).
        shapes: shapes an object can have, the classes (>= 2).
        noise: standard deviation ``σ`` of the Gaussian noise on the scores
            and on the question (> 0).
        layout: the layout of ``features``, ``"vectors"`` or ``"tokens"``.

    Example:
        >>> task = SceneQuestionTask()
        >>> split = task.generate(5, seed=1)
        >>> {key: value.shape for key, value in split.features.items()}
        {'scene': (5, 28), 'question': (5, 4)}
        >>> {key: value.shape for key, value in split.as_layout("tokens").features.items()}
        {'scene': (5, 4, 11), 'question': (5, 1, 4)}
    """

    quadrants: int = 4
    shapes: int = 7
    noise: float = 0.3
    layout: str = "vectors"

    split_sizes = (1500, 500, 2000)

    def __post_init__(self):
        owner = type(self).__name__
        self._store(
            quadrants=_checks.integer("quadrants", self.quadrants, minimum=2, owner=owner),
            shapes=_checks.integer("shapes", self.shapes, minimum=2, owner=owner),
            noise=_checks.positive("noise", self.noise, owner=owner),
            layout=_checks.choice("layout", self.layout, LAYOUTS, owner=owner),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        """The shapes' names: the book's shapes for up to 7, else ``"shape 0"``, ``"shape 1"``, ..."""
        if self.shapes <= len(SHAPES):
            return SHAPES[: self.shapes]
        return tuple(f"shape {c}" for c in range(self.shapes))

    def input_specs(self, layout: str | None = None) -> dict:
        """``{"scene": (shape, "float32"), "question": (shape, "float32")}`` for ``layout``
        (the task's own by default)."""
        layout = self.layout if layout is None else _checks.choice("layout", layout, LAYOUTS)
        q, c = self.quadrants, self.shapes
        if layout == "vectors":
            return {"scene": ((q * c,), "float32"), "question": ((q,), "float32")}
        return {"scene": ((q, c + q), "float32"), "question": ((1, q), "float32")}

    # -- ceilings -----------------------------------------------------------
    def posterior(self, split: SceneQuestionSplit, *, use_question: bool = True) -> np.ndarray:
        """``p(answer | scene, question)`` for every scene of ``split``, float64 ``(n, shapes)``.

        Computed from the float64 ``split.scores`` and ``split.question``; with
        ``use_question=False`` every quadrant is taken as equally likely to be
        the one asked (the scene-only rule). The Bayes classifier answers
        ``posterior.argmax(axis=1)``.
        """
        if not isinstance(split, SceneQuestionSplit):
            raise ValueError(f"split must be a SceneQuestionSplit; received {type(split).__name__}")
        if split.scores.shape[1:] != (self.quadrants, self.shapes):
            raise ValueError(
                f"split holds scenes of {split.scores.shape[1]} quadrants and {split.scores.shape[2]} "
                f"shapes; this task has {self.quadrants} and {self.shapes}"
            )
        p_shape = _shape_given_scores(split.scores, self.noise)
        if _checks.boolean("use_question", use_question):
            p_named = _quadrant_given_question(split.question, self.noise)
        else:
            p_named = np.full(split.question.shape, 1.0 / self.quadrants)
        return _posterior(p_shape, p_named)

    def ceilings(self) -> dict:
        """``{"bayes", "scene", "question", "chance", "majority"}`` accuracies.

        ``"bayes"`` and ``"scene"`` are the accuracies of the Bayes rules with
        both inputs and with the scene alone, estimated from 200,000 scenes;
        ``"question"`` is exactly ``1 / shapes``.

        >>> {k: round(v, 2) for k, v in SceneQuestionTask().ceilings().items()}
        {'bayes': 0.94, 'scene': 0.43, 'question': 0.14, 'chance': 0.14, 'majority': 0.14}
        """
        bayes, scene = self._estimated_ceilings
        return self._with_baselines(bayes=bayes, scene=scene, question=1.0 / self.shapes)

    @property
    def bayes_accuracy(self) -> float:
        """The ``"bayes"`` ceiling: the Bayes rule with the scene and the question."""
        return self.ceilings()["bayes"]

    @functools.cached_property
    def _estimated_ceilings(self) -> tuple:
        rng = np.random.default_rng(_CEILING_SEED)
        right = np.zeros(2)
        for start in range(0, _CEILING_SAMPLES, _CHUNK):
            n = min(_CHUNK, _CEILING_SAMPLES - start)
            scene_shapes, asked, scores, question = self._draw(n, rng)
            answers = scene_shapes[np.arange(n), asked]
            p_shape = _shape_given_scores(scores, self.noise)
            both = _posterior(p_shape, _quadrant_given_question(question, self.noise))
            right += (
                np.sum(both.argmax(axis=1) == answers),
                np.sum(p_shape.sum(axis=1).argmax(axis=1) == answers),
            )
        return tuple(float(r) / _CEILING_SAMPLES for r in right)

    # -- generation ---------------------------------------------------------
    def _draw(self, n, rng):
        """The causes and the noisy readings of ``n`` scenes, float64."""
        q, c = self.quadrants, self.shapes
        scene_shapes = rng.integers(0, c, (n, q))
        asked = rng.integers(0, q, n)
        scores = np.eye(c)[scene_shapes] + self.noise * rng.normal(size=(n, q, c))
        question = np.eye(q)[asked] + self.noise * rng.normal(size=(n, q))
        return scene_shapes, asked, scores, question

    def generate(self, n: int, seed: int = 0) -> SceneQuestionSplit:
        """Draw ``n`` scenes; the same ``seed`` gives the same scenes (in either layout)."""
        n, rng = self._generator(n, seed)
        scene_shapes, asked, scores, question = self._draw(n, rng)
        return SceneQuestionSplit(
            features=_inputs(scores, question, self.layout),
            labels=scene_shapes[np.arange(n), asked].astype("int32"),
            scene_shapes=scene_shapes.astype("int32"),
            asked=asked.astype("int32"),
            scores=scores,
            question=question,
            layout=self.layout,
        )
