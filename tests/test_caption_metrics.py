"""Metrics of generated captions: exact match, token accuracy and BLEU-4, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmtutorial import metrics


def test_bleu_of_a_two_caption_corpus_matches_the_formula_worked_by_hand():
    references = ["a red disk left of a blue ring", "a blue square above a red disk"]
    hypotheses = ["a red disk left of a green ring", "a blue square"]
    # Clipped n-gram matches over the corpus, hypothesis 1 + hypothesis 2:
    # 1-grams: 7 of 8 (not "green") + 3 of 3
    # 2-grams: 5 of 7 (not "a green", "green ring") + 2 of 2
    # 3-grams: 4 of 6 + 1 of 1
    # 4-grams: 3 of 5 ("a red disk left", "red disk left of", "disk left of a") + 0 of 0
    precisions = [10 / 11, 7 / 9, 5 / 7, 3 / 5]
    # Brevity penalty: c = 8 + 3 = 11 hypothesis words, r = 8 + 7 = 15 reference words.
    brevity = math.exp(1 - 15 / 11)
    expected = 100 * brevity * math.exp(sum(math.log(p) for p in precisions) / 4)
    assert metrics.bleu(references, hypotheses) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(100 * math.exp(-4 / 11) * (10 / 33) ** 0.25)


def test_bleu_is_100_for_the_references_and_lower_for_anything_else():
    references = ["a red disk left of a blue ring", "a green square above a red ring"]
    assert metrics.bleu(references, references) == pytest.approx(100.0)
    assert metrics.bleu(references, ["a red disk", "a green square"]) < 100.0


def test_exact_match_compares_words():
    references = ["a red disk", "a blue ring", "a green square"]
    assert metrics.exact_match(references, [" a red  disk", "a blue", "a green square"]) == 2 / 3


def test_token_accuracy_ignores_padding_and_reads_logits():
    targets = np.array([[3, 4, 2, 0, 0], [5, 6, 7, 8, 2]])
    predicted = np.array([[3, 9, 2, 7, 7], [5, 6, 7, 8, 8]])
    # Real positions: 3 + 5 = 8; right: 2 + 4 = 6. Padded positions (7, 7) do not count.
    assert metrics.token_accuracy(targets, predicted) == 6 / 8
    logits = np.eye(10)[predicted] * 5.0
    assert metrics.token_accuracy(targets, logits) == 6 / 8
    # Generated ids shorter than the targets are padded: a missing real id is wrong.
    assert metrics.token_accuracy(targets, predicted[:, :3]) == 5 / 8


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: metrics.bleu("a red disk", ["a red disk"]),
            "references must be a list of strings",
        ),
        (
            lambda: metrics.bleu(["a"], ["a", "b"]),
            "same number of captions, at least one; received 1 and 2",
        ),
        (
            lambda: metrics.exact_match(["a"], [3]),
            "hypotheses must be strings, one per sample; received 3",
        ),
        (
            lambda: metrics.bleu(["a"], ["a"], smooth_method="add-one"),
            r"smooth_method must be one of \['exp', 'floor', 'add-k', 'none'\]; received 'add-one'",
        ),
        (
            lambda: metrics.token_accuracy([3, 2], [3, 2]),
            r"targets must be integer ids of shape \(samples, length\); received shape \(2,\)",
        ),
        (
            lambda: metrics.token_accuracy([[3, 2]], [[3.0, 2.0]]),
            r"predictions must be ids \(samples, length\) or scores",
        ),
        (lambda: metrics.token_accuracy([[0, 0]], [[3, 2]]), "targets hold only padding"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
