"""Heads: turn a fused vector into predictions.

:func:`classification_head` is the source article's head: a hidden ReLU
layer, dropout, and a softmax over the classes. (The article calls this block
an "FCN", meaning a fully connected network; in the segmentation literature
FCN means a *fully convolutional* network, which this is not.)
"""

from __future__ import annotations

import keras

from . import _checks

# Late fusion lives with the other fusions (mmtutorial.fusion.late); the head stage, after
# fusion in the data flow, re-exports it as ``heads.product_of_experts``.
from .fusion.late import product_of_experts

__all__ = ["ResumableDropout", "classification_head", "product_of_experts"]


@keras.saving.register_keras_serializable(package="mmtutorial")
class ResumableDropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` whose random state is saved with the model.

    Keras's ``Dropout`` draws its masks from a seed generator whose state is
    not written to ``.keras`` files, so a model loaded from a checkpoint
    draws different masks than the run it came from, and a resumed training
    run drifts away from an uninterrupted one. This layer saves and restores
    that state, so resuming reproduces the uninterrupted run exactly. It
    behaves like ``Dropout`` in every other way: during training each input is
    zeroed with probability ``rate`` and the rest are scaled by
    ``1 / (1 - rate)``; at inference it is the identity.

    Example:
        >>> import numpy as np
        >>> layer = ResumableDropout(0.5, seed=1)
        >>> np.asarray(layer(np.ones((1, 4)), training=False)).tolist()
        [[1.0, 1.0, 1.0, 1.0]]
    """

    _STATE_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        generator = getattr(self, "seed_generator", None)  # absent when rate == 0
        if generator is not None:
            store[self._STATE_KEY] = keras.ops.convert_to_numpy(generator.state.value)

    def load_own_variables(self, store):
        if getattr(self, "seed_generator", None) is None:
            return
        if self._STATE_KEY not in store:
            raise ValueError(
                f"{self.name}: the saved file holds no dropout random state "
                f"(keys found: {list(store.keys())})"
            )
        self.seed_generator.state.assign(store[self._STATE_KEY])


def classification_head(
    num_classes: int,
    hidden_units: int = 128,
    dropout: float = 0.5,
    name: str = "head",
) -> keras.Sequential:
    """``Dense(hidden_units, relu) -> Dropout(dropout) -> Dense(num_classes, softmax)``.

    The dropout is a :class:`ResumableDropout`, so checkpoints resume exactly.

    For a fused vector ``z`` it computes
    ``p(y | z) = softmax(W_2 dropout(relu(W_1 z + b_1)) + b_2)``.
    The input width is inferred on the first call, so the same head fits any
    fusion.

    Args:
        num_classes: number of classes (>= 2).
        hidden_units: width of the hidden layer (>= 1).
        dropout: drop rate in [0, 1) applied during training only.
        name: the model's name.

    Returns:
        A ``keras.Sequential`` mapping ``(batch, d)`` to class probabilities
        ``(batch, num_classes)`` that sum to 1.

    Example:
        >>> import numpy as np
        >>> head = classification_head(5)
        >>> tuple(head(np.zeros((2, 8))).shape)
        (2, 5)
    """
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    hidden_units = _checks.integer("hidden_units", hidden_units, minimum=1)
    dropout = _checks.fraction("dropout", dropout)
    return keras.Sequential(
        [
            keras.layers.Dense(hidden_units, activation="relu", name="hidden"),
            ResumableDropout(dropout, name="dropout"),
            keras.layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name=name,
    )


# -- the contrastive head of a dual encoder -----------------------------------


@keras.saving.register_keras_serializable(package="mmtutorial")
class SimilarityLogits(keras.layers.Layer):
    """Scaled similarity of every image with every text in a batch: CLIP's logits.

    For a batch of image embeddings ``u_1..u_B`` and text embeddings
    ``v_1..v_B`` it returns the ``(B, B)`` matrix ``L[i, j] = s * (u_i . v_j)``.
    With unit-length embeddings the dot product is the cosine similarity, so
    every logit lies in ``[-s, s]``. The scale ``s = 1 / temperature`` sharpens
    the softmax that the contrastive loss takes over each row and column.
    As in CLIP (Radford et al., 2021) the layer can learn ``log s``, starting
    from ``log(1 / temperature)`` and clipped so that ``s <= max_scale``.

    Args:
        temperature: the initial (or, with ``learnable=False``, fixed)
            temperature ``tau > 0``; CLIP starts at 0.07.
        learnable: learn the scale during training (a single weight).
        max_scale: upper bound on ``s``; CLIP uses 100.

    Returns:
        Called on ``[images, texts]``, two ``(B, d)`` tensors, the ``(B, B)``
        logits: row ``i`` scores image ``i`` against every text.

    Example:
        >>> import numpy as np
        >>> layer = SimilarityLogits(temperature=0.5, learnable=False)
        >>> u, v = np.eye(2, dtype="float32"), np.array([[0.6, 0.8], [1, 0]], "float32")
        >>> print(np.asarray(layer([u, v])).round(3))
        [[1.2 2. ]
         [1.6 0. ]]
    """

    def __init__(self, temperature=0.07, learnable=True, max_scale=100.0, **kwargs):
        super().__init__(**kwargs)
        temperature = _checks.positive("temperature", temperature)
        _checks.boolean("learnable", learnable)
        _checks.number(
            "max_scale",
            max_scale,
            low=1.0 / temperature,
            what=f"a number >= 1 / temperature = {1.0 / temperature:g}",
        )
        self.temperature = float(temperature)
        self.learnable = learnable
        self.max_scale = float(max_scale)

    def _check_shapes(self, shapes):
        shapes = [tuple(s) for s in shapes] if isinstance(shapes, (list, tuple)) else shapes
        if (
            not isinstance(shapes, list)
            or len(shapes) != 2
            or any(len(s) != 2 for s in shapes)
            or (None not in (shapes[0][1], shapes[1][1]) and shapes[0][1] != shapes[1][1])
        ):
            raise ValueError(
                "SimilarityLogits expects a list of 2 rank-2 tensors [images, texts] with the "
                f"same embedding size; received shapes {shapes}"
            )
        return shapes

    def build(self, input_shape):
        import math

        self._check_shapes(
            list(input_shape) if isinstance(input_shape, (list, tuple)) else input_shape
        )
        self.log_scale = self.add_weight(
            name="log_scale",
            shape=(),
            initializer=keras.initializers.Constant(math.log(1.0 / self.temperature)),
            trainable=self.learnable,
        )
        super().build(input_shape)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        self._check_shapes([tuple(x.shape) for x in inputs])
        images, texts = inputs
        ops = keras.ops
        scale = ops.minimum(ops.exp(self.log_scale), self.max_scale)
        return scale * ops.matmul(images, ops.transpose(texts))

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(list(input_shape))
        return (shapes[0][0], shapes[1][0])

    def current_scale(self) -> float:
        """The scale ``s = 1 / temperature`` the layer applies now."""
        if not self.built:
            return min(1.0 / self.temperature, self.max_scale)
        scale = keras.ops.minimum(keras.ops.exp(self.log_scale), self.max_scale)
        return float(keras.ops.convert_to_numpy(scale))

    def get_config(self):
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "learnable": self.learnable,
            "max_scale": self.max_scale,
        }


@keras.saving.register_keras_serializable(package="mmtutorial")
class ContrastiveLoss(keras.losses.Loss):
    """The symmetric contrastive (InfoNCE) loss of CLIP, on a ``(B, B)`` logits matrix.

    Row ``i`` of the logits scores image ``i`` against the batch's texts; its
    match is text ``i``. The loss is the cross-entropy of picking the match
    among the batch, averaged over both directions:

    ``loss = 1/2 * mean_i [-log softmax(L[i, :])_i] + 1/2 * mean_j [-log softmax(L[:, j])_j]``.

    ``y_true`` holds one pair id per sample. With distinct ids
    (``np.arange(B)``) this is exactly CLIP's loss (Radford et al., 2021),
    the InfoNCE objective of van den Oord et al. (2018) in both directions.
    Pairs that share an id (two identical captions, say) all count as
    matches: the target of row ``i`` is then spread evenly over every ``j``
    with the same id, instead of pushing identical captions apart.

    Returns:
        One value per sample, ``(-log softmax(L[i, :])_i - log softmax(L[:, i])_i) / 2``
        for distinct ids; Keras averages them over the batch.

    Example:
        >>> import numpy as np
        >>> loss = ContrastiveLoss()
        >>> round(float(loss(np.arange(2), np.zeros((2, 2), "float32"))), 4)  # log 2
        0.6931
    """

    def __init__(self, name="contrastive_loss", reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        ops = keras.ops
        logits = ops.convert_to_tensor(y_pred)
        shape = tuple(logits.shape)
        if len(shape) != 2 or (None not in shape and shape[0] != shape[1]):
            raise ValueError(
                "ContrastiveLoss expects square logits (batch, batch) from "
                f"SimilarityLogits; received shape {shape}"
            )
        ids = ops.reshape(y_true, (-1,))
        n = ids.shape[0]
        if None not in (n, shape[0]) and n != shape[0]:
            raise ValueError(
                "ContrastiveLoss needs one pair id per sample: received "
                f"{ids.shape[0]} ids for logits of shape {shape}"
            )
        # target[i, j] = 1 / (number of matches of i) where ids i and j
        # are equal; the matrix is symmetric, so it serves rows and
        # columns alike
        same = ops.equal(ids[:, None], ids[None, :])
        match = ops.cast(same, logits.dtype)
        targets = match / ops.sum(match, axis=1, keepdims=True)
        by_row = ops.log_softmax(logits, axis=1)
        by_column = ops.log_softmax(logits, axis=0)
        image_to_text = -ops.sum(targets * by_row, axis=1)
        text_to_image = -ops.sum(targets * by_column, axis=0)
        return 0.5 * (image_to_text + text_to_image)


__all__ += ["ContrastiveLoss", "SimilarityLogits"]
