"""GatedFusion against an independent NumPy gated multimodal unit.

Each reference is written from the paper's formula with the layer's own
weights (random, biases included), never by calling the layer a second way.
"""

import keras
import numpy as np
import pytest

from mmtutorial import fusion

from .helpers import assert_refused, random_inputs, randomise, softmax, to_numpy


def _gmu_reference(layer, xs):
    """Gates and output of the N-modality GMU from the layer's weights."""
    act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0)}[layer.activation]
    n, units = len(xs), layer.units
    hidden = [
        act(x @ to_numpy(w) + to_numpy(b)) for x, w, b in zip(xs, layer.kernels, layer.biases)
    ]
    gate_kernel, gate_bias = to_numpy(layer.gate_kernel), to_numpy(layer.gate_bias)
    joined = np.concatenate(xs, axis=-1)
    logits = np.stack(
        [
            joined @ gate_kernel[:, m * units : (m + 1) * units]
            + gate_bias[m * units : (m + 1) * units]
            for m in range(n)
        ],
        axis=1,
    )
    gates = softmax(logits, axis=1)
    return gates, sum(gates[:, m] * hidden[m] for m in range(n))


@pytest.mark.parametrize("dims, activation", [((3, 5, 2), "tanh"), ((4, 6), "relu")])
def test_gated_equals_a_numpy_gmu(dims, activation):
    xs = random_inputs(*dims)
    layer = randomise(fusion.GatedFusion(units=7, activation=activation), xs)
    gates, expected = _gmu_reference(layer, xs)
    np.testing.assert_allclose(to_numpy(layer(xs)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.gates(xs)), gates, rtol=1e-5, atol=1e-6)
    assert to_numpy(layer.gates(xs)).shape == (5, len(dims), 7)


def test_gated_with_two_modalities_is_the_bimodal_gmu_of_arevalo_et_al():
    """z = g h_1 + (1 - g) h_2 with g = sigmoid(a_1 - a_2), written without a softmax."""
    xs = random_inputs(3, 4)
    layer = randomise(fusion.GatedFusion(units=6), xs)
    units = 6
    h1 = np.tanh(xs[0] @ to_numpy(layer.kernels[0]) + to_numpy(layer.biases[0]))
    h2 = np.tanh(xs[1] @ to_numpy(layer.kernels[1]) + to_numpy(layer.biases[1]))
    logits = np.concatenate(xs, axis=-1) @ to_numpy(layer.gate_kernel) + to_numpy(layer.gate_bias)
    a1, a2 = logits[:, :units], logits[:, units:]
    g = 1.0 / (1.0 + np.exp(-(a1 - a2)))
    np.testing.assert_allclose(to_numpy(layer(xs)), g * h1 + (1 - g) * h2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.gates(xs))[:, 0], g, rtol=1e-5, atol=1e-6)


def test_gates_build_an_unbuilt_layer_and_sum_to_one_over_modalities():
    xs = random_inputs(3, 5, 2)
    layer = fusion.GatedFusion(units=4)
    gates = to_numpy(layer.gates(xs))
    assert layer.built and gates.shape == (5, 3, 4)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-6)
    assert tuple(layer.gates([keras.Input((3,)), keras.Input((5,)), keras.Input((2,))]).shape) == (
        None,
        3,
        4,
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": 0}, r"GatedFusion: units must be an integer >= 1; received 0"),
        ({"units": True}, r"GatedFusion: units must be an integer >= 1; received True"),
        ({"units": 8.0}, r"units must be an integer >= 1; received 8\.0"),
        (
            {"activation": "tanhh"},
            r"GatedFusion: activation must be the name of a Keras activation such as 'tanh' or 'relu'; received 'tanhh'",
        ),
        (
            {"activation": np.tanh},
            r"activation must be the name of a Keras activation .*received <ufunc 'tanh'>",
        ),
    ],
)
def test_constructor_names_the_bad_argument_and_value(kwargs, match):
    assert_refused("gated", match, **kwargs)


def test_numpy_integer_units_are_stored_as_ints():
    layer = fusion.GatedFusion(units=np.int64(8))
    assert type(layer.get_config()["units"]) is int


def test_single_gate_is_the_bimodal_gmu_with_one_sigmoid_gate():
    """single_gate=True: g = sigmoid(V [x_1; x_2] + c), z = g h_1 + (1 - g) h_2, half the gate weights."""
    xs = random_inputs(3, 4)
    layer = randomise(fusion.GatedFusion(units=6, single_gate=True), xs)
    assert tuple(layer.gate_kernel.shape) == (7, 6) and tuple(layer.gate_bias.shape) == (6,)
    h1 = np.tanh(xs[0] @ to_numpy(layer.kernels[0]) + to_numpy(layer.biases[0]))
    h2 = np.tanh(xs[1] @ to_numpy(layer.kernels[1]) + to_numpy(layer.biases[1]))
    logits = np.concatenate(xs, axis=-1) @ to_numpy(layer.gate_kernel) + to_numpy(layer.gate_bias)
    g = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(to_numpy(layer(xs)), g * h1 + (1 - g) * h2, rtol=1e-5, atol=1e-5)
    gates = to_numpy(layer.gates(xs))
    np.testing.assert_allclose(gates[:, 0], g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-6)
    softmax_form = fusion.GatedFusion(units=6)
    softmax_form(xs)
    assert layer.count_params() == softmax_form.count_params() - (3 + 4 + 1) * 6


def test_single_gate_takes_exactly_two_modalities():
    layer = fusion.GatedFusion(units=4, single_gate=True)
    with pytest.raises(ValueError, match=r"expects a list of 2 rank-2 tensors .*received shapes"):
        layer(random_inputs(3, 4, 2))
    with pytest.raises(ValueError, match="single_gate must be True or False; received 1"):
        fusion.GatedFusion(single_gate=1)
    config = layer.get_config()
    assert config["single_gate"] is True
    assert fusion.GatedFusion.from_config(config).max_inputs == 2
    assert fusion.GatedFusion().max_inputs is None
