"""Transformers' parts: tokens for every modality, and the block that mixes them.

A transformer reads a sequence of vectors, *tokens*, and knows nothing else
about its input. These layers make tokens out of each modality and mix them:

* :class:`PatchEmbedding` cuts an image into non-overlapping square patches
  and maps each one, flattened, to a token, with a learned position embedding
  per patch (ViT, Dosovitskiy et al., 2021).
* :class:`PositionEmbedding` adds a learned vector per position to word
  tokens, so that attention, which is blind to order, can tell "red left of"
  from "left of red". It passes the padding mask on.
* :class:`ModalityTypeEmbedding` adds one learned vector per modality to each
  token of that modality, so that one sequence can hold image and word tokens
  and the model still tells them apart (ViLT, Kim et al., 2021).
* :class:`TransformerBlock` is one pre-norm encoder block: self-attention and
  an MLP, each behind a LayerNorm and on a residual path; with a causal mask
  and a cross-attention sublayer it is a decoder block too.
* :class:`DropPrefix` removes the first tokens of a sequence (and of its mask):
  a language model that reads a prefix of image tokens before the words
  answers only at the words.

The single-stream fusion :class:`~mmtutorial.fusion.TransformerFusion`
(``"transformer"``) stacks these blocks over the tokens of every modality.
"""

from __future__ import annotations

import keras
from keras import ops

from . import _checks

__all__ = [
    "PatchEmbedding",
    "PositionEmbedding",
    "ModalityTypeEmbedding",
    "TransformerBlock",
    "DropPrefix",
    "check_mask",
]

_POSITION_INIT = {"class_name": "RandomNormal", "config": {"stddev": 0.02}}


def _sequence_shape(owner, argument, shape):
    """``shape`` as a tuple if it is ``(batch, length, features)`` with known features."""
    shape = tuple(shape)
    if len(shape) != 3 or shape[-1] is None:
        raise ValueError(
            f"{owner} expects {argument} of shape (batch, length, features) with known features; "
            f"received shape {shape}"
        )
    return shape


def check_mask(mask, tokens, argument, *, owner, like=None):
    """``mask`` as a boolean ``(batch, length)`` tensor that fits ``tokens``, or ``None``.

    A padding mask is True at real tokens. ``argument`` and ``owner`` name it
    in the error, and ``like`` (for example ``"input 1"``) says what it must
    fit.

    Raises:
        ValueError: if the mask is not ``(batch, length)`` of ``tokens``.
    """
    if mask is None:
        return None
    mask = ops.convert_to_tensor(mask)
    expected = tuple(tokens.shape[:2])
    if len(mask.shape) != 2 or any(
        e is not None and r is not None and e != r for e, r in zip(expected, mask.shape)
    ):
        fits = f" like {like}" if like else ""
        raise ValueError(
            f"{owner}: {argument} must have shape (batch, length) = {expected}{fits}; "
            f"received shape {tuple(mask.shape)}"
        )
    return ops.cast(mask, "bool")


@keras.saving.register_keras_serializable(package="mmtutorial")
class PatchEmbedding(keras.layers.Layer):
    """Image patches as tokens: cut, flatten, project, add a position embedding.

    An image ``(height, width, channels)`` is cut into ``N = (height / p) *
    (width / p)`` non-overlapping ``p x p`` patches, row by row (left to right,
    then top to bottom). Patch ``i``, flattened to ``x_i`` of length ``p * p *
    channels`` (row, then column, then channel), becomes the token

        ``t_i = x_i W + b + e_i``

    with one learned matrix ``W``, bias ``b`` and a learned position embedding
    ``e_i`` per patch. This is the linear patch embedding of the Vision
    Transformer; a convolution with kernel and stride ``p`` computes the same
    product.

    Args:
        patch_size: the side ``p`` of each square patch, in pixels; it must
            divide the image's height and width.
        units: the width of each token.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on images ``(batch, height, width, channels)``, the tokens
        ``(batch, N, units)``. :meth:`patches` returns the flattened patches
        themselves, ``(batch, N, p * p * channels)``.

    Example:
        >>> import numpy as np
        >>> layer = PatchEmbedding(patch_size=4, units=8)
        >>> tuple(layer(np.zeros((2, 8, 12, 3), "float32")).shape)  # a 2 x 3 grid of patches
        (2, 6, 8)
        >>> PatchEmbedding(patch_size=5, units=8)(np.zeros((2, 8, 12, 3), "float32"))
        Traceback (most recent call last):
            ...
        ValueError: PatchEmbedding: patch_size must divide the image's height and width; received patch_size=5 for images of shape (8, 12, 3)
    """

    def __init__(self, patch_size: int, units: int, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.patch_size = _checks.integer("patch_size", patch_size, minimum=1, owner=owner)
        self.units = _checks.integer("units", units, minimum=1, owner=owner)

    def _grid(self, shape):
        """``(rows, columns, channels)`` of the patch grid of images of ``shape``."""
        shape = tuple(shape)
        owner = type(self).__name__
        if len(shape) != 4 or any(d is None for d in shape[1:]):
            raise ValueError(
                f"{owner} expects images (batch, height, width, channels) with known height, "
                f"width and channels; received shape {shape}"
            )
        height, width, channels = shape[1:]
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(
                f"{owner}: patch_size must divide the image's height and width; received "
                f"patch_size={p} for images of shape {(height, width, channels)}"
            )
        grid = (height // p, width // p, channels)
        built = getattr(self, "_built_grid", None)
        if built is not None and grid != built:
            raise ValueError(
                f"{owner} {self.name!r} was built for images of shape "
                f"{(built[0] * p, built[1] * p, built[2])}; received shape {shape}"
            )
        return grid

    def build(self, input_shape):
        rows, columns, channels = self._grid(input_shape)
        p = self.patch_size
        self.kernel = self.add_weight(
            name="kernel", shape=(p * p * channels, self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.position = self.add_weight(
            name="position", shape=(rows * columns, self.units), initializer=_POSITION_INIT
        )
        self._built_grid = (rows, columns, channels)
        self.built = True

    def patches(self, images):
        """The flattened patches ``(batch, N, p * p * channels)``, row by row."""
        images = ops.convert_to_tensor(images, dtype=self.compute_dtype)
        rows, columns, channels = self._grid(images.shape)
        p = self.patch_size
        x = ops.reshape(images, (-1, rows, p, columns, p, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))  # (batch, rows, columns, p, p, channels)
        return ops.reshape(x, (-1, rows * columns, p * p * channels))

    def call(self, images):
        return ops.matmul(self.patches(images), self.kernel) + self.bias + self.position

    def compute_output_shape(self, input_shape):
        rows, columns, _ = self._grid(input_shape)
        return (input_shape[0], rows * columns, self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size, "units": self.units})
        return config


@keras.saving.register_keras_serializable(package="mmtutorial")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position to a sequence of tokens: ``t_i + e_i``.

    The layer holds ``max_length`` vectors ``e_0, e_1, ...``, one per
    position, of the tokens' width; a sequence of length ``L <= max_length``
    gets the first ``L``. It passes the Keras mask on, so that padding stays
    masked after it: put it after ``keras.layers.Embedding(..., mask_zero=True)``.

    Args:
        max_length: the most positions a sequence may have.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``(batch, length, features)``, a tensor of the same shape,
        with the same mask.

    Example:
        >>> import numpy as np
        >>> ids = np.array([[4, 2, 0, 0]])
        >>> words = keras.layers.Embedding(10, 6, mask_zero=True)(ids)
        >>> tokens = PositionEmbedding(max_length=12)(words)
        >>> tuple(tokens.shape), np.asarray(tokens._keras_mask).tolist()
        ((1, 4, 6), [[True, True, False, False]])
    """

    def __init__(self, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = _checks.integer(
            "max_length", max_length, minimum=1, owner=type(self).__name__
        )
        self.supports_masking = True

    def _checked(self, shape):
        shape = _sequence_shape(type(self).__name__, "tokens", shape)
        if shape[1] is not None and shape[1] > self.max_length:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} holds {self.max_length} positions "
                f"(max_length); received a sequence of length {shape[1]}"
            )
        built = getattr(self, "_width", None)
        if built is not None and shape[-1] != built:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for tokens of width {built}; "
                f"received shape {shape}"
            )
        return shape

    def build(self, input_shape):
        width = self._checked(input_shape)[-1]
        self.position = self.add_weight(
            name="position", shape=(self.max_length, width), initializer=_POSITION_INIT
        )
        self._width = width
        self.built = True

    def call(self, inputs, mask=None):
        self._checked(inputs.shape)
        length = inputs.shape[1] if inputs.shape[1] is not None else ops.shape(inputs)[1]
        position = ops.cast(ops.convert_to_tensor(self.position), inputs.dtype)
        return inputs + ops.slice(position, (0, 0), (length, self._width))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_length": self.max_length})
        return config


@keras.saving.register_keras_serializable(package="mmtutorial")
class ModalityTypeEmbedding(keras.layers.Layer):
    """Adds one learned vector per modality to every token of that modality.

    Called on ``[x_1, ..., x_M]``, token sequences of one width ``d``, it
    returns ``(x_1 + u_1, ..., x_M + u_M)``, where ``u_m`` is a learned
    vector of width ``d`` (broadcast over batch and positions). Once the
    sequences are joined into one, ``u_m`` is how attention tells an image
    token from a word token. Masks pass through, one per sequence.

    Args:
        num_modalities: ``M``, the number of sequences (>= 1).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        A tuple of ``M`` tensors, each the shape of its input.

    Example:
        >>> import numpy as np
        >>> layer = ModalityTypeEmbedding(num_modalities=2)
        >>> image, words = layer([np.zeros((2, 9, 8), "float32"), np.zeros((2, 5, 8), "float32")])
        >>> tuple(image.shape), tuple(words.shape)
        ((2, 9, 8), (2, 5, 8))
    """

    def __init__(self, num_modalities: int, **kwargs):
        super().__init__(**kwargs)
        self.num_modalities = _checks.integer(
            "num_modalities", num_modalities, minimum=1, owner=type(self).__name__
        )
        self.supports_masking = True

    def _checked(self, shapes):
        owner = type(self).__name__
        if not isinstance(shapes, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in shapes
        ):
            shapes = [shapes]
        shapes = [tuple(s) for s in shapes]
        widths = {s[-1] for s in shapes if s}
        if (
            len(shapes) != self.num_modalities
            or any(len(s) != 3 for s in shapes)
            or len(widths) != 1
            or None in widths
        ):
            raise ValueError(
                f"{owner} expects a list of {self.num_modalities} token sequences (batch, length, "
                f"features) of one known width (num_modalities={self.num_modalities}); "
                f"received shapes {shapes}"
            )
        return shapes

    def build(self, input_shape):
        width = self._checked(input_shape)[0][-1]
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.num_modalities, width), initializer=_POSITION_INIT
        )
        self.built = True

    def call(self, inputs, mask=None):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._checked([tuple(x.shape) for x in inputs])
        return tuple(x + self.embeddings[m] for m, x in enumerate(inputs))

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return (None,) * self.num_modalities
        return tuple(mask)

    def compute_output_shape(self, input_shape):
        return tuple(self._checked(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update({"num_modalities": self.num_modalities})
        return config


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
        width = _sequence_shape(owner, "inputs", inputs_shape)[-1]
        if width % self.num_heads:
            raise ValueError(
                f"{owner}: num_heads must divide the tokens' width; received num_heads="
                f"{self.num_heads} for tokens of shape {tuple(inputs_shape)}"
            )
        built = getattr(self, "_built_width", None)
        if built is not None and width != built:
            raise ValueError(
                f"{owner} {self.name!r} was built for tokens of width {built}; received shape "
                f"{tuple(inputs_shape)}"
            )
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
            _sequence_shape(owner, "context", context_shape)

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


@keras.saving.register_keras_serializable(package="mmtutorial")
class DropPrefix(keras.layers.Layer):
    """Drops the first ``length`` tokens of a sequence, and of its padding mask: ``x[:, length:]``.

    A decoder that reads ``P`` prefix tokens (an image projected into its
    word space) before the words predicts the next word only at the words;
    this layer keeps those outputs. Unlike ``keras.layers.Cropping1D`` it
    carries the Keras mask along, cut the same way.

    Args:
        length: the number of leading tokens to drop (>= 1).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``(batch, n, features)`` with ``n > length``, the tensor
        ``(batch, n - length, features)``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(12, dtype="float32").reshape(1, 4, 3)
        >>> np.asarray(DropPrefix(3)(x)).tolist()
        [[[9.0, 10.0, 11.0]]]
    """

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = _checks.integer("length", length, minimum=1, owner=type(self).__name__)
        self.supports_masking = True

    def _checked(self, shape):
        shape = _sequence_shape(type(self).__name__, "inputs", shape)
        if shape[1] is not None and shape[1] <= self.length:
            raise ValueError(
                f"{type(self).__name__} drops the first {self.length} tokens (length), so it needs "
                f"sequences longer than that; received shape {shape}"
            )
        return shape

    def call(self, inputs):
        self._checked(inputs.shape)
        return inputs[:, self.length :]

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[:, self.length :]

    def compute_output_shape(self, input_shape):
        shape = self._checked(input_shape)
        return (shape[0], None if shape[1] is None else shape[1] - self.length, shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"length": self.length})
        return config
