"""The layers of the relational models: a Relation Network, and a feature map as objects.

* :class:`RelationNetwork` -- ``reduce_{i,j} g([o_i; o_j; q])`` over every
  ordered pair of objects, with ``keras.ops`` broadcasting;
* :class:`CellObjects` -- a feature map ``(batch, h, w, c)`` as ``h * w``
  objects with their coordinates, ``(batch, h * w, c + 2)``.

Both are registered, so every model that uses them saves to ``.keras`` and
loads back in safe mode. :mod:`~mmtutorial.models.relational` builds the
models.
"""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks

__all__ = ["RelationNetwork", "CellObjects"]

_REDUCTIONS = ("mean", "sum")


def layer_widths(name, value, owner):
    """A non-empty tuple of positive layer widths, or a ``ValueError`` naming ``name``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(
            f"{owner}: {name} must be a non-empty tuple of positive integers; received {value!r}"
        )
    units = tuple(value)
    if not units or not all(_checks.is_integer(u) and u >= 1 for u in units):
        raise ValueError(
            f"{owner}: {name} must be a non-empty tuple of positive integers; received {value!r}"
        )
    return tuple(int(u) for u in units)


@keras.saving.register_keras_serializable(package="mmtutorial")
class RelationNetwork(keras.layers.Layer):
    """The pairwise part of a Relation Network: ``reduce_{i,j} g([o_i; o_j; q])``.

    ``g`` is an MLP of ``len(units)`` ReLU layers. Its first layer on the
    concatenation ``[o_i; o_j; q]`` equals ``W_i o_i + W_j o_j + W_q q + b``
    (the kernel cut into three blocks), so the layer computes ``W_i o_i`` and
    ``W_j o_j`` once per object and adds them for every pair by broadcasting:
    a ``(batch, n, 1, width)`` and a ``(batch, 1, n, width)`` tensor give the
    ``(batch, n, n, width)`` first layer of all ``n**2`` ordered pairs (a
    pair of an object with itself included, as in the paper). The other
    layers run on all pairs at once; ``reduction`` sums or averages them.

    Memory: each layer of ``g`` holds a ``batch x n**2 x width`` float tensor
    (and training keeps them for the backward pass). For a 5 x 5 feature map
    (``n = 25``), a batch of 64 and ``width = 64``, that is 64 x 625 x 64 =
    2.56 million floats, about 10 MB per layer; it grows with the square of
    the number of objects.

    Args:
        units: the widths of ``g``'s layers, for example ``(64, 64, 64)``.
        reduction: ``"mean"`` (the default; trains more steadily early on) or
            ``"sum"`` (the paper's formula).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[objects, question]``, shapes ``(batch, n, d)`` and
        ``(batch, q)``: a tensor ``(batch, units[-1])``.

    Example:
        >>> import numpy as np
        >>> layer = RelationNetwork(units=(8, 4))
        >>> tuple(layer([np.ones((2, 6, 10)), np.ones((2, 11))]).shape)
        (2, 4)
    """

    def __init__(self, units=(64, 64, 64), reduction="mean", **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = layer_widths("units", units, owner)
        self.reduction = _checks.choice("reduction", reduction, _REDUCTIONS, owner=owner)

    def _shapes(self, input_shape):
        return _checks.two_shapes(
            input_shape,
            (3, 2),
            owner=type(self).__name__,
            expects=(
                "[objects, question]: a rank-3 tensor (batch, objects, features) and a rank-2 "
                "tensor (batch, features)"
            ),
        )

    def build(self, input_shape):
        objects, question = self._shapes(input_shape)
        d, q, width = int(objects[-1]), int(question[-1]), self.units[0]
        self.first_kernel = self.add_weight(
            shape=(2 * d + q, width), initializer="glorot_uniform", name="first_kernel"
        )
        self.first_bias = self.add_weight(shape=(width,), initializer="zeros", name="first_bias")
        self.kernels, self.biases = [], []
        for index, (fan_in, fan_out) in enumerate(zip(self.units[:-1], self.units[1:])):
            self.kernels.append(
                self.add_weight(
                    shape=(fan_in, fan_out), initializer="glorot_uniform", name=f"kernel_{index}"
                )
            )
            self.biases.append(
                self.add_weight(shape=(fan_out,), initializer="zeros", name=f"bias_{index}")
            )
        self._dims = (d, q)
        self.built = True

    def _checked(self, inputs):
        """``objects`` and ``question`` as tensors, or a ``ValueError`` naming what is wrong."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"{type(self).__name__} expects a list [objects, question]; received "
                f"{type(inputs).__name__}"
            )
        objects, question = (ops.convert_to_tensor(x, dtype=self.compute_dtype) for x in inputs)
        shapes = self._shapes([tuple(objects.shape), tuple(question.shape)])
        if (shapes[0][-1], shapes[1][-1]) != self._dims:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for objects of {self._dims[0]} "
                f"features and questions of {self._dims[1]}; received shapes {shapes}"
            )
        return objects, question

    def call(self, inputs):
        objects, question = self._checked(inputs)
        d = self._dims[0]
        kernel = ops.cast(self.first_kernel, self.compute_dtype)
        # The first layer of g on [o_i; o_j; q], split into three shares.
        first_i = ops.matmul(objects, kernel[:d])  # (batch, n, width)
        first_j = ops.matmul(objects, kernel[d : 2 * d])
        first_q = ops.matmul(question, kernel[2 * d :]) + self.first_bias
        # Broadcasting adds every (i, j) combination: (batch, n, n, width).
        pairs = first_i[:, :, None, :] + first_j[:, None, :, :]
        pairs = pairs + first_q[:, None, None, :]
        hidden = ops.relu(pairs)
        for weights, bias in zip(self.kernels, self.biases):
            hidden = ops.relu(ops.matmul(hidden, weights) + bias)
        reduce = ops.mean if self.reduction == "mean" else ops.sum
        return reduce(hidden, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        objects, _ = self._shapes(input_shape)
        return (objects[0], self.units[-1])

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="mmtutorial")
class CellObjects(keras.layers.Layer):
    """A feature map as a set of objects: each cell's features and its coordinates.

    A map ``(batch, h, w, c)`` becomes ``(batch, h * w, c + 2)``: cell
    ``(r, s)`` (row-major) gets its ``c`` features followed by its row and
    column scaled to ``[-1, 1]``, ``-1 + 2 r / (h - 1)`` and ``-1 + 2 s / (w -
    1)`` (0 for an axis of length 1). The coordinates let ``g`` know where
    two cells are relative to each other, which a sum over pairs would
    otherwise forget.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        A tensor ``(batch, h * w, c + 2)``.

    Example:
        >>> import numpy as np
        >>> tuple(CellObjects()(np.zeros((2, 5, 5, 24))).shape)
        (2, 25, 26)
    """

    def _check(self, shape):
        shape = tuple(shape)
        if len(shape) != 4 or any(s is None for s in shape[1:]):
            raise ValueError(
                f"{type(self).__name__} expects a feature map (batch, height, width, channels) "
                f"with known height, width and channels; received shape {shape}"
            )
        return shape

    @staticmethod
    def _axis(length):
        if length == 1:
            return ops.zeros((1,))
        return ops.linspace(-1.0, 1.0, length)

    def call(self, feature_map):
        _, h, w, c = self._check(feature_map.shape)
        rows = ops.repeat(self._axis(h), w)
        columns = ops.tile(self._axis(w), [h])
        coordinates = ops.cast(ops.stack([rows, columns], axis=-1), feature_map.dtype)
        cells = ops.reshape(feature_map, (-1, h * w, c))
        batch = ops.shape(cells)[0]
        tiled = ops.broadcast_to(coordinates[None], (batch, h * w, 2))
        return ops.concatenate([cells, tiled], axis=-1)

    def compute_output_shape(self, input_shape):
        batch, h, w, c = self._check(input_shape)
        return (batch, h * w, c + 2)
