"""Metrics: how good a model's predictions are, computed from plain arrays.

Every function here takes NumPy arrays (or anything ``np.asarray`` accepts:
lists, eager tensors) of labels, predictions or similarity scores, never a
model, so a metric is cheap to call, easy to test against a brute-force
reference, and the same whichever Keras backend produced the numbers.

* classification: :func:`accuracy`, and :func:`accuracy_with_error`, which
  adds the binomial standard error a comparison between models needs;
* multi-label classification: :func:`f_scores`, the four averages of the
  F-score;
* retrieval: :func:`match_ranks` and :func:`recall_at_k`.

* segmentation: :func:`pixel_confusion_matrix`, :func:`per_class_iou`,
  :func:`mean_iou` (as PASCAL VOC defines it), :func:`pixel_accuracy`, and
  :func:`iou_scores` for referring segmentation (overall IoU, mean IoU,
  precision@K).

* generated text: :func:`exact_match`, :func:`token_accuracy` (padding
  ignored) and corpus BLEU-4, :func:`bleu`, computed by ``sacrebleu``.

In the package's data flow it comes after :mod:`mmtutorial.models` (which
builds what makes the predictions) and before :mod:`mmtutorial.train` (which
uses it); it imports nothing from the package except the argument checks.

>>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
0.75
>>> print(accuracy_with_error([0, 1, 2, 2], [0, 1, 1, 2]))
0.750 ± 0.217
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _checks

__all__ = [
    "accuracy",
    "accuracy_with_error",
    "AccuracyWithError",
    "f_scores",
    "match_ranks",
    "recall_at_k",
]


# -- classification: accuracy and its standard error ----------------------------------


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
        if not np.isfinite(array).all():
            raise ValueError(
                f"predictions contain {int((~np.isfinite(array)).sum())} NaN or infinite value(s)"
            )
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


# -- retrieval: how well queries find their match -------------------------------------


def _check_similarity(similarity, relevant):
    scores = np.asarray(similarity)
    if scores.ndim != 2 or 0 in scores.shape or not np.issubdtype(scores.dtype, np.number):
        raise ValueError(
            "similarity must be a non-empty 2-D array of scores (queries, items); "
            f"received shape {scores.shape} and dtype {scores.dtype}"
        )
    if not np.isfinite(scores).all():
        raise ValueError(
            f"similarity contains {int((~np.isfinite(scores)).sum())} NaN or infinite value(s)"
        )
    if relevant is None:
        if scores.shape[0] > scores.shape[1]:
            raise ValueError(
                "with relevant=None, query i's match is item i, so there must be at least as many "
                f"items as queries; received similarity of shape {scores.shape}"
            )
        relevant = np.eye(*scores.shape, dtype=bool)
    relevant = np.asarray(relevant)
    if relevant.shape != scores.shape or relevant.dtype != bool:
        raise ValueError(
            f"relevant must be a boolean array of the similarity's shape {scores.shape}; "
            f"received shape {relevant.shape} and dtype {relevant.dtype}"
        )
    if not relevant.any(axis=1).all():
        raise ValueError(
            f"every query needs at least one relevant item; query {int(np.argmin(relevant.any(axis=1)))} has none"
        )
    return scores, relevant


def match_ranks(similarity, relevant=None) -> np.ndarray:
    """The rank (0 = first) of each query's best relevant item.

    Row ``i`` of ``similarity`` scores query ``i`` against every item. The
    rank is the number of irrelevant items that score at least as high as
    the best relevant one, so ties count against the query.

    Args:
        similarity: ``(queries, items)`` scores, higher = more similar.
        relevant: optional boolean ``(queries, items)`` array of the items
            that count as a match; by default query ``i``'s only match is
            item ``i``.

    Returns:
        int array ``(queries,)``.

    Example:
        >>> match_ranks([[0.9, 0.1], [0.8, 0.3]]).tolist()
        [0, 1]
    """
    scores, relevant = _check_similarity(similarity, relevant)
    best = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)
    return ((scores >= best) & ~relevant).sum(axis=1)


def recall_at_k(similarity, k: int, relevant=None) -> float:
    """Recall@k: the fraction of queries whose match is among the ``k`` best-scored items.

    Row ``i`` of ``similarity`` scores query ``i`` against every item, and
    query ``i``'s match is item ``i`` (or, with ``relevant``, any item marked
    there). Ties count against the query. A random ranking of ``N`` items
    scores ``k / N`` on average.

    Args:
        similarity: ``(queries, items)`` scores, e.g. ``text_embeddings @ image_embeddings.T``.
        k: how many of the top items to look at, ``1 <= k <= items``.
        relevant: optional boolean ``(queries, items)`` array of matches.

    Returns:
        A float in [0, 1].

    Example:
        >>> recall_at_k([[0.9, 0.1], [0.8, 0.3]], k=1), recall_at_k([[0.9, 0.1], [0.8, 0.3]], k=2)
        (0.5, 1.0)
    """
    scores, relevant = _check_similarity(similarity, relevant)
    items = scores.shape[1]
    if not _checks.is_integer(k) or not 1 <= k <= items:
        raise ValueError(
            f"k must be an integer in [1, {items}] (the number of items); received {k!r}"
        )
    return float(np.mean(match_ranks(scores, relevant) < k))


# -- multi-label classification: F-scores ---------------------------------------------


def _check_multi_hot(name, value):
    array = np.asarray(value)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (samples, classes) array of 0s and 1s; "
            f"received shape {array.shape}"
        )
    if array.size and not np.isin(array, (0, 1)).all():
        odd = array[~np.isin(array, (0, 1))].ravel()[0].item()
        raise ValueError(
            f"{name} must hold only 0s and 1s (or booleans); received the value "
            f"{odd!r}; threshold probabilities first, e.g. probabilities > 0.5"
        )
    return array.astype(bool)


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


# -- segmentation: every pixel is a prediction ----------------------------------------


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
    if array.size and not np.isin(array, (0, 1)).all():
        odd = array[~np.isin(array, (0, 1))].ravel()[0].item()
        raise ValueError(
            f"{name} must hold only 0s and 1s (or booleans); received the value {odd!r}; "
            "threshold probabilities first, e.g. probabilities > 0.5"
        )
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


__all__ += [
    "pixel_confusion_matrix",
    "per_class_iou",
    "mean_iou",
    "pixel_accuracy",
    "iou_scores",
]


# -- generated text: exact match, token accuracy, BLEU ---------------------------------


def _captions(name, value) -> list:
    """``value`` as a list of strings, or a ``ValueError`` naming ``name``."""
    if isinstance(value, str):
        raise ValueError(f"{name} must be a list of strings, one per sample; received one string")
    texts = list(value)
    bad = [t for t in texts if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{name} must be strings, one per sample; received {bad[0]!r}")
    return texts


def _caption_pair(references, hypotheses):
    references = _captions("references", references)
    hypotheses = _captions("hypotheses", hypotheses)
    if len(references) != len(hypotheses) or not references:
        raise ValueError(
            "references and hypotheses must hold the same number of captions, at least one; "
            f"received {len(references)} and {len(hypotheses)}"
        )
    return references, hypotheses


def exact_match(references, hypotheses) -> float:
    """The share of generated captions that equal their reference, word for word.

    Words are compared after splitting on whitespace, so spacing does not
    count; anything else does (one wrong or missing word makes a miss).

    Args:
        references: the true captions, one string per sample.
        hypotheses: the generated captions, in the same order.

    Returns:
        A float in [0, 1].

    Example:
        >>> exact_match(["a red disk", "a blue ring"], ["a red disk", "a blue  disk"])
        0.5
    """
    references, hypotheses = _caption_pair(references, hypotheses)
    return float(np.mean([r.split() == h.split() for r, h in zip(references, hypotheses)]))


def token_accuracy(targets, predictions, padding_id: int = 0) -> float:
    """The share of real (non-padding) target positions whose id is predicted right.

    ``accuracy = sum_{t: target_t != pad} [prediction_t == target_t] / #{t: target_t != pad}``
    over every sample. Padding positions of the targets never count, so a
    short caption weighs what its words weigh.

    Args:
        targets: int ``(samples, length)`` target ids, ``padding_id`` after the end.
        predictions: int ``(samples, length')`` predicted ids (generated ids:
            cut, or padded with ``padding_id``, to ``length``), or scores
            ``(samples, length, vocab)`` of which the highest wins (teacher-forced
            logits).
        padding_id: the id that marks padding.

    Returns:
        A float in [0, 1].

    Example:
        >>> token_accuracy([[3, 4, 2, 0], [5, 2, 0, 0]], [[3, 5, 2, 2], [5, 2, 7, 7]])
        0.8
    """
    padding_id = _checks.integer("padding_id", padding_id)
    truth = np.asarray(targets)
    if truth.ndim != 2 or not np.issubdtype(truth.dtype, np.integer):
        raise ValueError(
            f"targets must be integer ids of shape (samples, length); received shape {truth.shape} "
            f"and dtype {truth.dtype}"
        )
    guess = np.asarray(predictions)
    if guess.ndim == 3 and np.issubdtype(guess.dtype, np.number):
        guess = np.argmax(guess, axis=-1)
    if guess.ndim != 2 or not np.issubdtype(guess.dtype, np.integer) or len(guess) != len(truth):
        raise ValueError(
            f"predictions must be ids (samples, length) or scores (samples, length, vocab) for the "
            f"{len(truth)} samples of targets; received shape {guess.shape} and dtype {guess.dtype}"
        )
    length = truth.shape[1]
    guess = guess[:, :length]
    if guess.shape[1] < length:
        fill = np.full((len(guess), length - guess.shape[1]), padding_id, dtype=guess.dtype)
        guess = np.concatenate([guess, fill], axis=1)
    real = truth != padding_id
    if not real.any():
        raise ValueError("targets hold only padding; need at least one real position")
    return float(np.mean(guess[real] == truth[real]))


def bleu(references, hypotheses, *, smooth_method: str = "exp") -> float:
    """Corpus BLEU-4 of generated captions against one reference each, by sacrebleu.

    BLEU (Papineni et al., 2002) multiplies the geometric mean of the
    modified n-gram precisions ``p_1 ... p_4`` (each hypothesis n-gram
    counted at most as often as its reference holds it, summed over the
    corpus) by a brevity penalty ``BP = min(1, exp(1 - r / c))``, with ``c``
    the hypotheses' and ``r`` the references' total length in words:

        ``BLEU = BP * exp((log p_1 + log p_2 + log p_3 + log p_4) / 4)``

    The computation is ``sacrebleu.corpus_bleu`` (Post, 2018) with its
    standard ``13a`` tokenizer, so the number compares with published ones.
    A precision of 0 (a corpus of three-word captions has no 4-gram) would
    make BLEU 0; ``smooth_method`` (sacrebleu's, default ``"exp"``) decides
    what happens then.

    Args:
        references: the true captions, one string per sample.
        hypotheses: the generated captions, in the same order.
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.

    Returns:
        BLEU on sacrebleu's scale, 0 to 100.

    Example:
        >>> round(bleu(["a red disk left of a blue ring"], ["a red disk left of a blue ring"]), 1)
        100.0
    """
    import sacrebleu

    references, hypotheses = _caption_pair(references, hypotheses)
    smooth_method = _checks.choice(
        "smooth_method", smooth_method, ("exp", "floor", "add-k", "none")
    )
    return float(sacrebleu.corpus_bleu(hypotheses, [references], smooth_method=smooth_method).score)


__all__ += ["exact_match", "token_accuracy", "bleu"]
