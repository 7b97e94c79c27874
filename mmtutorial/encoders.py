"""Encoders: one network per modality, each mapping raw input to a vector.

* :func:`image_encoder` is the source article's CNN: three blocks of a 3x3
  ReLU convolution (32, 64, 128 filters, no padding) and 2x2 max pooling,
  followed by a choice of how the final feature map becomes a vector (or,
  with ``pooling="tokens"``, a sequence of one feature vector per region).
* :func:`text_encoder` is the article's text branch, corrected: an embedding
  that masks padding, then an LSTM that returns only its final state, so the
  output is a vector (rank 2) like the image branch's; with
  ``return_sequences=True`` it returns one vector per token instead.

Token sequences (rank 3) are what a token-level fusion such as
``"cross_attention"`` attends over; vector fusions need rank 2.
"""

from __future__ import annotations

import keras

from . import _checks

__all__ = [
    "IMAGE_POOLING",
    "check_image_shape",
    "conv_output_size",
    "image_feature_size",
    "image_encoder",
    "text_encoder",
]

_VECTOR_POOLING = ("flatten", "avg", "max")
IMAGE_POOLING = _VECTOR_POOLING + ("tokens",)


def check_image_shape(image_shape) -> tuple:
    """Validate ``(height, width, channels)`` and return it as a tuple of ints."""
    return _checks.shape("image_shape", image_shape, 3, describe="(height, width, channels)")


def conv_output_size(size: int, blocks: int = 3, kernel: int = 3, pool: int = 2) -> int:
    """Spatial size after ``blocks`` of an unpadded ``kernel`` conv and a ``pool`` max pool.

    Each block maps ``s`` to ``floor((s - kernel + 1) / pool)``. For the
    article's 224-pixel input: 224 -> 111 -> 54 -> 26.
    """
    for _ in range(blocks):
        size = (size - kernel + 1) // pool
    return size


def image_feature_size(image_shape, filters=(32, 64, 128), pooling="flatten") -> int:
    """Length of the vector :func:`image_encoder` produces (before any projection).

    ``pooling="tokens"`` makes no single vector, so it is an error here; the
    message gives the ``(tokens, features)`` shape the encoder produces.

    Example:
        >>> image_feature_size((224, 224, 3))  # the article's input
        86528
        >>> image_feature_size((224, 224, 3), pooling="avg")
        128
    """
    height, width, _ = check_image_shape(image_shape)
    blocks = len(filters)
    if pooling == "tokens":
        tokens = conv_output_size(height, blocks) * conv_output_size(width, blocks)
        raise ValueError(
            "image_feature_size is the length of one vector per image, but pooling='tokens' gives a "
            f"sequence of {tokens} tokens of {filters[-1]} features each, shape (batch, {tokens}, "
            f"{filters[-1]}); read image_encoder(...).output_shape instead"
        )
    if pooling not in _VECTOR_POOLING:
        raise ValueError(f"pooling must be one of {list(IMAGE_POOLING)}; received {pooling!r}")
    if pooling == "flatten":
        return conv_output_size(height, blocks) * conv_output_size(width, blocks) * filters[-1]
    return filters[-1]


def image_encoder(
    image_shape,
    filters=(32, 64, 128),
    pooling: str = "flatten",
    projection_dim: int | None = None,
    name: str = "image_encoder",
) -> keras.Sequential:
    """The article's CNN: conv blocks, then a vector (or a token sequence) per image.

    Each block is ``Conv2D(f, 3x3, relu, padding="valid")`` followed by
    ``MaxPooling2D(2x2)``. ``pooling`` chooses how the last feature map
    ``(h, w, c)`` becomes a vector: ``"flatten"`` keeps every position
    (``h * w * c`` features, as the article does), ``"avg"`` or ``"max"``
    pools over positions (``c`` features, independent of image size).
    ``"tokens"`` keeps the positions apart instead: the map is reshaped
    (row by row) to ``h * w`` tokens of ``c`` features, one per image region,
    for a fusion that attends over regions. ``projection_dim`` adds a
    ``Dense(projection_dim, relu)`` on top (applied to each token with
    ``"tokens"``).

    Args:
        image_shape: ``(height, width, channels)``.
        filters: filters of each conv block.
        pooling: one of ``"flatten"``, ``"avg"``, ``"max"``, ``"tokens"``.
        projection_dim: optional size of a final dense projection.
        name: the model's name.

    Returns:
        A ``keras.Sequential`` mapping ``(batch, *image_shape)`` to
        ``(batch, features)``, or to ``(batch, h * w, features)`` with
        ``pooling="tokens"``.

    Example:
        >>> encoder = image_encoder((32, 32, 3))
        >>> encoder.output_shape
        (None, 512)
        >>> image_encoder((32, 32, 3), pooling="tokens").output_shape  # a 2x2 map: 4 regions
        (None, 4, 128)
    """
    image_shape = check_image_shape(image_shape)
    filters = tuple(filters)
    if not filters:
        raise ValueError(f"filters must name at least one conv block; received {filters!r}")
    for f in filters:
        _checks.integer("each entry of filters", f, minimum=1)
    _checks.choice("pooling", pooling, IMAGE_POOLING)
    if projection_dim is not None:
        _checks.integer("projection_dim", projection_dim, minimum=1)
    final = [conv_output_size(s, len(filters)) for s in image_shape[:2]]
    if min(final) < 1:
        raise ValueError(
            f"image_shape {image_shape} is too small for {len(filters)} conv blocks "
            "(each takes 2 pixels away and halves the rest); use images of at least "
            f"{_min_size(len(filters))} pixels per side"
        )

    layers = [keras.Input(shape=image_shape, dtype="float32", name="image")]
    for index, f in enumerate(filters, start=1):
        layers.append(keras.layers.Conv2D(f, 3, activation="relu", name=f"conv{index}"))
        layers.append(keras.layers.MaxPooling2D(2, name=f"pool{index}"))
    if pooling == "tokens":
        layers.append(keras.layers.Reshape((final[0] * final[1], filters[-1]), name="tokens"))
        layers += _projection_layers(projection_dim)
    else:
        layers += _vector_layers(pooling, projection_dim, dims=2)
    return keras.Sequential(layers, name=name)


def _vector_layers(pooling, projection_dim, dims):
    """The layers that turn a ``dims``-D feature map into one vector (and project it)."""
    if pooling == "flatten":
        layers = [keras.layers.Flatten(name="flatten")]
    elif pooling == "avg":
        average = (
            keras.layers.GlobalAveragePooling2D
            if dims == 2
            else keras.layers.GlobalAveragePooling1D
        )
        layers = [average(name="global_avg_pool")]
    else:
        maximum = keras.layers.GlobalMaxPooling2D if dims == 2 else keras.layers.GlobalMaxPooling1D
        layers = [maximum(name="global_max_pool")]
    return layers + _projection_layers(projection_dim)


def _projection_layers(projection_dim):
    """The optional ``Dense(projection_dim, relu)`` on the last axis (per token for sequences)."""
    if projection_dim is None:
        return []
    return [keras.layers.Dense(projection_dim, activation="relu", name="projection")]


def _min_size(blocks: int, kernel: int = 3) -> int:
    """The shortest side that survives ``blocks`` conv + pool blocks."""
    size = 1
    while conv_output_size(size, blocks, kernel=kernel) < 1:
        size += 1
    return size


def text_encoder(
    vocab_size: int,
    sequence_length: int,
    embedding_dim: int = 128,
    units: int = 128,
    return_sequences: bool = False,
    name: str = "text_encoder",
) -> keras.Sequential:
    """The article's text branch: ``Embedding``, then ``LSTM``.

    The embedding uses ``mask_zero=True``, so id 0 is padding and the LSTM
    skips those steps; by default the LSTM returns its final hidden state
    ``h_T`` only (``return_sequences=False``), a ``(batch, units)`` tensor
    that can be concatenated with the image vector. With
    ``return_sequences=True`` it returns the hidden state after every token,
    ``(batch, sequence_length, units)``, for a fusion that attends over
    tokens; the padding mask then travels with the output (Keras attaches it
    to the tensor), so such a fusion can ignore the padded positions.

    Args:
        vocab_size: number of token ids, with 0 (padding) and 1 (unknown).
        sequence_length: length of every id sequence.
        embedding_dim: size of each token's embedding vector.
        units: size of the LSTM state, and so of the output.
        return_sequences: return every step's state, not only the last one.
        name: the model's name.

    Returns:
        A ``keras.Sequential`` mapping int ids ``(batch, sequence_length)``
        to ``(batch, units)``, or to ``(batch, sequence_length, units)``
        with ``return_sequences=True``.

    Example:
        >>> text_encoder(vocab_size=40, sequence_length=12).output_shape
        (None, 128)
        >>> every_step = text_encoder(40, 12, return_sequences=True)
        >>> every_step.output_shape
        (None, 12, 128)
    """
    _checks.integer("vocab_size", vocab_size, minimum=2)
    _checks.integer("sequence_length", sequence_length, minimum=1)
    _checks.integer("embedding_dim", embedding_dim, minimum=1)
    _checks.integer("units", units, minimum=1)
    _checks.boolean("return_sequences", return_sequences)
    return keras.Sequential(
        [
            keras.Input((sequence_length,), dtype="int32", name="text"),
            keras.layers.Embedding(
                vocab_size,
                embedding_dim,
                mask_zero=True,
                name="embedding",
            ),
            keras.layers.LSTM(
                units,
                return_sequences=return_sequences,
                name="lstm",
            ),
        ],
        name=name,
    )


# -- data augmentation ------------------------------------------------------------


def augmentation(
    translation: float = 0.1,
    horizontal_flip: bool = True,
    fill_mode: str = "constant",
    seed: int | None = None,
    name: str = "augmentation",
) -> keras.Sequential:
    """Random label-preserving image transformations, only while training.

    For the book's shapes two transformations keep the label: a mirror
    image left to right (every shape is symmetric about its vertical axis)
    and a small shift (the label does not depend on where the object is).
    Others do not: a vertical flip turns the triangle upside down, a
    90-degree rotation stands the bar on end, and a 45-degree rotation
    turns a square into a diamond. Shifts move whole pixels
    (nearest-neighbour interpolation), so they do not blur the image's
    noise. At inference (``training=False``) the block is the identity.

    Args:
        translation: largest shift, as a fraction of the height and width,
            in [0, 1); 0 turns shifting off.
        horizontal_flip: mirror half of the images left to right.
        fill_mode: how ``keras.layers.RandomTranslation`` fills the pixels
            a shift uncovers: ``"constant"`` (zeros, the default),
            ``"nearest"``, ``"reflect"`` or ``"wrap"``.
        seed: optional seed for repeatable draws.
        name: the block's name.

    Returns:
        A ``keras.Sequential`` to put in front of an image encoder, for
        example ``keras.Sequential([keras.Input(shape), augmentation(),
        image_encoder(shape)])``.

    Example:
        >>> import numpy as np
        >>> block = augmentation(seed=0)
        >>> rng = np.random.default_rng(0)
        >>> images = rng.random((2, 32, 32, 3)).astype("float32")
        >>> kept = np.asarray(block(images, training=False))
        >>> bool(np.array_equal(kept, images))
        True
    """
    translation = _checks.fraction("translation", translation)
    _checks.boolean("horizontal_flip", horizontal_flip)
    _checks.choice(
        "fill_mode",
        fill_mode,
        ("constant", "nearest", "reflect", "wrap"),
    )
    if seed is not None:
        _checks.integer("seed", seed, minimum=0)
    layers = []
    if horizontal_flip:
        layers.append(
            keras.layers.RandomFlip(
                "horizontal",
                seed=seed,
                name="random_flip",
            )
        )
    if translation > 0:
        layers.append(
            keras.layers.RandomTranslation(
                translation,
                translation,
                fill_mode=fill_mode,
                interpolation="nearest",
                seed=None if seed is None else seed + 1,
                name="random_translation",
            )
        )
    if not layers:
        need = "augmentation needs translation > 0 or horizontal_flip=True"
        raise ValueError(f"{need}; both are off")
    return keras.Sequential(layers, name=name)


__all__ += ["augmentation"]


def signal_encoder(
    input_shape,
    filters=(16, 32),
    kernel_size: int = 5,
    pooling: str = "flatten",
    projection_dim: int | None = None,
    name: str = "signal_encoder",
) -> keras.Sequential:
    """A 1-D CNN for signals such as a range scan or an audio envelope.

    The 1-D twin of :func:`image_encoder`. Each block is
    ``Conv1D(f, kernel_size, relu, padding="valid")`` followed by
    ``MaxPooling1D(2)``; a convolution with kernel ``W`` (``k x c x f``) and
    bias ``b`` computes ``y[t, j] = relu(b[j] + sum_{s < k, i < c} x[t + s, i]
    W[s, i, j])``, so each block maps a length ``L`` to ``floor((L - k + 1) /
    2)``. ``pooling`` turns the last ``(length, channels)`` map into a vector:
    ``"flatten"`` keeps positions (use it when *where* something is matters),
    ``"avg"`` and ``"max"`` pool them away.

    Args:
        input_shape: ``(length, channels)``, e.g. ``(64, 1)`` for 64 readings.
        filters: filters of each conv block.
        kernel_size: width of every convolution kernel.
        pooling: one of ``"flatten"``, ``"avg"``, ``"max"``.
        projection_dim: optional size of a final ``Dense(projection_dim, relu)``.
        name: the model's name.

    Returns:
        A ``keras.Sequential`` mapping ``(batch, length, channels)`` to
        ``(batch, features)``.

    Example:
        >>> signal_encoder((64, 1)).output_shape  # 64 -> 30 -> 13, times 32 filters
        (None, 416)
        >>> signal_encoder((64, 1), pooling="avg").output_shape
        (None, 32)
    """
    try:
        shape = _checks.shape("input_shape", input_shape, 2, describe="(length, channels)")
    except ValueError as error:
        try:
            _checks.shape("input_shape", input_shape, 1)
        except ValueError:
            raise error from None
        raise ValueError(f"{error} (add a channel axis: (length, 1))") from None
    filters = tuple(filters)
    if not filters:
        raise ValueError(f"filters must name at least one conv block; received {filters!r}")
    for f in filters:
        _checks.integer("each entry of filters", f, minimum=1)
    _checks.integer("kernel_size", kernel_size, minimum=1)
    _checks.choice("pooling", pooling, _VECTOR_POOLING)
    if projection_dim is not None:
        _checks.integer("projection_dim", projection_dim, minimum=1)
    if conv_output_size(shape[0], len(filters), kernel=kernel_size) < 1:
        raise ValueError(
            f"input_shape {shape} is too short for {len(filters)} conv blocks with kernel_size "
            f"{kernel_size}; use signals of at least {_min_size(len(filters), kernel_size)} steps"
        )

    layers = [keras.Input(shape=shape, dtype="float32", name="signal")]
    for index, f in enumerate(filters, start=1):
        layers.append(keras.layers.Conv1D(f, kernel_size, activation="relu", name=f"conv{index}"))
        layers.append(keras.layers.MaxPooling1D(2, name=f"pool{index}"))
    return keras.Sequential(layers + _vector_layers(pooling, projection_dim, dims=1), name=name)


__all__ += ["signal_encoder"]
