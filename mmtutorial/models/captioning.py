"""Captioning: image tokens and a causal transformer decoder that writes about them.

:func:`build_captioner` trains image encoder and decoder together;
:func:`build_prefix_captioner` is the LLaVA recipe in miniature, a frozen
language model from :func:`build_caption_language_model` reading image
features as prefix tokens. :mod:`~mmtutorial.models.decoding` writes
captions with either.
"""

from __future__ import annotations

import math

import keras

from .. import _checks, encoders, transformer
from ..data.base import integer_with_reason
from ..data.captioning import FIRST_WORD_ID, PAD_ID
from .base import accepts_strategy

__all__ = [
    "build_captioner",
    "build_caption_language_model",
    "build_prefix_captioner",
    "caption_loss",
]


_IMAGE_TOKENS = ("regions", "patches")


def _caption_image_encoder(image_shape, image_tokens, units, image_filters, patch_size):
    """Images -> ``(batch, tokens, units)``: CNN regions (projected, positioned) or patches."""
    image = keras.Input(shape=image_shape, dtype="float32", name="image")
    if image_tokens == "regions":
        x = encoders.image_encoder(
            image_shape, filters=image_filters, pooling="tokens", name="cnn"
        )(image)
        x = keras.layers.Dense(units, name="region_projection")(x)
        x = transformer.PositionEmbedding(x.shape[1], name="region_position")(x)
    else:
        x = transformer.PatchEmbedding(patch_size, units, name="patches")(image)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="image_norm")(x)
    return keras.Model(image, x, name="image_encoder")


def _caption_decoder(
    vocab_size, sequence_length, context_shape, units, layers, num_heads, mlp_units, dropout
):
    """Token ids (and image tokens) -> next-token logits ``(batch, sequence_length, vocab_size)``.

    Word embedding (id 0 masked) plus a learned position embedding, ``layers``
    causal :class:`~mmtutorial.transformer.TransformerBlock` s (each
    cross-attending to the image tokens when ``context_shape`` is given), a
    final LayerNorm and a Dense to the vocabulary.
    """
    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    inputs = [tokens]
    x = keras.layers.Embedding(vocab_size, units, mask_zero=True, name="token_embedding")(tokens)
    x = transformer.PositionEmbedding(sequence_length, name="token_position")(x)
    context = None
    if context_shape is not None:
        context = keras.Input(shape=context_shape, dtype="float32", name="image_tokens")
        inputs.append(context)
    for i in range(layers):
        block = transformer.TransformerBlock(
            num_heads,
            mlp_units,
            dropout,
            causal=True,
            cross_attention=context is not None,
            name=f"decoder_block_{i}",
        )
        x = block(x, context=context) if context is not None else block(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    logits = keras.layers.Dense(vocab_size, name="next_token", dtype="float32")(x)
    return keras.Model(inputs, logits, name="decoder")


def caption_loss():
    """The captioners' loss: next-token cross-entropy, padding ignored.

    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True,
    ignore_class=PAD_ID)``: the mean of ``-log p(target)`` over the target
    positions that are not padding
    (:data:`~mmtutorial.data.captioning.PAD_ID`).
    """

    cross_entropy = keras.losses.SparseCategoricalCrossentropy
    return cross_entropy(from_logits=True, ignore_class=PAD_ID)


@accepts_strategy
def build_captioner(
    image_shape,
    vocab_size: int,
    sequence_length: int,
    *,
    units: int = 64,
    layers: int = 2,
    num_heads: int = 4,
    mlp_units: int | None = None,
    dropout: float = 0.0,
    image_tokens: str = "regions",
    image_filters=(32, 64),
    patch_size: int = 4,
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """Build (and compile) a captioner: image tokens, and a causal transformer decoder over words.

    The image becomes a sequence of ``units``-wide tokens, either the CNN's
    regions (``image_tokens="regions"``: :func:`~mmtutorial.encoders.image_encoder`
    with ``pooling="tokens"``, each region projected and given a learned
    position) or raw patches (``"patches"``:
    :class:`~mmtutorial.transformer.PatchEmbedding`), then a LayerNorm. The
    decoder embeds the caption so far (word + position, padding masked) and
    runs ``layers`` pre-norm :class:`~mmtutorial.transformer.TransformerBlock`
    s with ``causal=True`` and ``cross_attention=True``: word ``i`` attends
    to words ``<= i`` and to every image token. A final LayerNorm and a Dense
    give the logits of the next word at every position.

    It is trained with teacher forcing: the input ``"tokens"`` is the caption
    shifted right behind :data:`~mmtutorial.data.captioning.START_ID`, the
    target the caption followed by :data:`~mmtutorial.data.captioning.END_ID`,
    padded with :data:`~mmtutorial.data.captioning.PAD_ID`, as
    :class:`~mmtutorial.data.captioning.SceneCaptionTask` makes them; the loss
    (:func:`caption_loss`) ignores padding. :func:`greedy_decode` and
    :func:`beam_search` then write captions.

    Longer than 80 lines because of this documentation: the code is 44 lines.

    Args:
        image_shape: ``(height, width, channels)`` of the float32 images in [0, 1].
        vocab_size: token ids in all, the special ids included (>= 4: padding,
            start, end and one word).
        sequence_length: the length of the inputs and targets (>= 2).
        units: the width of every token.
        layers: decoder blocks (>= 1).
        num_heads: attention heads per block; must divide ``units``.
        mlp_units: the blocks' MLP width (default ``4 * units``).
        dropout: the blocks' dropout rate while training.
        image_tokens: ``"regions"`` or ``"patches"``.
        image_filters: the CNN's filters per block (``"regions"``).
        patch_size: the patches' side in pixels (``"patches"``).
        learning_rate: Adam's learning rate.
        compile: compile with Adam and :func:`caption_loss`.
        strategy: a ``tf.distribute.Strategy`` to build under (TensorFlow backend).

    Returns:
        A ``keras.Model`` taking ``{"image": (batch, *image_shape), "tokens":
        (batch, sequence_length) int32}`` and returning next-token logits
        ``(batch, sequence_length, vocab_size)``. Its two halves are the
        nested models ``"image_encoder"`` and ``"decoder"``.

    Raises:
        ValueError: naming the argument and the value received.

    Example:
        >>> model = build_captioner((32, 32, 3), vocab_size=15, sequence_length=9, units=16,
        ...                         layers=1, num_heads=2)
        >>> model.output_shape
        (None, 9, 15)
    """
    image_shape = encoders.check_image_shape(image_shape)
    settings = _decoder_settings(vocab_size, sequence_length, units, layers, num_heads, mlp_units)
    vocab_size, sequence_length, units, layers, num_heads, mlp_units = settings
    dropout = _checks.fraction("dropout", dropout)
    image_tokens = _checks.choice("image_tokens", image_tokens, _IMAGE_TOKENS)
    rate = _checks.positive("learning_rate", learning_rate)
    _checks.boolean("compile", compile)

    encoder = _caption_image_encoder(image_shape, image_tokens, units, image_filters, patch_size)
    decoder = _caption_decoder(
        vocab_size,
        sequence_length,
        tuple(encoder.output_shape[1:]),
        units,
        layers,
        num_heads,
        mlp_units,
        dropout,
    )
    inputs = {
        "image": keras.Input(shape=image_shape, dtype="float32", name="image"),
        "tokens": keras.Input(shape=(sequence_length,), dtype="int32", name="tokens"),
    }
    logits = decoder([inputs["tokens"], encoder(inputs["image"])])
    model = keras.Model(inputs=inputs, outputs=logits, name=f"captioner_{image_tokens}")
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate), loss=caption_loss())
    return model


@accepts_strategy
def build_caption_language_model(
    vocab_size: int,
    sequence_length: int,
    *,
    units: int = 64,
    layers: int = 2,
    num_heads: int = 4,
    mlp_units: int | None = None,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """Build (and compile) a tiny causal language model of captions: the captioner's decoder, no image.

    The same layers as :func:`build_captioner`'s decoder (word and position
    embeddings, ``layers`` causal :class:`~mmtutorial.transformer.TransformerBlock`
    s, a final LayerNorm, a Dense to the vocabulary) without the
    cross-attention: it learns ``p(w_t | w_<t)`` from captions alone, with
    the same teacher-forcing inputs, targets and loss. Frozen, it is the
    language model of :func:`build_prefix_captioner`.

    Args:
        vocab_size, sequence_length, units, layers, num_heads, mlp_units,
            dropout, learning_rate, compile: as for :func:`build_captioner`.

    Returns:
        A ``keras.Model`` named ``"language_model"`` taking ``{"tokens":
        (batch, sequence_length) int32}`` and returning next-token logits
        ``(batch, sequence_length, vocab_size)``.

    Example:
        >>> build_caption_language_model(15, 9, units=16, layers=1, num_heads=2).output_shape
        (None, 9, 15)
    """
    settings = _decoder_settings(vocab_size, sequence_length, units, layers, num_heads, mlp_units)
    dropout = _checks.fraction("dropout", dropout)
    rate = _checks.positive("learning_rate", learning_rate)
    _checks.boolean("compile", compile)
    decoder = _caption_decoder(*settings[:2], None, *settings[2:], dropout)
    tokens = keras.Input(shape=(settings[1],), dtype="int32", name="tokens")
    model = keras.Model({"tokens": tokens}, decoder(tokens), name="language_model")
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate), loss=caption_loss())
    return model


def _decoder_settings(vocab_size, sequence_length, units, layers, num_heads, mlp_units):
    """The checked ``(vocab_size, sequence_length, units, layers, num_heads, mlp_units)``."""
    vocab_size = integer_with_reason(
        "vocab_size", vocab_size, FIRST_WORD_ID + 1, "padding, start, end and one word"
    )
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=2)
    units = _checks.integer("units", units, minimum=1)
    layers = _checks.integer("layers", layers, minimum=1)
    num_heads = _checks.integer("num_heads", num_heads, minimum=1)
    if units % num_heads:
        raise ValueError(
            f"num_heads must divide units; received num_heads={num_heads} and units={units}"
        )
    if mlp_units is not None:
        mlp_units = _checks.integer("mlp_units", mlp_units, minimum=1)
    return vocab_size, sequence_length, units, layers, num_heads, mlp_units


def _language_model_parts(language_model):
    """The word embedding, position embedding, blocks, final norm and output layer of a language model."""
    decoder = None
    if isinstance(language_model, keras.Model):
        decoder = next((x for x in language_model.layers if x.name == "decoder"), None)
    if decoder is None or len(decoder.inputs) != 1:
        raise ValueError(
            "language_model must be a model from build_caption_language_model (a 'decoder' that "
            f"reads tokens only); received {language_model!r}"
        )
    blocks = [x for x in decoder.layers if isinstance(x, transformer.TransformerBlock)]
    names = ("token_embedding", "token_position", "final_norm", "next_token")
    embedding, position, norm, output = (decoder.get_layer(name) for name in names)
    return embedding, position, blocks, norm, output


def _prefix_pooling(tokens, prefix_tokens):
    """The side of the pooling window that takes ``tokens`` image tokens to ``prefix_tokens``.

    The image tokens are a square grid, row by row (the CNN's regions); ``P``
    prefix tokens are a ``sqrt(P) x sqrt(P)`` grid of averages over equal
    blocks of it. Returns ``None`` when there is nothing to pool.
    """
    if prefix_tokens is None or prefix_tokens == tokens:
        return None
    side, prefix_side = math.isqrt(tokens), math.isqrt(prefix_tokens)
    if side * side != tokens or prefix_side**2 != prefix_tokens or side % prefix_side:
        raise ValueError(
            "build_prefix_captioner pools a square grid of image tokens to a square grid of "
            f"prefix tokens, so prefix_tokens must be None or {tokens} (one per image token), or "
            "a square number whose side divides the side of the grid; received "
            f"prefix_tokens={prefix_tokens} for {tokens} image tokens"
        )
    return side, side // prefix_side


@accepts_strategy
def build_prefix_captioner(
    language_model: keras.Model,
    image_shape,
    *,
    prefix_tokens: int | None = None,
    image_features: keras.Model | None = None,
    image_filters=(32, 64),
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """A captioner from a frozen language model: image tokens projected into its word space.

    The recipe of LLaVA (Liu et al., 2023) in miniature. The image features
    are a sequence of ``N`` tokens ``f_1 ... f_N`` (a CNN's regions, a square
    grid read row by row; a single feature vector counts as one token). They
    are averaged over equal square blocks of the grid down to ``P =
    prefix_tokens`` tokens ``g_1 ... g_P`` (no pooling when ``P`` is ``None``
    or ``N``), and every token goes through the *same* trainable linear
    projection, plus a learned position vector, into the language model's
    token-embedding space: ``v_j = g_j W + b + q_j``. The projection has
    ``(d + 1) * units`` weights whatever ``P`` is, and the positions ``P *
    units``, so the trained bridge stays small. The frozen language model
    reads ``[v_1 ... v_P, e(START), e(w_1) + pos_1, ...]``: every word attends
    (causally) to the whole prefix and the words before it. The word positions
    are the language model's own, so the model reads words exactly as it
    learnt them. Only the projection, the prefix positions and, when
    ``image_features`` is not given, a fresh CNN train; the language model's
    weights stay as they are.

    The result has :func:`build_captioner`'s form (nested ``"image_encoder"``,
    which outputs the prefix, and ``"decoder"``), so :func:`greedy_decode`
    and :func:`beam_search` write its captions, and it is trained on the same
    inputs and targets.

    Longer than 80 lines because of this documentation: the code is 74 lines.

    Args:
        language_model: a model from :func:`build_caption_language_model`,
            usually trained on captions; it is frozen here (``trainable =
            False``).
        image_shape: ``(height, width, channels)`` of the float32 images.
        prefix_tokens: ``P``, the number of prefix tokens: ``None`` (default) for one
            per image token, else a square number whose side divides the
            side of the image tokens' grid (4 pools the 6 x 6 regions of a
            32-pixel picture to 2 x 2, one per cell of the book's scenes).
        image_features: a model mapping images to features (a sequence of
            tokens or one vector per image), frozen like the language model,
            as LLaVA freezes its vision encoder; ``None`` for a fresh,
            trainable CNN (:func:`~mmtutorial.encoders.image_encoder` with
            ``image_filters`` and ``pooling="tokens"``).
        image_filters: the fresh CNN's filters per block.
        learning_rate: Adam's learning rate.
        compile: compile with Adam and :func:`caption_loss`.

    Returns:
        A ``keras.Model`` taking ``{"image", "tokens"}`` and returning
        next-token logits ``(batch, sequence_length, vocab_size)``;
        :func:`parameter_counts` tells its trainable and total parameters.

    Raises:
        ValueError: naming the argument and the value received.

    Example:
        >>> lm = build_caption_language_model(15, 9, units=16, layers=1, num_heads=2)
        >>> model = build_prefix_captioner(lm, (32, 32, 3), prefix_tokens=4)
        >>> model.output_shape
        (None, 9, 15)
        >>> model.get_layer("image_encoder").output_shape  # 6 x 6 regions pooled to 2 x 2
        (None, 4, 16)
    """
    embedding, position, blocks, norm, output = _language_model_parts(language_model)
    image_shape = encoders.check_image_shape(image_shape)
    if prefix_tokens is not None:
        prefix_tokens = _checks.integer("prefix_tokens", prefix_tokens, minimum=1)
    rate = _checks.positive("learning_rate", learning_rate)
    _checks.boolean("compile", compile)
    if image_features is None:
        image_features = encoders.image_encoder(
            image_shape, filters=image_filters, pooling="tokens", name="cnn"
        )
    elif not isinstance(image_features, keras.Model) or tuple(
        image_features.input_shape[1:]
    ) != tuple(image_shape):
        raise ValueError(
            f"image_features must be a keras.Model that takes images of shape {image_shape}; "
            f"received {image_features!r}"
        )
    else:
        image_features.trainable = False
    feature_shape = tuple(image_features.output_shape[1:])
    if len(feature_shape) not in (1, 2) or None in feature_shape:
        raise ValueError(
            "image_features must give one vector (batch, d) or a sequence of tokens "
            f"(batch, n, d) per image; received output shape {image_features.output_shape}"
        )
    language_model.trainable = False
    units, length = embedding.output_dim, language_model.inputs[0].shape[1]

    image = keras.Input(shape=image_shape, dtype="float32", name="image")
    x = image_features(image)
    if len(feature_shape) == 1:
        x = keras.layers.Reshape((1, feature_shape[0]), name="one_token")(x)
    tokens, width = x.shape[1], x.shape[2]
    pooling = _prefix_pooling(tokens, prefix_tokens)
    if pooling is not None:
        side, window = pooling
        x = keras.layers.Reshape((side, side, width), name="token_grid")(x)
        x = keras.layers.AveragePooling2D(window, name="token_pooling")(x)
        x = keras.layers.Reshape((prefix_tokens, width), name="pooled_tokens")(x)
    prefix_tokens = x.shape[1]
    x = keras.layers.Dense(units, name="prefix_projection")(x)  # the same W for every token
    prefix = transformer.PositionEmbedding(prefix_tokens, name="prefix_position")(x)
    encoder = keras.Model(image, prefix, name="image_encoder")

    tokens = keras.Input(shape=(length,), dtype="int32", name="tokens")
    context = keras.Input(shape=(prefix_tokens, units), dtype="float32", name="image_tokens")
    x = keras.layers.Concatenate(axis=1, name="prefix_and_words")(
        [context, position(embedding(tokens))]
    )
    for block in blocks:
        x = block(x)
    logits = transformer.DropPrefix(prefix_tokens, name="words_only")(output(norm(x)))
    decoder = keras.Model([tokens, context], logits, name="decoder")

    inputs = {
        "image": keras.Input(shape=image_shape, dtype="float32", name="image"),
        "tokens": keras.Input(shape=(length,), dtype="int32", name="tokens"),
    }
    model = keras.Model(
        inputs, decoder([inputs["tokens"], encoder(inputs["image"])]), name="prefix_captioner"
    )
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate), loss=caption_loss())
    return model
