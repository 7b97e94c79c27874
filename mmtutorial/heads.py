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
