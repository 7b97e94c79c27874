"""Retrieval: a CLIP-style dual encoder, trained contrastively.

Its two towers embed images and texts into one space;
:func:`mmtutorial.train.embed_images`, :func:`mmtutorial.train.embed_texts`
and :func:`mmtutorial.metrics.recall_at_k` use them to search a collection.
"""

from __future__ import annotations

import keras

from .. import _checks, encoders, heads
from .base import accepts_strategy, with_defaults

__all__ = ["build_dual_encoder"]


_DUAL_DEFAULTS = {
    "learnable_temperature": True,
    "max_scale": 100.0,
    "image_filters": (32, 64, 128),
    "image_pooling": "flatten",
    "text_embedding_dim": 64,
    "text_units": 64,
    "learning_rate": 1e-3,
    "compile": True,
}


def _embedder(encoder, embedding_dim, key):
    """``encoder -> Dense(embedding_dim) -> unit length``: one tower of a dual encoder."""
    spec = encoder.inputs[0]
    inputs = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=key)
    projected = keras.layers.Dense(embedding_dim, name=f"{key}_projection")(encoder(inputs))
    normalised = keras.layers.UnitNormalization(name=f"{key}_unit_norm")(projected)
    return keras.Model(inputs, normalised, name=f"{key}_embedder")


@accepts_strategy
def build_dual_encoder(
    image_shape,
    vocab_size: int,
    sequence_length: int,
    embedding_dim: int = 64,
    temperature: float = 0.07,
    **options,
) -> keras.Model:
    """Build (and compile) a CLIP-style dual encoder for image-text retrieval.

    Two towers map each modality into one shared space of ``embedding_dim``
    dimensions: ``image -> image_encoder -> Dense -> unit length`` and
    ``text -> text_encoder -> Dense -> unit length``. They are the layers
    ``"image_embedder"`` and ``"text_embedder"`` of the returned model, which
    :func:`mmtutorial.train.embed_images` and
    :func:`mmtutorial.train.embed_texts` use to index a whole collection. The
    model itself outputs the batch's ``(B, B)`` similarity logits
    (:class:`~mmtutorial.heads.SimilarityLogits`) and is compiled with the
    symmetric contrastive loss (:class:`~mmtutorial.heads.ContrastiveLoss`),
    so it trains with ``fit`` on ``(features, pair_ids)``: ``np.arange(n)``
    gives CLIP's loss, in which only the pair itself matches.

    Longer than 80 lines because of this documentation: the code is 53 lines.

    Args:
        image_shape: ``(height, width, channels)`` of the float32 images in [0, 1].
        vocab_size: number of token ids including 0 (padding), >= 2.
        sequence_length: length of the int32 token-id sequences, >= 1.
        embedding_dim: size of the shared space, >= 2.
        temperature: the softmax temperature, initial if learnable (CLIP: 0.07).
        **options: any of ``learnable_temperature`` (default ``True``),
            ``max_scale`` (the largest inverse temperature, 100),
            ``image_filters``, ``image_pooling``, ``text_embedding_dim``,
            ``text_units``, ``learning_rate`` (Adam) and ``compile``.

    Returns:
        A ``keras.Model`` taking ``{"image": ..., "text": ...}`` and returning
        the ``(batch, batch)`` logits. Predict embeddings with its towers, not
        with the model: logits of different batches do not line up.

    Raises:
        ValueError: naming the argument and the value received.

    Example:
        >>> model = build_dual_encoder((32, 32, 3), vocab_size=40, sequence_length=12)
        >>> model.get_layer("image_embedder").output_shape, model.output_shape
        ((None, 64), (None, None))
    """
    opts = with_defaults(options, _DUAL_DEFAULTS)
    if opts["image_pooling"] == "tokens":
        raise ValueError(
            "image_pooling='tokens' gives a sequence of region features, but each tower of a dual "
            "encoder needs one vector per image: use 'flatten', 'avg' or 'max'"
        )
    image_shape = encoders.check_image_shape(image_shape)
    vocab_size = _checks.integer("vocab_size", vocab_size, minimum=2)
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=1)
    embedding_dim = _checks.integer("embedding_dim", embedding_dim, minimum=2)
    rate = _checks.positive("learning_rate", opts["learning_rate"])
    similarity = heads.SimilarityLogits(
        temperature=temperature,
        learnable=opts["learnable_temperature"],
        max_scale=opts["max_scale"],
        name="similarity",
    )
    image_tower = _embedder(
        encoders.image_encoder(
            image_shape, filters=opts["image_filters"], pooling=opts["image_pooling"]
        ),
        embedding_dim,
        "image",
    )
    text_tower = _embedder(
        encoders.text_encoder(
            vocab_size,
            sequence_length,
            embedding_dim=opts["text_embedding_dim"],
            units=opts["text_units"],
        ),
        embedding_dim,
        "text",
    )
    inputs = {
        "image": keras.Input(shape=image_shape, dtype="float32", name="image"),
        "text": keras.Input(shape=(sequence_length,), dtype="int32", name="text"),
    }
    logits = similarity([image_tower(inputs["image"]), text_tower(inputs["text"])])
    model = keras.Model(inputs=inputs, outputs=logits, name="dual_encoder")
    if opts["compile"]:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=rate), loss=heads.ContrastiveLoss()
        )
    return model
