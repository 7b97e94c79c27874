"""Models: encoders + fusion + head, assembled and compiled.

:func:`build_classifier` builds the source article's architecture with its
defects fixed, and the unimodal baselines the book compares it with. Every
model takes a dict of inputs (``"image"``, ``"text"``, or both) and outputs
class probabilities; it is trained with integer labels and the sparse
categorical cross-entropy, so no one-hot encoding is needed.
"""

from __future__ import annotations

import functools

import keras

from . import _checks, encoders, heads
from . import fusion as fusion_module

__all__ = ["MODALITIES", "assemble_classifier", "build_classifier", "input_keys"]

MODALITIES = ("image", "text")

_DEFAULTS = {
    "modalities": MODALITIES,
    "image_filters": (32, 64, 128),
    "image_pooling": "flatten",
    "image_projection": None,
    "embedding_dim": 128,
    "text_units": 128,
    "fusion_config": None,
    "hidden_units": 128,
    "dropout": 0.5,
    "learning_rate": 1e-3,
    "compile": True,
}


def _with_defaults(options, defaults):
    """``options`` over ``defaults``; a misspelt option is an error, not ignored."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; valid options are {sorted(defaults)}")
    return {**defaults, **options}


def _accepts_strategy(builder):
    """Let ``builder`` take ``strategy=``: a ``tf.distribute.Strategy`` to build the model under.

    Keras creates a model's variables where the model is built, so a model
    meant for several devices must be built inside ``strategy.scope()``; the
    builders do that for the caller. The model then records the strategy
    (``model.distribute_strategy``), and :func:`mmtutorial.train.fit` trains
    it on every replica. TensorFlow backend only.
    """

    @functools.wraps(builder)
    def build(*args, strategy=None, **kwargs):
        if strategy is None:
            return builder(*args, **kwargs)
        # Recognised by what it does, so that this module never imports TensorFlow.
        if not (hasattr(strategy, "scope") and hasattr(strategy, "num_replicas_in_sync")):
            raise ValueError(
                f"strategy must be a tf.distribute.Strategy or None; received {strategy!r}"
            )
        with strategy.scope():
            return builder(*args, **kwargs)

    return build


def _input_rank(fusion_layer):
    """2 for a fusion of vectors, 3 for a fusion of token sequences such as ``"cross_attention"``.

    Every :class:`~mmtutorial.fusion.Fusion` declares its ``input_rank``.
    """
    return fusion_layer.input_rank


def _fusion_label(fusion_layer):
    return getattr(fusion_layer, "fusion_name", None) or type(fusion_layer).__name__


@_accepts_strategy
def build_classifier(
    image_shape,
    vocab_size: int,
    sequence_length: int,
    num_classes: int,
    fusion="concat",
    **options,
) -> keras.Model:
    """Build (and compile) an image + text classifier or a unimodal baseline.

    The graph is ``image -> image_encoder``, ``text -> text_encoder``, the two
    vectors -> ``fusion`` -> ``classification_head`` -> probabilities. With a
    single modality the fusion is skipped.

    A token-level fusion (one whose ``input_rank`` is 3, such as
    ``"cross_attention"``) gets sequences instead of vectors: the image
    encoder is built with ``pooling="tokens"`` (one token per region of the
    last feature map) and the text encoder with ``return_sequences=True`` (one
    token per word, padding masked). ``image_pooling`` then cannot be chosen.

    Args:
        image_shape: ``(height, width, channels)`` of the float32 images in [0, 1].
        vocab_size: number of token ids including 0 (padding), >= 2.
        sequence_length: length of the int32 token-id sequences, >= 1.
        num_classes: number of classes, >= 2.
        fusion: a name from :func:`mmtutorial.fusion.available` or a fusion layer.
        **options: any of ``modalities`` (``("image", "text")``, ``("image",)``
            or ``("text",)``), ``image_filters``, ``image_pooling``
            (``"flatten"``, ``"avg"``, ``"max"``; ``"tokens"`` is set for
            a token-level fusion), ``image_projection`` (per token with
            ``"tokens"``),
            ``embedding_dim``, ``text_units``, ``fusion_config`` (a dict of
            keyword arguments for the fusion), ``hidden_units``, ``dropout``,
            ``learning_rate`` (Adam) and ``compile`` (``False`` to skip it).
            ``strategy``, a ``tf.distribute.Strategy``, builds the model
            under its scope, for :func:`mmtutorial.train.fit` to train on
            every replica (TensorFlow backend).

    Returns:
        A ``keras.Model`` whose input is a dict keyed by modality and whose
        output has shape ``(batch, num_classes)``.

    Raises:
        ValueError: naming the argument and the value received, for any
            invalid argument or unknown option.

    Example:
        >>> model = build_classifier((32, 32, 3), vocab_size=40, sequence_length=12, num_classes=21)
        >>> model.output_shape
        (None, 21)
    """
    opts = _with_defaults(options, _DEFAULTS)

    image_shape = encoders.check_image_shape(image_shape)
    vocab_size = _checks.integer("vocab_size", vocab_size, minimum=2)
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=1)
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    modalities = opts["modalities"]
    if isinstance(modalities, str):
        modalities = (modalities,)
    modalities = tuple(modalities)
    if (
        not modalities
        or len(set(modalities)) != len(modalities)
        or not set(modalities) <= set(MODALITIES)
    ):
        raise ValueError(
            f"modalities must be a non-empty selection of {list(MODALITIES)} without repeats; "
            f"received {opts['modalities']!r}"
        )
    fusion_config = opts["fusion_config"] or {}
    if not isinstance(fusion_config, dict):
        raise ValueError(f"fusion_config must be a dict; received {fusion_config!r}")
    fusion_layer = fusion_module.get(fusion, **fusion_config) if len(modalities) > 1 else None
    rate = _checks.positive("learning_rate", opts["learning_rate"])
    tokens = fusion_layer is not None and _input_rank(fusion_layer) == 3
    pooling = opts["image_pooling"]
    if tokens:
        if "image_pooling" in options and pooling != "tokens":
            raise ValueError(
                f"image_pooling={pooling!r} cannot be used with fusion {_fusion_label(fusion_layer)!r}: "
                "that fusion attends over image regions, so the image encoder must keep them "
                "(image_pooling='tokens', set for you); leave image_pooling out"
            )
        pooling = "tokens"
    elif pooling == "tokens" and "image" in modalities:
        used = (
            f"fusion {_fusion_label(fusion_layer)!r}"
            if fusion_layer is not None
            else "an image-only model"
        )
        raise ValueError(
            "image_pooling='tokens' gives a sequence of region features per image, which only a "
            f"token-level fusion such as 'cross_attention' accepts; {used} needs one vector per "
            "image: use 'flatten', 'avg' or 'max'"
        )

    encoders_by_key = {}
    if "image" in modalities:
        encoders_by_key["image"] = encoders.image_encoder(
            image_shape,
            filters=opts["image_filters"],
            pooling=pooling,
            projection_dim=opts["image_projection"],
        )
    if "text" in modalities:
        encoders_by_key["text"] = encoders.text_encoder(
            vocab_size,
            sequence_length,
            embedding_dim=opts["embedding_dim"],
            units=opts["text_units"],
            return_sequences=tokens,
        )
    return assemble_classifier(
        encoders_by_key,
        num_classes,
        fusion=fusion_layer,
        hidden_units=opts["hidden_units"],
        dropout=opts["dropout"],
        learning_rate=rate,
        compile=opts["compile"],
    )


def assemble_classifier(
    encoders_by_key: dict,
    num_classes: int,
    fusion="concat",
    *,
    fusion_config: dict | None = None,
    hidden_units: int = 128,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
    compile: bool = True,
    name: str | None = None,
) -> keras.Model:
    """Join any encoders into one classifier: one input per key, fusion, head.

    This is the general form of :func:`build_classifier`, for modalities other
    than image and text (audio, a range sensor, a report): each encoder is a
    single-input Keras model that maps its modality to a vector, and the model's
    input dict uses the same keys. A token-level fusion (``input_rank`` 3,
    such as ``"cross_attention"``) needs encoders that map their modality to a
    sequence ``(batch, tokens, features)`` instead, for example
    ``image_encoder(..., pooling="tokens")`` and ``text_encoder(...,
    return_sequences=True)``.

    Args:
        encoders_by_key: modality name -> encoder model (its input shape and
            dtype become the model's input for that key).
        num_classes: number of classes (>= 2).
        fusion: a registered fusion name or layer; ignored for one encoder.
        fusion_config: keyword arguments for the fusion.
        hidden_units, dropout: the head's settings.
        learning_rate: Adam's learning rate.
        compile: compile with the sparse categorical cross-entropy and accuracy.
        name: the model's name (default: the keys and the fusion).

    Returns:
        A ``keras.Model`` taking a dict keyed like ``encoders_by_key``.

    Example:
        >>> model = assemble_classifier(
        ...     {"text": encoders.text_encoder(vocab_size=40, sequence_length=12)}, num_classes=3)
        >>> model.output_shape
        (None, 3)
    """
    if not isinstance(encoders_by_key, dict) or not encoders_by_key:
        raise ValueError(
            f"encoders_by_key must be a non-empty dict of name -> encoder; received {encoders_by_key!r}"
        )
    for key, encoder in encoders_by_key.items():
        if (
            not isinstance(key, str)
            or not isinstance(encoder, keras.Model)
            or len(encoder.inputs) != 1
        ):
            raise ValueError(
                "each entry of encoders_by_key must map a string to a single-input keras.Model; "
                f"received {key!r}: {encoder!r}"
            )
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    _checks.positive("learning_rate", learning_rate)
    fusion_layer = None
    if len(encoders_by_key) > 1:
        fusion_layer = fusion_module.get(fusion, **(fusion_config or {}))
    rank = _input_rank(fusion_layer) if fusion_layer is not None else 2
    for key, encoder in encoders_by_key.items():
        shape = encoder.output_shape
        if not isinstance(shape, tuple) or len(shape) != rank:
            if rank == 3:
                raise ValueError(
                    f"fusion {_fusion_label(fusion_layer)!r} attends over tokens, so encoder {key!r} "
                    f"must output a sequence (batch, tokens, features) (rank 3); its output shape is "
                    f"{shape} (use image_encoder(..., pooling='tokens') or "
                    "text_encoder(..., return_sequences=True))"
                )
            raise ValueError(
                f"encoder {key!r} must output one vector per sample (rank 2); "
                f"its output shape is {shape}"
            )

    inputs, features = {}, []
    for key, encoder in encoders_by_key.items():
        spec = encoder.inputs[0]
        inputs[key] = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=key)
        features.append(encoder(inputs[key]))
    fused = fusion_layer(features) if fusion_layer is not None else features[0]
    head = heads.classification_head(num_classes, hidden_units=hidden_units, dropout=dropout)
    if name is None:
        name = "_".join(inputs) + ("_" + fusion_layer.fusion_name if fusion_layer else "_only")
    model = keras.Model(inputs=inputs, outputs=head(fused), name=name)
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


def input_keys(model: keras.Model) -> tuple:
    """The input names a model built here expects, e.g. ``("image", "text")``."""
    structure = model.input
    if isinstance(structure, dict):
        return tuple(structure)
    if not isinstance(structure, (list, tuple)):
        structure = [structure]
    return tuple(t.name for t in structure)


# -- a dual encoder trained contrastively ---------------------------------------

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


@_accepts_strategy
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
    opts = _with_defaults(options, _DUAL_DEFAULTS)
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


__all__ += ["build_dual_encoder"]
