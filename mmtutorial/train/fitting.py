"""Fitting: repeatable, resumable ``model.fit`` over checked pipelines, and an epoch timer."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from .. import _checks
from .pipeline import (
    _check_for,
    _epoch_batches,
    _unpack,
    make_dataset,
    progress_verbosity,
    set_seed,
)


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


def _checked_epochs(epochs, initial_epoch):
    """``(epochs, initial_epoch)`` as integers, the first epoch before the last."""
    epochs = _checks.integer("epochs", epochs, minimum=1)
    initial_epoch = _checks.integer("initial_epoch", initial_epoch, minimum=0)
    if initial_epoch >= epochs:
        raise ValueError(
            f"initial_epoch must be smaller than epochs; received initial_epoch={initial_epoch}, epochs={epochs}"
        )
    return epochs, initial_epoch


def _labelled(split, name):
    """``(features, labels)`` of the caller's argument ``name``, which must carry labels."""
    features, labels = _unpack(split)
    if labels is None:
        raise ValueError(f"{name} needs labels: pass a Split or a (features, labels) pair")
    return features, labels


def _build_before_tracing(model, features, labels):
    """Create the optimizer's and the metrics' variables before Keras traces the training step.

    Keras 3 on TensorFlow, with no distribution strategy, creates them while
    it traces ``train_step`` for the first time; ``tf.function`` then traces
    the step a second time, once no variable is created any more. Building
    them first, from the shapes of one sample (what Keras itself does under a
    strategy), saves that second trace: profiled on the walkthrough's model,
    a two-epoch fit on 640 samples took 6.4 s with it and 3.2 s without, and
    the trained weights are bitwise the same either way (``tests/test_train.py``).
    """
    build = getattr(model, "_symbolic_build", None)
    if build is None or getattr(model, "_distribute_strategy", None) is not None:
        return  # another Keras, or a strategy: Keras builds them itself
    if getattr(model, "optimizer", None) is None or model.optimizer.built:
        return  # not compiled, or fitted before: nothing left to create
    one = {key: np.asarray(value[:1]) for key, value in features.items()}
    try:
        build(data_batch=(one, np.asarray(labels[:1])))
    except (RuntimeError, TypeError, ValueError, NotImplementedError):
        # A model Keras cannot run symbolically still trains: its first trace
        # creates the variables, as Keras does by default.
        return


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
    epochs, initial_epoch = _checked_epochs(epochs, initial_epoch)
    batch_size = _checks.integer("batch_size", batch_size, minimum=1)
    features, labels = _labelled(train, "train")
    _check_strategy(model, strategy, batch_size, len(labels))
    checked = _check_for(model, features, labels)
    val_ds = None
    if validation is not None:
        v_features, v_labels = _labelled(validation, "validation")
        val_ds = make_dataset(v_features, v_labels, batch_size=batch_size, model=model)
    _build_before_tracing(model, checked, labels)
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
