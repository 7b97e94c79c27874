"""Models: encoders + fusion + head, assembled and compiled.

:func:`build_classifier` builds the source article's architecture with its
defects fixed, and the unimodal baselines the book compares it with. Every
model takes a dict of inputs (``"image"``, ``"text"``, or both) and outputs
class probabilities; it is trained with integer labels and the sparse
categorical cross-entropy, so no one-hot encoding is needed.

Captioners write text instead: :func:`build_captioner` (image tokens and a
causal transformer decoder), :func:`build_prefix_captioner` (a frozen
language model from :func:`build_caption_language_model` reading image
features as prefix tokens), and :func:`greedy_decode` and
:func:`beam_search`, which write with either.
"""

from __future__ import annotations

import functools
import math

import keras

from . import _checks, encoders, heads, transformer
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
    "modality_dropout": 0.0,
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

    A token-level fusion (one whose ``input_rank`` is 3: ``"cross_attention"``
    or ``"transformer"``) gets sequences instead of vectors: the image
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
        modality_dropout=opts["modality_dropout"],
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
    if getattr(fusion_layer, "fuses_predictions", False):
        # Late fusion: a head per modality, then the rule that merges their probabilities.
        predictions = [
            heads.classification_head(
                num_classes, hidden_units=hidden_units, dropout=dropout, name=f"{key}_head"
            )(x)
            for key, x in zip(inputs, features)
        ]
        outputs = fusion_layer(predictions)
    else:
        fused = fusion_layer(features) if fusion_layer is not None else features[0]
        head = heads.classification_head(num_classes, hidden_units=hidden_units, dropout=dropout)
        outputs = head(fused)
    if name is None:
        name = "_".join(inputs) + ("_" + fusion_layer.fusion_name if fusion_layer else "_only")
    model = keras.Model(inputs=inputs, outputs=outputs, name=name)
    if compile:
        _compile_classifier(model, learning_rate)
    return model


def _compile_classifier(model, learning_rate):
    """Adam, the sparse categorical cross-entropy on integer labels, and accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def input_keys(model: keras.Model) -> tuple:
    """The input names a model built here expects, e.g. ``("image", "text")``."""
    structure = model.input
    if isinstance(structure, dict):
        return tuple(structure)
    if not isinstance(structure, (list, tuple)):
        structure = [structure]
    return tuple(t.name for t in structure)


# -- a single-stream transformer from pixels and words ------------------------------


@_accepts_strategy
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
        _compile_classifier(model, rate)
    return model


__all__ += ["build_vilt_classifier"]


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


# -- a segmenter: one class per pixel, from the image and the text ---------------

_SEGMENTER_DEFAULTS = {
    "filters": (16, 32, 64),
    "embedding_dim": 32,
    "text_units": 32,
    "conditioned_strides": None,
    "fusion_config": None,
    "learning_rate": 3e-3,
    "decay_steps": None,
    "compile": True,
}

_SPATIAL_CHOICES = (None, "tile", "film", "cross_attention")


def _embedding_size(model):
    """The ``input_dim`` of the first ``Embedding`` in ``model`` (nested models included), or None."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            return layer.input_dim
        if isinstance(layer, keras.Model):
            found = _embedding_size(layer)
            if found is not None:
                return found
    return None


@keras.saving.register_keras_serializable(package="mmtutorial")
class Segmenter(keras.Model):
    """The model :func:`build_segmenter` returns: a functional model that checks what it is fed.

    It is an ordinary functional Keras model (it saves to ``.keras`` and
    loads back in safe mode like any other), whose ``fit``, ``evaluate`` and
    ``predict`` first check NumPy inputs and label maps with the package's
    messages: images of the wrong shape or outside [0, 1], token ids outside
    the vocabulary, label maps of the wrong shape (one-hot maps included) and
    class ids out of range. A :class:`~mmtutorial.data.segmentation.SegmentationSplit`
    may be passed as ``x`` (its label maps are then ``y``). A ``tf.data``
    dataset passes through unchecked.
    """

    def _spec(self):
        structure = self.input if isinstance(self.input, dict) else {}
        spec = {"keys": tuple(structure), "image_shape": None, "sequence_length": None}
        if "image" in structure:
            spec["image_shape"] = tuple(structure["image"].shape[1:])
        if "text" in structure:
            spec["sequence_length"] = structure["text"].shape[1]
        spec["vocab_size"] = _embedding_size(self) if "text" in structure else None
        spec["num_classes"] = self.output_shape[-1]
        return spec

    def _checked(self, x, y=None):
        from .data import check_features
        from .data.segmentation import SegmentationSplit, check_label_maps

        if isinstance(x, SegmentationSplit):
            x, y = x.features, (x.labels if y is None else y)
        if not isinstance(x, dict):
            return x, y  # a dataset or a generator: Keras reads it
        spec = self._spec()
        features = check_features(
            x,
            image_shape=spec["image_shape"],
            sequence_length=spec["sequence_length"],
            vocab_size=spec["vocab_size"],
            keys=spec["keys"],
        )
        if y is not None:
            y = check_label_maps(y, shape=spec["image_shape"][:2], num_classes=spec["num_classes"])
            sizes = {key: int(value.shape[0]) for key, value in features.items()}
            if len(set(sizes.values()) | {int(y.shape[0])}) > 1:
                raise ValueError(
                    f"the inputs and the label maps have different batch sizes: "
                    f"{ {**sizes, 'labels': int(y.shape[0])} }"
                )
        return features, y

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` after checking NumPy inputs and label maps."""
        x, y = self._checked(x, y)
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """``keras.Model.evaluate`` after checking NumPy inputs and label maps."""
        x, y = self._checked(x, y)
        return super().evaluate(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """Class probabilities ``(batch, height, width, num_classes)`` after checking the inputs."""
        x, _ = self._checked(x)
        return super().predict(x, **kwargs)

    def predict_labels(self, x, batch_size: int = 128):
        """The most probable class of every pixel, int32 ``(batch, height, width)``.

        Every batch the model sees has ``batch_size`` rows (the last one is
        filled up with copies of the last sample, whose answers are dropped),
        so the prediction step is traced once per model instead of once per
        new batch shape, which TensorFlow would otherwise warn about.
        """
        import numpy as np

        batch_size = _checks.integer("batch_size", batch_size, minimum=1)
        features, _ = self._checked(x)
        if not isinstance(features, dict):
            probabilities = self.predict(features, batch_size=batch_size, verbose=0)
            return np.argmax(probabilities, axis=-1).astype("int32")
        n = int(next(iter(features.values())).shape[0])
        size = batch_size
        fill = (-n) % size
        padded = {
            key: np.concatenate([np.asarray(v), np.repeat(np.asarray(v)[-1:], fill, axis=0)])
            for key, v in features.items()
        }
        probabilities = super().predict(padded, batch_size=size, verbose=0)[:n]
        return np.argmax(probabilities, axis=-1).astype("int32")


def _conv_block(x, filters, name):
    """Two 3 x 3 convolutions, each with batch normalisation and ReLU: the unit of every level."""
    for k in (1, 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{k}")(
            x
        )
        x = keras.layers.BatchNormalization(name=f"{name}_norm{k}")(x)
        x = keras.layers.ReLU(name=f"{name}_relu{k}")(x)
    return x


def build_segmenter(
    image_shape,
    vocab_size: int,
    sequence_length: int,
    num_classes: int,
    fusion=None,
    **options,
) -> Segmenter:
    """Build (and compile) a fully convolutional image (+ text) segmenter, U-Net style.

    The encoder is a stack of levels, each two 3 x 3 convolutions; a 2 x 2
    max pooling halves the resolution between levels, so with ``L`` levels
    the deepest feature map has stride ``2 ** (L - 1)``. The decoder climbs
    back: at each level it upsamples by 2 (a transposed convolution),
    concatenates the encoder's feature map of that resolution (the skip
    connection of Ronneberger et al., 2015) and applies two convolutions. A
    1 x 1 convolution and a softmax over the classes give every pixel its
    class probabilities. No layer is fully connected, so the network takes
    any image whose sides the stride divides and answers pixel by pixel.

    The text is encoded once (embedding + LSTM, padding masked) and
    conditions the feature map at every stride in ``conditioned_strides``
    (by default the bottleneck and the input of every decoder level), with
    the spatial fusion ``fusion`` (:mod:`mmtutorial.fusion.spatial`):

    * ``None``: no text; the model takes ``{"image"}`` only;
    * ``"tile"``: the caption's vector is concatenated with every position;
    * ``"film"``: the caption's vector scales and shifts every channel;
    * ``"cross_attention"``: every position attends over the words (the LSTM
      returns one vector per word).

    For a binary mask (referring segmentation) use ``num_classes=2``: class 1
    is the object, and the mask is ``argmax == 1``; this keeps one output
    form, one loss and one set of metrics for both tasks.

    Args:
        image_shape: ``(height, width, channels)`` of the float32 images in [0, 1];
            the stride must divide height and width.
        vocab_size: number of token ids including 0 (padding), >= 2.
        sequence_length: length of the int32 token-id sequences, >= 1.
        num_classes: classes per pixel, >= 2.
        fusion: ``None``, ``"tile"``, ``"film"`` or ``"cross_attention"``.
        **options: ``filters`` (per level, default ``(16, 32, 64)``),
            ``embedding_dim`` and ``text_units`` (32 each),
            ``conditioned_strides`` (a tuple of strides, default all of them),
            ``fusion_config`` (keyword arguments of the spatial fusion, e.g.
            ``{"units": 32, "num_heads": 2}``), ``learning_rate`` (Adam, 3e-3),
            ``decay_steps`` (if given, the rate follows a cosine from
            ``learning_rate`` down to 5% of it over that many steps) and
            ``compile``.

    Returns:
        A :class:`Segmenter` taking ``{"image": ..., "text": ...}`` (only
        ``"image"`` without a fusion) and returning ``(batch, height, width,
        num_classes)`` probabilities; compiled with the sparse categorical
        cross-entropy over pixels and pixel accuracy.

    Raises:
        ValueError: naming the argument and the value received.

    Example:
        >>> model = build_segmenter((32, 32, 1), vocab_size=20, sequence_length=8, num_classes=21,
        ...                         fusion="film")
        >>> model.output_shape
        (None, 32, 32, 21)
    """
    from .fusion import spatial

    opts = _with_defaults(options, _SEGMENTER_DEFAULTS)
    image_shape = encoders.check_image_shape(image_shape)
    vocab_size = _checks.integer("vocab_size", vocab_size, minimum=2)
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=1)
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    if fusion is not None and (
        not isinstance(fusion, str) or fusion not in spatial.available_spatial()
    ):
        raise ValueError(
            f"fusion {fusion!r} has no spatial form (a version that conditions a feature map), so "
            f"build_segmenter cannot use it; valid values are {list(_SPATIAL_CHOICES)}"
        )
    filters = opts["filters"]
    if (
        isinstance(filters, (str, bytes))
        or not isinstance(filters, (list, tuple))
        or len(filters) < 2
        or not all(_checks.is_integer(f) and f >= 1 for f in filters)
    ):
        raise ValueError(
            f"filters must be a list of at least 2 positive integers, one per level; received {filters!r}"
        )
    filters = tuple(int(f) for f in filters)
    levels = len(filters)
    stride = 2 ** (levels - 1)
    height, width = image_shape[:2]
    if height % stride or width % stride:
        raise ValueError(
            f"image_shape {image_shape}: height and width must be divisible by {stride}, the "
            f"stride of the {levels - 1} poolings of filters={filters}; received "
            f"{height} x {width} (pad or crop the images, or use fewer levels)"
        )
    # the bottleneck (stride 2 ** (L - 1)) and the input of every decoder level
    decoder_strides = tuple(2**i for i in range(levels - 1, -1, -1))
    chosen = opts["conditioned_strides"]
    if chosen is None:
        chosen = decoder_strides
    if (
        isinstance(chosen, (str, bytes))
        or not isinstance(chosen, (list, tuple))
        or not chosen
        or not all(_checks.is_integer(s) and s in decoder_strides for s in chosen)
    ):
        raise ValueError(
            f"conditioned_strides must be a non-empty tuple of strides from {list(decoder_strides)}; "
            f"received {chosen!r}"
        )
    chosen = {int(s) for s in chosen}
    fusion_config = opts["fusion_config"] or {}
    if not isinstance(fusion_config, dict):
        raise ValueError(f"fusion_config must be a dict; received {fusion_config!r}")
    if fusion is None and fusion_config:
        raise ValueError(f"fusion_config {fusion_config!r} needs a fusion; received fusion=None")
    rate = _checks.positive("learning_rate", opts["learning_rate"])
    if opts["decay_steps"] is not None:
        steps = _checks.integer("decay_steps", opts["decay_steps"], minimum=1)
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=0.05)
    if fusion is not None:
        spatial.get_spatial(fusion, **fusion_config)  # checks the config once, with its message

    inputs = {"image": keras.Input(shape=image_shape, dtype="float32", name="image")}
    text = None
    if fusion is not None:
        inputs["text"] = keras.Input(shape=(sequence_length,), dtype="int32", name="text")
        text = encoders.text_encoder(
            vocab_size,
            sequence_length,
            embedding_dim=opts["embedding_dim"],
            units=opts["text_units"],
            return_sequences=fusion == "cross_attention",
        )(inputs["text"])

    def condition(x, at):
        if fusion is None or at not in chosen:
            return x
        layer = spatial.get_spatial(fusion, **fusion_config, name=f"{fusion}_stride{at}")
        return layer([x, text])

    x, skips = inputs["image"], []
    for level, width_ in enumerate(filters):
        x = _conv_block(x, width_, f"encoder{level}")
        if level < levels - 1:
            skips.append(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = condition(x, stride)
    for level in range(levels - 2, -1, -1):
        x = keras.layers.Conv2DTranspose(filters[level], 2, strides=2, name=f"up{level}")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = condition(x, 2**level)
        x = _conv_block(x, filters[level], f"decoder{level}")
    outputs = keras.layers.Conv2D(num_classes, 1, activation="softmax", name="classes")(x)
    name = "segmenter_" + (fusion or "image_only")
    model = Segmenter(inputs=inputs, outputs=outputs, name=name)
    if opts["compile"]:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


__all__ += ["Segmenter", "build_segmenter"]


# -- a captioner: image tokens and a causal transformer decoder that writes about them --

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
    from .data.captioning import PAD_ID

    cross_entropy = keras.losses.SparseCategoricalCrossentropy
    return cross_entropy(from_logits=True, ignore_class=PAD_ID)


@_accepts_strategy
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


__all__ += ["build_captioner", "caption_loss"]


# -- writing captions: greedy decoding and beam search --------------------------------


def _captioner_parts(model, images, max_length, owner):
    """``(decoder, image tokens, max_length)`` for decoding ``images`` with ``model``, checked."""
    from keras import ops

    names = {layer.name for layer in getattr(model, "layers", ())}
    if not isinstance(model, keras.Model) or not {"image_encoder", "decoder"} <= names:
        raise ValueError(
            f"{owner} expects a model from build_captioner (with the nested models "
            f"'image_encoder' and 'decoder'); received {model!r}"
        )
    encoder, decoder = model.get_layer("image_encoder"), model.get_layer("decoder")
    if len(decoder.inputs) != 2:
        raise ValueError(
            f"{owner} expects a captioner whose decoder reads image tokens; received a decoder "
            f"with {len(decoder.inputs)} input(s)"
        )
    expected = tuple(encoder.inputs[0].shape[1:])
    images = ops.convert_to_tensor(images, dtype="float32")
    if tuple(images.shape[1:]) != expected or len(images.shape) != 4:
        raise ValueError(
            f"{owner}: images must have shape (batch, *{expected}); received shape "
            f"{tuple(images.shape)}"
        )
    length = decoder.inputs[0].shape[1]
    max_length = _checks.integer("max_length", max_length, minimum=1, maximum=length, owner=owner)
    return decoder, encoder(images, training=False), max_length


def _allowed_next(vocab_size):
    """Boolean ``(vocab_size,)``: the ids a decoder may write (neither padding nor start)."""
    from keras import ops

    from .data.captioning import PAD_ID, START_ID

    ids = ops.arange(vocab_size)
    return ops.logical_and(ops.not_equal(ids, PAD_ID), ops.not_equal(ids, START_ID))


def _next_log_probabilities(decoder, written, context, step):
    """``log p(next id | image, ids so far)`` at position ``step``, ``(rows, vocab_size)``.

    ``written`` holds the decoder's input ids, :data:`START_ID` then the ids
    written so far, padding after ``step``; the causal mask makes position
    ``step`` see only what is written. The softmax is over the whole
    vocabulary, so the scores are the model's own log-probabilities.
    """
    from keras import ops

    logits = decoder([written, context], training=False)[:, step, :]
    return ops.log_softmax(ops.cast(logits, "float32"), axis=-1)


def _start_inputs(rows, length):
    from keras import ops

    from .data.captioning import PAD_ID, START_ID

    first = ops.full((rows, 1), START_ID, dtype="int32")
    return ops.concatenate([first, ops.full((rows, length - 1), PAD_ID, dtype="int32")], axis=1)


def greedy_decode(model, images, max_length: int):
    """Write one caption per image, taking the most probable next id at every step.

    At step ``t`` the decoder reads :data:`~mmtutorial.data.captioning.START_ID`
    and the ids written so far and writes ``argmax_w log p(w | image, ids)``
    over every id but padding and start. A caption stops at
    :data:`~mmtutorial.data.captioning.END_ID` (which is kept), or after
    ``max_length`` ids; padding fills the rest. Every operation is a
    ``keras.ops`` call on the whole batch, and ties go to the lowest id, so
    the result is deterministic.

    Args:
        model: a captioner from :func:`build_captioner`.
        images: float32 ``(batch, *image_shape)``.
        max_length: the most ids to write, end id included (1 to the
            model's ``sequence_length``).

    Returns:
        int32 NumPy ``(batch, max_length)``: the written ids, for
        :meth:`~mmtutorial.data.captioning.SceneCaptionTask.decode`.

    Example:
        >>> import numpy as np
        >>> model = build_captioner((16, 16, 3), vocab_size=6, sequence_length=4, units=8,
        ...                         layers=1, num_heads=2, image_filters=(4,))
        >>> greedy_decode(model, np.zeros((2, 16, 16, 3), "float32"), max_length=3).shape
        (2, 3)
    """
    from keras import ops

    from .data.captioning import END_ID, PAD_ID

    decoder, context, max_length = _captioner_parts(model, images, max_length, "greedy_decode")
    rows, length = ops.shape(context)[0], decoder.inputs[0].shape[1]
    allowed = _allowed_next(decoder.output_shape[-1])[None, :]
    written = _start_inputs(rows, length)
    done = ops.zeros((rows,), dtype="bool")
    ids = []
    for step in range(max_length):
        scores = _next_log_probabilities(decoder, written, context, step)
        scores = ops.where(allowed, scores, float("-inf"))
        token = ops.where(done, PAD_ID, ops.cast(ops.argmax(scores, axis=-1), "int32"))
        ids.append(token)
        done = ops.logical_or(done, ops.equal(token, END_ID))
        if step + 1 < length:
            written = ops.slice_update(written, (0, step + 1), token[:, None])
    return ops.convert_to_numpy(ops.stack(ids, axis=1)).astype("int32")


def beam_search(model, images, beam_width: int, max_length: int, *, return_all: bool = False):
    """Write the caption of each image with beam search over total log-probability.

    Each image keeps ``beam_width`` partial captions (hypotheses). At every
    step each live hypothesis is extended by every id but padding and start,
    scored by the sum of the model's log-probabilities of its ids, and the
    ``beam_width`` best extensions over all hypotheses survive. A hypothesis
    that wrote :data:`~mmtutorial.data.captioning.END_ID` is finished: it is
    carried on unchanged (padding, at no cost) and competes with the live
    ones. After ``max_length`` steps the best hypothesis wins.

    Length: scores are *not* normalised by length. Every extra id costs a
    negative log-probability, so of two captions the model finds equally
    likely word by word, the shorter wins; on the book's scenes the number
    of words follows from the picture, so this is what we want. Ties go to
    the hypothesis found first, so the result is deterministic. With
    ``beam_width=1`` this is :func:`greedy_decode`; with a beam as wide as
    the number of possible sequences it is an exhaustive search.

    Args:
        model: a captioner from :func:`build_captioner`.
        images: float32 ``(batch, *image_shape)``.
        beam_width: hypotheses kept per image (>= 1).
        max_length: the most ids to write, end id included (1 to the
            model's ``sequence_length``).
        return_all: also return every surviving hypothesis and its score.

    Returns:
        int32 NumPy ``(batch, max_length)``: the best hypothesis per image,
        ids as :func:`greedy_decode` returns them. With ``return_all=True``,
        ``(ids, scores)``: int32 ``(batch, beam_width, max_length)`` and
        float32 ``(batch, beam_width)``, best first; a slot that no real
        hypothesis fills (a beam wider than the sequences there are) scores
        ``-inf``.

    Example:
        >>> import numpy as np
        >>> model = build_captioner((16, 16, 3), vocab_size=6, sequence_length=4, units=8,
        ...                         layers=1, num_heads=2, image_filters=(4,))
        >>> images = np.zeros((2, 16, 16, 3), "float32")
        >>> bool((beam_search(model, images, 1, 3) == greedy_decode(model, images, 3)).all())
        True
    """
    from keras import ops

    from .data.captioning import END_ID, PAD_ID

    owner = "beam_search"
    beam_width = _checks.integer("beam_width", beam_width, minimum=1, owner=owner)
    _checks.boolean("return_all", return_all, owner=owner)
    decoder, context, max_length = _captioner_parts(model, images, max_length, owner)
    batch, length = ops.shape(context)[0], decoder.inputs[0].shape[1]
    vocab_size = decoder.output_shape[-1]
    rows = batch * beam_width
    context = ops.repeat(context, beam_width, axis=0)  # row b * beam_width + k: beam k of image b
    allowed = _allowed_next(vocab_size)[None, :]
    # A finished hypothesis goes on with padding only, which costs nothing.
    finished = ops.where(ops.equal(ops.arange(vocab_size), PAD_ID), 0.0, float("-inf"))[None, :]
    written = _start_inputs(rows, length)
    ids = ops.zeros((rows, max_length), dtype="int32")
    done = ops.zeros((rows,), dtype="bool")
    # Only the first beam is alive at the start, so that no hypothesis is counted twice.
    first = ops.where(ops.equal(ops.arange(beam_width), 0), 0.0, float("-inf"))
    scores = ops.tile(first[None, :], (batch, 1))
    base = ops.repeat(ops.arange(batch, dtype="int32") * beam_width, beam_width)
    for step in range(max_length):
        step_scores = _next_log_probabilities(decoder, written, context, step)
        step_scores = ops.where(allowed, step_scores, float("-inf"))
        step_scores = ops.where(done[:, None], finished, step_scores)
        candidates = ops.reshape(scores, (rows, 1)) + step_scores
        scores, best = ops.top_k(
            ops.reshape(candidates, (batch, beam_width * vocab_size)), beam_width
        )
        best = ops.reshape(ops.cast(best, "int32"), (rows,))
        parent = base + best // vocab_size
        token = best % vocab_size
        written, ids, done = (ops.take(x, parent, axis=0) for x in (written, ids, done))
        ids = ops.slice_update(ids, (0, step), token[:, None])
        done = ops.logical_or(done, ops.equal(token, END_ID))
        if step + 1 < length:
            written = ops.slice_update(written, (0, step + 1), token[:, None])
    ids = ops.convert_to_numpy(ops.reshape(ids, (batch, beam_width, max_length))).astype("int32")
    if return_all:
        return ids, ops.convert_to_numpy(scores).astype("float32")
    return ids[:, 0]


__all__ += ["greedy_decode", "beam_search"]


# -- the LLaVA recipe in miniature: a frozen language model, images as prefix tokens ---


@_accepts_strategy
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
    from .data.base import integer_with_reason
    from .data.captioning import FIRST_WORD_ID

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


@_accepts_strategy
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


def parameter_counts(model: keras.Model) -> dict:
    """``{"trainable", "frozen", "total"}``: how many numbers training may change, and how many there are.

    Counted from the model's weights (each variable once, however many
    layers share it).

    Example:
        >>> parameter_counts(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
        {'trainable': 8, 'frozen': 0, 'total': 8}
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received {model!r}")

    def count(weights):
        unique = {id(w): w for w in weights}.values()
        return int(sum(math.prod(w.shape) for w in unique))

    trainable = count(model.trainable_weights)
    frozen = count(model.non_trainable_weights)
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


__all__ += ["build_caption_language_model", "build_prefix_captioner", "parameter_counts"]
