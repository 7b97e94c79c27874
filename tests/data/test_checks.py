"""Input checks (mmtutorial.data.input_checks): every bad input named, with the value received."""

import numpy as np
import pytest

from mmtutorial.data import check_features

SPEC = dict(image_shape=(32, 32, 3), sequence_length=12, vocab_size=30)


def _features(small, **changes):
    out = {"image": small.images[:4], "text": small.tokens[:4]}
    out.update(changes)
    return out


def test_check_features_accepts_good_input_and_casts(small):
    out = check_features(
        {"image": small.images[:4].astype("float64"), "text": small.tokens[:4].astype("int64")},
        **SPEC,
    )
    assert out["image"].dtype == np.float32 and out["text"].dtype == np.int32


@pytest.mark.parametrize(
    "change, match",
    [
        (
            lambda s: {"image": s.images[0]},
            r"features\['image'\] must have rank 4 .* received shape \(32, 32, 3\)",
        ),
        (
            lambda s: {"image": s.images[:4, :, :, :1]},
            r"wrong channel count: the model expects images of shape \(32, 32, 3\); received \(32, 32, 1\)",
        ),
        (lambda s: {"image": s.images[:4, :16]}, r"wrong shape"),
        (
            lambda s: {"image": s.images[:4] * 255},
            r"values must lie in \[0, 1\]; received min 0 and max .* \(divide 8-bit images by 255\)",
        ),
        (
            lambda s: {
                "image": np.where(np.arange(32)[None, None, :, None] == 5, np.nan, s.images[:4])
            },
            r"NaN or infinite .* index \(0, 0, 5, 0\)",
        ),
        (lambda s: {"image": np.full((4, 32, 32, 3), np.inf)}, r"NaN or infinite"),
        (
            lambda s: {"text": s.tokens[:4].astype("float32") + 0.5},
            r"features\['text'\] must be integer token ids; received dtype float32",
        ),
        (lambda s: {"text": s.tokens[:4].astype("float32")}, r"cast with \.astype\('int32'\)"),
        (lambda s: {"text": np.array(s.captions[:4])}, r"tokenize strings first"),
        (lambda s: {"text": s.tokens[:4, :, None]}, r"must have rank 2"),
        (lambda s: {"text": s.tokens[:4, :10]}, r"sequence length 12; received shape \(4, 10\)"),
        (lambda s: {"text": s.tokens[:4] + 100}, r"token ids must lie in \[0, 30\)"),
        (lambda s: {"text": s.tokens[:4] - 5}, r"token ids must lie in \[0, 30\); received min -5"),
        (lambda s: {"text": s.tokens[:3]}, r"different batch sizes: \{'image': 4, 'text': 3\}"),
    ],
)
def test_check_features_names_each_mistake(small, change, match):
    with pytest.raises(ValueError, match=match):
        check_features(_features(small, **change(small)), **SPEC)


def test_check_features_missing_key_and_wrong_container(small):
    with pytest.raises(
        ValueError, match=r"missing the key\(s\) \['text'\]; received keys \['image'\]"
    ):
        check_features({"image": small.images[:4]}, **SPEC)
    with pytest.raises(ValueError, match="must be a dict .* received list"):
        check_features([small.images, small.tokens], **SPEC)


def test_check_features_checks_labels(small):
    with pytest.raises(
        ValueError, match=r"labels must be a 1-D array of integer class ids \(not one-hot\)"
    ):
        check_features(_features(small), labels=np.eye(21)[small.labels[:4]], **SPEC)
    with pytest.raises(
        ValueError, match=r"labels must lie in \[0, 21\); received min 0 and max 21"
    ):
        check_features(_features(small), labels=np.array([0, 1, 2, 21]), num_classes=21, **SPEC)
    with pytest.raises(ValueError, match="different batch sizes"):
        check_features(_features(small), labels=small.labels[:5], **SPEC)


def test_check_features_leaves_the_callers_arrays_alone(small):
    image = small.images[:4].copy()
    check_features({"image": image, "text": small.tokens[:4]}, **SPEC)
    np.testing.assert_array_equal(image, small.images[:4])
