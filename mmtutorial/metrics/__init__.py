"""Metrics: how good a model's predictions are, computed from plain arrays.

Every function here takes NumPy arrays (or anything ``np.asarray`` accepts:
lists, eager tensors) of labels, predictions or similarity scores, never a
model, so a metric is cheap to call, easy to test against a brute-force
reference, and the same whichever Keras backend produced the numbers.

* classification: :func:`accuracy`, and :func:`accuracy_with_error`, which
  adds the binomial standard error a comparison between models needs;
* multi-label classification: :func:`f_scores`, the four averages of the
  F-score;
* retrieval: :func:`match_ranks` and :func:`recall_at_k`;
* segmentation: :func:`pixel_confusion_matrix`, :func:`per_class_iou`,
  :func:`mean_iou` (as PASCAL VOC defines it), :func:`pixel_accuracy`, and
  :func:`iou_scores` for referring segmentation (overall IoU, mean IoU,
  precision@K);
* generated text: :func:`exact_match`, :func:`token_accuracy` (padding
  ignored) and corpus BLEU-4, :func:`bleu`, computed by ``sacrebleu``.

One module per task (:mod:`~mmtutorial.metrics.classification`,
:mod:`~mmtutorial.metrics.retrieval`, :mod:`~mmtutorial.metrics.multilabel`,
:mod:`~mmtutorial.metrics.segmentation`, :mod:`~mmtutorial.metrics.captioning`),
every name re-exported here. In the package's data flow it comes after
:mod:`mmtutorial.models` (which builds what makes the predictions) and before
:mod:`mmtutorial.train` (which uses it); it imports nothing from the package
except the argument checks.

>>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
0.75
>>> print(accuracy_with_error([0, 1, 2, 2], [0, 1, 1, 2]))
0.750 ± 0.217
"""

from __future__ import annotations

from .captioning import bleu, exact_match, token_accuracy
from .classification import AccuracyWithError, accuracy, accuracy_with_error
from .multilabel import f_scores
from .retrieval import match_ranks, recall_at_k
from .segmentation import (
    iou_scores,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    pixel_confusion_matrix,
)

__all__ = [
    "accuracy",
    "accuracy_with_error",
    "AccuracyWithError",
    "f_scores",
    "match_ranks",
    "recall_at_k",
    "pixel_confusion_matrix",
    "per_class_iou",
    "mean_iou",
    "pixel_accuracy",
    "iou_scores",
    "exact_match",
    "token_accuracy",
    "bleu",
]
