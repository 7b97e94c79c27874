"""Segmentation metrics: every pixel is a prediction; referring masks scored as in the papers."""

from __future__ import annotations

import numpy as np

from .. import _checks
from .base import zeros_and_ones

__all__ = [
    "pixel_confusion_matrix",
    "per_class_iou",
    "mean_iou",
    "pixel_accuracy",
    "iou_scores",
]


def _label_map_pair(labels, predictions, num_classes):
    """``labels`` and predicted ids as flat int64 arrays, checked against ``num_classes``.

    ``predictions`` are class ids of the labels' shape or scores with one more
    axis of ``num_classes`` (probabilities per pixel), of which the highest wins.
    """
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    truth = np.asarray(labels)
    guess = np.asarray(predictions)
    if truth.ndim < 1 or truth.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be an integer array of class ids (a label map per sample); received "
            f"shape {truth.shape} and dtype {truth.dtype}"
        )
    if guess.ndim == truth.ndim + 1 and guess.shape[:-1] == truth.shape:
        if guess.shape[-1] != num_classes or not np.issubdtype(guess.dtype, np.number):
            raise ValueError(
                f"predictions of shape {guess.shape} look like scores per class, which need "
                f"num_classes={num_classes} entries on the last axis; received {guess.shape[-1]}"
            )
        if not np.isfinite(guess).all():
            raise ValueError(
                f"predictions contain {int((~np.isfinite(guess)).sum())} NaN or infinite value(s)"
            )
        guess = np.argmax(guess, axis=-1)
    elif guess.shape != truth.shape or guess.dtype.kind not in "iu":
        raise ValueError(
            "predictions must be class ids of the labels' shape or scores with one more axis of "
            f"num_classes; received labels of shape {truth.shape} and predictions of shape "
            f"{guess.shape} and dtype {guess.dtype}"
        )
    if truth.size == 0:
        raise ValueError("labels and predictions are empty; need at least one pixel")
    for name, array in (("labels", truth), ("predictions", guess)):
        if array.min() < 0 or array.max() >= num_classes:
            raise ValueError(
                f"{name} must hold class ids in [0, {num_classes}); received min "
                f"{int(array.min())} and max {int(array.max())}"
            )
    return truth.ravel().astype(np.int64), guess.ravel().astype(np.int64), num_classes


def pixel_confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """Counts of pixels by true class (rows) and predicted class (columns).

    Every pixel of every label map is one sample: entry ``[i, j]`` counts the
    pixels of class ``i`` predicted as class ``j``. The metrics below all
    read this matrix, summed over the whole test set.

    Args:
        labels: integer class ids, any shape (``(n, height, width)`` for label maps).
        predictions: class ids of the same shape, or scores with one more axis
            of ``num_classes`` (the highest wins).
        num_classes: the number of classes, >= 2.

    Returns:
        An int64 array ``(num_classes, num_classes)``.

    Example:
        >>> pixel_confusion_matrix([[0, 1], [1, 1]], [[0, 1], [0, 1]], num_classes=2).tolist()
        [[1, 0], [1, 2]]
    """
    truth, guess, num_classes = _label_map_pair(labels, predictions, num_classes)
    counts = np.bincount(truth * num_classes + guess, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_iou(labels, predictions, num_classes: int) -> np.ndarray:
    """Intersection over union of every class, over all pixels: ``TP / (TP + FP + FN)``.

    For class ``c``, ``TP`` counts the pixels of class ``c`` predicted as
    ``c``, ``FP`` the other pixels predicted as ``c`` and ``FN`` the pixels
    of class ``c`` predicted as something else; the sums run over the whole
    set, not per image. A class absent from both the labels and the
    predictions has no IoU (0 / 0) and gets NaN.

    Returns:
        A float array ``(num_classes,)`` with NaN for absent classes.

    Example:
        >>> per_class_iou([[0, 1], [1, 1]], [[0, 1], [0, 1]], num_classes=3).round(3).tolist()
        [0.5, 0.667, nan]
    """
    matrix = pixel_confusion_matrix(labels, predictions, num_classes)
    tp = np.diag(matrix).astype(float)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - tp
    return np.divide(tp, union, out=np.full(tp.shape, np.nan), where=union > 0)


def mean_iou(labels, predictions, num_classes: int) -> float:
    """Mean intersection over union, as the PASCAL VOC benchmark defines it.

    The per-class IoU of :func:`per_class_iou`, computed from the pixels of
    the whole set, averaged over the classes; a class that appears neither
    in the labels nor in the predictions is left out of the mean (its IoU is
    0 / 0). A class that is predicted but absent from the labels counts, with
    IoU 0.

    Example:
        >>> round(mean_iou([[0, 1], [1, 1]], [[0, 1], [0, 1]], num_classes=3), 4)
        0.5833
    """
    scores = per_class_iou(labels, predictions, num_classes)
    return float(np.nanmean(scores))


def pixel_accuracy(labels, predictions, num_classes: int | None = None) -> float:
    """The share of pixels whose predicted class is the true one.

    ``predictions`` are class ids of the labels' shape, or scores with one
    more axis (then ``num_classes`` defaults to its length).

    Example:
        >>> pixel_accuracy([[0, 1], [1, 1]], [[0, 1], [0, 1]])
        0.75
    """
    if num_classes is None:
        truth, guess = np.asarray(labels), np.asarray(predictions)
        if guess.ndim == truth.ndim + 1:
            num_classes = guess.shape[-1]
        else:
            top = max(int(truth.max(initial=0)), int(guess.max(initial=0))) if guess.size else 0
            num_classes = max(2, top + 1)
    truth, guess, _ = _label_map_pair(labels, predictions, num_classes)
    return float(np.mean(truth == guess))


def _binary_masks(name, value):
    array = np.asarray(value)
    if array.ndim < 2:
        raise ValueError(
            f"{name} must be an array of masks, one per image-phrase pair (pairs, height, width); "
            f"received shape {array.shape}"
        )
    zeros_and_ones(name, array)
    if array.shape[0] == 0:
        raise ValueError("true_masks and predicted_masks are empty; need at least one pair")
    return array.astype(bool).reshape(array.shape[0], -1)


def iou_scores(true_masks, predicted_masks, thresholds=(0.5, 0.7, 0.9)) -> dict:
    """The referring-segmentation scores of Hu et al. (2016) and LAVT (Yang et al., 2022).

    Each pair ``i`` (an image and a phrase) has a true mask ``T_i`` and a
    predicted mask ``P_i``, with ``I_i = |T_i ∩ P_i|`` and ``U_i = |T_i ∪ P_i|``:

    * ``"overall_iou"``: ``sum_i I_i / sum_i U_i``, the total intersection over
      the total union (large objects weigh more);
    * ``"mean_iou"``: the mean of the pairs' ``I_i / U_i``;
    * ``"precision@X"`` for each threshold ``X``: the share of pairs with
      ``I_i / U_i >= X``.

    A pair whose true and predicted masks are both empty found nothing that
    was not there: its IoU is 1. A set whose masks are all empty has an
    overall IoU of 1 for the same reason.

    Args:
        true_masks: ``(pairs, height, width)`` 0/1 or booleans.
        predicted_masks: the same shape (threshold probabilities first).
        thresholds: IoU thresholds in (0, 1] for the precisions.

    Returns:
        A dict with ``"overall_iou"``, ``"mean_iou"`` and ``"precision@0.5"``
        etc. (the threshold formatted with ``:g``).

    Example:
        >>> truth = [[[1, 1], [0, 0]], [[0, 0], [0, 1]]]
        >>> guess = [[[1, 0], [0, 0]], [[0, 0], [0, 1]]]
        >>> iou_scores(truth, guess, thresholds=(0.5, 0.9))
        {'overall_iou': 0.6666666666666666, 'mean_iou': 0.75, 'precision@0.5': 1.0, 'precision@0.9': 0.5}
    """
    truth = _binary_masks("true_masks", true_masks)
    guess = _binary_masks("predicted_masks", predicted_masks)
    if np.shape(true_masks) != np.shape(predicted_masks):
        raise ValueError(
            f"true_masks and predicted_masks must have the same shape; received "
            f"{np.shape(true_masks)} and {np.shape(predicted_masks)}"
        )
    if isinstance(thresholds, (str, bytes)) or not isinstance(thresholds, (list, tuple)):
        raise ValueError(
            f"thresholds must be a list or tuple of numbers in (0, 1]; received {thresholds!r}"
        )
    thresholds = [_checks.number("thresholds", t, low=0, high=1, low_open=True) for t in thresholds]
    intersection = (truth & guess).sum(axis=1)
    union = (truth | guess).sum(axis=1)
    pair_iou = np.divide(
        intersection, union, out=np.ones(union.shape, dtype=float), where=union > 0
    )
    scores = {
        "overall_iou": float(intersection.sum() / union.sum()) if union.sum() else 1.0,
        "mean_iou": float(pair_iou.mean()),
    }
    for t in thresholds:
        scores[f"precision@{t:g}"] = float(np.mean(pair_iou >= t))
    return scores
