"""The dual encoder: similarity logits, the contrastive loss, saving.

Every number is compared with an independent NumPy reference: the loss written
out sample by sample. The retrieval metrics (recall@k) are tested in
tests/test_metrics.py.
"""

import os

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.heads import ContrastiveLoss, SimilarityLogits


def _logsumexp(x):
    top = x.max()
    return top + np.log(np.exp(x - top).sum())


def reference_loss(logits, ids):
    """Symmetric InfoNCE written out sample by sample; pairs with equal ids all match."""
    logits = np.asarray(logits, dtype="float64")
    batch = len(ids)
    total = 0.0
    for i in range(batch):
        matches = [j for j in range(batch) if ids[j] == ids[i]]
        image_to_text = logits[i] - _logsumexp(logits[i])  # row i: image i against every text
        text_to_image = logits[:, i] - _logsumexp(
            logits[:, i]
        )  # column i: text i against every image
        total += 0.5 * (-image_to_text[matches].mean() - text_to_image[matches].mean())
    return total / batch


def _value(x):
    return float(keras.ops.convert_to_numpy(x))


# -- the loss -------------------------------------------------------------------------


def test_loss_with_distinct_ids_is_clips_symmetric_cross_entropy():
    logits = np.random.default_rng(0).normal(scale=3.0, size=(6, 6)).astype("float32")
    ids = np.arange(6)
    got = _value(ContrastiveLoss()(ids, logits))
    assert got == pytest.approx(reference_loss(logits, ids), rel=1e-5)
    # the same number from Keras's own cross-entropy, as in CLIP's pseudocode
    rows = keras.losses.sparse_categorical_crossentropy(ids, logits, from_logits=True)
    cols = keras.losses.sparse_categorical_crossentropy(ids, logits.T, from_logits=True)
    assert got == pytest.approx(
        0.5 * (_value(keras.ops.mean(rows)) + _value(keras.ops.mean(cols))), rel=1e-5
    )


def test_loss_spreads_the_target_over_pairs_that_share_an_id():
    logits = np.random.default_rng(1).normal(size=(5, 5)).astype("float32")
    ids = np.array([3, 0, 3, 7, 0])
    got = _value(ContrastiveLoss()(ids, logits))
    assert got == pytest.approx(reference_loss(logits, ids), rel=1e-5)
    assert got != pytest.approx(reference_loss(logits, np.arange(5)), rel=1e-3)


def test_loss_of_uniform_logits_is_log_batch_and_perfect_logits_approach_zero():
    assert _value(ContrastiveLoss()(np.arange(8), np.zeros((8, 8), "float32"))) == pytest.approx(
        np.log(8)
    )
    assert _value(ContrastiveLoss()(np.arange(4), 50 * np.eye(4, dtype="float32"))) < 1e-6


def test_loss_accepts_ids_as_a_column():
    logits = np.random.default_rng(2).normal(size=(4, 4)).astype("float32")
    flat = _value(ContrastiveLoss()(np.arange(4), logits))
    assert _value(ContrastiveLoss()(np.arange(4)[:, None], logits)) == pytest.approx(flat)


@pytest.mark.parametrize(
    "ids, logits, message",
    [
        (np.arange(3), np.zeros((3, 4), "float32"), r"square logits \(batch, batch\).*\(3, 4\)"),
        (np.arange(3), np.zeros((3,), "float32"), r"square logits.*\(3,\)"),
        (np.arange(4), np.zeros((3, 3), "float32"), r"one pair id per sample: received 4 ids"),
    ],
)
def test_loss_names_bad_shapes(ids, logits, message):
    with pytest.raises(ValueError, match=message):
        ContrastiveLoss()(ids, logits)


def test_loss_config_round_trip():
    loss = ContrastiveLoss(name="clip")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, ContrastiveLoss) and again.name == "clip"


# -- the similarity layer -------------------------------------------------------------


def test_similarity_logits_equal_scaled_dot_products():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(3, 5)).astype("float32")
    layer = SimilarityLogits(temperature=0.25)
    got = keras.ops.convert_to_numpy(layer([u, v]))
    np.testing.assert_allclose(got, 4.0 * u @ v.T, rtol=1e-5)
    assert layer.compute_output_shape([(None, 5), (7, 5)]) == (None, 7)


def test_temperature_is_learnable_or_fixed_and_the_scale_is_clipped():
    learned = SimilarityLogits(temperature=0.07)
    fixed = SimilarityLogits(temperature=0.07, learnable=False)
    for layer in (learned, fixed):
        layer.build([(None, 3), (None, 3)])
    assert len(learned.trainable_weights) == 1 and not fixed.trainable_weights
    assert learned.current_scale() == pytest.approx(1 / 0.07, rel=1e-5)
    learned.log_scale.assign(np.log(500.0))
    assert learned.current_scale() == pytest.approx(100.0)
    u = np.eye(3, dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(learned([u, u])), 100 * u, rtol=1e-5)
    assert SimilarityLogits(temperature=0.5).current_scale() == 2.0  # before it is built


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0}, r"temperature must be a positive number; received 0"),
        ({"temperature": "0.07"}, r"temperature must be a positive number; received '0.07'"),
        ({"learnable": 1}, r"learnable must be True or False; received 1"),
        (
            {"temperature": 0.1, "max_scale": 5},
            r"max_scale must be a number >= 1 / temperature = 10; received 5",
        ),
    ],
)
def test_similarity_logits_name_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimilarityLogits(**kwargs)


@pytest.mark.parametrize(
    "shapes",
    [[(2, 4)], [(2, 4), (2, 5)], [(2, 4), (2, 3, 4)], [(2, 4), (2, 4), (2, 4)]],
)
def test_similarity_logits_name_bad_inputs(shapes):
    with pytest.raises(ValueError, match=r"expects a list of 2 rank-2 tensors \[images, texts\]"):
        SimilarityLogits()([np.zeros(s, "float32") for s in shapes])


def test_similarity_logits_config_round_trip():
    layer = SimilarityLogits(temperature=0.2, learnable=False, max_scale=20.0, name="sim")
    again = SimilarityLogits.from_config(layer.get_config())
    assert (again.temperature, again.learnable, again.max_scale, again.name) == (
        0.2,
        False,
        20.0,
        "sim",
    )


# -- the model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs():
    split = mt.data.ShapeMaterialTask().generate(48, seed=5)
    return split.features, np.arange(48)


def _dual(task, **kwargs):
    mt.train.set_seed(0)
    return mt.models.build_dual_encoder(
        task.image_shape,
        task.vocab_size,
        task.sequence_length,
        embedding_dim=8,
        image_filters=(8, 8, 8),
        text_embedding_dim=8,
        text_units=8,
        **kwargs,
    )


def test_dual_encoder_outputs_batch_logits_from_unit_length_embeddings(task, pairs):
    model = _dual(task)
    features, _ = pairs
    logits = keras.ops.convert_to_numpy(model(features))
    assert logits.shape == (48, 48) and model.output_shape == (None, None)
    images = mt.train.embed_images(model, features["image"], batch_size=20)
    texts = mt.train.embed_texts(model, features["text"], batch_size=20)
    assert images.shape == texts.shape == (48, 8)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(logits, (1 / 0.07) * images @ texts.T, rtol=1e-4, atol=1e-4)
    # a tower works on its own too
    tower = model.get_layer("image_embedder")
    np.testing.assert_array_equal(
        mt.train.embed_images(tower, features["image"], batch_size=20), images
    )


def test_dual_encoder_training_lowers_the_contrastive_loss(task, pairs):
    model = _dual(task, learning_rate=3e-3)
    history = mt.train.fit(model, pairs, epochs=4, batch_size=16, seed=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.5, losses


def test_fixed_temperature_stays_fixed(task, pairs):
    model = _dual(task, temperature=0.2, learnable_temperature=False)
    mt.train.fit(model, pairs, epochs=1, batch_size=16)
    assert model.get_layer("similarity").current_scale() == pytest.approx(5.0, rel=1e-6)


def test_dual_encoder_saves_and_loads_in_safe_mode(task, pairs, tmp_path):
    model = _dual(task)
    mt.train.fit(model, pairs, epochs=1, batch_size=16)
    path = os.path.join(tmp_path, "dual.keras")
    model.save(path)
    restored = keras.saving.load_model(path)  # safe_mode=True
    features, _ = pairs
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored(features)), keras.ops.convert_to_numpy(model(features))
    )
    np.testing.assert_array_equal(
        mt.train.embed_texts(restored, features["text"]),
        mt.train.embed_texts(model, features["text"]),
    )
    assert isinstance(restored.loss, ContrastiveLoss)
    assert (
        restored.get_layer("similarity").current_scale()
        == model.get_layer("similarity").current_scale()
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"embedding_dim": 1}, r"embedding_dim must be an integer >= 2; received 1"),
        ({"temperature": -1.0}, r"temperature must be a positive number; received -1.0"),
        ({"temprature": 0.1}, r"unknown option\(s\) \['temprature'\]"),
        ({"learning_rate": 0}, r"learning_rate must be a positive number; received 0"),
        ({"image_pooling": "mean"}, r"pooling must be one of"),
    ],
)
def test_dual_encoder_names_bad_arguments(task, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mt.models.build_dual_encoder(
            task.image_shape, task.vocab_size, task.sequence_length, **kwargs
        )


def test_embedding_helpers_check_their_inputs(task, pairs, fused):
    model = _dual(task)
    features, _ = pairs
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
        mt.train.embed_images(model, features["image"] * 255)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 31\)"):
        mt.train.embed_texts(model, features["text"] + 40)
    with pytest.raises(ValueError, match=r"has no layer 'image_embedder'"):
        mt.train.embed_images(fused, features["image"])
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1; received 0"):
        mt.train.embed_texts(model, features["text"], batch_size=0)
