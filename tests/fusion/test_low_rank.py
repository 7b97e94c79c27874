"""LowRankFusion against tensor fusion times the full low-rank weight (Liu et al.'s identity)."""

import numpy as np
import pytest

from mmtutorial import fusion

from .helpers import assert_refused, random_inputs, randomise, to_numpy


@pytest.mark.parametrize("dims", [(3, 4), (2, 3, 4)])
def test_low_rank_fusion_is_tensor_fusion_times_the_low_rank_weight(dims):
    """sum_r prod_m [x_m; 1] W_m^(r) = z W with W = sum_r W_1^(r) ⊗ W_2^(r) ⊗ ..."""
    units, rank = 5, 3
    xs = random_inputs(*dims)
    layer = randomise(fusion.LowRankFusion(units=units, rank=rank), xs)
    factors = [to_numpy(f).reshape(d + 1, rank, units) for f, d in zip(layer.factors, dims)]
    spec = ["iru,jru->iju", "iru,jru,kru->ijku"][len(dims) - 2]
    full_weight = np.einsum(spec, *factors).reshape(-1, units)
    z = to_numpy(fusion.TensorFusion()(xs))
    assert full_weight.shape == (z.shape[1], units)
    np.testing.assert_allclose(to_numpy(layer(xs)), z @ full_weight, rtol=1e-4, atol=1e-4)


def test_low_rank_fusion_equals_its_formula_and_has_one_weight_per_modality():
    xs = random_inputs(3, 6)
    layer = randomise(fusion.LowRankFusion(units=4, rank=2), xs)
    assert [tuple(f.shape) for f in layer.factors] == [(4, 8), (7, 8)]
    expected = 0.0
    for r in range(2):
        term = 1.0
        for x, f in zip(xs, layer.factors):
            padded = np.concatenate([x, np.ones((5, 1), "float32")], axis=-1)
            term = term * (padded @ to_numpy(f)[:, r * 4 : (r + 1) * 4])
        expected = expected + term
    np.testing.assert_allclose(to_numpy(layer(xs)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": -3}, r"LowRankFusion: units must be an integer >= 1; received -3"),
        ({"rank": 0}, r"LowRankFusion: rank must be an integer >= 1; received 0"),
        ({"rank": False}, r"LowRankFusion: rank must be an integer >= 1; received False"),
        ({"rank": 2.5}, r"LowRankFusion: rank must be an integer >= 1; received 2\.5"),
    ],
)
def test_constructor_names_the_bad_argument_and_value(kwargs, match):
    assert_refused("low_rank", match, **kwargs)


def test_numpy_integers_are_accepted_and_stored_as_ints():
    layer = fusion.LowRankFusion(units=np.int64(8), rank=np.int32(2))
    assert layer.get_config()["units"] == 8 and type(layer.get_config()["units"]) is int
    assert type(layer.get_config()["rank"]) is int
