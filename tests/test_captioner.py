"""The captioner: a padding-masked loss, decoding checked against brute force, safe round trips.

References are independent of the code under test: the loss is recomputed
with NumPy from the model's logits; beam search is compared with an
exhaustive search that scores every possible sequence by teacher forcing
(one batched call of the model, log-softmax and sums in NumPy); greedy
decoding with the step-by-step argmax of those same NumPy log-probabilities.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from mmtutorial import models
from mmtutorial.data.captioning import END_ID, PAD_ID, START_ID, SceneCaptionTask

# A tiny vocabulary: padding, start, end and two words; captions of at most 3 ids.
VOCAB, LENGTH, MAX_LENGTH = 5, 4, 3
IMAGE = (16, 16, 3)


def tiny_captioner(image_tokens="regions", seed=0):
    keras.utils.set_random_seed(seed)
    return models.build_captioner(
        IMAGE,
        VOCAB,
        LENGTH,
        units=8,
        layers=2,
        num_heads=2,
        image_tokens=image_tokens,
        image_filters=(4,),
        patch_size=4,
    )


def images(n, seed=0):
    return np.random.default_rng(seed).random((n,) + IMAGE).astype("float32")


def log_softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def every_sequence():
    """Every sequence a decoder can write in MAX_LENGTH steps, padded after its end id."""
    written = [i for i in range(VOCAB) if i not in (PAD_ID, START_ID)]
    found = set()
    for ids in itertools.product(written, repeat=MAX_LENGTH):
        ids = list(ids)
        if END_ID in ids:
            stop = ids.index(END_ID) + 1
            ids = ids[:stop] + [PAD_ID] * (MAX_LENGTH - stop)
        found.add(tuple(ids))
    return sorted(found)


def teacher_forced_log_probabilities(model, image, sequences):
    """``(len(sequences), MAX_LENGTH, VOCAB)`` NumPy log-probabilities of each next id."""
    sequences = np.array(sequences, dtype="int32")
    inputs = np.full((len(sequences), LENGTH), PAD_ID, dtype="int32")
    inputs[:, 0] = START_ID
    inputs[:, 1:MAX_LENGTH] = np.where(sequences[:, :-1] == END_ID, PAD_ID, sequences[:, :-1])
    feed = {"image": np.repeat(image[None], len(sequences), axis=0), "tokens": inputs}
    logits = np.asarray(model(feed), dtype="float64")[:, :MAX_LENGTH]
    return log_softmax(logits)


def total_log_probability(log_p, sequence):
    """The sum of ``log p`` of each written id, up to and including the end id."""
    total = 0.0
    for step, token in enumerate(sequence):
        if token == PAD_ID:
            break
        total += log_p[step, token]
    return total


# -- the loss ----------------------------------------------------------------------------


def test_the_loss_is_the_mean_cross_entropy_over_real_targets_only():
    task = SceneCaptionTask(image_size=16)
    split = task.generate(12, seed=3)
    keras.utils.set_random_seed(1)
    model = models.build_captioner(
        task.image_shape, task.vocab_size, task.sequence_length, units=8, layers=1, num_heads=2
    )
    targets = split.labels
    log_p = log_softmax(np.asarray(model(split.features), dtype="float64"))
    real = targets != PAD_ID
    expected = -np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0][real].mean()
    loss = model.evaluate(split.features, targets, batch_size=12, verbose=0)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    # Targets at padded positions (where the caption has ended) do not count.
    changed = np.where(real, targets, 5)
    assert model.evaluate(split.features, changed, batch_size=12, verbose=0) == pytest.approx(
        loss, rel=1e-6
    )
    # ...but a real target does.
    wrong = targets.copy()
    wrong[0, 0] = END_ID
    assert model.evaluate(split.features, wrong, batch_size=12, verbose=0) != pytest.approx(loss)


def test_a_few_steps_of_teacher_forcing_lower_the_loss():
    task = SceneCaptionTask(image_size=16)
    split = task.generate(64, seed=0)
    keras.utils.set_random_seed(0)
    model = models.build_captioner(
        task.image_shape,
        task.vocab_size,
        task.sequence_length,
        units=16,
        layers=1,
        num_heads=2,
        image_filters=(8,),
        learning_rate=3e-3,
    )
    history = model.fit(split.features, split.labels, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


# -- decoding ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def captioner():
    return tiny_captioner()


def test_a_beam_as_wide_as_every_sequence_is_the_exhaustive_search(captioner):
    sequences = every_sequence()
    assert len(sequences) == 1 + 2 + 4 + 8  # end at step 1, 2, 3, or three words
    batch = images(3, seed=4)
    ids, scores = models.beam_search(captioner, batch, len(sequences), MAX_LENGTH, return_all=True)
    for b in range(len(batch)):
        log_p = teacher_forced_log_probabilities(captioner, batch[b], sequences)
        totals = np.array([total_log_probability(log_p[i], s) for i, s in enumerate(sequences)])
        order = np.argsort(-totals, kind="stable")
        assert tuple(ids[b, 0]) == sequences[order[0]]
        # Every hypothesis survives, best first, with the score brute force gives it.
        assert [tuple(row) for row in ids[b]] == [sequences[i] for i in order]
        np.testing.assert_allclose(scores[b], totals[order], rtol=1e-4, atol=1e-4)


def test_a_narrow_beam_keeps_the_best_hypotheses_it_can_reach(captioner):
    batch = images(4, seed=5)
    ids, scores = models.beam_search(captioner, batch, 3, MAX_LENGTH, return_all=True)
    sequences = every_sequence()
    for b in range(len(batch)):
        log_p = teacher_forced_log_probabilities(captioner, batch[b], sequences)
        by_sequence = {s: total_log_probability(log_p[i], s) for i, s in enumerate(sequences)}
        got = [by_sequence[tuple(row)] for row in ids[b]]
        np.testing.assert_allclose(scores[b], got, rtol=1e-4, atol=1e-4)
        assert list(scores[b]) == sorted(scores[b], reverse=True)
        assert len({tuple(row) for row in ids[b]}) == 3  # no hypothesis twice


def test_greedy_decoding_takes_the_argmax_at_every_step(captioner):
    batch = images(4, seed=6)
    ids = models.greedy_decode(captioner, batch, MAX_LENGTH)
    allowed = np.array([i not in (PAD_ID, START_ID) for i in range(VOCAB)])
    for b in range(len(batch)):
        prefix = []
        for step in range(MAX_LENGTH):
            if prefix and prefix[-1] in (END_ID, PAD_ID):
                prefix.append(PAD_ID)
                continue
            padded = prefix + [PAD_ID] * (MAX_LENGTH - len(prefix))
            log_p = teacher_forced_log_probabilities(captioner, batch[b], [padded])[0, step]
            prefix.append(int(np.argmax(np.where(allowed, log_p, -np.inf))))
        assert ids[b].tolist() == prefix


def test_a_beam_of_one_is_greedy_and_both_are_deterministic(captioner):
    batch = images(6, seed=7)
    greedy = models.greedy_decode(captioner, batch, MAX_LENGTH)
    np.testing.assert_array_equal(models.beam_search(captioner, batch, 1, MAX_LENGTH), greedy)
    np.testing.assert_array_equal(models.greedy_decode(captioner, batch, MAX_LENGTH), greedy)
    first = models.beam_search(captioner, batch, 4, MAX_LENGTH, return_all=True)
    second = models.beam_search(captioner, batch, 4, MAX_LENGTH, return_all=True)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert greedy.dtype == np.int32 and greedy.shape == (6, MAX_LENGTH)


def test_an_end_id_stops_a_caption_and_padding_follows(captioner):
    ids, _ = models.beam_search(captioner, images(3, seed=8), 15, MAX_LENGTH, return_all=True)
    for row in ids.reshape(-1, MAX_LENGTH).tolist():
        assert START_ID not in row
        if END_ID in row:
            assert set(row[row.index(END_ID) + 1 :]) <= {PAD_ID}
        else:
            assert PAD_ID not in row


# -- saving ------------------------------------------------------------------------------


@pytest.mark.parametrize("image_tokens", ["regions", "patches"])
def test_a_saved_captioner_reloads_in_safe_mode_and_writes_the_same_ids(image_tokens, tmp_path):
    model = tiny_captioner(image_tokens, seed=2)
    batch = images(4, seed=9)
    path = tmp_path / "captioner.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    feed = {"image": batch, "tokens": np.tile([[START_ID, 3, 4, PAD_ID]], (4, 1)).astype("int32")}
    np.testing.assert_array_equal(np.asarray(loaded(feed)), np.asarray(model(feed)))
    np.testing.assert_array_equal(
        models.greedy_decode(loaded, batch, MAX_LENGTH),
        models.greedy_decode(model, batch, MAX_LENGTH),
    )
    for a, b in zip(
        models.beam_search(loaded, batch, 5, MAX_LENGTH, return_all=True),
        models.beam_search(model, batch, 5, MAX_LENGTH, return_all=True),
    ):
        np.testing.assert_array_equal(a, b)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"vocab_size": 3},
            r"vocab_size must be an integer >= 4 \(padding, start, end and one word\); received 3",
        ),
        ({"sequence_length": 1}, "sequence_length must be an integer >= 2; received 1"),
        (
            {"units": 10, "num_heads": 4},
            "num_heads must divide units; received num_heads=4 and units=10",
        ),
        (
            {"image_tokens": "pixels"},
            r"image_tokens must be one of \['regions', 'patches'\]; received 'pixels'",
        ),
        ({"layers": 0}, "layers must be an integer >= 1; received 0"),
    ],
)
def test_build_captioner_names_a_bad_argument(change, message):
    arguments = {"vocab_size": VOCAB, "sequence_length": LENGTH, "units": 8, "num_heads": 2}
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        models.build_captioner(IMAGE, **arguments)


def test_decoding_names_a_bad_argument(captioner):
    batch = images(2)
    with pytest.raises(ValueError, match="max_length must be an integer in \\[1, 4\\]; received 5"):
        models.greedy_decode(captioner, batch, 5)
    with pytest.raises(ValueError, match="beam_width must be an integer >= 1; received 0"):
        models.beam_search(captioner, batch, 0, 3)
    with pytest.raises(
        ValueError,
        match=r"images must have shape \(batch, \*\(16, 16, 3\)\); received shape \(2, 8, 8, 3\)",
    ):
        models.greedy_decode(captioner, np.zeros((2, 8, 8, 3), "float32"), 3)
    classifier = models.build_classifier((32, 32, 3), 10, 4, 3, modalities=("image",))
    with pytest.raises(ValueError, match="expects a model from build_captioner"):
        models.beam_search(classifier, batch, 2, 3)


# -- the LLaVA recipe in miniature -------------------------------------------------------


def size(weights):
    return int(sum(np.asarray(w).size for w in weights))


@pytest.fixture(scope="module")
def pretrained_language_model():
    task = SceneCaptionTask(image_size=16)
    split = task.generate(64, seed=1)
    keras.utils.set_random_seed(3)
    lm = models.build_caption_language_model(
        task.vocab_size, task.sequence_length, units=8, layers=1, num_heads=2
    )
    lm.fit({"tokens": split.tokens}, split.labels, batch_size=32, epochs=2, verbose=0)
    return task, split, lm


def test_a_saved_caption_language_model_reloads_in_safe_mode_with_identical_logits(
    pretrained_language_model, tmp_path
):
    _, split, lm = pretrained_language_model
    path = tmp_path / "language_model.keras"
    lm.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    inputs = {"tokens": split.tokens}
    np.testing.assert_array_equal(np.asarray(loaded(inputs)), np.asarray(lm(inputs)))


def test_only_the_image_side_of_a_prefix_captioner_trains(pretrained_language_model, tmp_path):
    task, split, lm = pretrained_language_model
    frozen = [w.copy() for w in lm.get_weights()]
    # A fresh CNN of two blocks gives 2 x 2 regions of 16-pixel pictures, pooled to one token.
    model = models.build_prefix_captioner(
        lm, task.image_shape, prefix_tokens=1, image_filters=(4, 8), learning_rate=1e-2
    )
    encoder = model.get_layer("image_encoder")
    assert encoder.output_shape == (None, 1, 8)
    counts = models.parameter_counts(model)
    assert counts == {
        "trainable": size(encoder.get_weights()),
        "frozen": size(frozen),
        "total": size(encoder.get_weights()) + size(frozen),
    }
    before = [w.copy() for w in encoder.get_weights()]
    model.fit(split.features, split.labels, batch_size=32, epochs=2, verbose=0)
    for a, b in zip(frozen, lm.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(before, encoder.get_weights()))

    path = tmp_path / "prefix.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        np.asarray(loaded(split.features)), np.asarray(model(split.features))
    )
    np.testing.assert_array_equal(
        models.greedy_decode(loaded, split.images[:4], task.sequence_length),
        models.greedy_decode(model, split.images[:4], task.sequence_length),
    )
    assert models.parameter_counts(loaded) == counts


def grid_features(task):
    """A fixed feature model: 4-pixel patches of 16-pixel pictures, 16 tokens (a 4 x 4 grid) of 3."""
    keras.utils.set_random_seed(7)
    return keras.Sequential(
        [
            keras.Input(task.image_shape),
            keras.layers.Conv2D(3, 4, strides=4),
            keras.layers.Reshape((16, 3)),
        ]
    )


def numpy_prefix(features, window, kernel, bias, position):
    """The prefix by hand: block means over the token grid, one shared W and b, positions."""
    n, tokens, width = features.shape
    side = int(round(np.sqrt(tokens)))
    grid = features.reshape(n, side // window, window, side // window, window, width)
    pooled = grid.mean(axis=(2, 4)).reshape(n, -1, width)
    return pooled @ kernel + bias + position[: pooled.shape[1]]


@pytest.mark.parametrize("prefix_tokens, window", [(None, 1), (16, 1), (4, 2), (1, 4)])
def test_the_prefix_is_one_shared_projection_of_pooled_tokens(
    pretrained_language_model, prefix_tokens, window, tmp_path
):
    task, split, lm = pretrained_language_model
    features = grid_features(task)
    model = models.build_prefix_captioner(
        lm, task.image_shape, prefix_tokens=prefix_tokens, image_features=features
    )
    encoder = model.get_layer("image_encoder")
    projection = encoder.get_layer("prefix_projection")
    positions = encoder.get_layer("prefix_position")
    # Give the positions non-zero values, so that the reference checks them too.
    positions.set_weights([np.random.default_rng(0).normal(size=positions.position.shape)])
    kernel, bias = (np.asarray(w, dtype="float64") for w in projection.get_weights())
    position = np.asarray(positions.get_weights()[0], dtype="float64")
    images = split.images[:5]
    expected = numpy_prefix(
        np.asarray(features(images), dtype="float64"), window, kernel, bias, position
    )
    np.testing.assert_allclose(np.asarray(encoder(images)), expected, rtol=1e-5, atol=1e-5)

    # Only the projection and the prefix positions train; the projection's size
    # does not grow with the number of tokens.
    units = lm.get_layer("decoder").get_layer("token_embedding").output_dim
    prefix = 16 // window**2
    assert kernel.shape == (3, units)
    assert models.parameter_counts(model)["trainable"] == (3 + 1) * units + prefix * units
    assert not [layer for layer in encoder.layers if isinstance(layer, keras.layers.Lambda)]

    path = tmp_path / "prefix.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        np.asarray(loaded.get_layer("image_encoder")(images)), np.asarray(encoder(images))
    )
    np.testing.assert_array_equal(
        models.beam_search(loaded, images, 3, task.sequence_length),
        models.beam_search(model, images, 3, task.sequence_length),
    )


def test_a_given_feature_vector_is_one_prefix_token(pretrained_language_model):
    task, _, lm = pretrained_language_model
    features = keras.Sequential(
        [
            keras.Input(task.image_shape),
            keras.layers.Conv2D(2, 4, strides=4),
            keras.layers.Flatten(),
        ]
    )
    model = models.build_prefix_captioner(lm, task.image_shape, image_features=features)
    units = lm.get_layer("decoder").get_layer("token_embedding").output_dim
    assert model.get_layer("image_encoder").output_shape == (None, 1, units)
    assert models.parameter_counts(model)["trainable"] == (32 + 1) * units + units
    assert not features.trainable


def test_prefix_captioner_names_a_bad_argument(pretrained_language_model, captioner):
    task, _, lm = pretrained_language_model
    with pytest.raises(
        ValueError, match="language_model must be a model from build_caption_language_model"
    ):
        models.build_prefix_captioner(captioner, task.image_shape)
    with pytest.raises(ValueError, match="prefix_tokens must be an integer >= 1; received 0"):
        models.build_prefix_captioner(lm, task.image_shape, prefix_tokens=0)
    with pytest.raises(ValueError, match="image_features must be a keras.Model that takes images"):
        models.build_prefix_captioner(lm, task.image_shape, image_features="cnn")
    with pytest.raises(
        ValueError,
        match=r"a square number whose side divides the side of the grid; received "
        r"prefix_tokens=2 for 16 image tokens",
    ):
        models.build_prefix_captioner(
            lm, task.image_shape, prefix_tokens=2, image_features=grid_features(task)
        )
    image = keras.Input(task.image_shape)
    odd = keras.Model(image, keras.layers.Reshape((4, 4, 48))(image))
    with pytest.raises(ValueError, match=r"received output shape \(None, 4, 4, 48\)"):
        models.build_prefix_captioner(lm, task.image_shape, image_features=odd)
