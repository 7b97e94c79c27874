"""Fusion: Keras layers that merge one vector per modality into one vector.

Every fusion layer takes a list of rank-2 tensors ``[(batch, d_1), (batch,
d_2), ...]`` and returns one rank-2 tensor ``(batch, d)``. Each is a
``keras.layers.Layer`` subclass with a complete ``get_config``, registered for
safe ``.keras`` serialization, and listed in a registry so that a model can
name its fusion by a string:

>>> from mmtutorial import fusion
>>> fusion.available()
['concat']
>>> layer = fusion.get("concat")

To add a fusion, subclass :class:`Fusion` and decorate it with
``@fusion.register("name")``.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["Fusion", "ConcatFusion", "register", "get", "available"]

_REGISTRY: dict = {}


def register(name: str):
    """Class decorator: make a :class:`Fusion` subclass available as ``get(name)``.

    It also registers the class with Keras (package ``"mmtutorial"``) so that
    models using it load back from ``.keras`` files in safe mode.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a fusion name must be a non-empty string; received {name!r}")

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, Fusion)):
            raise TypeError(f"@register({name!r}) needs a Fusion subclass; received {cls!r}")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a fusion named {name!r} is already registered: {_REGISTRY[name]!r}")
        cls = keras.saving.register_keras_serializable(package="mmtutorial")(cls)
        cls.fusion_name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def available() -> list:
    """The names :func:`get` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name, /, **config):
    """Build the fusion layer registered as ``name`` with keyword ``config``.

    ``name`` may also be a :class:`Fusion` instance, which is returned as is
    (with no ``config``).

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    if isinstance(name, Fusion):
        if config:
            raise ValueError(
                f"config {sorted(config)} cannot be applied to an existing layer {name.name!r}"
            )
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown fusion {name!r}; valid names are {available()}")
    return _REGISTRY[name](**config)


class Fusion(keras.layers.Layer):
    """Base class: checks that the inputs are a list of rank-2 tensors.

    Subclasses implement ``fuse(inputs)`` and ``fused_dim(dims)`` (the output
    width from the input widths); ``min_inputs``/``max_inputs`` bound how many
    modalities they accept.
    """

    min_inputs = 2
    max_inputs = None
    fusion_name = None

    def _check_shapes(self, shapes):
        shapes = [tuple(s) for s in shapes]
        count_ok = len(shapes) >= self.min_inputs and (
            self.max_inputs is None or len(shapes) <= self.max_inputs
        )
        if not count_ok or any(len(s) != 2 for s in shapes):
            if self.max_inputs is None:
                count = f"at least {self.min_inputs}"
            elif self.max_inputs == self.min_inputs:
                count = str(self.min_inputs)
            else:
                count = f"{self.min_inputs} to {self.max_inputs}"
            raise ValueError(
                f"{type(self).__name__} expects a list of {count} rank-2 tensors "
                f"(batch, features); received shapes {shapes}"
            )
        if any(s[1] is None for s in shapes):
            raise ValueError(
                f"{type(self).__name__} needs a known feature size for every input; "
                f"received shapes {shapes}"
            )
        batches = {s[0] for s in shapes if s[0] is not None}
        if len(batches) > 1:
            raise ValueError(
                f"{type(self).__name__} received inputs with different batch sizes: {shapes}"
            )
        return shapes

    @staticmethod
    def _as_shapes(input_shape):
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            return [input_shape]
        return input_shape

    def build(self, input_shape):
        self._check_shapes(self._as_shapes(input_shape))
        super().build(input_shape)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        self._check_shapes([tuple(x.shape) for x in inputs])
        return self.fuse(list(inputs))

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        batch = next((s[0] for s in shapes if s[0] is not None), None)
        return (batch, self.fused_dim([s[1] for s in shapes]))

    def fuse(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def fused_dim(self, dims):  # pragma: no cover - abstract
        raise NotImplementedError


@register("concat")
class ConcatFusion(Fusion):
    """Concatenation: ``z = [f_1; f_2; ...]``, the article's fusion done right.

    The output width is the sum of the input widths, ``d = d_1 + d_2 + ...``.
    It has no weights: whatever interaction the modalities need is left to the
    layers after it.

    Example:
        >>> import numpy as np
        >>> tuple(ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape)
        (2, 7)
    """

    def fuse(self, inputs):
        return ops.concatenate(inputs, axis=-1)

    def fused_dim(self, dims):
        return sum(dims)
