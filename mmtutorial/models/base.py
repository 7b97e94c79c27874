"""What every model builder shares: options over defaults, a strategy, compiling, inspecting.

The task modules of :mod:`mmtutorial.models` (classification, retrieval,
segmentation, captioning, relational) build their models with these helpers,
and :func:`model_spec` tells :mod:`mmtutorial.train` (and the
:class:`~mmtutorial.models.Segmenter`'s own checks) what a built model
expects of its inputs.
"""

from __future__ import annotations

import functools
import math

import keras

__all__ = ["input_keys", "model_spec", "parameter_counts"]


def with_defaults(options, defaults):
    """``options`` over ``defaults``; a misspelt option is an error, not ignored."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; valid options are {sorted(defaults)}")
    return {**defaults, **options}


def accepts_strategy(builder):
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


def compile_classifier(model, learning_rate):
    """Adam, the sparse categorical cross-entropy on integer labels, and accuracy; returns ``model``."""
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


def embedding_sizes(model):
    """The ``input_dim`` of every ``Embedding`` in ``model``, nested models (encoders) included."""
    sizes = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            sizes.append(layer.input_dim)
        elif isinstance(layer, keras.Model):  # a Sequential or functional encoder inside the model
            sizes.extend(embedding_sizes(layer))
    return sizes


def model_spec(model: keras.Model) -> dict:
    """What a model built by :mod:`mmtutorial.models` expects of its inputs.

    Returns a dict with ``keys`` (input names), ``inputs`` (name ->
    ``(shape_without_batch, dtype)``), ``image_shape``, ``sequence_length`` and
    ``vocab_size`` (``None`` where the model has no such input) and
    ``num_classes`` (the width of the output; ``None`` for a model with
    several outputs).
    """
    keys = input_keys(model)
    structure = model.input if isinstance(model.input, dict) else dict(zip(keys, model.inputs))
    spec = {
        "keys": keys,
        "inputs": {k: (tuple(t.shape[1:]), t.dtype) for k, t in structure.items()},
        "image_shape": None,
        "sequence_length": None,
        "vocab_size": None,
    }
    if "image" in structure:
        spec["image_shape"] = tuple(structure["image"].shape[1:])
    if "text" in structure:
        spec["sequence_length"] = structure["text"].shape[1]
        sizes = embedding_sizes(model)
        spec["vocab_size"] = max(sizes) if sizes else None
    output_shape = model.output_shape
    single = isinstance(output_shape, tuple) and all(
        d is None or isinstance(d, int) for d in output_shape
    )
    spec["num_classes"] = output_shape[-1] if single else None  # None: several outputs
    return spec


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
