"""ConcatFusion against NumPy's concatenate, and the input checks it inherits."""

import keras
import numpy as np
import pytest

from mmtutorial import fusion


def test_concat_equals_numpy_concatenate():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(5, d)).astype("float32") for d in (3, 7, 2)]
    out = keras.ops.convert_to_numpy(fusion.ConcatFusion()(parts))
    np.testing.assert_array_equal(out, np.concatenate(parts, axis=-1))


def test_concat_output_shape_in_a_functional_graph():
    a, b = keras.Input((512,)), keras.Input((128,))
    out = fusion.ConcatFusion()([a, b])
    assert tuple(out.shape) == (None, 640)
    assert fusion.ConcatFusion().compute_output_shape([(None, 4), (None, 6)]) == (None, 10)


def test_concat_has_no_weights():
    layer = fusion.ConcatFusion()
    layer([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")])
    assert layer.weights == []


@pytest.mark.parametrize(
    "shapes, match",
    [
        (
            [(None, 512), (None, 12, 128)],
            r"at least 2 rank-2 tensors \(batch, features\); received shapes \[\(None, 512\), \(None, 12, 128\)\]",
        ),
        ([(None, 512)], r"received shapes \[\(None, 512\)\]"),
        ([(None, 512), (None, None)], "needs a known feature size"),
    ],
)
def test_concat_rejects_wrong_ranks_and_counts(shapes, match):
    with pytest.raises(ValueError, match=match):
        fusion.ConcatFusion()([keras.Input(s[1:]) for s in shapes])


def test_concat_rejects_a_single_tensor_and_mismatched_batches():
    with pytest.raises(ValueError, match="received shapes"):
        fusion.ConcatFusion()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"different batch sizes: \[\(4, 3\), \(5, 2\)\]"):
        fusion.ConcatFusion()([np.zeros((4, 3)), np.zeros((5, 2))])


def test_concat_serializes_through_its_config():
    layer = fusion.ConcatFusion(name="z")
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == "mmtutorial>ConcatFusion"
    again = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert isinstance(again, fusion.ConcatFusion) and again.name == "z"
