"""The classification head, checked against its formula in NumPy."""

import numpy as np
import pytest

from mmtutorial.heads import classification_head


def test_head_matches_its_formula_at_inference():
    head = classification_head(5, hidden_units=8)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    out = np.asarray(head(x, training=False))
    w1, b1, w2, b2 = (np.asarray(w, dtype="float64") for w in head.get_weights())
    logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


def test_dropout_acts_only_in_training():
    head = classification_head(4, hidden_units=64, dropout=0.5)
    x = np.ones((2, 16), dtype="float32")
    a, b = np.asarray(head(x, training=False)), np.asarray(head(x, training=False))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.asarray(head(x, training=True)), a)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 1}, "num_classes must be an integer >= 2; received 1"),
        ({"num_classes": True}, "num_classes must be an integer >= 2; received True"),
        ({"num_classes": 3, "hidden_units": 0}, "hidden_units must be an integer >= 1; received 0"),
        ({"num_classes": 3, "dropout": 1.0}, r"dropout must be a number in \[0, 1\); received 1.0"),
    ],
)
def test_head_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        classification_head(**kwargs)
