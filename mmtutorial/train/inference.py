"""Inference: class probabilities and accuracy (with absent modalities), and embeddings."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import _checks
from .. import data as data_module
from ..fusion import ModalityDropout
from ..models.base import embedding_sizes, input_keys, model_spec
from .pipeline import _count, _predict, _require_samples, _unpack, make_dataset


def absent_value(model: keras.Model, key: str) -> np.ndarray:
    """What ``model`` takes for input ``key`` when that modality is missing, for one sample.

    A model built with ``modality_dropout`` or ``absent``
    (:func:`mmtutorial.models.assemble_classifier`) learnt it from its
    :class:`~mmtutorial.fusion.ModalityDropout` layer; for any other model it
    is zeros: a black image, an all-padding caption (token id 0), a zero
    feature vector.

    Returns:
        An array of the input's shape (without the batch axis) and dtype.
    """
    spec = model_spec(model)
    if key not in spec["inputs"]:
        raise ValueError(f"the model has no input {key!r}; its inputs are {list(spec['keys'])}")
    shape, dtype = spec["inputs"][key]
    for layer in model.layers:
        if isinstance(layer, ModalityDropout) and layer.names and key in layer.names:
            value = layer.absent_value(layer.names.index(key))
            if value is not None:
                return np.broadcast_to(value, shape).astype(dtype)
    return np.zeros(shape, dtype)


def _with_missing(model, features, missing):
    """``features`` with the inputs named in ``missing`` replaced by their absent value."""
    if missing is None or (isinstance(missing, (tuple, list)) and not missing):
        return features
    names = (missing,) if isinstance(missing, str) else missing
    keys = input_keys(model)
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"missing must be an input name or a tuple of them, from {list(keys)}; "
            f"received {missing!r}"
        )
    unknown = [n for n in names if n not in keys]
    if unknown:
        raise ValueError(
            f"missing names {unknown}, which the model does not take; its inputs are {list(keys)}"
        )
    present = [k for k in keys if k not in names]
    if not present:
        raise ValueError(
            f"missing={missing!r} leaves the model no input at all; name at most "
            f"{len(keys) - 1} of {list(keys)}"
        )
    if not isinstance(features, dict) or present[0] not in features:
        raise ValueError(
            f"features must be a dict that holds the inputs that are not missing, {present}; "
            f"received {type(features).__name__}"
            + (f" with keys {sorted(features)}" if isinstance(features, dict) else "")
        )
    count = len(features[present[0]])
    replaced = dict(features)
    for name in names:
        value = absent_value(model, name)
        replaced[name] = np.broadcast_to(value, (count,) + value.shape).copy()
    return replaced


def predict(model: keras.Model, features, *, batch_size: int = 256, missing=None) -> np.ndarray:
    """Class probabilities ``(n, num_classes)`` for checked inputs.

    ``features`` is a :class:`~mmtutorial.data.Split` of any task, a
    ``(features, labels)`` pair or a features dict; it may hold more
    modalities than the model uses (a split's features suit every model). A
    model with a dict of named outputs (for example one that extracts several
    kinds of features at once) gives a dict of arrays with the same names.

    ``missing`` names inputs that are absent, for example ``("text",)`` for
    images without captions: each is replaced by :func:`absent_value`, what
    the model was trained to see for a missing modality (the features may
    then leave that key out). Nothing is replaced unless it is named here.
    """
    given = features
    features, _ = _unpack(features)
    features = _with_missing(model, features, missing)
    _require_samples(_count(features), "features", given, "predict")
    dataset = make_dataset(features, batch_size=batch_size, model=model)
    return _predict(model, dataset)


def evaluate(model: keras.Model, split, *, batch_size: int = 256, missing=None) -> float:
    """Accuracy of ``model`` on a :class:`~mmtutorial.data.Split` of any task or ``(features, labels)``.

    ``missing`` works as in :func:`predict`.
    """
    features, labels = _unpack(split)
    if labels is None:
        raise ValueError("evaluate needs labels: pass a Split or a (features, labels) pair")
    features = _with_missing(model, features, missing)
    _require_samples(_count(features), "split", split, "evaluate")
    dataset = make_dataset(features, labels, batch_size=batch_size, model=model)
    probabilities = _predict(model, dataset)
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))


# -- retrieval: embeddings of a collection, and how well queries find their match ---


def _tower(model, key):
    """The ``"<key>_embedder"`` of a dual encoder, or ``model`` if it is that tower."""
    name = f"{key}_embedder"
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a dual encoder or its {name}; received {type(model).__name__}")
    if model.name == name:
        return model
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has no layer {name!r}; pass a model from "
            "mmtutorial.models.build_dual_encoder or one of its towers"
        ) from None


def _embed(tower, checked, batch_size, name, owner):
    batch_size = _checks.integer("batch_size", batch_size, minimum=1)
    _require_samples(int(checked.shape[0]), name, checked, owner)
    dataset = tf.data.Dataset.from_tensor_slices(checked).batch(batch_size)
    return _predict(tower, dataset)


def embed_images(model: keras.Model, images, *, batch_size: int = 256) -> np.ndarray:
    """Unit-length embeddings ``(n, embedding_dim)`` of checked images.

    ``model`` is a dual encoder from :func:`mmtutorial.models.build_dual_encoder`
    or its ``"image_embedder"``.
    """
    tower = _tower(model, "image")
    checked = data_module.check_features(
        {"image": images}, image_shape=tuple(tower.inputs[0].shape[1:]), keys=("image",)
    )
    return _embed(tower, checked["image"], batch_size, "images", "embed_images")


def embed_texts(model: keras.Model, tokens, *, batch_size: int = 256) -> np.ndarray:
    """Unit-length embeddings ``(n, embedding_dim)`` of checked token-id sequences.

    ``model`` is a dual encoder from :func:`mmtutorial.models.build_dual_encoder`
    or its ``"text_embedder"``.
    """
    tower = _tower(model, "text")
    sizes = embedding_sizes(tower)
    checked = data_module.check_features(
        {"text": tokens},
        sequence_length=tower.inputs[0].shape[1],
        vocab_size=max(sizes) if sizes else None,
        keys=("text",),
    )
    return _embed(tower, checked["text"], batch_size, "tokens", "embed_texts")
