"""Classification metrics: accuracy, and accuracy with its binomial standard error.

>>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
0.75
>>> print(accuracy_with_error([0, 1, 2, 2], [0, 1, 1, 2]))
0.750 ± 0.217
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .base import check_finite

__all__ = ["accuracy", "accuracy_with_error", "AccuracyWithError"]


def _class_ids(name, value):
    """``value`` as a 1-D integer array, or a ``ValueError`` naming ``name``."""
    array = np.asarray(value)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(
            f"{name} must be a 1-D array of integer class ids; received shape {array.shape} "
            f"and dtype {array.dtype}"
        )
    return array.astype(np.int64)


def _predicted_ids(predictions):
    """Class ids from ``(n,)`` ids or ``(n, classes)`` probabilities, and the number of classes if known."""
    array = np.asarray(predictions)
    if array.ndim == 2:
        if array.shape[1] == 0 or not np.issubdtype(array.dtype, np.number):
            raise ValueError(
                "predictions of rank 2 must be (samples, classes) scores or probabilities with at "
                f"least one class; received shape {array.shape} and dtype {array.dtype}"
            )
        check_finite("predictions contain", array)
        return np.argmax(array, axis=-1), array.shape[1]
    if array.ndim == 1 and (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        return array.astype(np.int64), None
    raise ValueError(
        "predictions must be class ids of shape (samples,) or probabilities of shape "
        f"(samples, classes); received shape {array.shape} and dtype {array.dtype}"
    )


def _correct(labels, predictions):
    """A boolean array: which predictions equal their label."""
    truth = _class_ids("labels", labels)
    guess, classes = _predicted_ids(predictions)
    if truth.shape[0] != guess.shape[0]:
        raise ValueError(
            "labels and predictions must hold the same number of samples; received labels of "
            f"shape {np.shape(labels)} and predictions of shape {np.shape(predictions)}"
        )
    if truth.shape[0] == 0:
        raise ValueError("labels and predictions are empty; need at least one sample")
    if truth.min() < 0:
        raise ValueError(f"labels must be non-negative class ids; received the label {truth.min()}")
    if classes is not None and truth.max() >= classes:
        raise ValueError(
            f"labels must lie in [0, {classes}) (one column of predictions per class); "
            f"received the label {truth.max()}"
        )
    return truth == guess


def accuracy(labels, predictions) -> float:
    """The fraction of samples whose predicted class is the true one.

    ``predictions`` are either class ids, one per sample, or scores per class
    (probabilities or logits) of shape ``(samples, classes)``, of which the
    highest wins: ``accuracy = mean(argmax(predictions) == labels)``.

    Args:
        labels: ``(samples,)`` integer class ids.
        predictions: ``(samples,)`` integer class ids, or ``(samples, classes)`` scores.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: for arrays of the wrong rank, dtype or length, naming the
            argument and what it received.

    Example:
        >>> accuracy([2, 0, 1], [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])
        0.6666666666666666
    """
    return float(np.mean(_correct(labels, predictions)))


class AccuracyWithError(NamedTuple):
    """An accuracy measured on ``n`` samples, with its binomial standard error.

    Formatting applies the same format to both numbers (``".3f"`` when none
    is given), so an f-string or a table shows ``0.853 ± 0.011``:

    >>> estimate = AccuracyWithError(0.853, 0.011, 1000)
    >>> f"{estimate}", f"{estimate:.1%}"
    ('0.853 ± 0.011', '85.3% ± 1.1%')
    >>> value, standard_error, n = estimate
    """

    value: float
    standard_error: float
    n: int

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        return f"{format(self.value, spec)} ± {format(self.standard_error, spec)}"

    def __str__(self) -> str:
        return format(self)

    def __float__(self) -> float:
        return float(self.value)


def accuracy_with_error(labels, predictions) -> AccuracyWithError:
    """The accuracy and its binomial standard error ``sqrt(a (1 - a) / n)``.

    Each of the ``n`` test samples is right or wrong, so the number right is
    binomial and the measured accuracy ``a`` varies from one test set to the
    next by about ``sqrt(a (1 - a) / n)``. Two models whose accuracies differ
    by less than about twice that tie on this test set.

    Args:
        labels: ``(samples,)`` integer class ids.
        predictions: ``(samples,)`` integer class ids, or ``(samples, classes)`` scores.

    Returns:
        An :class:`AccuracyWithError` with ``value``, ``standard_error`` and ``n``;
        it formats as ``"0.750 ± 0.217"``.

    Example:
        >>> result = accuracy_with_error([0, 1, 2, 2], [0, 1, 1, 2])
        >>> result.value, round(result.standard_error, 4), result.n
        (0.75, 0.2165, 4)
    """
    correct = _correct(labels, predictions)
    n = int(correct.shape[0])
    value = float(np.mean(correct))
    return AccuracyWithError(value, math.sqrt(value * (1.0 - value) / n), n)
