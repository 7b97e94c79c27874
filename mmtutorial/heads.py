"""Heads: turn a fused vector into predictions.

:func:`classification_head` is the source article's head: a hidden ReLU
layer, dropout, and a softmax over the classes. (The article calls this block
an "FCN", meaning a fully connected network; in the segmentation literature
FCN means a *fully convolutional* network, which this is not.)
"""

from __future__ import annotations

import keras

__all__ = ["ResumableDropout", "classification_head"]


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
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2; received {num_classes!r}")
    if isinstance(hidden_units, bool) or not isinstance(hidden_units, int) or hidden_units < 1:
        raise ValueError(f"hidden_units must be an integer >= 1; received {hidden_units!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a number in [0, 1); received {dropout!r}")
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
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"temperature must be a positive number; received {temperature!r}")
        if not isinstance(learnable, bool):
            raise ValueError(f"learnable must be True or False; received {learnable!r}")
        if (
            isinstance(max_scale, bool)
            or not isinstance(max_scale, (int, float))
            or not max_scale >= 1.0 / temperature
        ):
            raise ValueError(
                f"max_scale must be a number >= 1 / temperature = {1.0 / temperature:g}; "
                f"received {max_scale!r}"
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

        self._check_shapes(list(input_shape) if isinstance(input_shape, (list, tuple)) else input_shape)
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
        scale = keras.ops.minimum(keras.ops.exp(self.log_scale), self.max_scale)
        return scale * keras.ops.matmul(images, keras.ops.transpose(texts))

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
        if None not in (ids.shape[0], shape[0]) and ids.shape[0] != shape[0]:
            raise ValueError(
                "ContrastiveLoss needs one pair id per sample: received "
                f"{ids.shape[0]} ids for logits of shape {shape}"
            )
        # target[i, j] = 1 / (number of matches of i) where ids i and j are equal;
        # the matrix is symmetric, so it serves rows and columns alike
        match = ops.cast(ops.equal(ids[:, None], ids[None, :]), logits.dtype)
        targets = match / ops.sum(match, axis=1, keepdims=True)
        image_to_text = -ops.sum(targets * ops.log_softmax(logits, axis=1), axis=1)
        text_to_image = -ops.sum(targets * ops.log_softmax(logits, axis=0), axis=0)
        return 0.5 * (image_to_text + text_to_image)


__all__ += ["ContrastiveLoss", "SimilarityLogits"]


# -- late fusion: a product of experts ----------------------------------------


def product_of_experts(probabilities_list, prior=None):
    """Late fusion by the product rule: multiply the experts' probabilities, divide by the prior.

    Each of ``K`` single-modality models (the "experts") gives the class
    posterior of its own input, ``p(y | x_k)``. If the inputs are
    conditionally independent given the class, Bayes' rule turns these into
    the posterior given all inputs at once:

    ``p(y | x_1, ..., x_K) = p(y)^(1 - K) * prod_k p(y | x_k) / Z``,

    where ``Z`` makes each row sum to 1. The prior is divided out ``K - 1``
    times because each expert's posterior already contains it once. The
    product is taken in log space, so many small probabilities do not
    underflow. A class that any expert gives probability 0 gets probability
    0: each expert can veto a class, which averaging cannot do.

    Args:
        probabilities_list: a list of ``K >= 1`` arrays (NumPy arrays or
            tensors) of one shape ``(..., num_classes)``, typically
            ``(batch, num_classes)``: each expert's class probabilities,
            non-negative and finite. A row need not sum to 1; a constant
            factor per row cancels in ``Z``.
        prior: ``None`` for equally likely classes, or the class
            probabilities ``p(y)``, shape ``(num_classes,)``, all positive.

    Returns:
        A float64 NumPy array of the inputs' shape whose rows sum to 1.

    Raises:
        ValueError: naming the argument and the value received, for an empty
            list, arrays of different shapes, negative or non-finite values,
            a bad prior, or a sample in which every class is vetoed.

    Example:
        >>> import numpy as np
        >>> image = np.array([[0.7, 0.3, 0.0]])  # the image rules out class 2
        >>> text = np.array([[0.0, 0.3, 0.7]])   # the caption rules out class 0
        >>> product_of_experts([image, text]).round(3).tolist()
        [[0.0, 1.0, 0.0]]
        >>> ((image + text) / 2).round(3).tolist()  # the average prefers a vetoed class
        [[0.35, 0.3, 0.35]]
    """
    import numpy as np

    if not isinstance(probabilities_list, (list, tuple)) or not probabilities_list:
        if isinstance(probabilities_list, (list, tuple)):
            received = "an empty list"
        else:
            received = f"{type(probabilities_list).__name__} of shape {np.shape(probabilities_list)}"
        raise ValueError(
            "probabilities_list must be a non-empty list of (batch, num_classes) arrays, one "
            f"per expert; received {received}"
        )
    experts = []
    for index, probabilities in enumerate(probabilities_list):
        array = np.asarray(probabilities)
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"probabilities_list[{index}] must be an array of real numbers; received "
                f"dtype {array.dtype}"
            )
        array = array.astype("float64")
        if array.ndim < 1 or array.shape[-1] < 1:
            raise ValueError(
                f"probabilities_list[{index}] must have shape (..., num_classes); "
                f"received shape {array.shape}"
            )
        if experts and array.shape != experts[0].shape:
            raise ValueError(
                "every expert must give probabilities of the same shape; received shapes "
                f"{[tuple(e.shape) for e in experts] + [array.shape]}"
            )
        if not np.isfinite(array).all() or (array < 0).any():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array) | (array < 0))[0])
            raise ValueError(
                f"probabilities_list[{index}] must hold non-negative finite probabilities; "
                f"received {float(array[bad])} at index {bad}"
            )
        experts.append(array)
    num_classes = experts[0].shape[-1]
    with np.errstate(divide="ignore"):
        log_posterior = sum(np.log(array) for array in experts)
    if prior is not None:
        prior_array = np.asarray(prior, dtype="float64")
        if prior_array.shape != (num_classes,) or not (
            np.isfinite(prior_array).all() and (prior_array > 0).all()
        ):
            raise ValueError(
                f"prior must be {num_classes} positive, finite class probabilities, shape "
                f"({num_classes},); received {np.array2string(prior_array, threshold=8)} "
                f"of shape {prior_array.shape}"
            )
        log_posterior = log_posterior - (len(experts) - 1) * np.log(prior_array)
    largest = log_posterior.max(axis=-1, keepdims=True)
    if np.isneginf(largest).any():
        sample = tuple(int(i) for i in np.argwhere(np.isneginf(largest[..., 0]))[0])
        raise ValueError(
            f"the experts leave no class possible for sample {sample}: every class has "
            "probability 0 under at least one expert"
        )
    posterior = np.exp(log_posterior - largest)
    return posterior / posterior.sum(axis=-1, keepdims=True)


__all__ += ["product_of_experts"]
