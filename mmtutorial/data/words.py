"""Words, for every task with text: vocabularies, the caption vectorizer, tokenizing.

Kept private: each task exposes what readers need (``tokenize``,
``vocabulary``); this module only saves writing the same tokenizer several
times. The argument checks live in :mod:`mmtutorial._checks` and the split
contract in :mod:`mmtutorial.data.base`.
"""

from __future__ import annotations

import numpy as np


class FixedVocabulary:
    """A mixin for a data source whose text is token ids of :func:`caption_vectorizer` over
    its ``vocabulary``: id 0 pads, id 1 is an unknown word, the words follow."""

    @property
    def vocab_size(self) -> int:
        """Vocabulary size including the padding id 0 and the out-of-vocabulary id 1."""
        return len(self.vocabulary) + 2


def vocabulary_of(*phrase_groups) -> tuple:
    """Every word of the given phrases, in first-seen order (placeholders excluded)."""
    words = []
    for group in phrase_groups:
        for phrase in group:
            words.extend(w for w in phrase.split() if not w.startswith("{"))
    return tuple(dict.fromkeys(words))


def caption_vectorizer(vocabulary, sequence_length, name="caption_vectorizer"):
    """A Keras ``TextVectorization`` layer with a fixed vocabulary.

    Lower-case, strip punctuation, split on whitespace; id 0 is padding, id 1 an
    unknown word, and ``vocabulary[i]`` gets id ``i + 2``. Longer texts are cut
    to ``sequence_length`` tokens, shorter ones padded.
    """
    import keras

    return keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        output_mode="int",
        output_sequence_length=sequence_length,
        vocabulary=list(vocabulary),
        name=name,
    )


def tokenize(texts, vocabulary, sequence_length, *, name="texts") -> np.ndarray:
    """Token ids ``(n, sequence_length)``, int32, from :func:`caption_vectorizer`.

    ``name`` is what the message calls ``texts`` if one of them is not a string.
    """
    texts = list(texts)
    bad = [t for t in texts if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{name} must be strings; received {bad[0]!r}")
    if not texts:
        return np.zeros((0, sequence_length), dtype="int32")
    ids = caption_vectorizer(vocabulary, sequence_length)(np.array(texts, dtype=object))
    return np.asarray(ids, dtype="int32")
