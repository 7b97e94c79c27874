"""Classifiers: encoders + fusion + head, assembled and compiled.

:func:`build_classifier` builds the source article's architecture with its
defects fixed, and the unimodal baselines the book compares it with;
:func:`assemble_classifier` joins any encoders; :func:`build_vilt_classifier`
is a single-stream transformer from pixels and words. Every model takes a
dict of inputs (``"image"``, ``"text"``, or both) and outputs class
probabilities; it is trained with integer labels and the sparse categorical
cross-entropy, so no one-hot encoding is needed.
"""

from __future__ import annotations

import keras

from .. import _checks, encoders, heads, transformer
from .. import fusion as fusion_module
from .base import accepts_strategy, compile_classifier, with_defaults

__all__ = ["MODALITIES", "assemble_classifier", "build_classifier", "build_vilt_classifier"]


MODALITIES = ("image", "text")

_DEFAULTS = {
    "modalities": MODALITIES,
    "image_filters": (32, 64, 128),
    "image_pooling": "flatten",
    "image_projection": None,
    "embedding_dim": 128,
    "text_units": 128,
    "fusion_config": None,
    "modality_dropout": 0.0,
    "hidden_units": 128,
    "dropout": 0.5,
    "learning_rate": 1e-3,
    "compile": True,
}


def _input_rank(fusion_layer):
    """2 for a fusion of vectors, 3 for a fusion of token sequences such as ``"cross_attention"``.

    Every :class:`~mmtutorial.fusion.Fusion` declares its ``input_rank``.
    """
    return fusion_layer.input_rank


_CLASSIFIER_KINDS = ("vectors", "tokens")


def _fusion_of_inputs(fusion, config):
    """The fusion layer ``fusion`` names (or is), if it fuses one input per modality as a classifier needs."""
    kind = fusion_module.registered(fusion).input_kind if isinstance(fusion, str) else None
    if kind is not None and kind not in _CLASSIFIER_KINDS:
        raise ValueError(
            f"fusion {fusion!r} conditions a feature map on text (input kind {kind!r}), so a "
            "classifier cannot use it (build_segmenter does); the classifiers' fusions are "
            f"{fusion_module.available(kinds=_CLASSIFIER_KINDS)}"
        )
    return fusion_module.get(fusion, **config)


def _fusion_label(fusion_layer):
    return getattr(fusion_layer, "fusion_name", None) or type(fusion_layer).__name__


def _checked_modalities(given):
    """``given`` as a tuple of modalities, a non-empty selection of :data:`MODALITIES`."""
    modalities = (given,) if isinstance(given, str) else tuple(given)
    if (
        not modalities
        or len(set(modalities)) != len(modalities)
        or not set(modalities) <= set(MODALITIES)
    ):
        raise ValueError(
            f"modalities must be a non-empty selection of {list(MODALITIES)} without repeats; "
            f"received {given!r}"
        )
    return modalities


def _image_pooling(pooling, chosen, fusion_layer, tokens):
    """The image encoder's pooling: ``"tokens"`` for a token-level fusion, else ``pooling``."""
    if not tokens:
        return pooling
    if chosen and pooling != "tokens":
        raise ValueError(
            f"image_pooling={pooling!r} cannot be used with fusion {_fusion_label(fusion_layer)!r}: "
            "that fusion attends over image regions, so the image encoder must keep them "
            "(image_pooling='tokens', set for you); leave image_pooling out"
        )
    return "tokens"


@accepts_strategy
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

    A token-level fusion (one whose ``input_rank`` is 3: ``"cross_attention"``
    or ``"transformer"``) gets sequences instead of vectors: the image
    encoder is built with ``pooling="tokens"`` (one token per region of the
    last feature map) and the text encoder with ``return_sequences=True`` (one
    token per word, padding masked). ``image_pooling`` then cannot be chosen.

    Longer than 80 lines because of this documentation: the code is 62 lines.

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
            keyword arguments for the fusion), ``modality_dropout`` (the rate
            of a :class:`~mmtutorial.fusion.ModalityDropout` on the inputs:
            during training that share of samples sees a black image or an
            all-padding caption), ``hidden_units``, ``dropout``,
            ``learning_rate`` (Adam) and ``compile`` (``False`` to skip it).
            ``fusion="late"`` gives each modality its own head and combines
            their class probabilities (:class:`~mmtutorial.fusion.LateFusion`;
            ``fusion_config={"mode": "mean"}`` to average them).
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
    opts = with_defaults(options, _DEFAULTS)

    image_shape = encoders.check_image_shape(image_shape)
    vocab_size = _checks.integer("vocab_size", vocab_size, minimum=2)
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=1)
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    modalities = _checked_modalities(opts["modalities"])
    fusion_config = opts["fusion_config"] or {}
    if not isinstance(fusion_config, dict):
        raise ValueError(f"fusion_config must be a dict; received {fusion_config!r}")
    fusion_layer = _fusion_of_inputs(fusion, fusion_config) if len(modalities) > 1 else None
    rate = _checks.positive("learning_rate", opts["learning_rate"])
    tokens = fusion_layer is not None and _input_rank(fusion_layer) == 3
    pooling = _image_pooling(
        opts["image_pooling"], "image_pooling" in options, fusion_layer, tokens
    )
    if pooling == "tokens" and not tokens and "image" in modalities:
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
        modality_dropout=opts["modality_dropout"],
        hidden_units=opts["hidden_units"],
        dropout=opts["dropout"],
        learning_rate=rate,
        compile=opts["compile"],
    )


def _check_encoders(encoders_by_key):
    """``encoders_by_key`` is a non-empty dict of name -> single-input ``keras.Model``."""
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


def _check_encoder_outputs(encoders_by_key, fusion_layer):
    """Every encoder outputs what the fusion takes: vectors, or token sequences (``input_rank`` 3)."""
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


def _fused_head(features, keys, fusion_layer, num_classes, hidden_units, dropout):
    """Class probabilities from the encoders' ``features``: fusion then head, or a head per modality."""
    if getattr(fusion_layer, "fuses_predictions", False):
        # Late fusion: a head per modality, then the rule that merges their probabilities.
        predictions = [
            heads.classification_head(
                num_classes, hidden_units=hidden_units, dropout=dropout, name=f"{key}_head"
            )(x)
            for key, x in zip(keys, features)
        ]
        return fusion_layer(predictions)
    fused = fusion_layer(features) if fusion_layer is not None else features[0]
    head = heads.classification_head(num_classes, hidden_units=hidden_units, dropout=dropout)
    return head(fused)


def assemble_classifier(
    encoders_by_key: dict,
    num_classes: int,
    fusion="concat",
    *,
    fusion_config: dict | None = None,
    modality_dropout: float = 0.0,
    absent: dict | None = None,
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

    Longer than 80 lines because of this documentation: the code is 53 lines.

    Args:
        encoders_by_key: modality name -> encoder model (its input shape and
            dtype become the model's input for that key).
        num_classes: number of classes (>= 2).
        fusion: a registered fusion name or layer; ignored for one encoder.
        fusion_config: keyword arguments for the fusion.
        modality_dropout: the rate of a :class:`~mmtutorial.fusion.ModalityDropout`
            applied to the model's inputs (0 for none; needs two or more
            encoders): during training that share of samples loses one
            modality, replaced by its absent value.
        absent: key -> the value that stands for that modality when it is
            missing (a constant that broadcasts to one sample); zeros for the
            keys not given. :class:`~mmtutorial.fusion.ModalityDropout` and
            ``mmtutorial.train.predict(..., missing=...)`` both use it.
        hidden_units, dropout: the settings of the head (of each head, for a
            fusion that combines predictions, such as ``"late"``).
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
    _check_encoders(encoders_by_key)
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    _checks.positive("learning_rate", learning_rate)
    modality_dropout = _checks.fraction("modality_dropout", modality_dropout)
    if modality_dropout and len(encoders_by_key) < 2:
        raise ValueError(
            f"modality_dropout={modality_dropout} needs two or more modalities to drop one of; "
            f"received only {list(encoders_by_key)}"
        )
    if absent is not None and (not isinstance(absent, dict) or set(absent) - set(encoders_by_key)):
        raise ValueError(
            f"absent must be a dict whose keys are among {list(encoders_by_key)}; received {absent!r}"
        )
    fusion_layer = None
    if len(encoders_by_key) > 1:
        fusion_layer = _fusion_of_inputs(fusion, fusion_config or {})
    _check_encoder_outputs(encoders_by_key, fusion_layer)

    inputs = {}
    for key, encoder in encoders_by_key.items():
        spec = encoder.inputs[0]
        inputs[key] = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=key)
    given = list(inputs.values())
    if modality_dropout or absent:
        keys = list(inputs)
        given = fusion_module.ModalityDropout(
            modality_dropout,
            fill_values=[(absent or {}).get(key) for key in keys],
            names=keys,
            name="modality_dropout",
        )(given)
    features = [encoder(x) for encoder, x in zip(encoders_by_key.values(), given)]
    outputs = _fused_head(features, list(inputs), fusion_layer, num_classes, hidden_units, dropout)
    if name is None:
        name = "_".join(inputs) + ("_" + fusion_layer.fusion_name if fusion_layer else "_only")
    model = keras.Model(inputs=inputs, outputs=outputs, name=name)
    if compile:
        compile_classifier(model, learning_rate)
    return model


@accepts_strategy
def build_vilt_classifier(
    image_shape,
    vocab_size: int,
    sequence_length: int,
    num_classes: int,
    patch_size: int = 4,
    units: int = 64,
    layers: int = 2,
    num_heads: int = 4,
    mlp_units: int | None = None,
    dropout: float = 0.0,
    hidden_units: int = 128,
    head_dropout: float = 0.5,
    learning_rate: float = 1e-3,
    compile: bool = True,
) -> keras.Model:
    """Build (and compile) a ViLT-style classifier: one transformer over patches and words.

    No CNN and no LSTM: the image is cut into patches, each projected to a
    token with its position (:class:`~mmtutorial.transformer.PatchEmbedding`);
    each word id becomes a learned vector plus its position
    (``keras.layers.Embedding(mask_zero=True)`` and
    :class:`~mmtutorial.transformer.PositionEmbedding`, padding masked). Both
    sequences, each with its modality-type vector and behind a class token,
    go through one :class:`~mmtutorial.fusion.TransformerFusion`, whose class
    token feeds the classification head. The model takes and returns what
    :func:`build_classifier`'s models do, and is compiled the same way.

    Longer than 80 lines because of this documentation: the code is 41 lines.

    Args:
        image_shape: ``(height, width, channels)`` of the float32 images;
            ``patch_size`` must divide height and width.
        vocab_size: number of token ids including 0 (padding), >= 2.
        sequence_length: length of the int32 token-id sequences, >= 1.
        num_classes: number of classes, >= 2.
        patch_size: the side of each square patch, in pixels.
        units: the width of every token and of the class token's output.
        layers: the number of transformer blocks.
        num_heads: attention heads per block; must divide ``units``.
        mlp_units: the blocks' MLP width (default ``4 * units``).
        dropout: the blocks' dropout rate while training.
        hidden_units, head_dropout: the classification head's settings.
        learning_rate: Adam's learning rate.
        compile: compile with the sparse categorical cross-entropy and accuracy.
        strategy: a ``tf.distribute.Strategy`` to build under (TensorFlow backend).

    Returns:
        A ``keras.Model`` taking ``{"image": ..., "text": ...}`` and returning
        class probabilities ``(batch, num_classes)``.

    Raises:
        ValueError: naming the argument and the value received.

    Example:
        >>> model = build_vilt_classifier((32, 32, 3), 40, 12, 21, patch_size=8, units=16, layers=1)
        >>> model.get_layer("patch_embedding").output.shape  # a 4 x 4 grid of patches
        (None, 16, 16)
        >>> model.output_shape
        (None, 21)
    """
    image_shape = encoders.check_image_shape(image_shape)
    vocab_size = _checks.integer("vocab_size", vocab_size, minimum=2)
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=1)
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    rate = _checks.positive("learning_rate", learning_rate)
    fusion_layer = fusion_module.TransformerFusion(
        units=units,
        layers=layers,
        num_heads=num_heads,
        mlp_units=mlp_units,
        dropout=dropout,
        name="transformer_fusion",
    )
    head = heads.classification_head(num_classes, hidden_units=hidden_units, dropout=head_dropout)

    image = keras.Input(shape=image_shape, name="image")
    text = keras.Input(shape=(sequence_length,), dtype="int32", name="text")
    patches = transformer.PatchEmbedding(patch_size, units, name="patch_embedding")(image)
    words = keras.layers.Embedding(vocab_size, units, mask_zero=True, name="word_embedding")(text)
    words = transformer.PositionEmbedding(sequence_length, name="word_positions")(words)
    outputs = head(fusion_layer([patches, words]))
    model = keras.Model({"image": image, "text": text}, outputs, name="image_text_vilt")
    if _checks.boolean("compile", compile):
        compile_classifier(model, rate)
    return model
