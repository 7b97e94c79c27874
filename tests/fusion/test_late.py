"""Late fusion by a product of experts, checked against independent NumPy references."""

import itertools

import keras
import numpy as np
import pytest
from conftest import model_for

import mmtutorial as mt
from mmtutorial.fusion.late import product_of_experts


def reference_product(experts, prior=None):
    """The formula written out directly: prod_k p_k / prior^(K - 1), normalised."""
    product = np.prod(np.stack(experts).astype("float64"), axis=0)
    if prior is not None:
        product = product / np.asarray(prior, dtype="float64") ** (len(experts) - 1)
    return product / product.sum(axis=-1, keepdims=True)


def random_probabilities(rng, shape):
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])


@pytest.mark.parametrize("num_experts", [1, 2, 3])
@pytest.mark.parametrize("with_prior", [False, True])
def test_matches_the_formula(num_experts, with_prior):
    rng = np.random.default_rng(num_experts)
    experts = [random_probabilities(rng, (16, 5)) for _ in range(num_experts)]
    prior = rng.dirichlet(np.ones(5)) if with_prior else None
    fused = product_of_experts(experts, prior=prior)
    np.testing.assert_allclose(fused, reference_product(experts, prior), rtol=1e-12)
    np.testing.assert_allclose(fused.sum(axis=-1), 1.0, rtol=1e-12)
    assert fused.shape == (16, 5) and fused.dtype == np.float64


def test_no_prior_means_equally_likely_classes():
    rng = np.random.default_rng(0)
    experts = [random_probabilities(rng, (8, 4)) for _ in range(3)]
    np.testing.assert_allclose(
        product_of_experts(experts), product_of_experts(experts, prior=np.full(4, 0.25)), rtol=1e-12
    )


def test_is_the_bayes_posterior_of_conditionally_independent_modalities():
    """Brute-force Bayes over a ShapeMaterialTask-like generative model with an uneven prior."""
    rng = np.random.default_rng(1)
    shapes, materials, p, q = 7, 3, 0.8, 0.7
    prior = rng.dirichlet(np.ones(shapes * materials))  # p(y), y = shape * 3 + material
    # likelihoods of what the image shows and what the caption says, given the true class
    shown = p * np.eye(shapes) + (1 - p) / shapes  # shown[s, s_hat]
    stated = q * np.eye(materials) + (1 - q) / materials  # stated[m, m_hat]
    for s_hat, m_hat in itertools.product(range(shapes), range(materials)):
        joint = np.array(
            [
                prior[s * 3 + m] * shown[s, s_hat] * stated[m, m_hat]
                for s in range(shapes)
                for m in range(materials)
            ]
        )
        image_posterior = np.array(
            [prior[s * 3 + m] * shown[s, s_hat] for s in range(shapes) for m in range(materials)]
        )
        text_posterior = np.array(
            [prior[s * 3 + m] * stated[m, m_hat] for s in range(shapes) for m in range(materials)]
        )
        fused = product_of_experts(
            [image_posterior / image_posterior.sum(), text_posterior / text_posterior.sum()],
            prior=prior,
        )
        np.testing.assert_allclose(fused, joint / joint.sum(), rtol=1e-10)
        # without the prior correction the prior is counted twice
        if not np.allclose(prior, prior.mean()):
            assert not np.allclose(
                product_of_experts([image_posterior, text_posterior]), joint / joint.sum()
            )


def test_reaches_the_tasks_bayes_accuracy_from_the_generator():
    task = mt.data.ShapeMaterialTask()
    split = task.generate(3000, seed=5)
    n, a, b = len(split), task.shape_accuracy, task.material_accuracy
    shape_posterior = np.where(np.eye(7)[split.shown_shape] == 1, a, (1 - a) / 6)
    material_posterior = np.where(np.eye(3)[split.stated_material] == 1, b, (1 - b) / 2)
    image_expert = np.repeat(shape_posterior, 3, axis=1) / 3  # p(y | image)
    text_expert = np.tile(material_posterior, 7) / 7  # p(y | caption)
    fused = product_of_experts([image_expert, text_expert])
    expected = (shape_posterior[:, :, None] * material_posterior[:, None, :]).reshape(n, 21)
    np.testing.assert_allclose(fused, expected, rtol=1e-10)
    correct = (split.shown_shape == split.shape) & (split.stated_material == split.material)
    np.testing.assert_array_equal(fused.argmax(axis=1) == split.labels, correct)


def test_scaling_an_expert_changes_nothing():
    rng = np.random.default_rng(2)
    experts = [random_probabilities(rng, (6, 3)) for _ in range(2)]
    scaled = [experts[0] * rng.uniform(0.1, 10, size=(6, 1)), experts[1]]
    np.testing.assert_allclose(product_of_experts(scaled), product_of_experts(experts), rtol=1e-12)


def test_many_tiny_probabilities_do_not_underflow():
    rng = np.random.default_rng(3)
    experts = [random_probabilities(rng, (4, 6)) for _ in range(4)]
    tiny = [e * 1e-100 for e in experts]
    assert not np.prod(np.stack(tiny), axis=0).any()  # the naive product is all zeros
    np.testing.assert_allclose(product_of_experts(tiny), reference_product(experts), rtol=1e-10)


def test_an_expert_can_veto_a_class():
    image = np.array([[0.7, 0.3, 0.0]])
    text = np.array([[0.0, 0.3, 0.7]])
    np.testing.assert_array_equal(product_of_experts([image, text]), [[0.0, 1.0, 0.0]])


def test_accepts_tensors_and_leading_axes():
    rng = np.random.default_rng(4)
    experts = [random_probabilities(rng, (2, 3, 4)) for _ in range(2)]
    tensors = [keras.ops.convert_to_tensor(e) for e in experts]
    np.testing.assert_allclose(product_of_experts(tensors), reference_product(experts), rtol=1e-6)


@pytest.mark.parametrize(
    "experts, prior, match",
    [
        ([], None, "non-empty list .* received an empty list"),
        (np.ones((2, 3)), None, r"received ndarray of shape \(2, 3\)"),
        (
            [np.ones((2, 3)), np.ones((2, 4))],
            None,
            r"same shape; received shapes \[\(2, 3\), \(2, 4\)\]",
        ),
        (
            [np.array([[0.5, -0.1]])],
            None,
            r"non-negative finite .* received -0.1 at index \(0, 1\)",
        ),
        ([np.array([[np.nan, 1.0]])], None, r"received nan at index \(0, 0\)"),
        (
            [np.array([["a", "b"]])],
            None,
            r"probabilities_list\[0\] must be an array of real numbers",
        ),
        ([np.ones((1, 0))], None, r"shape \(\.\.\., num_classes\); received shape \(1, 0\)"),
        ([np.ones((2, 3))], [0.5, 0.5], r"prior must be 3 positive.*of shape \(2,\)"),
        ([np.ones((2, 3))], [0.5, 0.5, 0.0], r"prior must be 3 positive"),
        (
            [np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([[0.0, 1.0], [0.5, 0.5]])],
            None,
            r"no class possible for sample \(0,\)",
        ),
    ],
)
def test_rejects_bad_input_with_a_clear_message(experts, prior, match):
    with pytest.raises(ValueError, match=match):
        product_of_experts(experts, prior=prior)


def test_is_exported_by_fusion_and_by_heads():
    assert "product_of_experts" in mt.fusion.__all__ and "product_of_experts" in mt.heads.__all__
    assert mt.fusion.product_of_experts is product_of_experts
    assert mt.heads.product_of_experts is product_of_experts


def test_the_function_is_not_a_layer_and_the_layer_is_registered_as_late():
    assert "product_of_experts" not in mt.fusion.available()
    assert product_of_experts.__module__ == "mmtutorial.fusion.late"
    assert mt.fusion.get("late").__module__ == "mmtutorial.fusion.late"


# -- LateFusion: the same rule as a layer, and as a model option ------------------------------


@pytest.mark.parametrize("num_experts", [2, 3])
@pytest.mark.parametrize("with_prior", [False, True])
def test_the_layer_computes_the_product_of_experts(num_experts, with_prior):
    rng = np.random.default_rng(10 + num_experts)
    experts = [random_probabilities(rng, (16, 5)).astype("float32") for _ in range(num_experts)]
    prior = rng.dirichlet(np.ones(5)) if with_prior else None
    layer = mt.fusion.LateFusion(prior=None if prior is None else prior.tolist())
    got = keras.ops.convert_to_numpy(layer(experts))
    np.testing.assert_allclose(got, reference_product(experts, prior), rtol=1e-4, atol=1e-6)


def test_the_mean_mode_averages_and_cannot_veto():
    image = np.array([[0.7, 0.3, 0.0]], "float32")
    text = np.array([[0.0, 0.3, 0.7]], "float32")
    mean = keras.ops.convert_to_numpy(mt.fusion.LateFusion(mode="mean")([image, text]))
    np.testing.assert_allclose(mean, (image + text) / 2, rtol=1e-6)
    product = keras.ops.convert_to_numpy(mt.fusion.LateFusion()([image, text]))
    assert product[0].argmax() == 1 and mean[0, 1] < mean[0, 0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "max"}, r"mode must be one of \['product', 'mean'\]; received 'max'"),
        ({"prior": [0.5, -0.5]}, r"prior must be None or a list .*received \[0.5, -0.5\]"),
        ({"prior": [1.0]}, "received \\[1.0\\]"),
    ],
)
def test_the_layer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.fusion.LateFusion(**kwargs)


def test_the_layer_needs_one_number_of_classes():
    with pytest.raises(ValueError, match=r"same number of classes; received widths \[3, 4\]"):
        mt.fusion.LateFusion()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="prior has 2 classes but the inputs have 3"):
        mt.fusion.LateFusion(prior=[0.5, 0.5])([np.ones((2, 3)), np.ones((2, 3))])


def test_build_classifier_late_gives_each_modality_its_own_head(task, small, tmp_path):
    mt.train.set_seed(0)
    model = model_for(
        task,
        fusion="late",
        image_filters=(8, 8, 8),
        text_units=16,
        embedding_dim=8,
        hidden_units=16,
    )
    heads = {layer.name for layer in model.layers if layer.name.endswith("_head")}
    assert heads == {"image_head", "text_head"}
    assert model.layers[-1].fusion_name == "late" and model.output_shape == (None, 21)
    mt.train.fit(model, small, epochs=1, batch_size=16, seed=0)
    # The model's output is the product of its two heads' probabilities, renormalised.
    image_probs = model.get_layer("image_head")(model.get_layer("image_encoder")(small.images))
    text_probs = model.get_layer("text_head")(model.get_layer("text_encoder")(small.tokens))
    expected = product_of_experts(
        [keras.ops.convert_to_numpy(image_probs), keras.ops.convert_to_numpy(text_probs)]
    )
    got = mt.train.predict(model, small)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
    path = tmp_path / "late.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(mt.train.predict(restored, small), got)


def test_late_fusion_cannot_learn_a_label_that_is_an_interaction():
    """The label is x_1 XOR x_2: each modality alone says nothing, so neither expert can help."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(2000, 2))
    features = {
        "a": (bits[:, :1] + 0.05 * rng.normal(size=(2000, 1))).astype("float32"),
        "b": (bits[:, 1:] + 0.05 * rng.normal(size=(2000, 1))).astype("float32"),
    }
    labels = bits[:, 0] ^ bits[:, 1]
    accuracy = {}
    for name in ("late", "concat"):
        mt.train.set_seed(0)
        model = mt.models.assemble_classifier(
            {k: keras.Sequential([keras.Input((1,)), keras.layers.Identity()]) for k in "ab"},
            2,
            fusion=name,
            hidden_units=16,
            dropout=0.0,
            learning_rate=0.01,
        )
        mt.train.fit(model, (features, labels), epochs=20, batch_size=64, seed=0)
        accuracy[name] = mt.train.evaluate(model, (features, labels))
    assert accuracy["late"] < 0.6 < 0.95 < accuracy["concat"], accuracy
