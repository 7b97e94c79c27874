"""Multi-label F-scores against a reference that counts decision by decision in plain Python.

The reference computes precision and recall separately and combines them as
2PR / (P + R); the package uses 2TP / (2TP + FP + FN). Both give 0 where a class
(or sample) has neither true nor predicted positives.
"""

import numpy as np
import pytest

import mmtutorial as mt


def _harmonic(pairs):
    tp = sum(1 for t, p in pairs if t and p)
    predicted = sum(1 for _, p in pairs if p)
    actual = sum(1 for t, _ in pairs if t)
    if tp == 0:
        return 0.0
    precision, recall = tp / predicted, tp / actual
    return 2 * precision * recall / (precision + recall)


def _reference(truth, guess):
    n, k = len(truth), len(truth[0])
    columns = [[(truth[i][j], guess[i][j]) for i in range(n)] for j in range(k)]
    per_class = [_harmonic(column) for column in columns]
    support = [sum(t for t, _ in column) for column in columns]
    every = [pair for column in columns for pair in column]
    return {
        "weighted": sum(f * s for f, s in zip(per_class, support)) / sum(support),
        "samples": sum(_harmonic(list(zip(truth[i], guess[i]))) for i in range(n)) / n,
        "micro": _harmonic(every),
        "macro": sum(per_class) / k,
    }


@pytest.mark.parametrize("seed", range(6))
def test_f_scores_match_the_decision_by_decision_reference(seed):
    rng = np.random.default_rng(seed)
    n, k = rng.integers(1, 40), rng.integers(1, 9)
    truth = rng.random((n, k)) < rng.uniform(0.1, 0.6)
    truth[:, 0] = True  # at least one positive, so the weighted average is defined
    guess = rng.random((n, k)) < rng.uniform(0.1, 0.6)
    got = mt.train.f_scores(truth.astype(int), guess)
    want = _reference(truth.tolist(), guess.tolist())
    assert list(got) == ["weighted", "samples", "micro", "macro"]
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name


def test_perfect_and_empty_predictions():
    truth = np.array([[1, 0, 1], [0, 1, 0]])
    assert mt.train.f_scores(truth, truth) == {name: 1.0 for name in
                                               ("weighted", "samples", "micro", "macro")}
    assert mt.train.f_scores(truth, np.zeros_like(truth)) == {
        name: 0.0 for name in ("weighted", "samples", "micro", "macro")}


def test_a_class_nobody_has_counts_zero_in_the_macro_average_only():
    truth = np.array([[1, 0], [1, 0]])
    scores = mt.train.f_scores(truth, truth)
    assert scores["macro"] == 0.5  # the empty second class scores 0
    assert scores["micro"] == scores["weighted"] == scores["samples"] == 1.0


@pytest.mark.parametrize("labels, predictions, message", [
    ([1, 0, 1], [1, 0, 1], r"labels must be a 2-D .* received shape \(3,\)"),
    ([[1, 0]], [[0.7, 0.2]], r"predictions must hold only 0s and 1s .* received the value 0\.7"),
    ([[1, 2]], [[1, 0]], r"labels must hold only 0s and 1s .* received the value 2"),
    ([[1, 0]], [[1, 0, 0]], r"same shape; received \(1, 2\) and \(1, 3\)"),
    (np.zeros((0, 3)), np.zeros((0, 3)), r"empty"),
])
def test_f_scores_name_bad_input(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        mt.train.f_scores(labels, predictions)
