"""FiLMFusion against its formula, z = (1 + W_g c + b_g) * x + (W_b c + b_b)."""

import numpy as np
import pytest

from mmtutorial import fusion

from .helpers import assert_refused, random_inputs, randomise, to_numpy


@pytest.mark.parametrize("conditioned", [0, 1])
def test_film_scales_and_shifts_the_conditioned_input(conditioned):
    xs = random_inputs(3, 5)
    layer = randomise(fusion.FiLMFusion(conditioned=conditioned), xs)
    x, c = xs[conditioned], xs[1 - conditioned]
    gamma = 1.0 + c @ to_numpy(layer.gamma_kernel) + to_numpy(layer.gamma_bias)
    beta = c @ to_numpy(layer.beta_kernel) + to_numpy(layer.beta_bias)
    out = to_numpy(layer(xs))
    assert out.shape == x.shape
    np.testing.assert_allclose(out, gamma * x + beta, rtol=1e-5, atol=1e-5)


def test_film_with_zero_weights_is_the_identity_on_the_modulated_input():
    xs = random_inputs(3, 5)
    layer = fusion.FiLMFusion(conditioned=1)
    layer(xs)
    layer.set_weights([np.zeros(w.shape, "float32") for w in layer.get_weights()])
    np.testing.assert_array_equal(to_numpy(layer(xs)), xs[1])
    assert layer.name.startswith("film_fusion")


@pytest.mark.parametrize(
    "conditioned, received",
    [(2, "2"), (True, "True"), ("text", "'text'"), (np.True_, r"np\.True_|True"), (1.0, r"1\.0")],
)
def test_conditioned_must_be_the_index_0_or_1(conditioned, received):
    match = rf"FiLMFusion: conditioned must be 0 or 1, the index of the modulated input; received ({received})"
    assert_refused("film", match, conditioned=conditioned)


def test_numpy_integer_index_is_stored_as_an_int():
    assert type(fusion.FiLMFusion(conditioned=np.int64(1)).get_config()["conditioned"]) is int
