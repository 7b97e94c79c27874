"""Seeding, quiet prediction, and checked ``tf.data`` pipelines: what fitting and inference share.

Every batch of inputs is checked against the model before anything is built
(:func:`mmtutorial.data.check_features`), so a mistake meets a message that
names it instead of an error from deep inside TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from .. import _checks
from .. import data as data_module
from ..models.base import model_spec

#: Set to ``1`` by the book's build and the test suite (the Makefile, tests/conftest.py):
#: every training then runs silently, so no progress output reaches the pages.
QUIET_VARIABLE = "MMTUTORIAL_QUIET"


def progress_verbosity() -> int:
    """The Keras ``verbose`` for trainings a reader runs: the one place that decides it.

    ``2`` (one line per epoch: its loss and metrics) when the code runs in
    IPython: a Jupyter kernel (JupyterLab, Colab, Binder), so a reader sees a long
    training advance; ``0`` when the environment variable ``MMTUTORIAL_QUIET``
    is set to anything but ``""`` or ``"0"`` (the book's build and the tests
    set it, so the pages stay free of progress output) and in plain scripts.
    :func:`fit` uses it unless given ``verbose``; chapters that call
    ``model.fit`` themselves pass ``verbose=mt.train.progress_verbosity()``.

    >>> progress_verbosity()  # in a plain Python process, or under MMTUTORIAL_QUIET=1
    0
    """
    if os.environ.get(QUIET_VARIABLE, "") not in ("", "0"):
        return 0
    ipython = sys.modules.get("IPython")  # imported by every Jupyter kernel, Colab's included
    return 2 if ipython is not None and ipython.get_ipython() is not None else 0


@contextlib.contextmanager
def quiet_retracing():
    """Within the block, TensorFlow logs errors only: no retracing warning.

    A notebook that builds several models, or predicts on a final partial
    batch, traces the prediction step more than once by design; TensorFlow's
    warning about it would only be noise on the page.
    """
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def _predict(model, dataset):
    """``model.predict`` without TensorFlow's retracing warning (:func:`quiet_retracing`)."""
    with quiet_retracing():
        outputs = model.predict(dataset, verbose=0)
    if isinstance(outputs, dict):  # a model with named outputs, such as a feature extractor
        return {name: np.asarray(value) for name, value in outputs.items()}
    return np.asarray(outputs)


def set_seed(seed: int) -> None:
    """Make runs repeatable: seed Python, NumPy and TensorFlow, and ask TF for
    deterministic kernels.

    With the same seed, the same data and the same model code, two fits end
    with bit-identical weights on the same machine.
    """
    seed = _checks.integer("seed", seed, minimum=0)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _check_for(model, features, labels=None):
    """Check ``features`` (and ``labels``) against what ``model`` expects."""
    spec = model_spec(model)
    return data_module.check_features(
        features,
        image_shape=spec["image_shape"],
        sequence_length=spec["sequence_length"],
        vocab_size=spec["vocab_size"],
        keys=spec["keys"],
        labels=labels,
        num_classes=spec["num_classes"],
        input_specs=spec["inputs"],
    )


def _unpack(split):
    """``(features, labels)`` from a :class:`~mmtutorial.data.Split` of any task, a
    ``(features, labels)`` pair, or a features dict (labels ``None``)."""
    if isinstance(split, data_module.Split):
        return split.features, split.labels
    if isinstance(split, (tuple, list)) and len(split) == 2:
        return split[0], split[1]
    if isinstance(split, dict):
        return split, None
    raise ValueError(
        "expected a Split, a (features, labels) pair or a features dict; "
        f"received {type(split).__name__}"
    )


def _require_samples(count, name, given, owner):
    """A ``ValueError`` naming the caller's argument ``name`` when it holds no samples.

    Keras would otherwise meet an empty dataset deep in ``predict`` (an
    ``UnboundLocalError`` about ``batch_outputs``).
    """
    if count == 0:
        what = type(given).__name__
        raise ValueError(
            f"{owner}: {name} holds no samples (received a {what} with 0 samples); "
            f"{owner} needs at least one"
        )


def _count(features):
    """The number of samples in a features dict (``None`` for anything else)."""
    if not isinstance(features, dict) or not features:
        return None
    return len(next(iter(features.values())))


def make_dataset(
    features,
    labels=None,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    model: keras.Model | None = None,
) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data.Dataset`` of checked inputs.

    With ``model`` the features are checked against what the model expects
    and reduced to its inputs (a text-only model gets only ``"text"``).

    Args:
        features: dict with ``"image"`` and/or ``"text"`` arrays.
        labels: optional integer labels.
        batch_size: samples per batch (>= 1).
        shuffle: reshuffle every epoch, reproducibly from ``seed``.
        seed: the shuffling seed.
        model: optional model to check the inputs against.

    Returns:
        A dataset of ``features`` dicts, or ``(features, labels)`` pairs.
    """
    batch_size = _checks.integer("batch_size", batch_size, minimum=1)
    if model is not None:
        checked = _check_for(model, features, labels)
    else:
        if isinstance(features, dict):
            keys = tuple(features)
        else:
            keys = ("image", "text")
        checked = data_module.check_features(
            features,
            keys=keys,
            labels=labels,
        )
    if labels is None:
        elements = checked
    else:
        elements = (checked, np.asarray(labels, dtype="int32"))
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        size = int(next(iter(checked.values())).shape[0])
        dataset = dataset.shuffle(
            size,
            seed=seed,
            reshuffle_each_iteration=True,
        )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _epoch_batches(checked, labels, *, batch_size, seed, first_epoch, epochs):
    """Batches for epochs ``first_epoch .. epochs - 1``, each in its own fixed order.

    Epoch ``e`` visits the samples in the order ``default_rng([seed, e])``
    draws, whatever happened before it, so a run resumed at epoch ``e`` sees
    exactly the batches an uninterrupted run would have seen.
    """
    size = int(labels.shape[0])
    orders = np.stack(
        [
            np.random.default_rng([seed, epoch]).permutation(size)
            for epoch in range(first_epoch, epochs)
        ]
    ).astype("int64")
    tensors = {key: tf.constant(value) for key, value in checked.items()}
    targets = tf.constant(labels)

    def gather(indices):
        return {key: tf.gather(value, indices) for key, value in tensors.items()}, tf.gather(
            targets, indices
        )

    batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    )
    return batches.map(gather).prefetch(tf.data.AUTOTUNE), -(-size // batch_size)
