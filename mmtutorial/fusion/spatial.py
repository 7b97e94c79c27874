"""Spatial fusion: text conditioning a feature map, one position at a time.

The vector and token fusions of :mod:`mmtutorial.fusion` turn one vector (or
one token sequence) per modality into one vector per sample, which is what a
classifier needs. A segmenter needs the opposite: the image stays a feature
map ``(batch, height, width, channels)`` and the text changes what each
position of it says. The three layers here do that, each in its own way:

* ``"spatial_tile"`` (:class:`SpatialTile`): the text vector is copied to
  every position and concatenated with the features there;
* ``"spatial_film"`` (:class:`SpatialFiLM`): the text vector scales and
  shifts every channel, the same way at every position (FiLM, Perez et al.,
  2018, on a feature map, as the paper itself uses it);
* ``"pixel_word_attention"`` (:class:`PixelWordAttention`): every position
  attends over the caption's word tokens and adds what it read.

They are in the one registry of :mod:`mmtutorial.fusion`, each declaring
its ``input_kind``: ``"map_and_vector"`` (a feature map and one text vector)
or ``"map_and_words"`` (a feature map and one vector per word), which
:func:`~mmtutorial.models.build_segmenter` reads to choose its text encoder.
They take tensors of two ranks, so they are not
:class:`~mmtutorial.fusion.Fusion` subclasses.

>>> from mmtutorial import fusion
>>> fusion.available(kinds=fusion.SPATIAL_KINDS)
['pixel_word_attention', 'spatial_film', 'spatial_tile']
"""

from __future__ import annotations

import math

import keras
from keras import ops

from .. import _checks
from .base import register

__all__ = ["SpatialFusion", "SpatialTile", "SpatialFiLM", "PixelWordAttention"]


class SpatialFusion(keras.layers.Layer):
    """Base of the spatial fusions: ``[feature_map, text]`` in, a feature map out.

    ``feature_map`` has shape ``(batch, height, width, channels)``; ``text``
    is what ``input_kind`` declares: ``"map_and_vector"``, one vector per
    caption ``(batch, d)`` (its ``text_rank`` is 2), or ``"map_and_words"``,
    one vector per word ``(batch, words, d)`` (``text_rank`` 3). The base checks both, in
    ``build``, ``call`` and ``compute_output_shape``, and names the shapes it
    received when they are wrong. Subclasses implement ``fuse`` and
    ``output_channels``.
    """

    input_kind = "map_and_vector"
    fusion_name = None

    @property
    def text_rank(self):
        """2 for one text vector per sample, 3 for one vector per word: what ``input_kind`` says."""
        return 3 if self.input_kind == "map_and_words" else 2

    def _text_axes(self):
        return "(batch, features)" if self.text_rank == 2 else "(batch, words, features)"

    def _check_shapes(self, input_shape):
        return _checks.two_shapes(
            input_shape,
            (4, self.text_rank),
            owner=type(self).__name__,
            expects=(
                f"[feature_map, text]: a rank-4 feature map (batch, height, width, channels) "
                f"and a rank-{self.text_rank} text tensor {self._text_axes()}"
            ),
        )

    def build(self, input_shape):
        map_shape, text_shape = self._check_shapes(input_shape)
        self.create_weights(int(map_shape[-1]), int(text_shape[-1]))
        self._dims = (int(map_shape[-1]), int(text_shape[-1]))
        self.built = True

    def create_weights(self, channels, text_dim):
        """Create the layer's weights; the base has none."""

    def _checked(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"{type(self).__name__} expects a list [feature_map, text]; received "
                f"{type(inputs).__name__}"
            )
        inputs = [ops.convert_to_tensor(x, dtype=self.compute_dtype) for x in inputs]
        shapes = self._check_shapes([tuple(x.shape) for x in inputs])
        if not self.built:
            self.build(shapes)
        dims = (shapes[0][-1], shapes[1][-1])
        if dims != self._dims:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for {self._dims[0]} channels and "
                f"text of width {self._dims[1]}; received shapes {shapes}"
            )
        return inputs

    def call(self, inputs):
        return self.fuse(*self._checked(inputs))

    def compute_output_shape(self, input_shape):
        map_shape, text_shape = self._check_shapes(input_shape)
        return tuple(map_shape[:3]) + (self.output_channels(map_shape[-1], text_shape[-1]),)

    def compute_mask(self, inputs, mask=None):
        return None  # the output is a feature map; no word mask travels with it

    def fuse(self, feature_map, text):  # pragma: no cover - abstract
        raise NotImplementedError

    def output_channels(self, channels, text_dim):  # pragma: no cover - abstract
        raise NotImplementedError


@register("spatial_tile")
class SpatialTile(SpatialFusion):
    """Tile the text vector over the feature map and concatenate it with every position.

    For a feature map ``x`` and a text vector ``t``, every position ``(i, j)``
    gets ``z_ij = [x_ij; t]``, so the output has ``channels + d`` channels. The
    layer has no weights: the convolution after it learns how pixel and text
    features combine.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[x, t]`` with ``x`` of shape ``(batch, h, w, c)`` and ``t``
        of shape ``(batch, d)``: a tensor ``(batch, h, w, c + d)``.

    Example:
        >>> import numpy as np
        >>> tuple(SpatialTile()([np.ones((2, 4, 4, 3)), np.ones((2, 5))]).shape)
        (2, 4, 4, 8)
    """

    def fuse(self, feature_map, text):
        shape = ops.shape(feature_map)
        tiled = ops.broadcast_to(
            text[:, None, None, :], (shape[0], shape[1], shape[2], ops.shape(text)[-1])
        )
        return ops.concatenate([feature_map, tiled], axis=-1)

    def output_channels(self, channels, text_dim):
        return channels + text_dim


@register("spatial_film")
class SpatialFiLM(SpatialFusion):
    """FiLM on a feature map: the text scales and shifts every channel at every position.

    With a text vector ``t``, ``gamma = 1 + W_g t + b_g`` and
    ``beta = W_b t + b_b`` (each with one entry per channel), and every
    position gets ``z_ij = gamma * x_ij + beta``. The output has the feature
    map's shape. As in :class:`~mmtutorial.fusion.FiLMFusion`, the ``1 +``
    starts the scale near 1 (Glorot kernels, zero biases), so a fresh layer
    passes the features on instead of nearly erasing them.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[x, t]`` with ``x`` of shape ``(batch, h, w, c)`` and ``t``
        of shape ``(batch, d)``: a tensor ``(batch, h, w, c)``.

    Example:
        >>> import numpy as np
        >>> tuple(SpatialFiLM()([np.ones((2, 4, 4, 3)), np.ones((2, 5))]).shape)
        (2, 4, 4, 3)
    """

    def __init__(self, **kwargs):
        if kwargs.get("name") is None:  # Keras would derive "spatial_fi_lm" from the class name
            uid = keras.backend.get_uid("spatial_film")
            kwargs["name"] = "spatial_film" if uid == 1 else f"spatial_film_{uid - 1}"
        super().__init__(**kwargs)

    def create_weights(self, channels, text_dim):
        self.gamma_kernel = self.add_weight(
            shape=(text_dim, channels), initializer="glorot_uniform", name="gamma_kernel"
        )
        self.gamma_bias = self.add_weight(shape=(channels,), initializer="zeros", name="gamma_bias")
        self.beta_kernel = self.add_weight(
            shape=(text_dim, channels), initializer="glorot_uniform", name="beta_kernel"
        )
        self.beta_bias = self.add_weight(shape=(channels,), initializer="zeros", name="beta_bias")

    def fuse(self, feature_map, text):
        gamma = 1.0 + ops.matmul(text, self.gamma_kernel) + self.gamma_bias
        beta = ops.matmul(text, self.beta_kernel) + self.beta_bias
        return gamma[:, None, None, :] * feature_map + beta[:, None, None, :]

    def output_channels(self, channels, text_dim):
        return channels


@register("pixel_word_attention")
class PixelWordAttention(SpatialFusion):
    """Every position of a feature map attends over the words of the caption.

    With the feature map ``x`` flattened to ``n = h * w`` positions and the
    words ``w_1..w_m``, each of ``num_heads`` heads computes (``d_k = units /
    num_heads``)

        ``A = softmax(Q K^T / sqrt(d_k))``, ``Q = x W_q``, ``K = w W_k``, ``V = w W_v``,

    the heads' ``A V`` are concatenated, mapped back to ``c`` channels by
    ``W_o``, and added to the features: ``z = x + [A_1 V_1; ...] W_o``. So
    each pixel reads the words that concern it (the material named next to
    its shape, say). Padding words (Keras mask False, which the text
    encoder's embedding sets for id 0) get weight exactly 0.

    Args:
        units: width of the queries, keys and values, all heads together.
        num_heads: number of heads; must divide ``units``.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[x, words]`` with ``x`` of shape ``(batch, h, w, c)`` and
        ``words`` of shape ``(batch, m, d)``: a tensor ``(batch, h, w, c)``.
        :meth:`attention_scores` returns the weights ``(batch, heads, h * w, m)``.

    Example:
        >>> import numpy as np
        >>> layer = PixelWordAttention(units=8, num_heads=2)
        >>> words = np.ones((2, 5, 6), "float32")
        >>> real = np.array([[1, 1, 1, 0, 0]] * 2, dtype=bool)
        >>> tuple(layer([np.ones((2, 4, 4, 3)), words], mask=[None, real]).shape)
        (2, 4, 4, 3)
        >>> float(np.asarray(layer.attention_scores([np.ones((2, 4, 4, 3)), words], real))[..., 3:].max())
        0.0
    """

    input_kind = "map_and_words"

    def __init__(self, units: int = 32, num_heads: int = 2, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = _checks.integer("units", units, minimum=1, owner=owner)
        self.num_heads = _checks.integer("num_heads", num_heads, minimum=1, owner=owner)
        if self.units % self.num_heads:
            raise ValueError(
                f"{owner}: num_heads must divide units; received units={self.units}, "
                f"num_heads={self.num_heads}"
            )

    def create_weights(self, channels, text_dim):
        def kernel(name, shape):
            return self.add_weight(shape=shape, initializer="glorot_uniform", name=name)

        def bias(name, width):
            return self.add_weight(shape=(width,), initializer="zeros", name=name)

        self.query_kernel, self.query_bias = (
            kernel("query_kernel", (channels, self.units)),
            bias("query_bias", self.units),
        )
        self.key_kernel, self.key_bias = (
            kernel("key_kernel", (text_dim, self.units)),
            bias("key_bias", self.units),
        )
        self.value_kernel, self.value_bias = (
            kernel("value_kernel", (text_dim, self.units)),
            bias("value_bias", self.units),
        )
        self.output_kernel, self.output_bias = (
            kernel("output_kernel", (self.units, channels)),
            bias("output_bias", channels),
        )

    def _heads(self, x):
        """``(batch, length, units)`` -> ``(batch, heads, length, units / heads)``."""
        shape = ops.shape(x)
        x = ops.reshape(x, (shape[0], shape[1], self.num_heads, self.units // self.num_heads))
        return ops.transpose(x, (0, 2, 1, 3))

    def _word_mask(self, mask, words):
        if mask is None:
            return None
        if isinstance(mask, (list, tuple)):
            if len(mask) != 2:
                raise ValueError(
                    f"{type(self).__name__}: mask must be None or [None, word_mask]; "
                    f"received {mask!r}"
                )
            mask = mask[1]
        if mask is None:
            return None
        mask = ops.cast(ops.convert_to_tensor(mask), "bool")
        if len(mask.shape) != 2 or (
            mask.shape[1] is not None
            and words.shape[1] is not None
            and mask.shape[1] != words.shape[1]
        ):
            raise ValueError(
                f"{type(self).__name__}: the word mask must have shape (batch, words) = "
                f"{tuple(words.shape[:2])}; received shape {tuple(mask.shape)}"
            )
        return mask

    def _scores(self, feature_map, words, word_mask):
        shape = ops.shape(feature_map)
        pixels = ops.reshape(feature_map, (shape[0], shape[1] * shape[2], shape[3]))
        q = self._heads(ops.matmul(pixels, self.query_kernel) + self.query_bias)
        k = self._heads(ops.matmul(words, self.key_kernel) + self.key_bias)
        logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        logits = logits / math.sqrt(self.units // self.num_heads)
        keep = None
        if word_mask is not None:
            keep = ops.cast(word_mask, logits.dtype)[:, None, None, :]
            logits = ops.where(keep > 0, logits, ops.full_like(logits, -1e4))
        numerators = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
        if keep is not None:
            # Masked words weigh exactly 0; a caption of padding only gives no context at all.
            numerators = numerators * keep
        total = ops.sum(numerators, axis=-1, keepdims=True)
        return numerators / ops.maximum(total, ops.cast(1, logits.dtype))  # >= 1 unless all masked

    def call(self, inputs, mask=None):
        feature_map, words = self._checked(inputs)
        return self.fuse(feature_map, words, self._word_mask(mask, words))

    def fuse(self, feature_map, words, word_mask=None):
        shape = ops.shape(feature_map)
        weights = self._scores(feature_map, words, word_mask)
        values = ops.matmul(words, self.value_kernel) + self.value_bias
        v = self._heads(values)
        context = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
        grid = (shape[0], shape[1], shape[2], self.units)
        context = ops.reshape(context, grid)
        output = ops.matmul(context, self.output_kernel) + self.output_bias
        return feature_map + output

    def attention_scores(self, inputs, word_mask=None):
        """The attention weights ``(batch, heads, h * w, words)``, rows summing to 1.

        Args:
            inputs: ``[feature_map, words]`` as for a call.
            word_mask: ``None`` or a boolean ``(batch, words)`` array, True at
                real words (for token ids: ``ids != 0``).
        """
        feature_map, words = self._checked(inputs)
        return self._scores(feature_map, words, self._word_mask(word_mask, words))

    def output_channels(self, channels, text_dim):
        return channels

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_heads": self.num_heads}
