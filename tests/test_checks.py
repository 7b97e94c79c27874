"""mmtutorial._checks: the one set of argument rules every module uses."""

import numpy as np
import pytest

from mmtutorial import _checks


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), np.int32(3)])
def test_integer_accepts_python_and_numpy_integers(value):
    result = _checks.integer("units", value, minimum=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, "3", None, 0, -1])
def test_integer_refuses_booleans_floats_strings_and_small_values(value):
    with pytest.raises(ValueError) as error:
        _checks.integer("units", value, minimum=1, owner="GatedFusion")
    message = str(error.value)
    assert message.startswith("GatedFusion: units must be an integer >= 1; received ")
    assert message.endswith(repr(value))


def test_integer_states_both_bounds():
    with pytest.raises(ValueError, match=r"conditioned must be an integer in \[0, 1\]; received 2"):
        _checks.integer("conditioned", 2, minimum=0, maximum=1)
    with pytest.raises(ValueError, match=r"k must be an integer <= 5; received 6"):
        _checks.integer("k", 6, maximum=5)
    with pytest.raises(ValueError, match=r"max_dim must be an integer >= 1000000; received 5"):
        _checks.integer("max_dim", 5, minimum=1_000_000)


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float32(0.25), np.int64(1)])
def test_probability_accepts_numbers_in_the_closed_interval(value):
    assert _checks.probability("p", value) == float(value)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True, "0.5", None])
def test_probability_refuses_the_rest(value):
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\]; received"):
        _checks.probability("p", value)


def test_fraction_excludes_one_and_positive_excludes_zero():
    assert _checks.fraction("dropout", 0) == 0.0
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\); received 1"):
        _checks.fraction("dropout", 1)
    with pytest.raises(ValueError, match="learning_rate must be a positive number; received 0"):
        _checks.positive("learning_rate", 0)
    assert _checks.positive("learning_rate", np.float64(1e-3)) == 1e-3


def test_number_with_a_lower_bound_and_a_custom_description():
    with pytest.raises(ValueError, match="max_scale must be a number >= 1 / t = 14.3; received 2"):
        _checks.number("max_scale", 2, low=14.3, what="a number >= 1 / t = 14.3")
    with pytest.raises(ValueError, match="x must be a number > 0.5; received 0.5"):
        _checks.number("x", 0.5, low=0.5, low_open=True)


def test_boolean_refuses_integers():
    assert _checks.boolean("learnable", np.bool_(False)) is False
    with pytest.raises(ValueError, match="learnable must be True or False; received 1"):
        _checks.boolean("learnable", 1)


def test_choice_names_the_options():
    assert _checks.choice("pooling", "avg", ("flatten", "avg")) == "avg"
    for value in ("mean", ["avg"], True):
        with pytest.raises(
            ValueError, match=r"pooling must be one of \['flatten', 'avg'\]; received"
        ):
            _checks.choice("pooling", value, ("flatten", "avg"))


@pytest.mark.parametrize("value", [(32, 32, 3), [32, 32, 3], np.array([32, 32, 3])])
def test_shape_accepts_sequences_of_positive_integers(value):
    assert _checks.shape("image_shape", value, 3) == (32, 32, 3)


@pytest.mark.parametrize("value", [(32, 32), (32, 32, 0), (32.0, 32, 3), "323", 32, (32, True, 3)])
def test_shape_refuses_the_wrong_rank_or_entries(value):
    with pytest.raises(ValueError) as error:
        _checks.shape("image_shape", value, 3, describe="(height, width, channels)")
    assert str(error.value) == (
        "image_shape must be (height, width, channels) with three positive integers; "
        f"received {value!r}"
    )
