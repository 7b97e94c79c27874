"""The applications' tasks (speech, driving, medical) and the 1-D signal encoder.

Determinism, shapes, the ceilings against brute-force enumeration and Monte
Carlo, the information each channel carries (or, when it fails, does not),
the STFT against TensorFlow's, the tokenizer against Keras's, the 1-D
convolution against NumPy, and a safe ``.keras`` round trip.
"""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmtutorial as mt
from mmtutorial.data import _common, audio, driving, medical

N_MC = 20000


def _close(estimate, exact, n=N_MC):
    """Within four binomial standard errors."""
    return abs(estimate - exact) <= 4 * np.sqrt(max(exact * (1 - exact), 1e-12) / n) + 1e-9


@pytest.fixture(scope="module")
def speech():
    return audio.SpokenWordTask()


@pytest.fixture(scope="module")
def drive():
    return driving.DrivingSceneTask()


@pytest.fixture(scope="module")
def med():
    return medical.ScanReportTask()


# --- shapes, dtypes, determinism ---------------------------------------------------------------


def test_speech_split_shapes_dtypes_and_ranges(speech):
    split = speech.generate(50, seed=1)
    assert split.waveforms.shape == (50, speech.samples) == (50, 1924) and split.waveforms.dtype == np.float32
    assert split.spectrograms.shape == (50, 32, 32, 1) == (50, *speech.audio_shape)
    assert split.spectrograms.dtype == np.float32
    assert 0.0 <= split.spectrograms.min() and split.spectrograms.max() <= 1.0
    assert split.tokens.shape == (50, speech.sequence_length) and split.tokens.dtype == np.int32
    np.testing.assert_array_equal(split.labels, split.word * 3 + split.language)
    assert split.features.keys() == {"audio", "text"} and len(split) == 50
    assert speech.num_classes == len(speech.class_names) == 12
    assert speech.class_names[:3] == ("chien", "Hund", "perro")


def test_driving_split_shapes_dtypes_and_ranges(drive):
    split = drive.generate(50, seed=1)
    assert split.camera.shape == (50, 32, 32, 3) and split.camera.dtype == np.float32
    assert split.ranges.shape == (50, 64, 1) and split.ranges.dtype == np.float32
    for array in (split.camera, split.ranges):
        assert 0.0 <= array.min() and array.max() <= 1.0
    np.testing.assert_array_equal(split.labels, split.light * 3 + split.lane)
    assert split.features.keys() == {"camera", "range"} and len(split) == 50
    assert drive.class_names[0] == "red / left" and len(drive.class_names) == 9


def test_medical_split_shapes_dtypes_and_ranges(med):
    split = med.generate(50, seed=1)
    assert split.scans.shape == (50, 32, 32, 1) and split.scans.dtype == np.float32
    assert 0.0 <= split.scans.min() and split.scans.max() <= 1.0
    assert split.tokens.shape == (50, med.sequence_length) and split.tokens.dtype == np.int32
    assert split.features.keys() == {"scan", "text"} and len(split) == 50
    assert set(np.unique(split.labels)) <= set(range(4))


@pytest.mark.parametrize("name", ["speech", "drive", "med"])
def test_same_seed_same_data_other_seed_other_data(name, request):
    task = request.getfixturevalue(name)
    a, b, c = task.generate(30, seed=5), task.generate(30, seed=5), task.generate(30, seed=6)
    for key in a.features:
        np.testing.assert_array_equal(a.features[key], b.features[key])
    np.testing.assert_array_equal(a.labels, b.labels)
    assert any(not np.array_equal(a.features[k], c.features[k]) for k in a.features)
    splits = task.splits(train=20, validation=10, test=15, seed=0)
    assert [len(s) for s in splits.values()] == [20, 10, 15]
    first = next(iter(a.features))
    assert not np.array_equal(splits["train"].features[first][:10], splits["validation"].features[first])


# --- ceilings: brute force and Monte Carlo -------------------------------------------------------


def _enumerate(joint, observed_axes):
    """Accuracy of the Bayes rule that sees only ``observed_axes`` of a table whose axis 0 is the label."""
    keep = tuple(range(1, joint.ndim))
    table = joint.sum(axis=tuple(a for a in keep if a not in observed_axes), keepdims=True)
    return float(table.max(axis=0).sum())


@pytest.mark.parametrize("p, q", [(0.85, 0.85), (0.5, 0.9), (1.0, 0.0)])
def test_speech_ceilings_match_brute_force_enumeration(p, q):
    task = audio.SpokenWordTask(audio_reliability=p, request_reliability=q)
    # label (word, language) x what the audio reveals (word or nothing) x what the request reveals
    joint = np.zeros((4, 3, 5, 4))
    for w, l in itertools.product(range(4), range(3)):
        joint[w, l, w, l] += p * q / 12
        joint[w, l, 4, l] += (1 - p) * q / 12
        joint[w, l, w, 3] += p * (1 - q) / 12
        joint[w, l, 4, 3] += (1 - p) * (1 - q) / 12
    joint = joint.reshape(12, 5, 4)
    assert task.bayes_accuracy == pytest.approx(_enumerate(joint, (1, 2)))
    assert task.audio_only_accuracy == pytest.approx(_enumerate(joint, (1,)))
    assert task.text_only_accuracy == pytest.approx(_enumerate(joint, (2,)))


@pytest.mark.parametrize("a, b", [(0.5, 0.3), (0.2, 0.6), (1.0, 1.0)])
def test_driving_ceilings_match_brute_force_enumeration(a, b):
    task = driving.DrivingSceneTask(night_rate=a, spray_rate=b)
    # label (light, lane) x camera reveals (light, lane or nothing) x scan reveals (lane or nothing)
    joint = np.zeros((3, 3, 3, 4, 4))
    for light, lane in itertools.product(range(3), range(3)):
        for night, spray in itertools.product((0, 1), (0, 1)):
            weight = (a if night else 1 - a) * (b if spray else 1 - b) / 9
            joint[light, lane, light, 3 if night else lane, 3 if spray else lane] += weight
    joint = joint.reshape(9, 3, 4, 4)
    assert task.bayes_accuracy == pytest.approx(_enumerate(joint, (1, 2, 3)))
    assert task.camera_only_accuracy == pytest.approx(_enumerate(joint, (1, 2)))
    assert task.range_only_accuracy == pytest.approx(_enumerate(joint, (3,)))


def test_driving_condition_ceilings_average_to_the_overall_ones(drive):
    a, b = drive.night_rate, drive.spray_rate
    table = drive.condition_ceilings()
    for model, overall in (
        ("camera + range", drive.bayes_accuracy),
        ("camera only", drive.camera_only_accuracy),
        ("range only", drive.range_only_accuracy),
    ):
        mean = sum(
            (a if night else 1 - a) * (b if spray else 1 - b) * table[(night, spray)][model]
            for night, spray in table
        )
        assert mean == pytest.approx(overall)


def test_medical_ceilings_match_a_loop_over_every_patient_type(med):
    p, q, prior = med.scan_reliability, med.report_reliability, med.prevalence
    typical_finding, typical_history = (0, 1, 1, 2), (0, 0, 1, 2)
    joint = np.zeros((4, 3, 3))
    for d, f, h in itertools.product(range(4), range(3), range(3)):
        pf = p * (f == typical_finding[d]) + (1 - p) / 3
        ph = q * (h == typical_history[d]) + (1 - q) / 3
        joint[d, f, h] = prior[d] * pf * ph
    np.testing.assert_allclose(med.joint(), joint)
    assert med.bayes_accuracy == pytest.approx(_enumerate(joint, (1, 2)))
    assert med.scan_only_accuracy == pytest.approx(_enumerate(joint, (1,)))
    assert med.report_only_accuracy == pytest.approx(_enumerate(joint, (2,)))
    assert (round(med.bayes_accuracy, 3), round(med.scan_only_accuracy, 3), round(med.report_only_accuracy, 3)) == (
        0.884,
        0.72,
        0.675,
    )


@pytest.mark.parametrize("p, q", [(0.85, 0.85), (0.7, 0.6)])
def test_speech_ceilings_match_monte_carlo(p, q):
    """The Bayes rule: the word if the clip holds it, else a fixed guess; likewise the language."""
    speech = audio.SpokenWordTask(audio_reliability=p, request_reliability=q)
    split = speech.generate(4000, seed=2)
    assert _close(split.audible.mean(), speech.audio_reliability, 4000)
    assert _close(split.named.mean(), speech.request_reliability, 4000)
    bayes = np.mean(np.where(split.audible, True, split.word == 0) & np.where(split.named, True, split.language == 0))
    assert _close(bayes, speech.bayes_accuracy, 4000)


def test_driving_ceilings_match_monte_carlo(drive):
    split = drive.generate(N_MC, seed=4)
    lane_known = ~(split.night & split.spray)
    bayes = np.mean(np.where(lane_known, True, split.lane == 1))
    camera = np.mean(np.where(~split.night, True, split.lane == 1))
    ranged = np.mean(np.where(~split.spray, True, split.lane == 1) & (split.light == 0))
    assert _close(bayes, drive.bayes_accuracy)
    assert _close(camera, drive.camera_only_accuracy)
    assert _close(ranged, drive.range_only_accuracy)


def test_medical_bayes_rules_match_monte_carlo(med):
    split = med.generate(N_MC, seed=5)
    for modalities, weights in ((("scan", "report"), None), (("scan",), None), (("report",), None), (("scan", "report"), (1, 1, 1, 3))):
        rule = med.decision(modalities, weights)
        f = split.finding if "scan" in modalities else np.zeros_like(split.finding)
        h = split.history if "report" in modalities else np.zeros_like(split.history)
        predicted = rule[f, h]
        assert _close(np.mean(predicted == split.labels), med.accuracy(modalities, weights))
        recall = med.recall(modalities, weights)
        for d in range(4):
            rows = split.labels == d
            assert _close(np.mean(predicted[rows] == d), recall[d], int(rows.sum()))


def test_medical_weights_trade_accuracy_for_tumour_recall(med):
    assert med.recall(weights=(1, 1, 1, 3))[3] > med.recall()[3] + 0.15
    assert med.accuracy(weights=(1, 1, 1, 3)) < med.accuracy()
    # Any scan-only rule: cysts and abscesses look alike, so their recalls add up to at most 1.
    recall = med.recall(("scan",))
    assert recall[1] + recall[2] <= 1.0 + 1e-12


# --- what each channel carries, and what it loses when it fails ---------------------------------------


def test_speech_clips_without_the_word_are_only_noise(speech):
    split = speech.generate(400, seed=6)
    peak = split.spectrograms.max(axis=(1, 2, 3))
    assert peak[split.audible].min() > peak[~split.audible].max()


def test_speech_first_syllable_pitch_separates_low_from_high_words(speech):
    """dog starts flat and low (300 Hz), bird flat and high (550 Hz): their first voiced frames differ."""
    rng = np.random.default_rng(7)
    word = np.repeat([0, 2], 100)
    waves = speech.synthesise(word, np.ones(200, bool), rng)
    magnitude = audio.stft_magnitude(waves)  # (n, frames, bins), 62.5 Hz per bin
    loud = magnitude.sum(axis=2) > 0.5 * magnitude.sum(axis=2).max(axis=1, keepdims=True)
    first = loud.argmax(axis=1) + 2  # a frame inside the first syllable
    fundamental = magnitude[np.arange(200), first, 3:12].argmax(axis=1) + 3
    assert (fundamental[:100] * 62.5 < 420).all() and (fundamental[100:] * 62.5 > 420).all()


def test_speech_requests_name_the_language_exactly_when_named(speech):
    split = speech.generate(300, seed=8)
    for request, language, named in zip(split.requests, split.language, split.named):
        words = set(request.split())
        assert (audio.LANGUAGES[language] in words) == bool(named)
        assert len(words & set(audio.LANGUAGES)) == int(named)


def test_night_camera_and_sprayed_scan_do_not_depend_on_the_lane(drive):
    n = 6
    light, distance = np.arange(n) % 3, np.full(n, 10.0)
    night, spray = np.array([True, True, True, False, False, False]), np.array([True, False] * 3)
    views = {}
    for lane in range(3):
        lateral = np.full(n, (lane - 1) * drive.lane_width)
        views[lane] = (
            drive._camera(light, lateral, distance, night, np.random.default_rng(0)),
            drive._scan(lateral, distance, spray, np.random.default_rng(0)),
        )
    for lane in (1, 2):
        np.testing.assert_array_equal(views[0][0][night], views[lane][0][night])
        np.testing.assert_array_equal(views[0][1][spray], views[lane][1][spray])
        assert not np.array_equal(views[0][0][~night], views[lane][0][~night])
        assert not np.array_equal(views[0][1][~spray], views[lane][1][~spray])


def test_clear_scan_points_lie_on_the_obstacle_or_a_wall(drive):
    """Each beam's return, placed in the plane, is on the box's front face, a side wall, or at max range."""
    split = drive.generate(200, seed=9)
    clear = ~split.spray
    r = split.ranges[clear, :, 0] * drive.max_range
    x, y = r * np.sin(drive.angles), r * np.cos(drive.angles)
    lateral = (split.lane[clear] - 1) * drive.lane_width
    d = split.distance[clear][:, None]
    on_box = (np.abs(y - d) < 1.0) & (np.abs(x - lateral[:, None]) < 0.9 + 0.3 + 0.5)
    on_wall = np.abs(np.abs(x) - drive.wall_offset) < 1.0
    far = r > drive.max_range - 1.5
    assert (on_box | on_wall | far).mean() > 0.999
    assert on_box.any(axis=1).all()  # every clear scan sees the obstacle


def test_lit_lamp_glows_by_day_and_by_night(drive):
    split = drive.generate(300, seed=10)
    colour = np.array([[1.0, 0.12, 0.1], [1.0, 0.8, 0.1], [0.15, 1.0, 0.35]])
    top = split.camera[:, :12, 22:, :]  # the traffic light's corner
    for i in range(len(split)):
        distance = np.linalg.norm(top[i] - colour[split.light[i]], axis=-1)
        assert distance.min() < 0.15, (i, split.night[i])


def test_medical_reports_state_the_history_and_scans_show_the_finding(med):
    split = med.generate(600, seed=11)
    for report, history in zip(split.reports, split.history):
        phrase = report.split(", ")[-1]
        assert phrase in medical._PHRASES[history]
    contrast = split.scans.max(axis=(1, 2, 3)) - np.median(split.scans, axis=(1, 2, 3))
    assert contrast[split.finding > 0].mean() > contrast[split.finding == 0].mean() + 0.2
    # irregular lesions have a longer edge for their area than round ones
    bright = split.scans[..., 0] > np.median(split.scans, axis=(1, 2, 3))[:, None, None] + 0.25
    edges = (bright != np.roll(bright, 1, axis=1)).sum(axis=(1, 2)) + (bright != np.roll(bright, 1, axis=2)).sum(axis=(1, 2))
    ratio = edges / np.sqrt(np.maximum(bright.sum(axis=(1, 2)), 1))
    assert np.median(ratio[split.finding == 2]) > np.median(ratio[split.finding == 1]) + 0.3


# --- bad settings are named ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, kwargs, match",
    [
        (audio.SpokenWordTask, {"audio_reliability": 1.5}, r"audio_reliability must be a number in \[0, 1\]; received 1.5"),
        (audio.SpokenWordTask, {"sample_rate": 2000}, "sample_rate must be an integer >= 4000"),
        (audio.SpokenWordTask, {"sequence_length": 3}, r"sequence_length must be an integer >= 7 \(the longest request\)"),
        (driving.DrivingSceneTask, {"spray_rate": -0.1}, r"spray_rate must be a number in \[0, 1\]"),
        (driving.DrivingSceneTask, {"beams": 8}, "beams must be an integer >= 16; received 8"),
        (medical.ScanReportTask, {"prevalence": (0.5, 0.5)}, "prevalence must be 4 non-negative numbers summing to 1"),
        (medical.ScanReportTask, {"report_reliability": "high"}, "report_reliability must be a number"),
        (medical.ScanReportTask, {"sequence_length": 4}, r"sequence_length must be an integer >= 10"),
    ],
)
def test_tasks_reject_bad_settings(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_generate_rejects_bad_counts(speech, n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        speech.generate(n)


def test_medical_rejects_bad_modalities_and_weights(med):
    with pytest.raises(ValueError, match=r"modalities must be a non-empty selection of \['scan', 'report'\]"):
        med.accuracy(("image",))
    with pytest.raises(ValueError, match="weights must be 4 positive numbers"):
        med.recall(weights=(1, 1, 0, 1))


# --- spectrogram, tokenizer ----------------------------------------------------------------------------


def test_stft_magnitude_matches_tensorflow():
    x = np.random.default_rng(12).normal(size=(3, 1924)).astype("float32")
    ours = audio.stft_magnitude(x, frame_length=64, frame_step=60)
    theirs = np.abs(tf.signal.stft(x, frame_length=64, frame_step=60, fft_length=64).numpy())
    assert ours.shape == theirs.shape == (3, 32, 33)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_stft_and_image_reject_bad_input():
    with pytest.raises(ValueError, match="at least frame_length=64 samples"):
        audio.stft_magnitude(np.zeros(10))
    with pytest.raises(ValueError, match="frame_step must be an integer >= 1; received 0"):
        audio.stft_magnitude(np.zeros(100), frame_step=0)
    with pytest.raises(ValueError, match=r"magnitude must have shape \(n, frames, bins\)"):
        audio.spectrogram_image(np.zeros((32, 33)))


def test_spectrogram_image_scale():
    magnitude = np.array([[[10 ** (-30 / 20), 1.0, 10 ** (30 / 20), 1e3, 0.0]]])  # -30, 0, 30, 60 dB; Nyquist
    image = audio.spectrogram_image(magnitude)
    assert image.shape == (1, 4, 1, 1)
    np.testing.assert_allclose(image[0, :, 0, 0], [0.0, 0.5, 1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("name", ["speech", "med"])
def test_tokenizer_matches_keras_text_vectorization(name, request):
    task = request.getfixturevalue(name)
    split = task.generate(200, seed=13)
    texts = list(split.requests if name == "speech" else split.reports) + ["Unknown WORDS, here!"]
    layer = keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        output_sequence_length=task.sequence_length,
        vocabulary=list(task.vocabulary),
    )
    expected = keras.ops.convert_to_numpy(layer(np.array(texts, dtype=object)))
    np.testing.assert_array_equal(task.tokenize(texts), expected)
    assert task.vocab_size == len(layer.get_vocabulary())


def test_tokenize_rejects_non_strings():
    with pytest.raises(ValueError, match="texts must be strings; received 3"):
        _common.tokenize(["a", 3], ("a",), 4)


# --- the 1-D signal encoder ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length, filters, kernel, pooling, width",
    [
        (64, (16, 32), 5, "flatten", 13 * 32),
        (64, (16, 32), 5, "avg", 32),
        (64, (16, 32), 5, "max", 32),
        (100, (8,), 3, "flatten", 49 * 8),
        (64, (4, 4, 4), 7, "flatten", 2 * 4),  # 64 -> 29 -> 11 -> 2
    ],
)
def test_signal_encoder_output_widths(length, filters, kernel, pooling, width):
    model = mt.encoders.signal_encoder((length, 2), filters=filters, kernel_size=kernel, pooling=pooling)
    assert model.output_shape == (None, width)
    if pooling == "flatten":
        steps = mt.encoders.conv_output_size(length, len(filters), kernel=kernel)
        assert steps * filters[-1] == width
    out = model(np.zeros((3, length, 2), dtype="float32"))
    assert tuple(out.shape) == (3, width)
    assert mt.encoders.signal_encoder((length, 2), projection_dim=7).output_shape == (None, 7)


def test_signal_encoder_conv_matches_numpy():
    model = mt.encoders.signal_encoder((40, 3), filters=(5,), kernel_size=4)
    conv = model.get_layer("conv1")
    rng = np.random.default_rng(14)
    conv.set_weights([rng.normal(size=w.shape).astype("float32") for w in conv.get_weights()])
    kernel, bias = (np.asarray(w, dtype="float64") for w in conv.get_weights())
    x = rng.normal(size=(2, 40, 3)).astype("float32")
    keras_out = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], conv.output)(x))
    expected = np.zeros((2, 37, 5))
    for t in range(37):
        expected[:, t] = np.einsum("bsc,scf->bf", x[:, t : t + 4].astype("float64"), kernel) + bias
    np.testing.assert_allclose(keras_out, np.maximum(expected, 0), rtol=1e-4, atol=1e-4)
    pooled = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], model.get_layer("pool1").output)(x))
    np.testing.assert_allclose(pooled, np.maximum(expected, 0)[:, :36].reshape(2, 18, 2, 5).max(axis=2), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (((64,),), {}, r"input_shape must be \(length, channels\).*received \(64,\) \(add a channel axis"),
        (((64, 1, 1),), {}, r"input_shape must be \(length, channels\)"),
        (((64.0, 1),), {}, r"input_shape must be \(length, channels\)"),
        (((8, 1),), {}, r"input_shape \(8, 1\) is too short for 2 conv blocks with kernel_size 5; use signals of at least 16 steps"),
        (((64, 1),), {"filters": ()}, "filters must name at least one conv block"),
        (((64, 1),), {"kernel_size": 0}, "kernel_size must be an integer >= 1; received 0"),
        (((64, 1),), {"pooling": "mean"}, r"pooling must be one of \['flatten', 'avg', 'max'\]; received 'mean'"),
        (((64, 1),), {"projection_dim": -2}, "projection_dim must be an integer >= 1; received -2"),
    ],
)
def test_signal_encoder_names_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.encoders.signal_encoder(*args, **kwargs)


@pytest.fixture(scope="module")
def driving_model(drive):
    mt.train.set_seed(0)
    encoders_by_key = {
        "camera": mt.encoders.image_encoder(drive.camera_shape, filters=(4, 4), name="camera_encoder"),
        "range": mt.encoders.signal_encoder(drive.range_shape, filters=(4, 4), name="range_encoder"),
    }
    return mt.models.assemble_classifier(encoders_by_key, drive.num_classes, hidden_units=8)


def test_assembled_camera_and_range_model_fits_and_round_trips_in_safe_mode(drive, driving_model, tmp_path):
    split = drive.generate(64, seed=15)
    mt.train.fit(driving_model, (split.features, split.labels), epochs=1, batch_size=32)
    path = os.path.join(tmp_path, "driving.keras")
    driving_model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(mt.train.predict(restored, split.features), mt.train.predict(driving_model, split.features))


def test_fit_names_a_range_scan_of_the_wrong_shape(drive, driving_model):
    split = drive.generate(8, seed=16)
    bad = dict(split.features, range=split.ranges[:, :, 0])
    with pytest.raises(ValueError, match=r"features\['range'\] must have shape \(batch, 64, 1\); received shape \(8, 64\)"):
        mt.train.fit(driving_model, (bad, split.labels), epochs=1)
