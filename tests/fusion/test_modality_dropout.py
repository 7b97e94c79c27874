"""ModalityDropout: what it drops, how often, with what, and how predict(missing=...) matches it."""

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.fusion import ModalityDropout

N = 4000


def _inputs():
    image = np.ones((N, 2, 2, 1), "float32")
    text = np.full((N, 3), 7, "int32")
    extra = np.ones((N, 5), "float32")
    return [image, text, extra]


def _lost(outputs, fills=(0, 0, 0)):
    arrays = [np.asarray(x) for x in outputs]
    return np.stack([(a == f).reshape(N, -1).all(axis=1) for a, f in zip(arrays, fills)], axis=1)


def test_at_most_one_modality_per_sample_is_dropped_at_the_stated_rate():
    lost = _lost(ModalityDropout(rate=0.3, seed=1)(_inputs(), training=True))
    assert lost.sum(axis=1).max() == 1, "a sample lost two modalities"
    share = lost.any(axis=1).mean()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / N), share
    # Each modality equally often: rate / 3 each, within four binomial standard errors.
    per_modality = lost.mean(axis=0)
    assert np.all(np.abs(per_modality - 0.1) < 4 * np.sqrt(0.1 * 0.9 / N)), per_modality


def test_inference_and_rate_zero_pass_everything_through():
    inputs = _inputs()
    for layer, training in ((ModalityDropout(0.5, seed=0), False), (ModalityDropout(0.0), True)):
        for got, given in zip(layer(inputs, training=training), inputs):
            np.testing.assert_array_equal(np.asarray(got), given)


def test_dropped_modalities_take_their_fill_values_and_keep_their_dtype():
    fills = [None, None, [1.0, 2.0, 3.0, 4.0, 5.0]]
    outputs = ModalityDropout(0.6, fill_values=fills, seed=2)(_inputs(), training=True)
    assert [keras.backend.standardize_dtype(x.dtype) for x in outputs] == [
        "float32",
        "int32",
        "float32",
    ]
    extra = np.asarray(outputs[2])
    replaced = (extra != 1).any(axis=1)
    assert replaced.any()
    np.testing.assert_array_equal(extra[replaced], np.tile(np.arange(1, 6), (replaced.sum(), 1)))


def test_the_config_round_trips():
    layer = ModalityDropout(0.25, fill_values=[None, [0.5]], names=["a", "b"], seed=3)
    clone = ModalityDropout.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.absent_value(1).tolist() == [0.5] and clone.absent_value(0) is None


@pytest.mark.parametrize(
    "kwargs, call, match",
    [
        ({"rate": 1.0}, None, r"rate must be a number in \[0, 1\); received 1.0"),
        ({"fill_values": 0.0}, None, "fill_values must be None or a list .*received 0.0"),
        ({"names": "ab"}, None, "names must be None or a list of strings; received 'ab'"),
        ({}, [np.ones((2, 3))], "needs a list of at least 2 tensors, one per modality"),
        ({"fill_values": [None]}, None, "fill_values has 1 entries but the layer received 3"),
        (
            {"fill_values": [None, None, [1.0, 2.0]]},
            None,
            r"fill_values\[2\] of shape \(2,\) does not broadcast to one sample of input 2",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, call, match):
    with pytest.raises(ValueError, match=match):
        layer = ModalityDropout(**kwargs)
        layer(call if call is not None else _inputs(), training=True)


def test_a_model_trained_with_it_gets_the_same_absent_value_at_predict_time(tmp_path):
    rng = np.random.default_rng(0)
    features = {
        "a": rng.normal(size=(64, 3)).astype("float32"),
        "b": rng.normal(size=(64, 2)).astype("float32"),
    }
    labels = rng.integers(0, 3, size=64)
    fill = [9.0, -9.0]
    model = mt.models.assemble_classifier(
        {
            k: keras.Sequential([keras.Input((v.shape[1],)), keras.layers.Identity()])
            for k, v in features.items()
        },
        3,
        modality_dropout=0.5,
        absent={"b": fill},
    )
    mt.train.fit(model, (features, labels), epochs=1, batch_size=16, seed=0)
    assert mt.train.absent_value(model, "b").tolist() == fill
    assert mt.train.absent_value(model, "a").tolist() == [0.0, 0.0, 0.0]
    by_hand = mt.train.predict(model, {**features, "b": np.tile(fill, (64, 1)).astype("float32")})
    np.testing.assert_array_equal(mt.train.predict(model, features, missing=("b",)), by_hand)
    only_a = {"a": features["a"]}  # the missing modality may be left out altogether
    np.testing.assert_array_equal(mt.train.predict(model, only_a, missing="b"), by_hand)
    path = tmp_path / "dropout.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(mt.train.predict(restored, only_a, missing="b"), by_hand)
    assert mt.train.evaluate(model, (only_a, labels), missing="b") == np.mean(
        by_hand.argmax(axis=1) == labels
    )


def _small_classifier(task, **options):
    """An image + text classifier of the task, small enough to build in a blink."""
    return mt.models.build_classifier(
        task.image_shape,
        task.vocab_size,
        task.sequence_length,
        task.num_classes,
        image_filters=(8, 8, 8),
        text_units=8,
        embedding_dim=8,
        hidden_units=8,
        **options,
    )


def test_without_the_layer_missing_means_zeros_and_only_when_asked(task, small):
    model = _small_classifier(task)
    assert not any(isinstance(lyr, ModalityDropout) for lyr in model.layers)
    blank = {"image": small.images, "text": np.zeros_like(small.tokens)}
    np.testing.assert_array_equal(
        mt.train.predict(model, small, missing=("text",)), mt.train.predict(model, blank)
    )
    assert not np.array_equal(mt.train.predict(model, small), mt.train.predict(model, blank))


@pytest.mark.parametrize(
    "missing, match",
    [
        (("audio",), r"missing names \['audio'\], which the model does not take"),
        (("image", "text"), "leaves the model no input at all"),
        (3, "missing must be an input name or a tuple of them"),
    ],
)
def test_bad_missing_arguments_are_named(task, small, missing, match):
    model = _small_classifier(task)
    with pytest.raises(ValueError, match=match):
        mt.train.predict(model, small, missing=missing)


def test_build_classifier_puts_it_on_the_raw_inputs(task):
    model = _small_classifier(task, modality_dropout=0.3)
    layer = model.get_layer("modality_dropout")
    assert layer.rate == 0.3 and layer.names == ["image", "text"]
    with pytest.raises(ValueError, match=r"modality_dropout=0.3 needs two or more modalities"):
        _small_classifier(task, modalities=("image",), modality_dropout=0.3)
