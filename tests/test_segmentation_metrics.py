"""Segmentation metrics against brute-force references: pixel loops, set operations, empty masks."""

import numpy as np
import pytest

from mmtutorial import metrics


def brute_confusion(labels, predictions, k):
    matrix = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(np.ravel(labels), np.ravel(predictions)):
        matrix[t, p] += 1
    return matrix


def brute_iou(labels, predictions, k):
    """Per class, with Python sets of pixel positions; None where the class is absent from both."""
    truth, guess = np.ravel(labels), np.ravel(predictions)
    scores = []
    for c in range(k):
        a = {i for i, v in enumerate(truth) if v == c}
        b = {i for i, v in enumerate(guess) if v == c}
        scores.append(len(a & b) / len(a | b) if a | b else None)
    return scores


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, (3, 6, 7))
    predictions = np.where(rng.random(labels.shape) < 0.6, labels, rng.integers(0, 5, labels.shape))
    return labels, predictions


def test_confusion_matrix_counts_every_pixel(maps):
    labels, predictions = maps
    matrix = metrics.pixel_confusion_matrix(labels, predictions, num_classes=6)
    np.testing.assert_array_equal(matrix, brute_confusion(labels, predictions, 6))
    assert matrix.sum() == labels.size


def test_per_class_iou_and_voc_mean_leave_out_absent_classes(maps):
    labels, predictions = maps
    k = 7  # classes 5 and 6 appear nowhere
    reference = brute_iou(labels, predictions, k)
    iou = metrics.per_class_iou(labels, predictions, num_classes=k)
    for got, want in zip(iou, reference):
        if want is None:
            assert np.isnan(got)
        else:
            assert got == pytest.approx(want)
    present = [v for v in reference if v is not None]
    assert metrics.mean_iou(labels, predictions, num_classes=k) == pytest.approx(np.mean(present))
    assert len(present) == 5


def test_a_class_predicted_but_absent_from_the_truth_counts_as_zero():
    labels = np.array([[0, 0, 1, 1]])
    predictions = np.array([[0, 2, 1, 1]])
    iou = metrics.per_class_iou(labels, predictions, num_classes=3)
    np.testing.assert_allclose(iou, [0.5, 1.0, 0.0])
    assert metrics.mean_iou(labels, predictions, num_classes=3) == pytest.approx(0.5)


def test_probabilities_are_read_by_their_argmax(maps):
    labels, predictions = maps
    scores = np.eye(5)[predictions] * 0.8 + 0.04
    assert metrics.mean_iou(labels, scores, num_classes=5) == pytest.approx(
        metrics.mean_iou(labels, predictions, num_classes=5)
    )
    assert metrics.pixel_accuracy(labels, scores) == pytest.approx(np.mean(labels == predictions))


def test_pixel_accuracy_is_the_share_of_equal_pixels(maps):
    labels, predictions = maps
    right = sum(int(t == p) for t, p in zip(labels.ravel(), predictions.ravel()))
    assert metrics.pixel_accuracy(labels, predictions) == pytest.approx(right / labels.size)
    assert metrics.pixel_accuracy(labels, labels) == 1.0


def test_a_perfect_prediction_has_mean_iou_one_and_a_constant_one_background_only(maps):
    labels, _ = maps
    assert metrics.mean_iou(labels, labels, num_classes=5) == 1.0
    zeros = np.zeros_like(labels)
    share = np.mean(labels == 0)
    # Background: IoU = its share of pixels; the other 4 present classes: 0.
    assert metrics.mean_iou(labels, zeros, num_classes=5) == pytest.approx(share / 5)


@pytest.mark.parametrize(
    "labels, predictions, message",
    [
        (
            np.zeros((2, 3, 3), int),
            np.zeros((2, 3, 4), int),
            "predictions must be class ids of the labels' shape",
        ),
        (np.zeros((2, 3, 3)), np.zeros((2, 3, 3), int), "labels must be an integer array"),
        (
            np.full((1, 2, 2), 4),
            np.zeros((1, 2, 2), int),
            r"labels must hold class ids in \[0, 3\); received min 4",
        ),
        (
            np.zeros((1, 2, 2), int),
            np.full((1, 2, 2), -1),
            r"predictions must hold class ids in \[0, 3\)",
        ),
        (
            np.zeros((1, 2, 2), int),
            np.zeros((1, 2, 2, 4)),
            "num_classes=3 entries on the last axis; received 4",
        ),
    ],
)
def test_bad_label_maps_are_named(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        metrics.mean_iou(labels, predictions, num_classes=3)


# -- referring segmentation -------------------------------------------------------------


def brute_pairs(truth, guess):
    """Per-pair intersection and union by looping over pixels."""
    rows = []
    for t, g in zip(truth, guess):
        inter = sum(int(a and b) for a, b in zip(np.ravel(t), np.ravel(g)))
        union = sum(int(a or b) for a, b in zip(np.ravel(t), np.ravel(g)))
        rows.append((inter, union))
    return rows


def test_iou_scores_match_the_definitions():
    rng = np.random.default_rng(1)
    truth = rng.random((20, 5, 5)) < 0.3
    guess = np.where(rng.random(truth.shape) < 0.8, truth, ~truth)
    scores = metrics.iou_scores(truth, guess, thresholds=(0.5, 0.7, 0.9))
    rows = brute_pairs(truth, guess)
    ious = [i / u if u else 1.0 for i, u in rows]
    assert scores["overall_iou"] == pytest.approx(sum(i for i, _ in rows) / sum(u for _, u in rows))
    assert scores["mean_iou"] == pytest.approx(np.mean(ious))
    for t in (0.5, 0.7, 0.9):
        assert scores[f"precision@{t:g}"] == pytest.approx(np.mean([v >= t for v in ious]))
    assert list(scores) == [
        "overall_iou",
        "mean_iou",
        "precision@0.5",
        "precision@0.7",
        "precision@0.9",
    ]


def test_overall_iou_weighs_large_objects_more_than_mean_iou():
    truth = np.zeros((2, 4, 4), int)
    truth[0] = 1  # a large object, found
    truth[1, 0, 0] = 1  # a small one, missed
    guess = truth.copy()
    guess[1] = 0
    scores = metrics.iou_scores(truth, guess)
    assert scores["overall_iou"] == pytest.approx(16 / 17)
    assert scores["mean_iou"] == pytest.approx(0.5)


def test_empty_masks():
    empty = np.zeros((3, 4, 4), int)
    assert metrics.iou_scores(empty, empty) == {
        "overall_iou": 1.0,
        "mean_iou": 1.0,
        "precision@0.5": 1.0,
        "precision@0.7": 1.0,
        "precision@0.9": 1.0,
    }
    truth = empty.copy()
    truth[0, 0, 0] = 1
    scores = metrics.iou_scores(truth, empty)
    # pair 0 missed its object (IoU 0); pairs 1 and 2 are empty and correctly empty (IoU 1)
    assert scores["mean_iou"] == pytest.approx(2 / 3) and scores["overall_iou"] == 0.0
    guess = empty.copy()
    guess[1, 2, 2] = 1  # something found where nothing is: IoU 0
    assert metrics.iou_scores(empty, guess)["mean_iou"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "truth, guess, kwargs, message",
    [
        (
            np.zeros((2, 3, 3)),
            np.full((2, 3, 3), 0.7),
            {},
            "predicted_masks must hold only 0s and 1s",
        ),
        (np.zeros((2, 3, 3)), np.zeros((2, 3, 4)), {}, "must have the same shape; received"),
        (np.zeros(3), np.zeros(3), {}, "true_masks must be an array of masks"),
        (np.zeros((0, 3, 3)), np.zeros((0, 3, 3)), {}, "empty; need at least one pair"),
        (
            np.zeros((1, 3, 3)),
            np.zeros((1, 3, 3)),
            {"thresholds": (0.5, 1.5)},
            r"thresholds must be a number in \(0, 1\]",
        ),
        (
            np.zeros((1, 3, 3)),
            np.zeros((1, 3, 3)),
            {"thresholds": 0.5},
            "thresholds must be a list or tuple",
        ),
    ],
)
def test_bad_masks_are_named(truth, guess, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.iou_scores(truth, guess, **kwargs)
