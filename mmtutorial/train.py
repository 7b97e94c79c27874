"""Training: seeding, checked ``tf.data`` pipelines, fitting and evaluation.

The helpers here check every batch of inputs against the model before
anything is built (:func:`mmtutorial.data.check_features`), so a mistake meets
a message that names it instead of an error from deep inside TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from . import _checks
from . import data as data_module
from .fusion import ModalityDropout

# Re-exported: their home is mmtutorial.metrics, and chapters and readers call them from here.
from .metrics import f_scores, match_ranks, recall_at_k

# model_spec lives with the models, whose segmenter checks its inputs with it too.
from .models.base import embedding_sizes, input_keys, model_spec

__all__ = [
    "set_seed",
    "model_spec",
    "make_dataset",
    "fit",
    "predict",
    "evaluate",
    "absent_value",
    "EpochTimer",
    "progress_verbosity",
]

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


def _check_strategy(model, strategy, batch_size, size):
    """``strategy`` built ``model`` and splits every batch of ``size`` samples evenly over its replicas."""
    if strategy is None:  # train with the strategy the model was built under, if any
        strategy = getattr(model, "distribute_strategy", None)
        if strategy is None or strategy.num_replicas_in_sync == 1:
            return
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            f"strategy must be a tf.distribute.Strategy or None; received {strategy!r}"
        )
    if getattr(model, "distribute_strategy", None) is not strategy:
        raise ValueError(
            f"the model was not built under this {type(strategy).__name__}; build it with "
            "strategy=... (for example build_classifier(..., strategy=strategy)) or inside "
            "strategy.scope(), so that its weights live on every replica"
        )
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            f"batch_size is the global batch and must split evenly over the {replicas} replicas; "
            f"received batch_size={batch_size}"
        )
    last = size % batch_size
    if last % replicas:
        raise ValueError(
            f"the last batch of each epoch holds {size} % {batch_size} = {last} samples, which do "
            f"not split evenly over the {replicas} replicas; use a number of training samples or a "
            f"batch_size that leaves a multiple of {replicas}"
        )


def fit(
    model: keras.Model,
    train,
    validation=None,
    *,
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    initial_epoch: int = 0,
    callbacks=None,
    verbose: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> keras.callbacks.History:
    """Seed, build checked ``tf.data`` pipelines, and ``model.fit``.

    Every epoch visits the training samples in an order fixed by ``seed`` and
    the epoch number, so training is repeatable and resumable: a model saved
    after epoch ``k`` (for example by ``keras.callbacks.ModelCheckpoint``),
    loaded back and fitted on with ``initial_epoch=k`` ends with the same
    weights as a run that was never interrupted.

    Args:
        model: a compiled model from :mod:`mmtutorial.models`.
        train: a :class:`~mmtutorial.data.Split` or ``(features, labels)``.
        validation: the same, or ``None``.
        epochs: the epoch to stop after (>= 1), counted from 0 like Keras.
        batch_size: samples per batch.
        seed: seeds the sample order and the global random state. Seed
            before building the model (:func:`set_seed`) to fix its initial
            weights too.
        initial_epoch: the epoch to start from when resuming.
        callbacks: Keras callbacks.
        verbose: Keras verbosity (0 silent, 2 one line per epoch); ``None``
            (the default) asks :func:`progress_verbosity`: a line per epoch
            for a reader in Jupyter, silence under the book's build and tests.
        strategy: a ``tf.distribute.Strategy`` the model was built under
            (``build_classifier(..., strategy=s)``). ``batch_size`` is then
            the global batch: each step splits it evenly over the
            ``strategy.num_replicas_in_sync`` replicas, each computes the
            gradient of its share of the batch's mean loss, and the summed
            gradient updates every copy of the weights alike, so the step is
            the one-device step on the same global batch. ``None`` trains
            with whatever strategy the model was built under (the default:
            one device).

    Returns:
        The ``keras.callbacks.History``; ``history.history`` maps metric names
        (``"loss"``, ``"accuracy"``, ``"val_loss"``, ...) to per-epoch lists.
    """
    epochs = _checks.integer("epochs", epochs, minimum=1)
    initial_epoch = _checks.integer("initial_epoch", initial_epoch, minimum=0)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1)
    if initial_epoch >= epochs:
        raise ValueError(
            f"initial_epoch must be smaller than epochs; received initial_epoch={initial_epoch}, epochs={epochs}"
        )
    features, labels = _unpack(train)
    if labels is None:
        raise ValueError("train needs labels: pass a Split or a (features, labels) pair")
    _check_strategy(model, strategy, batch_size, len(labels))
    checked = _check_for(model, features, labels)
    val_ds = None
    if validation is not None:
        v_features, v_labels = _unpack(validation)
        if v_labels is None:
            raise ValueError("validation needs labels: pass a Split or a (features, labels) pair")
        val_ds = make_dataset(v_features, v_labels, batch_size=batch_size, model=model)
    set_seed(seed)
    train_ds, steps = _epoch_batches(
        checked,
        np.asarray(labels, dtype="int32"),
        batch_size=int(batch_size),
        seed=int(seed),
        first_epoch=int(initial_epoch),
        epochs=int(epochs),
    )
    return model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=int(epochs),
        initial_epoch=int(initial_epoch),
        steps_per_epoch=steps,
        shuffle=False,  # the order is fixed per epoch above
        callbacks=callbacks,
        verbose=progress_verbosity() if verbose is None else verbose,
    )


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch but the first, which also traces the graph.

    Pass it to :func:`fit` (``callbacks=[timer]``) and read ``timer.seconds``
    afterwards: one entry per epoch from the second on, so a run of one epoch
    leaves the list empty. Comparing two models by these seconds, measured
    back to back on one machine, is what the book's "time per epoch"
    columns do.
    """

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if epoch > 0:
            self.seconds.append(time.perf_counter() - self._start)


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


# The retrieval and multi-label metrics live in mmtutorial.metrics; they stay importable
# from here (mt.train.recall_at_k, mt.train.f_scores), as chapters and readers call them.
__all__ += ["embed_images", "embed_texts", "match_ranks", "recall_at_k", "f_scores"]
