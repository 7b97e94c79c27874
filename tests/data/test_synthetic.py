"""The synthetic task (mmtutorial.data.synthetic): shapes, determinism, captions, ceilings, settings."""

import itertools

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import COLOURS, MATERIALS, SHAPES, ShapeMaterialTask


def test_generate_shapes_dtypes_and_ranges(task):
    split = task.generate(200, seed=1)
    assert split.images.shape == (200, 32, 32, 3) and split.images.dtype == np.float32
    assert split.tokens.shape == (200, 12) and split.tokens.dtype == np.int32
    assert split.labels.shape == (200,) and split.labels.dtype == np.int32
    assert 0.0 <= split.images.min() and split.images.max() <= 1.0
    assert len(split.captions) == len(split) == 200
    np.testing.assert_array_equal(split.labels, split.shape * 3 + split.material)
    assert set(np.unique(split.labels)) <= set(range(21))
    assert split.features.keys() == {"image", "text"}


def test_same_seed_same_data_other_seed_other_data(task):
    a, b, c = task.generate(50, seed=3), task.generate(50, seed=3), task.generate(50, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    assert not np.array_equal(a.images, c.images)


def test_splits_are_independent(task):
    splits = task.splits(train=30, validation=20, test=10, seed=0)
    assert [len(s) for s in splits.values()] == [30, 20, 10]
    assert not np.array_equal(splits["train"].images[:10], splits["test"].images)


def test_every_image_shows_one_object_inside_the_frame(task):
    split = task.generate(300, seed=2)
    # The background and its noise stay below 0.45; every palette colour has a channel above 0.8.
    objects = split.images.max(axis=-1) > 0.45
    area = objects.sum(axis=(1, 2))
    assert area.min() >= 20
    border = (
        objects[:, 0, :].any(1)
        | objects[:, -1, :].any(1)
        | objects[:, :, 0].any(1)
        | objects[:, :, -1].any(1)
    )
    assert not border.any()


def test_shape_areas_follow_their_geometry(task):
    """Per unit radius^2, a disk covers more pixels than a ring, a bar fewer than a square."""
    split = task.generate(700, seed=5)
    area = (split.images.max(axis=-1) > 0.45).sum(axis=(1, 2))
    mean = {name: area[split.shown_shape == i].mean() for i, name in enumerate(SHAPES)}
    assert mean["disk"] > mean["ring"]
    assert mean["square"] > mean["bar"]
    assert mean["disk"] > mean["diamond"]


def test_captions_name_the_stated_material_and_never_the_shape(task):
    split = task.generate(300, seed=6)
    for caption, material in zip(split.captions, split.stated_material):
        words = caption.split()
        assert MATERIALS[material] in words
        assert sum(w in MATERIALS for w in words) == 1
        assert not set(words) & set(SHAPES)
        assert set(words) <= set(task.vocabulary)


def test_tokens_follow_the_vocabulary_with_zero_padding(task):
    split = task.generate(100, seed=8)
    vocabulary = ["", "[UNK]"] + list(task.vocabulary)
    for caption, ids in zip(split.captions, split.tokens):
        n = len(caption.split())
        assert [vocabulary[i] for i in ids[:n]] == caption.split()
        assert not ids[n:].any()
    assert task.vocab_size == len(vocabulary)
    # Unknown words map to id 1, punctuation and case are normalised.
    np.testing.assert_array_equal(
        task.tokenize(["Glass, zebra!"])[0][:2], [vocabulary.index("glass"), 1]
    )


def _brute_force_ceilings(p, q):
    """Enumerate the joint distribution of (shape, material, shown, stated) and take the best guesses."""
    ks, km = len(SHAPES), len(MATERIALS)

    def channel(k, r):
        return lambda true, shown: r * (true == shown) + (1 - r) / k

    shown_given, stated_given = channel(ks, p), channel(km, q)
    bayes = image = text = 0.0
    for s_hat, m_hat in itertools.product(range(ks), range(km)):
        joint = {
            (s, m): shown_given(s, s_hat) * stated_given(m, m_hat) / (ks * km)
            for s, m in itertools.product(range(ks), range(km))
        }
        bayes += max(joint.values())
    for s_hat in range(ks):
        # Every material is equally likely given the image: the best guess is any (s, m).
        image += max(shown_given(s, s_hat) / (ks * km) for s in range(ks))
    for m_hat in range(km):
        text += max(stated_given(m, m_hat) / (ks * km) for m in range(km))
    return bayes, image, text


@pytest.mark.parametrize("p,q", [(0.9, 0.9), (0.6, 0.5), (1.0, 0.0), (0.0, 1.0)])
def test_analytic_ceilings_match_brute_force_enumeration(p, q):
    task = ShapeMaterialTask(image_reliability=p, caption_reliability=q)
    bayes, image, text = _brute_force_ceilings(p, q)
    assert task.bayes_accuracy == pytest.approx(bayes)
    assert task.image_only_accuracy == pytest.approx(image)
    assert task.text_only_accuracy == pytest.approx(text)


@pytest.mark.parametrize("p,q", [(0.9, 0.9), (0.6, 0.5)])
def test_analytic_ceilings_match_monte_carlo(p, q):
    task = ShapeMaterialTask(image_reliability=p, caption_reliability=q)
    n = 20000
    split = task.generate(n, seed=11)
    bayes = np.mean((split.shown_shape == split.shape) & (split.stated_material == split.material))
    image = np.mean((split.shown_shape == split.shape) & (split.material == 1))
    text = np.mean((split.stated_material == split.material) & (split.shape == 2))
    for estimate, exact in (
        (bayes, task.bayes_accuracy),
        (image, task.image_only_accuracy),
        (text, task.text_only_accuracy),
    ):
        assert abs(estimate - exact) < 4 * np.sqrt(exact * (1 - exact) / n) + 1e-9


def test_default_ceilings_are_ordered_and_named(task):
    assert task.num_classes == 21 and len(task.class_names) == 21
    assert task.class_names[0] == "wood disk" and task.class_names[20] == "glass bar"
    assert (
        task.bayes_accuracy
        > task.image_only_accuracy
        > task.text_only_accuracy
        > task.chance_accuracy
    )


@pytest.mark.parametrize("n", [0, -5, 2.5])
def test_generate_rejects_bad_counts(task, n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        task.generate(n)


def test_tokenize_rejects_non_strings(task):
    with pytest.raises(ValueError, match="captions must be strings; received 3"):
        task.tokenize(["glass", 3])


def test_colour_names_in_captions_match_the_image(task):
    split = task.generate(200, seed=9)
    palette = np.array(list(COLOURS.values()))
    for image, caption in zip(split.images, split.captions):
        named = [w for w in caption.split() if w in COLOURS]
        if not named:
            continue
        pixels = image[image.max(axis=-1) > 0.45]
        nearest = np.argmin(((palette - pixels.mean(axis=0)) ** 2).sum(axis=1))
        assert list(COLOURS)[nearest] == named[0]


def test_a_split_is_the_base_split_with_the_hidden_causes(task, small):
    assert isinstance(small, mt.data.Split) and isinstance(small, mt.data.ShapeMaterialSplit)
    assert small.features["image"] is small.images and small.features["text"] is small.tokens
    assert repr(small) == (
        "ShapeMaterialSplit(64 samples;\n    image (64, 32, 32, 3) float32, text (64, 12) int32)"
    )
    assert all(len(line) <= 72 for line in repr(small).splitlines())
    assert task.input_specs() == {"image": ((32, 32, 3), "float32"), "text": ((12,), "int32")}
    assert task.image_shape == (32, 32, 3)


def test_default_splits_have_the_documented_sizes():
    assert ShapeMaterialTask.split_sizes == (6000, 1000, 2000)
