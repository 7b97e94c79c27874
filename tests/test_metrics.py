"""Metrics against independent references: counting by hand, sorting each row, resampling.

* accuracy: a Python loop over the samples; the standard error against the
  spread of a bootstrap and the binomial formula on a hand-made example;
* multi-label F-scores: a reference that counts decision by decision and
  combines precision and recall as 2PR / (P + R), where the package uses
  2TP / (2TP + FP + FN) (both give 0 where a class, or a sample, has neither
  true nor predicted positives);
* recall@k: a reference that sorts each row.
"""

import math

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import metrics


def test_metrics_stay_importable_from_train():
    # chapters and readers call mt.train.recall_at_k and mt.train.f_scores
    assert mt.train.match_ranks is metrics.match_ranks
    assert mt.train.recall_at_k is metrics.recall_at_k
    assert mt.train.f_scores is metrics.f_scores


# -- accuracy --------------------------------------------------------------------------


def _loop_accuracy(labels, predicted):
    return sum(1 for t, p in zip(labels, predicted) if t == p) / len(labels)


@pytest.mark.parametrize("seed", range(4))
def test_accuracy_of_class_ids_and_of_probabilities_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    n, classes = rng.integers(1, 200), rng.integers(2, 30)
    labels = rng.integers(0, classes, n)
    probabilities = rng.dirichlet(np.ones(classes), n)
    predicted = [max(range(classes), key=lambda c: probabilities[i, c]) for i in range(n)]
    want = _loop_accuracy(labels.tolist(), predicted)
    assert metrics.accuracy(labels, probabilities) == pytest.approx(want, abs=1e-12)
    assert metrics.accuracy(labels, np.array(predicted)) == pytest.approx(want, abs=1e-12)
    assert isinstance(metrics.accuracy(labels, probabilities), float)


def test_accuracy_takes_lists_and_logits():
    assert metrics.accuracy([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)
    logits = np.array([[-3.0, 2.0], [5.0, -1.0]])  # the largest score wins, softmax or not
    assert metrics.accuracy([1, 0], logits) == 1.0


@pytest.mark.parametrize(
    "labels, predictions, message",
    [
        (
            [0, 1, 2],
            [0, 1],
            r"same number of samples; received labels of shape \(3,\) and predictions of shape \(2,\)",
        ),
        (
            [0, 1, 2],
            np.zeros((2, 4)),
            r"received labels of shape \(3,\) and predictions of shape \(2, 4\)",
        ),
        (
            [[0], [1]],
            [0, 1],
            r"labels must be a 1-D array of integer class ids; received shape \(2, 1\)",
        ),
        (
            [0.0, 1.0],
            [0, 1],
            r"labels must be a 1-D array of integer class ids; received shape \(2,\) and dtype float64",
        ),
        ([True, False], [1, 0], r"labels must be .* dtype bool"),
        (
            [0, 1],
            [0.2, 0.9],
            r"predictions must be class ids of shape \(samples,\) or probabilities of shape "
            r"\(samples, classes\); received shape \(2,\) and dtype float64",
        ),
        (
            [0, 1],
            np.zeros((2, 3, 1)),
            r"predictions must be class ids .* received shape \(2, 3, 1\)",
        ),
        (
            [0, 3],
            np.zeros((2, 3)),
            r"labels must lie in \[0, 3\) \(one column of predictions per class\); received the label 3",
        ),
        ([0, -1], [0, 1], r"non-negative class ids; received the label -1"),
        (
            [0, 1],
            np.array([[0.5, np.nan], [0.1, 0.9]]),
            r"predictions contain 1 NaN or infinite value",
        ),
        ([], [], r"empty"),
    ],
)
def test_accuracy_names_bad_input(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        metrics.accuracy(labels, predictions)
    with pytest.raises(ValueError, match=message):
        metrics.accuracy_with_error(labels, predictions)


def test_standard_error_follows_the_binomial_formula_on_a_hand_made_example():
    # 8 of 10 right: a = 0.8, se = sqrt(0.8 * 0.2 / 10) = sqrt(0.016)
    labels = np.arange(10) % 3
    predicted = labels.copy()
    predicted[[2, 7]] = (predicted[[2, 7]] + 1) % 3
    result = metrics.accuracy_with_error(labels, predicted)
    assert result.value == pytest.approx(0.8) and result.n == 10
    assert result.standard_error == pytest.approx(math.sqrt(0.016))
    value, standard_error, n = result  # unpacks like a tuple
    assert (value, n) == (result.value, 10) and float(result) == result.value


def test_standard_error_matches_the_spread_of_a_bootstrap():
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.integers(0, 5, n)
    predicted = np.where(rng.random(n) < 0.7, labels, (labels + 1) % 5)
    result = metrics.accuracy_with_error(labels, predicted)
    correct = labels == predicted
    resampled = [correct[rng.integers(0, n, n)].mean() for _ in range(4000)]
    # the bootstrap's standard deviation estimates the same spread to within a few percent
    assert result.standard_error == pytest.approx(np.std(resampled), rel=0.06)


def test_perfect_and_hopeless_predictions_have_no_spread():
    assert metrics.accuracy_with_error([0, 1, 2], [0, 1, 2]) == (1.0, 0.0, 3)
    assert metrics.accuracy_with_error([0, 1, 2], [1, 2, 0]) == (0.0, 0.0, 3)


def test_an_accuracy_with_error_formats_as_value_plus_minus_error():
    estimate = metrics.AccuracyWithError(0.8532, 0.01127, 1000)
    assert str(estimate) == "0.853 ± 0.011"
    assert f"{estimate}" == "0.853 ± 0.011"
    assert f"{estimate:.2f}" == "0.85 ± 0.01"
    assert f"{estimate:.1%}" == "85.3% ± 1.1%"


# -- multi-label F-scores ---------------------------------------------------------------


def _harmonic(pairs):
    tp = sum(1 for t, p in pairs if t and p)
    predicted = sum(1 for _, p in pairs if p)
    actual = sum(1 for t, _ in pairs if t)
    if tp == 0:
        return 0.0
    precision, recall = tp / predicted, tp / actual
    return 2 * precision * recall / (precision + recall)


def _reference_f_scores(truth, guess):
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
    got = metrics.f_scores(truth.astype(int), guess)
    want = _reference_f_scores(truth.tolist(), guess.tolist())
    assert list(got) == ["weighted", "samples", "micro", "macro"]
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name


def test_perfect_and_empty_predictions():
    truth = np.array([[1, 0, 1], [0, 1, 0]])
    assert metrics.f_scores(truth, truth) == {
        name: 1.0 for name in ("weighted", "samples", "micro", "macro")
    }
    assert metrics.f_scores(truth, np.zeros_like(truth)) == {
        name: 0.0 for name in ("weighted", "samples", "micro", "macro")
    }


def test_a_class_nobody_has_counts_zero_in_the_macro_average_only():
    truth = np.array([[1, 0], [1, 0]])
    scores = metrics.f_scores(truth, truth)
    assert scores["macro"] == 0.5  # the empty second class scores 0
    assert scores["micro"] == scores["weighted"] == scores["samples"] == 1.0


@pytest.mark.parametrize(
    "labels, predictions, message",
    [
        ([1, 0, 1], [1, 0, 1], r"labels must be a 2-D .* received shape \(3,\)"),
        (
            [[1, 0]],
            [[0.7, 0.2]],
            r"predictions must hold only 0s and 1s .* received the value 0\.7",
        ),
        ([[1, 2]], [[1, 0]], r"labels must hold only 0s and 1s .* received the value 2"),
        ([[1, 0]], [[1, 0, 0]], r"same shape; received \(1, 2\) and \(1, 3\)"),
        (np.zeros((0, 3)), np.zeros((0, 3)), r"empty"),
    ],
)
def test_f_scores_name_bad_input(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        metrics.f_scores(labels, predictions)


# -- retrieval -------------------------------------------------------------------------


def brute_force_recall(similarity, k, relevant=None):
    """Sort each row and look for a relevant item among the first k (no ties in the data)."""
    n_queries = similarity.shape[0]
    if relevant is None:
        relevant = np.eye(n_queries, similarity.shape[1], dtype=bool)
    hits = 0
    for i in range(n_queries):
        top = sorted(range(similarity.shape[1]), key=lambda j: -similarity[i, j])[:k]
        hits += any(relevant[i, j] for j in top)
    return hits / n_queries


@pytest.mark.parametrize("k", [1, 3, 10, 30])
def test_recall_at_k_matches_brute_force(k):
    rng = np.random.default_rng(k)
    similarity = rng.normal(size=(25, 30)) + 1.5 * np.eye(25, 30)
    assert metrics.recall_at_k(similarity, k) == pytest.approx(brute_force_recall(similarity, k))
    relevant = rng.random((25, 30)) < 0.1
    relevant[np.arange(25), np.arange(25)] = True
    assert metrics.recall_at_k(similarity, k, relevant=relevant) == pytest.approx(
        brute_force_recall(similarity, k, relevant)
    )


def test_recall_of_random_scores_is_about_k_over_n():
    similarity = np.random.default_rng(0).normal(size=(1000, 1000))
    assert metrics.recall_at_k(similarity, 100) == pytest.approx(0.1, abs=0.03)
    assert metrics.recall_at_k(similarity, 1000) == 1.0


def test_ties_count_against_the_query():
    similarity = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    np.testing.assert_array_equal(metrics.match_ranks(similarity), [1, 1])
    assert metrics.recall_at_k(similarity, 1) == 0.0
    assert metrics.recall_at_k(similarity, 2) == 1.0


def test_match_ranks_with_several_relevant_items_uses_the_best_one():
    similarity = np.array([[0.1, 0.9, 0.5, 0.3]])
    relevant = np.array([[False, False, True, True]])
    np.testing.assert_array_equal(metrics.match_ranks(similarity, relevant), [1])


@pytest.mark.parametrize(
    "similarity, k, relevant, message",
    [
        (
            np.zeros(3),
            1,
            None,
            r"non-empty 2-D array of scores \(queries, items\); received shape \(3,\)",
        ),
        (
            np.zeros((3, 2)),
            1,
            None,
            r"at least as many items as queries; received similarity of shape \(3, 2\)",
        ),
        (np.array([[0.0, np.nan]]), 1, None, r"1 NaN or infinite value"),
        (
            np.zeros((2, 2)),
            0,
            None,
            r"k must be an integer in \[1, 2\] \(the number of items\); received 0",
        ),
        (np.zeros((2, 2)), 3, None, r"k must be an integer in \[1, 2\]"),
        (
            np.zeros((2, 2)),
            True,
            None,
            r"k must be an integer in \[1, 2\] \(the number of items\); received True",
        ),
        (
            np.zeros((2, 2)),
            1,
            np.eye(2),
            r"relevant must be a boolean array of the similarity's shape",
        ),
        (np.zeros((2, 2)), 1, np.array([[True, False], [False, False]]), r"query 1 has none"),
    ],
)
def test_recall_names_bad_input(similarity, k, relevant, message):
    with pytest.raises(ValueError, match=message):
        metrics.recall_at_k(similarity, k, relevant=relevant)
