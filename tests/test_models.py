"""Complete models: structure, parameter counts, safe save/load, argument checks."""

import os

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.models import build_classifier, input_keys


def _build(task, **options):
    mt.train.set_seed(0)
    return build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, **options
    )


def _expected_parameters(task, modalities):
    """The parameter count, added up by hand from the layer formulas."""
    conv = sum(3 * 3 * c_in * c_out + c_out for c_in, c_out in ((3, 32), (32, 64), (64, 128)))
    embedding = task.vocab_size * 128
    lstm = 4 * (128 * (128 + 128) + 128)
    width = (512 if "image" in modalities else 0) + (128 if "text" in modalities else 0)
    head = (width * 128 + 128) + (128 * 21 + 21)
    return (
        head
        + (conv if "image" in modalities else 0)
        + (embedding + lstm if "text" in modalities else 0)
    )


@pytest.mark.parametrize("modalities", [("image", "text"), ("image",), ("text",)])
def test_models_have_the_expected_inputs_outputs_and_parameters(task, small, modalities):
    model = _build(task, modalities=modalities)
    assert input_keys(model) == modalities
    assert model.output_shape == (None, 21)
    assert model.count_params() == _expected_parameters(task, modalities)
    probabilities = mt.train.predict(model, small)
    assert probabilities.shape == (64, 21)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_model_names_say_what_they_are(task):
    assert _build(task).name == "image_text_concat"
    assert _build(task, modalities=("text",)).name == "text_only"
    assert _build(task, modalities="image").name == "image_only"


def test_model_is_compiled_with_the_sparse_loss(task):
    model = _build(task)
    assert model.loss == "sparse_categorical_crossentropy"
    assert not _build(task, compile=False).compiled


def test_pooling_and_projection_options_shrink_the_head(task):
    flat = _build(task).count_params()
    pooled = _build(task, image_pooling="avg").count_params()
    assert flat - pooled == (512 - 128) * 128
    projected = _build(task, image_projection=32)
    assert projected.get_layer("image_encoder").output_shape == (None, 32)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"modalities": ("image",)},
        {"modalities": ("text",)},
        {"image_pooling": "avg", "image_projection": 16},
    ],
)
def test_save_and_load_in_safe_mode_gives_identical_predictions(task, small, tmp_path, options):
    model = _build(task, **options)
    before = mt.train.predict(model, small)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(mt.train.predict(restored, small), before)
    assert restored.count_params() == model.count_params()


def test_no_lambda_layers_anywhere(task):
    model = _build(task)
    assert not [
        layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Lambda)
    ]


@pytest.mark.parametrize(
    "args, options, match",
    [
        (
            ((32, 32), 30, 12, 21),
            {},
            r"image_shape must be \(height, width, channels\) .* received \(32, 32\)",
        ),
        (((32, 32, 3), 1, 12, 21), {}, "vocab_size must be an integer >= 2; received 1"),
        (((32, 32, 3), 30, 0, 21), {}, "sequence_length must be an integer >= 1; received 0"),
        (((32, 32, 3), 30, 12, 1), {}, "num_classes must be an integer >= 2; received 1"),
        (((32, 32, 3), 30, 12, 21.0), {}, "num_classes must be an integer >= 2; received 21.0"),
        (
            ((32, 32, 3), 30, 12, 21),
            {"fusion": "bilinear"},
            r"unknown fusion 'bilinear'; valid names are \[",
        ),
        (
            ((32, 32, 3), 30, 12, 21),
            {"modalities": ("image", "audio")},
            r"modalities must be .* received \('image', 'audio'\)",
        ),
        (((32, 32, 3), 30, 12, 21), {"modalities": ()}, "modalities must be a non-empty"),
        (((32, 32, 3), 30, 12, 21), {"modalities": ("text", "text")}, "without repeats"),
        (
            ((32, 32, 3), 30, 12, 21),
            {"dropuot": 0.3},
            r"unknown option\(s\) \['dropuot'\]; valid options are",
        ),
        (
            ((32, 32, 3), 30, 12, 21),
            {"learning_rate": 0},
            "learning_rate must be a positive number; received 0",
        ),
        (
            ((32, 32, 3), 30, 12, 21),
            {"fusion_config": [1]},
            r"fusion_config must be a dict; received \[1\]",
        ),
        (((32, 32, 3), 30, 12, 21), {"image_pooling": "sum"}, "pooling must be one of"),
        (((8, 8, 3), 30, 12, 21), {}, "too small for 3 conv blocks"),
    ],
)
def test_build_classifier_names_the_bad_argument(args, options, match):
    with pytest.raises(ValueError, match=match):
        build_classifier(*args, **options)


def test_assemble_classifier_rejects_bad_encoders():
    with pytest.raises(ValueError, match="encoders_by_key must be a non-empty dict"):
        mt.models.assemble_classifier({}, num_classes=3)
    with pytest.raises(ValueError, match="must map a string to a single-input keras.Model"):
        mt.models.assemble_classifier({"x": "not a model"}, num_classes=3)
    sequence = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(9, 4)])
    with pytest.raises(
        ValueError, match=r"encoder 'x' must output one vector per sample \(rank 2\)"
    ):
        mt.models.assemble_classifier({"x": sequence}, num_classes=3)


def test_resumable_dropout_saves_its_random_state(tmp_path):
    layer_model = keras.Sequential([keras.Input((64,)), mt.heads.ResumableDropout(0.5, seed=3)])
    x = np.ones((2, 64), "float32")
    layer_model(x, training=True)  # advance the random state once
    path = str(tmp_path / "d.keras")
    layer_model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        np.asarray(layer_model(x, training=True)), np.asarray(restored(x, training=True))
    )
