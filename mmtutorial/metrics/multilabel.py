"""Multi-label classification metrics: the four averages of the F-score."""

from __future__ import annotations

import numpy as np

from .base import zeros_and_ones

__all__ = ["f_scores"]


def _check_multi_hot(name, value):
    array = np.asarray(value)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (samples, classes) array of 0s and 1s; "
            f"received shape {array.shape}"
        )
    return zeros_and_ones(name, array)


def _f_score(true_positives, false_positives, false_negatives):
    # 2TP / (2TP + FP + FN) equals 2PR / (P + R); it is 0 where nothing was predicted or true
    denominator = 2 * true_positives + false_positives + false_negatives
    return np.divide(
        2.0 * true_positives,
        denominator,
        out=np.zeros(np.shape(denominator)),
        where=denominator > 0,
    )


def f_scores(labels, predictions) -> dict:
    """The four averages of the F-score used for multi-label classification.

    For one class with precision ``P`` and recall ``R``, ``F = 2PR / (P + R)``,
    computed as ``2TP / (2TP + FP + FN)`` and taken as 0 when the class has
    neither true nor predicted positives.

    * ``"micro"``: pools every (sample, class) decision, then computes one F-score;
    * ``"macro"``: computes F per class and takes the plain mean;
    * ``"weighted"``: the per-class F-scores weighted by each class's number of
      true positives plus false negatives (its positive samples);
    * ``"samples"``: computes F per sample (over its classes) and takes the mean.

    Args:
        labels: ``(samples, classes)`` multi-hot truth, 0/1 or booleans.
        predictions: the same shape, 0/1 or booleans (threshold probabilities first).

    Returns:
        A dict with the keys ``"weighted"``, ``"samples"``, ``"micro"`` and ``"macro"``.

    Example:
        >>> scores = f_scores([[1, 0], [1, 0], [1, 1]], [[1, 0], [0, 0], [1, 0]])
        >>> {name: round(value, 3) for name, value in scores.items()}
        {'weighted': 0.6, 'samples': 0.556, 'micro': 0.667, 'macro': 0.4}
    """
    truth = _check_multi_hot("labels", labels)
    guess = _check_multi_hot("predictions", predictions)
    if truth.shape != guess.shape:
        raise ValueError(
            f"labels and predictions must have the same shape; received "
            f"{truth.shape} and {guess.shape}"
        )
    if truth.shape[0] == 0:
        raise ValueError("labels and predictions are empty; need at least one sample")
    tp = (truth & guess).sum(axis=0)
    fp = (~truth & guess).sum(axis=0)
    fn = (truth & ~guess).sum(axis=0)
    per_class = _f_score(tp, fp, fn)
    positives = tp + fn
    per_sample = _f_score(
        (truth & guess).sum(axis=1), (~truth & guess).sum(axis=1), (truth & ~guess).sum(axis=1)
    )
    weighted = float(np.sum(per_class * positives) / positives.sum()) if positives.sum() else 0.0
    return {
        "weighted": weighted,
        "samples": float(per_sample.mean()),
        "micro": float(_f_score(tp.sum(), fp.sum(), fn.sum())),
        "macro": float(per_class.mean()),
    }
