"""Tokens for every modality: image patches, word positions, modality types, and a dropped prefix.

* :class:`PatchEmbedding` cuts an image into non-overlapping square patches
  and maps each one, flattened, to a token, with a learned position embedding
  per patch (ViT, Dosovitskiy et al., 2021).
* :class:`PositionEmbedding` adds a learned vector per position to word
  tokens; it passes the padding mask on.
* :class:`ModalityTypeEmbedding` adds one learned vector per modality to each
  token of that modality (ViLT, Kim et al., 2021).
* :class:`DropPrefix` removes the first tokens of a sequence (and of its mask).
"""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks
from .masks import check_rebuilt, sequence_shape

__all__ = ["PatchEmbedding", "PositionEmbedding", "ModalityTypeEmbedding", "DropPrefix"]

_POSITION_INIT = {"class_name": "RandomNormal", "config": {"stddev": 0.02}}


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
        if built is not None:
            image = (built[0] * p, built[1] * p, built[2])
            check_rebuilt(self, built, grid, f"images of shape {image}", shape)
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
        shape = sequence_shape(type(self).__name__, "tokens", shape)
        if shape[1] is not None and shape[1] > self.max_length:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} holds {self.max_length} positions "
                f"(max_length); received a sequence of length {shape[1]}"
            )
        built = getattr(self, "_width", None)
        check_rebuilt(self, built, shape[-1], f"tokens of width {built}", shape)
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
        shape = sequence_shape(type(self).__name__, "inputs", shape)
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
