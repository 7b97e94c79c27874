"""Cross-attention fusion: two token sequences that read each other.

The vector fusions of :mod:`mmtutorial.fusion` see one vector per modality.
:class:`CrossAttentionFusion` sees a sequence per modality instead (image
regions, text tokens), so its ``input_rank`` is 3, and it lets every token of
one modality look up the tokens of the other that matter to it. It is
registered as ``"cross_attention"``, so
``build_classifier(..., fusion="cross_attention")`` builds a model with it.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from .. import _checks
from ._tokens import TokenFusion
from .base import register

__all__ = ["CrossAttentionFusion"]


def _large_negative(dtype):
    """A logit that ``softmax`` turns into an exact 0, and that ``dtype`` can hold."""
    return -3e4 if keras.backend.standardize_dtype(dtype) == "float16" else -1e9


class _Attention(keras.layers.Layer):
    """One direction of multi-head attention: ``query`` tokens read ``value`` tokens.

    A private building block of :class:`CrossAttentionFusion`, which creates it
    from its own config; it is never saved on its own. Its sublayers share its
    dtype policy, so that under mixed precision they compute in ``float16``
    like the layer that owns them.
    """

    def __init__(self, units, num_heads, dropout, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.num_heads = num_heads
        self.key_dim = units // num_heads
        policy = self.dtype_policy
        self.query = keras.layers.Dense(units, name="query", dtype=policy)
        self.key = keras.layers.Dense(units, name="key", dtype=policy)
        self.value = keras.layers.Dense(units, name="value", dtype=policy)
        self.output_projection = keras.layers.Dense(units, name="output", dtype=policy)
        self.weights_dropout = keras.layers.Dropout(dropout, name="attention_dropout", dtype=policy)

    def build(self, query_shape, value_shape):
        self.query.build(query_shape)
        self.key.build(value_shape)
        self.value.build(value_shape)
        self.output_projection.build(tuple(query_shape[:-1]) + (self.units,))
        self.built = True

    def _split_heads(self, x):
        """``(batch, length, units)`` -> ``(batch, heads, length, key_dim)``."""
        shape = ops.shape(x)
        x = ops.reshape(x, (shape[0], shape[1], self.num_heads, self.key_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def scores(self, query, value, value_mask=None):
        """Attention weights ``(batch, heads, query_length, value_length)``; rows sum to 1.

        Keys where ``value_mask`` is False get weight exactly 0. A row whose
        keys are all masked gets all zeros (nothing to attend to).
        """
        q = self._split_heads(self.query(query))
        k = self._split_heads(self.key(value))
        logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.key_dim)
        if value_mask is not None:
            keep = ops.cast(value_mask, "bool")[:, None, None, :]
            logits = ops.where(keep, logits, ops.full_like(logits, _large_negative(logits.dtype)))
        # The softmax written out, so that masked keys weigh exactly 0 even in a row with
        # no unmasked key. Every other row's sum is >= 1 (its largest term is exp(0)).
        numerators = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
        if value_mask is not None:
            numerators = numerators * ops.cast(keep, logits.dtype)
        total = ops.sum(numerators, axis=-1, keepdims=True)
        return numerators / ops.maximum(total, ops.cast(1, logits.dtype))

    def attend(self, query, value, value_mask=None, training=None):
        """``output_projection(weights @ value_projection(value))``, heads merged: ``(batch, n, units)``."""
        weights = self.weights_dropout(self.scores(query, value, value_mask), training=training)
        context = ops.matmul(weights, self._split_heads(self.value(value)))
        context = ops.transpose(context, (0, 2, 1, 3))
        shape = ops.shape(context)
        context = ops.reshape(context, (shape[0], shape[1], self.units))
        return self.output_projection(context)


def _masked_mean(x, mask):
    """Mean over axis 1 of ``x`` (batch, length, d), counting only positions where ``mask`` is True."""
    if mask is None:
        return ops.mean(x, axis=1)
    weights = ops.cast(mask, x.dtype)[:, :, None]
    count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1, x.dtype))
    return ops.sum(x * weights, axis=1) / count


@register("cross_attention")
class CrossAttentionFusion(TokenFusion):
    """Cross-attention: each modality's tokens attend to the other's, then pool.

    The inputs are two token sequences, ``a`` of shape ``(batch, n, d_a)``
    (for example image regions) and ``b`` of shape ``(batch, m, d_b)`` (for
    example text tokens). Both are projected to ``units`` features. Then ``a``
    attends to ``b`` and ``b`` attends to ``a`` with multi-head scaled
    dot-product attention: for each of ``num_heads`` heads, with ``d_k = units
    / num_heads``,

        ``attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V``

    where the queries ``Q`` come from one modality and the keys ``K`` and
    values ``V`` from the other (each a learned linear map); the heads are
    concatenated and mapped by one more linear layer. Each modality keeps a
    residual path, ``a' = LayerNorm(a + attention(a, b, b))`` and ``b' =
    LayerNorm(b + attention(b, a, a))``, and the output is the mean of ``a'``
    over its ``n`` positions concatenated with the mean of ``b'`` over its
    ``m`` positions.

    Keras masks are honoured: a padding token (mask False, as the text
    encoder's embedding marks id 0) is never attended to (its attention
    weight is exactly 0) and is left out of its sequence's mean. A sample
    whose tokens are all padding gets no context from them.

    Args:
        units: width of the projected tokens and of each half of the output.
        num_heads: number of attention heads; must divide ``units``.
        dropout: rate in [0, 1) at which attention weights are dropped while
            training.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[a, b]``, a tensor ``(batch, 2 * units)``.
        :meth:`attention_scores` returns the attention weights themselves.

    Example:
        >>> import numpy as np
        >>> layer = CrossAttentionFusion(units=8, num_heads=2)
        >>> regions = np.random.default_rng(0).random((2, 9, 16), dtype="float32")
        >>> words = np.random.default_rng(1).random((2, 5, 12), dtype="float32")
        >>> real = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool)
        >>> tuple(layer([regions, words], mask=[None, real]).shape)
        (2, 16)
        >>> a_to_b, b_to_a = layer.attention_scores([regions, words], masks=[None, real])
        >>> tuple(a_to_b.shape), tuple(b_to_a.shape)
        ((2, 2, 9, 5), (2, 2, 5, 9))
        >>> float(np.asarray(a_to_b)[1, :, :, 2:].max())  # padded words get no attention
        0.0
    """

    min_inputs = 2
    max_inputs = 2

    def __init__(self, units: int = 64, num_heads: int = 4, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        units, num_heads = self._units_and_heads(units, num_heads)
        self.units = units
        self.num_heads = num_heads
        self.dropout = _checks.fraction("dropout", dropout, owner=owner)
        # Every sublayer gets this layer's dtype policy: created with the global policy
        # instead, they would compute in float32 when only this layer is mixed_float16.
        policy = self.dtype_policy
        self.project_a = keras.layers.Dense(units, name="project_a", dtype=policy)
        self.project_b = keras.layers.Dense(units, name="project_b", dtype=policy)
        self.a_to_b = _Attention(units, num_heads, self.dropout, name="a_to_b", dtype=policy)
        self.b_to_a = _Attention(units, num_heads, self.dropout, name="b_to_a", dtype=policy)
        self.norm_a = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_a", dtype=policy)
        self.norm_b = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_b", dtype=policy)

    # -- shapes ----------------------------------------------------------------

    def _expected_inputs(self):
        return "a list of 2 rank-3 tensors [(batch, n, d_a), (batch, m, d_b)] of token features"

    def build(self, input_shape):
        shape_a, shape_b = self._check_shapes(self._as_shapes(input_shape))
        self.project_a.build(shape_a)
        self.project_b.build(shape_b)
        tokens_a = shape_a[:2] + (self.units,)
        tokens_b = shape_b[:2] + (self.units,)
        self.a_to_b.build(tokens_a, tokens_b)
        self.b_to_a.build(tokens_b, tokens_a)
        self.norm_a.build(tokens_a)
        self.norm_b.build(tokens_b)
        self.built = True

    def fused_dim(self, dims):
        return 2 * self.units

    # -- forward ---------------------------------------------------------------

    def fuse(self, inputs, masks=(None, None), training=None):
        mask_a, mask_b = masks
        a = self.project_a(inputs[0])
        b = self.project_b(inputs[1])
        a_reads_b = self.a_to_b.attend(a, b, mask_b, training=training)
        b_reads_a = self.b_to_a.attend(b, a, mask_a, training=training)
        a = self.norm_a(a + a_reads_b)
        b = self.norm_b(b + b_reads_a)
        return ops.concatenate([_masked_mean(a, mask_a), _masked_mean(b, mask_b)], axis=-1)

    def attention_scores(self, inputs, masks=None):
        """The attention weights, for plotting attention maps.

        Args:
            inputs: ``[a, b]`` as for calling the layer.
            masks: ``None`` or ``[mask_a, mask_b]``, each ``None`` or a boolean
                ``(batch, length)`` array, True at real tokens. Unlike a call,
                this method does not read Keras masks off the inputs: for text
                token ids pass ``ids != 0``.

        Returns:
            ``(a_to_b, b_to_a)``: the weights of ``a`` attending to ``b``,
            ``(batch, heads, n, m)``, and of ``b`` attending to ``a``,
            ``(batch, heads, m, n)``. Each row (last axis) sums to 1, with 0
            on masked keys (all 0 if every key of the row is masked).
        """
        inputs = self._inputs(inputs)
        mask_a, mask_b = self._checked_masks(masks, inputs, "masks")
        a = self.project_a(inputs[0])
        b = self.project_b(inputs[1])
        return self.a_to_b.scores(a, b, mask_b), self.b_to_a.scores(b, a, mask_a)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "num_heads": self.num_heads, "dropout": self.dropout})
        return config
