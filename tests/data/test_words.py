"""The tasks' tokenizers (mmtutorial.data.words): the same ids as Keras's TextVectorization."""

import keras
import numpy as np
import pytest

import mmtutorial as mt

# task -> the split's field of texts, and a word of its vocabulary
CASES = {
    "SpokenWordTask": ("requests", "translate"),
    "ScanReportTask": ("reports", "fever"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tokenizer_matches_keras_text_vectorization(name):
    task = getattr(mt.data, name)()
    field, word = CASES[name]
    texts = list(getattr(task.generate(200, seed=13), field)) + ["Unknown WORDS, here!"]
    layer = keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        output_sequence_length=task.sequence_length,
        vocabulary=list(task.vocabulary),
    )
    expected = keras.ops.convert_to_numpy(layer(np.array(texts, dtype=object)))
    np.testing.assert_array_equal(task.tokenize(texts), expected)
    assert task.vocab_size == len(layer.get_vocabulary())
    with pytest.raises(ValueError, match=f"{field} must be strings; received 3"):
        task.tokenize([word, 3])
