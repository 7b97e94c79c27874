"""Modality dropout: train a model to cope when a whole modality is missing."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .. import _checks

__all__ = ["ModalityDropout"]


@keras.saving.register_keras_serializable(package="mmtutorial")
class ModalityDropout(keras.layers.Layer):
    """During training, blank out one whole modality of some samples; at inference, pass through.

    Called on a list of ``N >= 2`` tensors, one per modality, with one batch
    axis in common, it draws for every sample whether it loses a modality
    (probability ``rate``) and, if so, which one (each with probability
    ``1 / N``). The lost modality of that sample is replaced by its *absent
    value*: zeros by default (a black image; for token ids, all padding), or
    the constant given in ``fill_values``. No sample ever loses every
    modality, and nothing is rescaled: unlike feature dropout, the point is to
    show the model exactly what it will see when a modality is missing at
    test time, so that it learns to answer from the other ones. (Neverova et
    al., 2016, call this *ModDrop*.) :func:`mmtutorial.train.predict` feeds
    the same absent values for the inputs named in ``missing=``.

    Args:
        rate: probability in [0, 1) that a training sample loses a modality.
        fill_values: ``None`` (zeros for every modality) or a list of ``N``
            entries, each ``None`` (zeros) or a constant (a number or a nested
            list) that broadcasts to one sample of that modality.
        names: optional names of the modalities, in input order (the model
            builders pass their input keys, so that
            :func:`mmtutorial.train.predict` can find each absent value).
        seed: seed of the layer's random draws.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        A tuple of tensors of the inputs' shapes and dtypes.

    Example:
        >>> import numpy as np
        >>> layer = ModalityDropout(rate=0.5, seed=0)
        >>> image, text = np.ones((1000, 3), "float32"), np.ones((1000, 2), "int32")
        >>> kept = [np.asarray(x) for x in layer([image, text], training=True)]
        >>> lost = [(k == 0).all(axis=1) for k in kept]
        >>> bool((lost[0] & lost[1]).any()), 0.4 < float(np.mean(lost[0] | lost[1])) < 0.6
        (False, True)
        >>> [np.asarray(x).min() for x in layer([image, text])]  # inference: unchanged
        [np.float32(1.0), np.int32(1)]
    """

    def __init__(self, rate=0.3, fill_values=None, names=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rate = _checks.fraction("rate", rate, owner=owner)
        if fill_values is not None:
            if not isinstance(fill_values, (list, tuple)):
                raise ValueError(
                    f"{owner}: fill_values must be None or a list with one entry (None or a "
                    f"constant) per modality; received {fill_values!r}"
                )
            fill_values = [
                None if value is None else np.asarray(value, dtype="float64").tolist()
                for value in fill_values
            ]
        self.fill_values = fill_values
        if names is not None:
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
                raise ValueError(
                    f"{owner}: names must be None or a list of strings; received {names!r}"
                )
            names = list(names)
        self.names = names
        if seed is not None:
            seed = _checks.integer("seed", seed, minimum=0, owner=owner)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _count(self, count):
        owner = type(self).__name__
        if count < 2:
            raise ValueError(
                f"{owner} needs a list of at least 2 tensors, one per modality; received {count}"
            )
        for argument, values in (("fill_values", self.fill_values), ("names", self.names)):
            if values is not None and len(values) != count:
                raise ValueError(
                    f"{owner}: {argument} has {len(values)} entries but the layer received "
                    f"{count} modalities"
                )

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError(
                f"{type(self).__name__} needs a list of at least 2 tensors, one per modality; "
                f"received shape {input_shape}"
            )
        self._count(len(input_shape))
        for index, shape in enumerate(input_shape):
            value = self.absent_value(index)
            if value is not None:
                try:
                    np.broadcast_to(value, tuple(1 if d is None else d for d in shape[1:]))
                except ValueError:
                    raise ValueError(
                        f"{type(self).__name__}: fill_values[{index}] of shape {value.shape} does "
                        f"not broadcast to one sample of input {index}, shape {tuple(shape[1:])}"
                    ) from None
        self.built = True

    def absent_value(self, index):
        """The constant that replaces modality ``index`` when it is dropped (``None``: zeros)."""
        if self.fill_values is None or self.fill_values[index] is None:
            return None
        return np.asarray(self.fill_values[index])

    def call(self, inputs, training=None):
        inputs = list(inputs)
        self._count(len(inputs))
        if not training or self.rate == 0:
            return tuple(inputs)
        batch = ops.shape(inputs[0])[0]
        loses = keras.random.uniform((batch,), seed=self.seed_generator) < self.rate
        which = keras.random.randint((batch,), 0, len(inputs), seed=self.seed_generator)
        outputs = []
        for index, x in enumerate(inputs):
            dropped = ops.logical_and(loses, ops.equal(which, index))
            dropped = ops.reshape(dropped, (-1,) + (1,) * (len(x.shape) - 1))
            value = self.absent_value(index)
            if value is None:
                fill = ops.zeros_like(x)
            else:
                fill = ops.broadcast_to(ops.cast(value, x.dtype), ops.shape(x))
            outputs.append(ops.where(dropped, fill, x))
        return tuple(outputs)

    def compute_output_shape(self, input_shape):
        return tuple(tuple(s) for s in input_shape)

    def compute_output_spec(self, inputs, training=None):
        return tuple(keras.KerasTensor(x.shape, dtype=x.dtype) for x in inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "fill_values": self.fill_values,
            "names": self.names,
            "seed": self.seed,
        }
