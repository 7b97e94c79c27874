"""The gated, tensor, low-rank and FiLM fusions against independent NumPy references.

Each reference is written from the paper's formula with the layer's own weights
(random, biases included), never by calling the layer a second way. The last
tests check that every vector fusion of :mod:`mmtutorial.fusion` builds inside
``build_classifier`` from ``fusion_config``, trains a step, and loads back from
a ``.keras`` file in safe mode with identical predictions.
"""

import itertools

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import fusion

NEW_FUSIONS = {"gated": fusion.GatedFusion, "tensor": fusion.TensorFusion,
               "low_rank": fusion.LowRankFusion, "film": fusion.FiLMFusion}


def _inputs(*dims, batch=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, d)).astype("float32") for d in dims]


def _randomise(layer, inputs, seed=1):
    """Build ``layer`` on ``inputs`` and give every weight (biases too) random values."""
    layer(inputs)
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype("float32"))
    return layer


def _numpy(x):
    return np.asarray(x.numpy()) if isinstance(x, keras.Variable) else keras.ops.convert_to_numpy(x)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# -- registry -------------------------------------------------------------------


def test_the_four_fusions_are_registered_under_their_names():
    for name, cls in NEW_FUSIONS.items():
        assert name in fusion.available()
        assert type(fusion.get(name)) is cls and cls.fusion_name == name
        assert keras.saving.get_registered_name(cls) == f"mmtutorial>{cls.__name__}"


# -- gated --------------------------------------------------------------------------


def _gmu_reference(layer, xs):
    """Gates and output of the N-modality GMU from the layer's weights."""
    act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0)}[layer.activation]
    n, units = len(xs), layer.units
    hidden = [act(x @ _numpy(w) + _numpy(b)) for x, w, b in zip(xs, layer.kernels, layer.biases)]
    gate_kernel, gate_bias = _numpy(layer.gate_kernel), _numpy(layer.gate_bias)
    joined = np.concatenate(xs, axis=-1)
    logits = np.stack(
        [joined @ gate_kernel[:, m * units:(m + 1) * units] + gate_bias[m * units:(m + 1) * units] for m in range(n)],
        axis=1,
    )
    gates = _softmax(logits, axis=1)
    return gates, sum(gates[:, m] * hidden[m] for m in range(n))


@pytest.mark.parametrize("dims, activation", [((3, 5, 2), "tanh"), ((4, 6), "relu")])
def test_gated_equals_a_numpy_gmu(dims, activation):
    xs = _inputs(*dims)
    layer = _randomise(fusion.GatedFusion(units=7, activation=activation), xs)
    gates, expected = _gmu_reference(layer, xs)
    np.testing.assert_allclose(_numpy(layer(xs)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_numpy(layer.gates(xs)), gates, rtol=1e-5, atol=1e-6)
    assert _numpy(layer.gates(xs)).shape == (5, len(dims), 7)


def test_gated_with_two_modalities_is_the_bimodal_gmu_of_arevalo_et_al():
    """z = g h_1 + (1 - g) h_2 with g = sigmoid(a_1 - a_2), written without a softmax."""
    xs = _inputs(3, 4)
    layer = _randomise(fusion.GatedFusion(units=6), xs)
    units = 6
    h1 = np.tanh(xs[0] @ _numpy(layer.kernels[0]) + _numpy(layer.biases[0]))
    h2 = np.tanh(xs[1] @ _numpy(layer.kernels[1]) + _numpy(layer.biases[1]))
    logits = np.concatenate(xs, axis=-1) @ _numpy(layer.gate_kernel) + _numpy(layer.gate_bias)
    a1, a2 = logits[:, :units], logits[:, units:]
    g = 1.0 / (1.0 + np.exp(-(a1 - a2)))
    np.testing.assert_allclose(_numpy(layer(xs)), g * h1 + (1 - g) * h2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_numpy(layer.gates(xs))[:, 0], g, rtol=1e-5, atol=1e-6)


def test_gates_build_an_unbuilt_layer_and_sum_to_one_over_modalities():
    xs = _inputs(3, 5, 2)
    layer = fusion.GatedFusion(units=4)
    gates = _numpy(layer.gates(xs))
    assert layer.built and gates.shape == (5, 3, 4)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-6)
    assert tuple(layer.gates([keras.Input((3,)), keras.Input((5,)), keras.Input((2,))]).shape) == (None, 3, 4)


# -- tensor ---------------------------------------------------------------------------


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
    xs = _inputs(*dims)
    out = _numpy(fusion.TensorFusion()(xs))
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
        fusion.TensorFusion(max_dim=19)(_inputs(3, 4))
    assert fusion.TensorFusion(max_dim=20)(_inputs(3, 4)).shape == (5, 20)


def test_build_classifier_reports_the_tensor_width_limit():
    with pytest.raises(ValueError, match=r"\(512 \+ 1\) x \(128 \+ 1\) = 66177 features.*'low_rank' fusion"):
        mt.models.build_classifier(
            (24, 24, 3), 20, 6, 3, fusion="tensor",
            image_filters=(4, 4, 4), image_projection=512, embedding_dim=8, text_units=128, compile=False,
        )


# -- low rank -----------------------------------------------------------------------


@pytest.mark.parametrize("dims", [(3, 4), (2, 3, 4)])
def test_low_rank_fusion_is_tensor_fusion_times_the_low_rank_weight(dims):
    """Liu et al.'s identity: sum_r prod_m [x_m; 1] W_m^(r) = z W with W = sum_r W_1^(r) ⊗ W_2^(r) ⊗ ..."""
    units, rank = 5, 3
    xs = _inputs(*dims)
    layer = _randomise(fusion.LowRankFusion(units=units, rank=rank), xs)
    factors = [_numpy(f).reshape(d + 1, rank, units) for f, d in zip(layer.factors, dims)]
    spec = ["iru,jru->iju", "iru,jru,kru->ijku"][len(dims) - 2]
    full_weight = np.einsum(spec, *factors).reshape(-1, units)
    z = _numpy(fusion.TensorFusion()(xs))
    assert full_weight.shape == (z.shape[1], units)
    np.testing.assert_allclose(_numpy(layer(xs)), z @ full_weight, rtol=1e-4, atol=1e-4)


def test_low_rank_fusion_equals_its_formula_and_has_one_weight_per_modality():
    xs = _inputs(3, 6)
    layer = _randomise(fusion.LowRankFusion(units=4, rank=2), xs)
    assert [tuple(f.shape) for f in layer.factors] == [(4, 8), (7, 8)]
    expected = 0.0
    for r in range(2):
        term = 1.0
        for x, f in zip(xs, layer.factors):
            padded = np.concatenate([x, np.ones((5, 1), "float32")], axis=-1)
            term = term * (padded @ _numpy(f)[:, r * 4:(r + 1) * 4])
        expected = expected + term
    np.testing.assert_allclose(_numpy(layer(xs)), expected, rtol=1e-5, atol=1e-5)


# -- FiLM -----------------------------------------------------------------------------


@pytest.mark.parametrize("conditioned", [0, 1])
def test_film_scales_and_shifts_the_conditioned_input(conditioned):
    xs = _inputs(3, 5)
    layer = _randomise(fusion.FiLMFusion(conditioned=conditioned), xs)
    x, c = xs[conditioned], xs[1 - conditioned]
    gamma = 1.0 + c @ _numpy(layer.gamma_kernel) + _numpy(layer.gamma_bias)
    beta = c @ _numpy(layer.beta_kernel) + _numpy(layer.beta_bias)
    out = _numpy(layer(xs))
    assert out.shape == x.shape
    np.testing.assert_allclose(out, gamma * x + beta, rtol=1e-5, atol=1e-5)


def test_film_with_zero_weights_is_the_identity_on_the_modulated_input():
    xs = _inputs(3, 5)
    layer = fusion.FiLMFusion(conditioned=1)
    layer(xs)
    layer.set_weights([np.zeros(w.shape, "float32") for w in layer.get_weights()])
    np.testing.assert_array_equal(_numpy(layer(xs)), xs[1])
    assert layer.name.startswith("film_fusion")


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (fusion.GatedFusion, {"units": 0}, r"GatedFusion: units must be an integer >= 1; received 0"),
        (fusion.GatedFusion, {"units": True}, r"GatedFusion: units must be an integer >= 1; received True"),
        (fusion.GatedFusion, {"units": 8.0}, r"units must be an integer >= 1; received 8\.0"),
        (fusion.GatedFusion, {"activation": "tanhh"},
         r"GatedFusion: activation must be the name of a Keras activation such as 'tanh' or 'relu'; received 'tanhh'"),
        (fusion.GatedFusion, {"activation": np.tanh}, r"activation must be the name of a Keras activation .*received <ufunc 'tanh'>"),
        (fusion.TensorFusion, {"max_dim": 0}, r"TensorFusion: max_dim must be an integer >= 1; received 0"),
        (fusion.TensorFusion, {"max_dim": "big"}, r"TensorFusion: max_dim must be an integer >= 1; received 'big'"),
        (fusion.LowRankFusion, {"units": -3}, r"LowRankFusion: units must be an integer >= 1; received -3"),
        (fusion.LowRankFusion, {"rank": 0}, r"LowRankFusion: rank must be an integer >= 1; received 0"),
        (fusion.LowRankFusion, {"rank": False}, r"LowRankFusion: rank must be an integer >= 1; received False"),
        (fusion.FiLMFusion, {"conditioned": 2},
         r"FiLMFusion: conditioned must be 0 or 1, the index of the modulated input; received 2"),
        (fusion.FiLMFusion, {"conditioned": True}, r"conditioned must be 0 or 1, .*; received True"),
        (fusion.FiLMFusion, {"conditioned": "text"}, r"conditioned must be 0 or 1, .*; received 'text'"),
    ],
)
def test_constructors_name_the_bad_argument_and_value(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
    with pytest.raises(ValueError, match=match):
        fusion.get(cls.fusion_name, **kwargs)


def test_numpy_integers_are_accepted_and_stored_as_ints():
    layer = fusion.LowRankFusion(units=np.int64(8), rank=np.int32(2))
    assert layer.get_config()["units"] == 8 and type(layer.get_config()["units"]) is int


@pytest.mark.parametrize(
    "layer, shapes, match",
    [
        (fusion.FiLMFusion(), [(None, 3), (None, 4), (None, 5)],
         r"FiLMFusion expects a list of 2 rank-2 tensors \(batch, features\); received shapes \[\(None, 3\), \(None, 4\), \(None, 5\)\]"),
        (fusion.TensorFusion(), [(None, 64), (None, 10, 32)],
         r"TensorFusion expects a list of 2 or 3 rank-2 tensors \(batch, features\); received shapes \[\(None, 64\), \(None, 10, 32\)\]"),
        (fusion.TensorFusion(), [(None, 2)] * 4, r"TensorFusion expects a list of 2 or 3 rank-2 tensors"),
        (fusion.GatedFusion(), [(None, 8)], r"GatedFusion expects a list of at least 2 rank-2 tensors .*received shapes \[\(None, 8\)\]"),
        (fusion.LowRankFusion(), [(None, 8), (None, None)], r"LowRankFusion needs a known feature size for every input"),
    ],
)
def test_wrong_input_counts_and_ranks_are_named(layer, shapes, match):
    with pytest.raises(ValueError, match=match):
        layer([keras.Input(s[1:]) for s in shapes])


@pytest.mark.parametrize("name", ["gated", "low_rank", "film"])
def test_a_built_layer_refuses_inputs_of_other_widths(name):
    layer = fusion.get(name, name="fuser")
    layer(_inputs(3, 5))
    with pytest.raises(ValueError, match=r"'fuser' was built for inputs of widths \[3, 5\]; received shapes \[\(5, 3\), \(5, 6\)\]"):
        layer(_inputs(3, 6))
    if name == "gated":
        with pytest.raises(ValueError, match=r"built for inputs of widths \[3, 5\]"):
            layer.gates(_inputs(3, 6))


# -- configs, models and saving -------------------------------------------------------

CONFIGS = {
    "gated": {"units": 6, "activation": "relu"},
    "tensor": {"max_dim": 1000},
    "low_rank": {"units": 6, "rank": 2},
    "film": {"conditioned": 1},
}


@pytest.mark.parametrize("name", sorted(NEW_FUSIONS))
def test_config_round_trips_through_safe_deserialization(name):
    layer = fusion.get(name, name="fuser", **CONFIGS[name])
    xs = _inputs(3, 5)
    before = _numpy(layer(xs))
    serialized = keras.saving.serialize_keras_object(layer)
    again = keras.saving.deserialize_keras_object(serialized, safe_mode=True)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert {k: again.get_config()[k] for k in CONFIGS[name]} == CONFIGS[name]
    again(xs)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_numpy(again(xs)), before)


VECTOR_FUSIONS = [name for name in fusion.available() if fusion.get(name).__module__ == fusion.__name__]


def test_the_vector_fusions_include_the_four_new_ones():
    assert {"concat", *NEW_FUSIONS} <= set(VECTOR_FUSIONS)


@pytest.mark.parametrize("name", VECTOR_FUSIONS)
def test_every_vector_fusion_trains_in_a_classifier_and_survives_a_safe_reload(name, tmp_path):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        (24, 24, 3), vocab_size=20, sequence_length=6, num_classes=3,
        fusion=name, fusion_config=CONFIGS.get(name, {}),
        image_filters=(4, 4, 4), image_projection=16, embedding_dim=8, text_units=16, hidden_units=8,
        compile=False,
    )
    # Eager: one step is all we need, and tracing the training graph would take most of the test's time.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    (layer,) = [lyr for lyr in model.layers if isinstance(lyr, fusion.Fusion)]
    assert layer.fusion_name == name
    assert {k: layer.get_config()[k] for k in CONFIGS.get(name, {})} == CONFIGS.get(name, {})
    rng = np.random.default_rng(0)
    features = {
        "image": rng.uniform(size=(8, 24, 24, 3)).astype("float32"),
        "text": rng.integers(0, 20, size=(8, 6)).astype("int32"),
    }
    initial = [_numpy(w).copy() for w in layer.weights]
    loss = model.train_on_batch(features, np.arange(8) % 3)
    assert np.isfinite(loss)
    unchanged = [w.path for w, w0 in zip(layer.weights, initial) if np.array_equal(_numpy(w), w0)]
    assert not unchanged, f"no gradient reached {unchanged}"
    before = _numpy(model(features, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(_numpy(restored(features, training=False)), before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fusion": "bilinear"}, r"unknown fusion 'bilinear'; valid names are \[.*'gated'.*'low_rank'.*'tensor'"),
        ({"fusion": "gated", "fusion_config": {"units": 0}}, r"GatedFusion: units must be an integer >= 1; received 0"),
        ({"fusion": "film", "fusion_config": {"conditioned": 2}}, r"FiLMFusion: conditioned must be 0 or 1"),
    ],
)
def test_build_classifier_passes_on_the_fusion_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.models.build_classifier((24, 24, 3), 20, 6, 3, compile=False, **kwargs)
