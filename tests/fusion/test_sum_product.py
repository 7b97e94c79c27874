"""SumFusion and ProductFusion against NumPy, with and without their projections."""

import numpy as np
import pytest
from conftest import model_for

import mmtutorial as mt
from mmtutorial import fusion

from .helpers import random_inputs, randomise, to_numpy

COMBINE = {"sum": np.add.reduce, "product": np.multiply.reduce}


@pytest.mark.parametrize("name", sorted(COMBINE))
@pytest.mark.parametrize("count", [2, 3])
def test_equal_widths_are_combined_as_they_are(name, count):
    xs = random_inputs(*([4] * count))
    layer = fusion.get(name)
    out = to_numpy(layer(xs))
    np.testing.assert_allclose(out, COMBINE[name](np.stack(xs)), rtol=1e-6, atol=1e-6)
    assert layer.weights == [] and out.shape == (5, 4)


@pytest.mark.parametrize("name", sorted(COMBINE))
@pytest.mark.parametrize(
    "dims, units, width", [((3, 5), None, 5), ((3, 5, 2), 4, 4), ((4, 4), 6, 6)]
)
def test_each_input_is_projected_by_its_own_dense_layer(name, dims, units, width):
    """x_m W_m + b_m for every input, to units or the largest width; then the element-wise rule."""
    xs = random_inputs(*dims)
    layer = randomise(fusion.get(name, units=units), xs)
    assert [tuple(w.shape) for w in layer.kernels] == [(d, width) for d in dims]
    projected = [x @ to_numpy(w) + to_numpy(b) for x, w, b in zip(xs, layer.kernels, layer.biases)]
    expected = COMBINE[name](np.stack(projected))
    np.testing.assert_allclose(to_numpy(layer(xs)), expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape([(None, d) for d in dims]) == (None, width)


def test_product_of_equal_widths_is_the_diagonal_of_tensor_fusion():
    xs = random_inputs(4, 4)
    tensor = to_numpy(fusion.TensorFusion()(xs)).reshape(5, 5, 5)
    product = to_numpy(fusion.ProductFusion()(xs))
    np.testing.assert_allclose(product, tensor[:, np.arange(4), np.arange(4)], rtol=1e-6)


def test_a_layer_built_for_some_widths_refuses_others():
    layer = fusion.SumFusion()
    layer(random_inputs(3, 5))
    with pytest.raises(ValueError, match=r"was built for inputs of widths \[3, 5\]"):
        layer(random_inputs(3, 6))


@pytest.mark.parametrize("units", [0, 2.5, "8"])
def test_bad_units_are_named(units):
    with pytest.raises(ValueError, match=f"SumFusion: units must be .*received {units!r}"):
        fusion.SumFusion(units=units)


def test_sum_and_product_train_in_a_classifier(task, small):
    for name in ("sum", "product"):
        mt.train.set_seed(0)
        model = model_for(
            task,
            fusion=name,
            image_filters=(8, 8, 8),
            text_units=16,
            embedding_dim=8,
            hidden_units=16,
        )
        history = mt.train.fit(model, small, epochs=2, batch_size=16, seed=0)
        assert np.isfinite(history.history["loss"]).all()
        (layer,) = [lyr for lyr in model.layers if isinstance(lyr, fusion.Fusion)]
        # The image vector (flattened) and the text vector (16) differ in width: projected.
        assert len(layer.kernels) == 2 and layer.units is None
