"""The speech + text task (mmtutorial.data.audio) and its spectrograms.

Shapes and determinism, the ceilings against brute-force enumeration and
Monte Carlo, what each channel carries (or, when it fails, does not), the STFT
against TensorFlow's, and the tokenizer against Keras's.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from mmtutorial.data import audio

from .helpers import close, enumerate_ceiling


@pytest.fixture(scope="module")
def speech():
    return audio.SpokenWordTask()


def test_speech_split_shapes_dtypes_and_ranges(speech):
    split = speech.generate(50, seed=1)
    assert (
        split.waveforms.shape == (50, speech.samples) == (50, 1924)
        and split.waveforms.dtype == np.float32
    )
    assert split.spectrograms.shape == (50, 32, 32, 1) == (50, *speech.audio_shape)
    assert split.spectrograms.dtype == np.float32
    assert split.tokens.shape == (50, speech.sequence_length) and split.tokens.dtype == np.int32
    np.testing.assert_array_equal(split.labels, split.word * 3 + split.language)
    assert split.features.keys() == {"audio", "text"} and len(split) == 50
    assert speech.num_classes == len(speech.class_names) == 12
    assert speech.class_names[:3] == ("chien", "Hund", "perro")


# -- ceilings: brute force and Monte Carlo -----------------------------------------------------------


@pytest.mark.parametrize("p, q", [(0.85, 0.85), (0.5, 0.9), (1.0, 0.0)])
def test_speech_ceilings_match_brute_force_enumeration(p, q):
    task = audio.SpokenWordTask(audio_reliability=p, request_reliability=q)
    # label (word, language) x what the audio reveals (word or nothing) x what the request reveals
    joint = np.zeros((4, 3, 5, 4))
    for w, lang in itertools.product(range(4), range(3)):
        joint[w, lang, w, lang] += p * q / 12
        joint[w, lang, 4, lang] += (1 - p) * q / 12
        joint[w, lang, w, 3] += p * (1 - q) / 12
        joint[w, lang, 4, 3] += (1 - p) * (1 - q) / 12
    joint = joint.reshape(12, 5, 4)
    assert task.bayes_accuracy == pytest.approx(enumerate_ceiling(joint, (1, 2)))
    assert task.audio_only_accuracy == pytest.approx(enumerate_ceiling(joint, (1,)))
    assert task.text_only_accuracy == pytest.approx(enumerate_ceiling(joint, (2,)))


@pytest.mark.parametrize("p, q", [(0.85, 0.85), (0.7, 0.6)])
def test_speech_ceilings_match_monte_carlo(p, q):
    """The Bayes rule: the word if the clip holds it, else a fixed guess; likewise the language."""
    speech = audio.SpokenWordTask(audio_reliability=p, request_reliability=q)
    split = speech.generate(4000, seed=2)
    assert close(split.audible.mean(), speech.audio_reliability, 4000)
    assert close(split.named.mean(), speech.request_reliability, 4000)
    bayes = np.mean(
        np.where(split.audible, True, split.word == 0)
        & np.where(split.named, True, split.language == 0)
    )
    assert close(bayes, speech.bayes_accuracy, 4000)


# -- what each channel carries -----------------------------------------------------------------------


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


# -- spectrogram, tokenizer --------------------------------------------------------------------------


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
    magnitude = np.array(
        [[[10 ** (-30 / 20), 1.0, 10 ** (30 / 20), 1e3, 0.0]]]
    )  # -30, 0, 30, 60 dB; Nyquist
    image = audio.spectrogram_image(magnitude)
    assert image.shape == (1, 4, 1, 1)
    np.testing.assert_allclose(image[0, :, 0, 0], [0.0, 0.5, 1.0, 1.0], atol=1e-6)
