"""Image augmentation: label-preserving, training-only, repeatable, and saved safely."""

import os

import keras
import numpy as np
import pytest

import mmtutorial as mt


@pytest.fixture(scope="module")
def images():
    return mt.data.ShapeMaterialTask().generate(16, seed=3).images


def _run(block, images, training=True):
    return keras.ops.convert_to_numpy(block(images, training=training))


def test_inference_leaves_images_unchanged(images):
    block = mt.encoders.augmentation(seed=0)
    np.testing.assert_array_equal(_run(block, images, training=False), images)


def test_flip_only_returns_each_image_or_its_mirror_and_does_both(images):
    out = _run(mt.encoders.augmentation(translation=0.0, seed=1), images)
    same = [np.array_equal(o, x) for o, x in zip(out, images)]
    mirrored = [np.allclose(o, x[:, ::-1]) for o, x in zip(out, images)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert any(same) and any(mirrored)


def _shifted(image, dy, dx):
    """``image`` moved down by ``dy`` and right by ``dx`` whole pixels, zeros filling the gap."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_shift_only_moves_whole_pixels_by_at_most_the_factor(images):
    out = _run(mt.encoders.augmentation(translation=0.1, horizontal_flip=False, seed=2), images)
    limit = int(np.ceil(0.1 * 32))
    shifts = []
    for o, x in zip(out, images):
        found = [
            (dy, dx)
            for dy in range(-limit, limit + 1)
            for dx in range(-limit, limit + 1)
            if np.array_equal(o, _shifted(x, dy, dx))
        ]
        assert found, "an output is not a whole-pixel shift of its input"
        shifts.append(found[0])
    assert sum(s != (0, 0) for s in shifts) >= 8  # most images did move


def test_the_same_seed_gives_the_same_draws(images):
    first = _run(mt.encoders.augmentation(seed=5), images)
    again = _run(mt.encoders.augmentation(seed=5), images)
    other = _run(mt.encoders.augmentation(seed=6), images)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_model_with_augmentation_saves_and_loads_in_safe_mode(task, small, tmp_path):
    mt.train.set_seed(0)
    encoder = keras.Sequential(
        [
            keras.Input(task.image_shape),
            mt.encoders.augmentation(seed=0),
            mt.encoders.image_encoder(task.image_shape),
        ]
    )
    model = mt.models.assemble_classifier({"image": encoder}, num_classes=7)
    mt.train.fit(model, (small.features, small.shape), epochs=1, batch_size=16)
    path = os.path.join(tmp_path, "augmented.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(mt.train.predict(restored, small), mt.train.predict(model, small))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"translation": 1.0}, r"translation must be a number in \[0, 1\); received 1.0"),
        ({"translation": -0.1}, r"translation must be a number in \[0, 1\); received -0.1"),
        ({"horizontal_flip": "yes"}, r"horizontal_flip must be True or False; received 'yes'"),
        (
            {"fill_mode": "mirror"},
            r"fill_mode must be one of \['constant', 'nearest', 'reflect', 'wrap'\]",
        ),
        ({"seed": -1}, r"seed must be an integer >= 0; received -1"),
        (
            {"translation": 0, "horizontal_flip": False},
            r"needs translation > 0 or horizontal_flip=True",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mt.encoders.augmentation(**kwargs)
