"""TensorFusion against a brute-force outer product, and its width limit."""

import itertools

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import fusion

from .helpers import assert_refused, random_inputs, to_numpy


def _outer_product_by_loops(xs):
    """vec([x_1; 1] ⊗ [x_2; 1] (⊗ [x_3; 1])), one product at a time, row-major."""
    padded = [np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=-1) for x in xs]
    out = []
    for sample in range(len(xs[0])):
        row = []
        for index in itertools.product(*(range(p.shape[1]) for p in padded)):
            row.append(np.prod([p[sample, i] for p, i in zip(padded, index)]))
        out.append(row)
    return np.array(out, dtype="float32")


@pytest.mark.parametrize("dims", [(3, 4), (2, 3, 4)])
def test_tensor_fusion_is_the_outer_product_with_ones(dims):
    xs = random_inputs(*dims)
    out = to_numpy(fusion.TensorFusion()(xs))
    expected = _outer_product_by_loops(xs)
    assert out.shape == (5, int(np.prod([d + 1 for d in dims])))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    padded = [np.concatenate([x, np.ones((5, 1), "float32")], axis=-1) for x in xs]
    spec = ["bi,bj->bij", "bi,bj,bk->bijk"][len(dims) - 2]
    np.testing.assert_allclose(out, np.einsum(spec, *padded).reshape(5, -1), rtol=1e-6)
    # The 1s keep each modality's own features in z: z[:, i, last, ...] = x_1[:, i].
    cube = out.reshape(5, *[d + 1 for d in dims])
    last = (-1,) * (len(dims) - 1)
    np.testing.assert_allclose(cube[(slice(None), slice(0, dims[0])) + last], xs[0])


def test_tensor_fusion_output_shape_in_a_functional_graph():
    out = fusion.TensorFusion()([keras.Input((16,)), keras.Input((8,)), keras.Input((2,))])
    assert tuple(out.shape) == (None, 17 * 9 * 3)
    assert fusion.TensorFusion().compute_output_shape([(4, 3), (4, 1)]) == (4, 8)


def test_tensor_fusion_refuses_an_output_wider_than_max_dim():
    message = (
        r"TensorFusion of inputs of widths \[512, 128\] would output \(512 \+ 1\) x \(128 \+ 1\) = 66177 "
        r"features, more than max_dim=65536; use smaller encoder outputs \(for example build_classifier's "
        r"image_projection or text_units options\), the 'low_rank' fusion, or a larger max_dim"
    )
    with pytest.raises(ValueError, match=message):
        fusion.TensorFusion()([keras.Input((512,)), keras.Input((128,))])
    with pytest.raises(ValueError, match=message):
        fusion.TensorFusion().compute_output_shape([(None, 512), (None, 128)])
    with pytest.raises(ValueError, match=r"= 20 features, more than max_dim=19"):
        fusion.TensorFusion(max_dim=19)(random_inputs(3, 4))
    assert fusion.TensorFusion(max_dim=20)(random_inputs(3, 4)).shape == (5, 20)


def test_build_refuses_the_width_before_any_call():
    layer = fusion.TensorFusion(max_dim=19)
    with pytest.raises(
        ValueError, match=r"TensorFusion of inputs of widths \[3, 4\] .* max_dim=19"
    ):
        layer.build([(None, 3), (None, 4)])
    assert not layer.built


def test_build_classifier_reports_the_tensor_width_limit():
    with pytest.raises(
        ValueError, match=r"\(512 \+ 1\) x \(128 \+ 1\) = 66177 features.*'low_rank' fusion"
    ):
        mt.models.build_classifier(
            (24, 24, 3),
            20,
            6,
            3,
            fusion="tensor",
            image_filters=(4, 4, 4),
            image_projection=512,
            embedding_dim=8,
            text_units=128,
            compile=False,
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_dim": 0}, r"TensorFusion: max_dim must be an integer >= 1; received 0"),
        ({"max_dim": "big"}, r"TensorFusion: max_dim must be an integer >= 1; received 'big'"),
        ({"max_dim": False}, r"TensorFusion: max_dim must be an integer >= 1; received False"),
    ],
)
def test_constructor_names_the_bad_argument_and_value(kwargs, match):
    assert_refused("tensor", match, **kwargs)
