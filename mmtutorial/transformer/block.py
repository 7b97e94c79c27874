"""The pre-norm transformer block: self-attention (causal or not), optional cross-attention, an MLP."""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks
from .masks import check_mask, check_rebuilt, sequence_shape

__all__ = ["TransformerBlock"]


@keras.saving.register_keras_serializable(package="mmtutorial")
class TransformerBlock(keras.layers.Layer):
    """One pre-norm transformer block: attention, then an MLP, each on a residual path.

    For tokens ``x`` of width ``d`` (and, optionally, a second sequence
    ``c``, the context)

        ``x = x + Dropout(SelfAttention(LayerNorm(x)))``
        ``x = x + Dropout(CrossAttention(LayerNorm(x), c))``  (with ``cross_attention=True``)
        ``x = x + Dropout(W_2 gelu(W_1 LayerNorm(x) + b_1) + b_2)``

    Each attention is multi-head scaled dot-product attention
    (``keras.layers.MultiHeadAttention``, ``num_heads`` heads of width ``d /
    num_heads``): ``softmax(Q K^T / sqrt(d / num_heads)) V`` per head, the
    heads concatenated and projected back to ``d``. Putting the LayerNorm
    before each sublayer ("pre-norm", as in GPT-2 and ViT) keeps an identity
    path from input to output; such stacks train stably with little or no
    learning-rate warm-up (Xiong et al., 2020).

    Masks: a token whose padding mask is False is never attended to (it still
    gets an output, which the next layers must ignore). ``causal=True`` lets
    token ``i`` attend only to tokens ``j <= i``, as a decoder generating text
    must. ``context_mask`` marks the context's padding.

    Args:
        num_heads: attention heads; they must divide the tokens' width.
        mlp_units: the MLP's hidden width (default ``4 * d``).
        dropout: rate in [0, 1) for the attention weights and for each
            sublayer's output, while training.
        causal: mask attention to later tokens.
        cross_attention: add a sublayer that attends to ``context``.
        epsilon: the LayerNorms' epsilon.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called as ``block(x, mask=None)`` (or ``block(x, context=c,
        context_mask=None)`` with ``cross_attention=True``), a tensor the
        shape of ``x``, with ``x``'s mask.

    Example:
        >>> import numpy as np
        >>> block = TransformerBlock(num_heads=2, mlp_units=16)
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
        >>> real = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
        >>> tuple(block(x, mask=real).shape)
        (2, 5, 8)
    """

    def __init__(
        self,
        num_heads: int,
        mlp_units: int | None = None,
        dropout: float = 0.0,
        causal: bool = False,
        cross_attention: bool = False,
        epsilon: float = 1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_heads = _checks.integer("num_heads", num_heads, minimum=1, owner=owner)
        if mlp_units is not None:
            mlp_units = _checks.integer("mlp_units", mlp_units, minimum=1, owner=owner)
        self.mlp_units = mlp_units
        self.dropout = _checks.fraction("dropout", dropout, owner=owner)
        self.causal = _checks.boolean("causal", causal, owner=owner)
        self.cross_attention = _checks.boolean("cross_attention", cross_attention, owner=owner)
        self.epsilon = _checks.positive("epsilon", epsilon, owner=owner)
        self.supports_masking = True

    # -- shapes ----------------------------------------------------------------

    def _width(self, inputs_shape):
        """The width of tokens of ``inputs_shape``, if the heads divide it (and it fits the build)."""
        owner = type(self).__name__
        width = sequence_shape(owner, "inputs", inputs_shape)[-1]
        if width % self.num_heads:
            raise ValueError(
                f"{owner}: num_heads must divide the tokens' width; received num_heads="
                f"{self.num_heads} for tokens of shape {tuple(inputs_shape)}"
            )
        built = getattr(self, "_built_width", None)
        check_rebuilt(self, built, width, f"tokens of width {built}", tuple(inputs_shape))
        return width

    def _check_context(self, context_shape):
        """A context exactly when the block has a cross-attention sublayer."""
        owner = type(self).__name__
        if self.cross_attention and context_shape is None:
            raise ValueError(
                f"{owner} was made with cross_attention=True, so it needs a context sequence "
                "(batch, length, features); received context=None"
            )
        if not self.cross_attention and context_shape is not None:
            raise ValueError(
                f"{owner} was made with cross_attention=False, so it takes no context; received "
                f"a context of shape {tuple(context_shape)} (make it with cross_attention=True)"
            )
        if context_shape is not None:
            sequence_shape(owner, "context", context_shape)

    def build(self, inputs_shape, context_shape=None):
        width = self._width(inputs_shape)
        self._check_context(context_shape)
        inputs_shape = tuple(inputs_shape)
        policy = self.dtype_policy

        def norm(name):
            layer = keras.layers.LayerNormalization(epsilon=self.epsilon, name=name, dtype=policy)
            layer.build(inputs_shape)
            return layer

        def attention(name, value_shape):
            layer = keras.layers.MultiHeadAttention(
                self.num_heads,
                width // self.num_heads,
                dropout=self.dropout,
                name=name,
                dtype=policy,
            )
            layer.build(inputs_shape, tuple(value_shape))
            return layer

        self.attention_norm = norm("attention_norm")
        self.self_attention = attention("self_attention", inputs_shape)
        if self.cross_attention:
            self.cross_attention_norm = norm("cross_attention_norm")
            self.cross_attention_layer = attention("cross_attention", context_shape)
        self.mlp_norm = norm("mlp_norm")
        hidden = self.mlp_units or 4 * width
        self.mlp_hidden = keras.layers.Dense(
            hidden, activation="gelu", name="mlp_hidden", dtype=policy
        )
        self.mlp_hidden.build(inputs_shape)
        self.mlp_output = keras.layers.Dense(width, name="mlp_output", dtype=policy)
        self.mlp_output.build(inputs_shape[:-1] + (hidden,))
        self.residual_dropout = keras.layers.Dropout(
            self.dropout, name="residual_dropout", dtype=policy
        )
        self._built_width = width
        # A block frozen before it was built (as loading a frozen one is) freezes the sublayers it
        # has just made: Keras passes ``trainable`` on only to sublayers that exist when it is set.
        for layer in self._layers:
            layer.trainable = self.trainable
        self.built = True

    def compute_output_shape(self, inputs_shape, context_shape=None):
        return tuple(inputs_shape)

    def compute_mask(self, inputs, mask=None):
        return mask

    # -- masks -----------------------------------------------------------------

    def _attention_mask(self, queries, keys, query_mask, key_mask, causal):
        """``(batch, queries, keys)``: True where a query may attend to a key; ``None`` for all.

        A padded key is never attended to. A padded query attends to nothing:
        its output is not used, and its row of attention weights is all 0, in
        every block alike, whether or not Keras also carries the mask along.
        """
        if query_mask is None and key_mask is None and not causal:
            return None
        n, m = ops.shape(queries)[1], ops.shape(keys)[1]
        allowed = ops.ones((ops.shape(queries)[0], n, m), dtype="bool")
        if query_mask is not None:
            allowed = ops.logical_and(allowed, query_mask[:, :, None])
        if key_mask is not None:
            allowed = ops.logical_and(allowed, key_mask[:, None, :])
        if causal:
            later = ops.arange(m)[None, :] > ops.arange(n)[:, None]
            allowed = ops.logical_and(allowed, ops.logical_not(later)[None, :, :])
        return allowed

    # -- forward ---------------------------------------------------------------

    def call(self, inputs, context=None, mask=None, context_mask=None, training=None):
        self._width(inputs.shape)
        self._check_context(None if context is None else context.shape)
        mask = check_mask(mask, inputs, "mask", owner=type(self).__name__)
        x = inputs
        h = self.attention_norm(x)
        allowed = self._attention_mask(h, h, mask, mask, self.causal)
        h = self.self_attention(h, h, attention_mask=allowed, training=training)
        x = x + self.residual_dropout(h, training=training)
        if self.cross_attention:
            context_mask = check_mask(
                context_mask, context, "context_mask", owner=type(self).__name__
            )
            h = self.cross_attention_norm(x)
            allowed = self._attention_mask(h, context, mask, context_mask, causal=False)
            h = self.cross_attention_layer(h, context, attention_mask=allowed, training=training)
            x = x + self.residual_dropout(h, training=training)
        h = self.mlp_output(self.mlp_hidden(self.mlp_norm(x)))
        return x + self.residual_dropout(h, training=training)

    def attention_scores(self, inputs, mask=None):
        """The self-attention weights, for plotting attention maps.

        Args:
            inputs: tokens ``(batch, length, d)`` as for calling the block
                (which must be built: call it once first).
            mask: ``None`` or a boolean ``(batch, length)`` array, True at real
                tokens. Unlike a call, this method does not read Keras masks
                off the inputs.

        Returns:
            ``(batch, heads, length, length)``: row ``i`` holds how much token
            ``i`` attends to each token, before dropout; the row of a real
            token sums to 1, with 0 on padded tokens (and on later ones if
            ``causal``); the row of a padded token is all 0.
        """
        if not self.built:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} is not built yet: call it on tokens first"
            )
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        self._width(inputs.shape)
        mask = check_mask(mask, inputs, "mask", owner=type(self).__name__)
        h = self.attention_norm(inputs)
        allowed = self._attention_mask(h, h, mask, mask, self.causal)
        _, scores = self.self_attention(h, h, attention_mask=allowed, return_attention_scores=True)
        return scores

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "mlp_units": self.mlp_units,
                "dropout": self.dropout,
                "causal": self.causal,
                "cross_attention": self.cross_attention,
                "epsilon": self.epsilon,
            }
        )
        return config
