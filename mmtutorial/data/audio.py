"""Speech and text: a synthetic "spoken word + written request" task.

A toy version of speech translation, small enough to train on a laptop CPU in
seconds. A speaker says one of four English words; a written request names the
language to translate it into; the label is the translated word (12 classes,
such as ``"chien"`` for *dog* in French). The audio tells *which word*, the
text tells *which language*, so neither alone is enough.

Real speech is not available offline, so each "word" is synthesised with NumPy:
two syllables, each a harmonic tone whose pitch glides in a pattern of its own
(flat and low, rising, flat and high, falling), spoken at a random pitch,
loudness and moment, in background noise. Models read the clip as a
log-magnitude spectrogram (:func:`stft_magnitude`, :func:`spectrogram_image`), a
one-channel image.

Both channels fail now and then, in ways a model can detect: with probability
``1 - audio_reliability`` the microphone caught only noise, and with probability
``1 - request_reliability`` the request does not name a language. That gives
the analytic ceilings of :class:`SpokenWordTask`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import _checks
from . import words
from .base import Split, Task, integer_with_reason

__all__ = [
    "WORDS",
    "LANGUAGES",
    "TRANSLATIONS",
    "SpokenWordSplit",
    "SpokenWordTask",
    "stft_magnitude",
    "spectrogram_image",
]

WORDS = ("dog", "cat", "bird", "fish")
LANGUAGES = ("french", "german", "spanish")
TRANSLATIONS = {
    "dog": ("chien", "Hund", "perro"),
    "cat": ("chat", "Katze", "gato"),
    "bird": ("oiseau", "Vogel", "pájaro"),
    "fish": ("poisson", "Fisch", "pez"),
}

# Each word: two syllables, each a pitch glide (start Hz, end Hz) for a speaker of
# pitch scale 1. The first syllables alone differ: flat low, rising, flat high, falling.
_CONTOURS = np.array(
    [
        [[300, 300], [550, 350]],  # dog
        [[350, 550], [300, 300]],  # cat
        [[550, 550], [350, 550]],  # bird
        [[550, 350], [550, 550]],  # fish
    ],
    dtype="float64",
)
_HARMONICS = (1.0, 0.5, 0.25)
_SYLLABLE_S, _GAP_S = 0.18, 0.04

_NAMED = (
    "{language}",
    "into {language}",
    "translate this into {language}",
    "how do you say this in {language}",
    "what is the {language} word for it",
    "please give me the word in {language}",
)
_UNNAMED = (
    "translate",
    "translate this please",
    "what is this word",
    "how do you say this",
)


def stft_magnitude(waveforms, frame_length: int = 64, frame_step: int = 60) -> np.ndarray:
    """Magnitude of the short-time Fourier transform, in NumPy.

    Frame ``m`` starts at sample ``m * frame_step`` and is multiplied by a
    periodic Hann window ``w[t] = 0.5 - 0.5 cos(2 pi t / N)`` (``N =
    frame_length``) before a real FFT:

    ``X[m, k] = sum_t x[m * frame_step + t] w[t] exp(-2 pi i k t / N)``,
    ``k = 0 .. N / 2``.

    This is what ``tf.signal.stft(x, frame_length, frame_step)`` computes.

    Args:
        waveforms: float array ``(..., samples)``.
        frame_length: samples per frame ``N`` (>= 2).
        frame_step: samples between frame starts (>= 1).

    Returns:
        ``|X|`` as float32, shape ``(..., frames, frame_length // 2 + 1)``.

    Example:
        >>> tone = np.sin(2 * np.pi * 500 * np.arange(1924) / 4000)  # 500 Hz at 4 kHz
        >>> magnitude = stft_magnitude(tone)
        >>> magnitude.shape, int(magnitude[0].argmax())  # bin 8 = 8 * 4000 / 64 Hz
        ((32, 33), 8)
    """
    x = np.asarray(waveforms, dtype="float64")
    frame_length = _checks.integer("frame_length", frame_length, minimum=2)
    frame_step = _checks.integer("frame_step", frame_step, minimum=1)
    if x.ndim < 1 or x.shape[-1] < frame_length:
        raise ValueError(
            f"waveforms must have at least frame_length={frame_length} samples on the last axis; "
            f"received shape {x.shape}"
        )
    frames = 1 + (x.shape[-1] - frame_length) // frame_step
    starts = np.arange(frames)[:, None] * frame_step + np.arange(frame_length)[None, :]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(frame_length) / frame_length)
    return np.abs(np.fft.rfft(x[..., starts] * window, axis=-1)).astype("float32")


def spectrogram_image(magnitude, floor_db: float = -30.0, top_db: float = 30.0) -> np.ndarray:
    """A magnitude spectrogram as a one-channel image in [0, 1].

    Each value becomes ``20 log10(|X|)`` decibels, scaled linearly from
    ``[floor_db, top_db]`` to [0, 1] and clipped. The scale is fixed, not per
    clip, so loud and quiet clips stay comparable. The Nyquist bin is dropped
    and the axes are swapped, so row ``k`` is frequency bin ``k`` (low
    frequencies first) and column ``m`` is frame ``m``.

    Args:
        magnitude: ``(n, frames, bins)`` from :func:`stft_magnitude`.
        floor_db, top_db: the decibel range mapped to [0, 1].

    Returns:
        float32 ``(n, bins - 1, frames, 1)``.
    """
    floor_db = _checks.number("floor_db", floor_db)
    top_db = _checks.number("top_db", top_db)
    magnitude = np.asarray(magnitude, dtype="float64")
    if magnitude.ndim != 3:
        raise ValueError(
            f"magnitude must have shape (n, frames, bins); received shape {magnitude.shape}"
        )
    if not top_db > floor_db:
        raise ValueError(
            f"top_db must exceed floor_db; received floor_db={floor_db}, top_db={top_db}"
        )
    db = 20.0 * np.log10(np.maximum(magnitude[..., :-1], 1e-6))
    scaled = np.clip((db - floor_db) / (top_db - floor_db), 0.0, 1.0)
    return np.transpose(scaled, (0, 2, 1))[..., None].astype("float32")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SpokenWordSplit(Split):
    """One split of :class:`SpokenWordTask`: audio, requests, labels and the hidden causes.

    ``features`` is ``{"audio": spectrograms, "text": tokens}``; ``labels``
    is ``word * 3 + language``.

    Attributes:
        waveforms: float32 ``(n, samples)``, the clips at ``sample_rate``.
        requests: the written requests, as strings.
        word, language: the true word and target language.
        audible: whether the clip holds the word (else only noise).
        named: whether the request names the language.
    """

    waveforms: np.ndarray
    requests: tuple
    word: np.ndarray
    language: np.ndarray
    audible: np.ndarray
    named: np.ndarray

    @property
    def spectrograms(self) -> np.ndarray:
        """float32 ``(n, 32, 32, 1)`` in [0, 1] (frequency x time)."""
        return self.features["audio"]


@dataclasses.dataclass(frozen=True)
class SpokenWordTask(words.FixedVocabulary, Task):
    """Translate a spoken word into the language a written request names.

    Label ``y = word * 3 + language`` (4 words x 3 languages = 12 classes).
    With audio reliability ``p`` (the clip holds the word; otherwise only
    noise) and request reliability ``q`` (the request names the language), the
    best possible accuracies are

    * both modalities: ``(p + (1 - p) / 4) * (q + (1 - q) / 3)``
    * audio only: ``(p + (1 - p) / 4) / 3``
    * text only: ``(q + (1 - q) / 3) / 4``

    because an audible word and a named language are certain, a missing one is
    a uniform guess, and word and language are independent.

    Args:
        audio_reliability: ``p`` in [0, 1].
        request_reliability: ``q`` in [0, 1].
        sample_rate: samples per second of the clips (>= 4000).
        sequence_length: length the token ids are padded to (>= 7).

    Example:
        >>> task = SpokenWordTask()
        >>> split = task.generate(8, seed=0)
        >>> split.waveforms.shape, split.features["audio"].shape, task.num_classes
        ((8, 1924), (8, 32, 32, 1), 12)
    """

    audio_reliability: float = 0.85
    request_reliability: float = 0.85
    sample_rate: int = 4000
    sequence_length: int = 8

    # The spectrogram's framing (fixed, so the images are always 32 x 32).
    frame_length = 64
    frame_step = 60
    frames = 32

    split_sizes = (3000, 500, 1500)

    def __post_init__(self):
        owner = type(self).__name__
        longest = max(len(t.split()) for t in _NAMED + _UNNAMED)
        self._store(
            **self._probabilities("audio_reliability", "request_reliability"),
            sample_rate=integer_with_reason(
                "sample_rate",
                self.sample_rate,
                4000,
                "the highest harmonic reaches about 1.9 kHz",
                owner=owner,
            ),
            sequence_length=self._sequence_length(longest, "request"),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        """The translated words, indexed by label (``"chien"``, ``"Hund"``, ...)."""
        return tuple(TRANSLATIONS[w][i] for w in WORDS for i in range(len(LANGUAGES)))

    @property
    def samples(self) -> int:
        """Samples per clip: exactly enough for 32 frames."""
        return self.frame_length + (self.frames - 1) * self.frame_step

    @property
    def audio_shape(self) -> tuple:
        """Shape of one spectrogram image: (frequency bins, frames, 1)."""
        return (self.frame_length // 2, self.frames, 1)

    def input_specs(self) -> dict:
        """``{"audio": ((32, 32, 1), "float32"), "text": ((sequence_length,), "int32")}``."""
        return {"audio": (self.audio_shape, "float32"), "text": ((self.sequence_length,), "int32")}

    @property
    def vocabulary(self) -> tuple:
        return words.vocabulary_of(_NAMED, _UNNAMED, LANGUAGES)

    def tokenize(self, requests) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of strings."""
        return words.tokenize(requests, self.vocabulary, self.sequence_length, name="requests")

    # -- analytic ceilings --------------------------------------------------
    def ceilings(self) -> dict:
        """``{"bayes", "audio", "text", "chance", "majority"}`` accuracies (see the class docstring).

        >>> {k: round(v, 3) for k, v in SpokenWordTask().ceilings().items()}
        {'bayes': 0.799, 'audio': 0.296, 'text': 0.225, 'chance': 0.083, 'majority': 0.083}
        """
        return self._with_baselines(
            bayes=self.bayes_accuracy, audio=self.audio_only_accuracy, text=self.text_only_accuracy
        )

    @property
    def word_accuracy(self) -> float:
        """Best probability of naming the word from the audio."""
        p = self.audio_reliability
        return p + (1.0 - p) / len(WORDS)

    @property
    def language_accuracy(self) -> float:
        """Best probability of naming the language from the request."""
        q = self.request_reliability
        return q + (1.0 - q) / len(LANGUAGES)

    @property
    def bayes_accuracy(self) -> float:
        return self.word_accuracy * self.language_accuracy

    @property
    def audio_only_accuracy(self) -> float:
        return self.word_accuracy / len(LANGUAGES)

    @property
    def text_only_accuracy(self) -> float:
        return self.language_accuracy / len(WORDS)

    # -- generation ---------------------------------------------------------
    def generate(self, n: int, seed: int = 0) -> SpokenWordSplit:
        """Draw ``n`` samples; the same ``seed`` gives the same samples."""
        n, rng = self._generator(n, seed)
        word = rng.integers(0, len(WORDS), n)
        language = rng.integers(0, len(LANGUAGES), n)
        audible = rng.random(n) < self.audio_reliability
        named = rng.random(n) < self.request_reliability

        waveforms = self.synthesise(word, audible, rng)
        spectrograms = spectrogram_image(
            stft_magnitude(waveforms, self.frame_length, self.frame_step)
        )

        named_template = rng.integers(0, len(_NAMED), n)
        unnamed_template = rng.integers(0, len(_UNNAMED), n)
        requests = tuple(
            _NAMED[t].format(language=LANGUAGES[lang]) if k else _UNNAMED[u]
            for t, u, lang, k in zip(named_template, unnamed_template, language, named)
        )
        return SpokenWordSplit(
            features={"audio": spectrograms, "text": self.tokenize(requests)},
            labels=(word * len(LANGUAGES) + language).astype("int32"),
            waveforms=waveforms,
            requests=requests,
            word=word.astype("int32"),
            language=language.astype("int32"),
            audible=audible,
            named=named,
        )

    def synthesise(self, word, audible, rng) -> np.ndarray:
        """Waveforms ``(n, samples)``: the words where ``audible``, in noise.

        Each syllable is ``env(t) * sum_h a_h sin(h * phase(t))`` with a Hann
        envelope, harmonic amplitudes (1, 0.5, 0.25) and a pitch that glides
        linearly; the speaker's pitch scale (0.85 to 1.15), loudness, onset and
        the noise level are random per clip.
        """
        word = np.asarray(word)
        n = word.shape[0]
        rate = self.sample_rate
        length = int(round(_SYLLABLE_S * rate))
        step = int(round((_SYLLABLE_S + _GAP_S) * rate))
        pitch = rng.uniform(0.85, 1.15, n)[:, None]
        loudness = np.where(audible, rng.uniform(0.3, 0.6, n), 0.0)[:, None]
        onset = rng.integers(0, self.samples - step - length + 1, n)
        noise = rng.uniform(0.01, 0.08, n)[:, None]

        tau = np.arange(length) / rate
        envelope = np.sin(np.pi * np.arange(length) / length) ** 2
        rows = np.arange(n)[:, None]
        waveforms = noise * rng.standard_normal((n, self.samples))
        for syllable in range(2):
            f0 = _CONTOURS[word, syllable, 0][:, None] * pitch
            f1 = _CONTOURS[word, syllable, 1][:, None] * pitch
            phase = 2 * np.pi * (f0 * tau + (f1 - f0) * tau**2 / (2 * _SYLLABLE_S))
            s1, c1 = np.sin(phase), np.cos(phase)
            # sin(2x) = 2 sin x cos x and sin(3x) = 3 sin x - 4 sin^3 x: one sine for three harmonics
            tone = (
                _HARMONICS[0] * s1
                + _HARMONICS[1] * 2 * s1 * c1
                + _HARMONICS[2] * (3 * s1 - 4 * s1**3)
            )
            columns = (onset + syllable * step)[:, None] + np.arange(length)[None, :]
            waveforms[rows, columns] += loudness * envelope * tone
        return waveforms.astype("float32")
