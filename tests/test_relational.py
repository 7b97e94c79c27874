"""Relation Networks and their baselines: the pairwise layer equals its formula computed with a
loop over pairs, the cells carry their coordinates, every builder round-trips through .keras
in safe mode with identical predictions, and bad arguments are named."""

import keras
import numpy as np
import pytest

from mmtutorial import relational
from mmtutorial.data.sort_of_clevr import SortOfClevrTask


def _relu(x):
    return np.maximum(x, 0.0)


def _loop_reference(layer, objects, question):
    """``reduce_{i,j} g([o_i; o_j; q])`` with g applied to each concatenated pair in turn."""
    weights = [np.asarray(w) for w in layer.get_weights()]
    first_kernel, first_bias, rest = weights[0], weights[1], weights[2:]
    batch, n, _ = objects.shape
    out = []
    for b in range(batch):
        total = 0.0
        for i in range(n):
            for j in range(n):
                h = np.concatenate([objects[b, i], objects[b, j], question[b]])
                h = _relu(h @ first_kernel + first_bias)
                for kernel, bias in zip(rest[0::2], rest[1::2]):
                    h = _relu(h @ kernel + bias)
                total = total + h
        out.append(total / (n * n) if layer.reduction == "mean" else total)
    return np.stack(out)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_relation_network_equals_its_formula_over_every_pair(reduction):
    rng = np.random.default_rng(0)
    objects = rng.normal(size=(3, 5, 4)).astype("float32")
    question = rng.normal(size=(3, 7)).astype("float32")
    layer = relational.RelationNetwork(units=(6, 5, 3), reduction=reduction)
    layer([objects, question])
    for w in layer.weights:  # non-zero biases, so the test sees them too
        w.assign(rng.normal(size=w.shape).astype("float32") * 0.5)
    got = np.asarray(layer([objects, question]))
    np.testing.assert_allclose(got, _loop_reference(layer, objects, question), rtol=1e-4, atol=1e-5)


def test_the_relation_network_ignores_the_order_of_its_objects():
    rng = np.random.default_rng(1)
    objects = rng.normal(size=(2, 6, 10)).astype("float32")
    question = rng.normal(size=(2, 11)).astype("float32")
    layer = relational.RelationNetwork(units=(8, 8))
    before = np.asarray(layer([objects, question]))
    after = np.asarray(layer([objects[:, ::-1], question]))
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)


def test_cell_objects_append_row_and_column_in_minus_one_to_one():
    feature_map = np.arange(2 * 3 * 4 * 2, dtype="float32").reshape(2, 3, 4, 2)
    cells = np.asarray(relational.CellObjects()(feature_map))
    assert cells.shape == (2, 12, 4)
    np.testing.assert_array_equal(cells[:, :, :2], feature_map.reshape(2, 12, 2))
    rows, columns = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 4), indexing="ij")
    np.testing.assert_allclose(cells[0, :, 2], rows.ravel(), atol=1e-6)
    np.testing.assert_allclose(cells[1, :, 3], columns.ravel(), atol=1e-6)
    one = np.asarray(relational.CellObjects()(np.ones((1, 1, 1, 3), "float32")))
    np.testing.assert_array_equal(one[0, 0, 3:], [0.0, 0.0])


def test_the_layers_name_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match=r"RelationNetwork: units must be a non-empty tuple"):
        relational.RelationNetwork(units=())
    with pytest.raises(
        ValueError, match=r"reduction must be one of \['mean', 'sum'\]; received 'max'"
    ):
        relational.RelationNetwork(reduction="max")
    with pytest.raises(ValueError, match=r"expects \[objects, question\].*received shapes"):
        relational.RelationNetwork(units=(4,))([np.ones((2, 6)), np.ones((2, 3))])
    with pytest.raises(
        ValueError, match=r"CellObjects expects a feature map .*received shape \(2, 5\)"
    ):
        relational.CellObjects()(np.ones((2, 5)))
    layer = relational.RelationNetwork(units=(4,))
    layer([np.ones((1, 3, 2)), np.ones((1, 5))])
    with pytest.raises(ValueError, match=r"was built for objects of 2 features and questions of 5"):
        layer([np.ones((1, 3, 4)), np.ones((1, 5))])


@pytest.mark.parametrize(
    ("builder", "kwargs", "message"),
    [
        ("cnn_mlp", {"image_shape": (75, 75)}, r"build_cnn_mlp: image_shape must be \(height"),
        ("cnn_rn", {"g_units": (64, 0)}, r"g_units must be a non-empty tuple .*received \(64, 0\)"),
        (
            "film_cnn",
            {"filters": 0},
            r"build_film_cnn: filters must be an integer >= 1; received 0",
        ),
        ("state_mlp", {"num_classes": 1}, r"num_classes must be an integer >= 2; received 1"),
        (
            "state_rn",
            {"learning_rate": -1.0},
            r"learning_rate must be a positive number; received -1",
        ),
        ("state_rn", {"reduction": "max"}, r"reduction must be one of"),
        ("cnn_rn", {"normalisation": "layer"}, r"normalisation must be one of .*'layer'"),
    ],
)
def test_the_builders_name_bad_arguments(builder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        relational.BUILDERS[builder](**kwargs)


@pytest.mark.parametrize(
    ("normalisation", "layer"),
    [("instance", "GroupNormalization"), ("batch", "BatchNormalization"), ("none", None)],
)
def test_the_pixel_networks_take_the_normalisation_asked_for(normalisation, layer):
    for builder in ("cnn_mlp", "cnn_rn"):
        model = relational.BUILDERS[builder](normalisation=normalisation)
        kinds = {type(model.get_layer(f"conv_{i}")).__name__ for i in range(4)}
        assert kinds == {"Conv2D"}
        norms = [model.get_layer(f"norm_{i}") for i in range(4)] if layer else []
        assert all(type(norm).__name__ == layer for norm in norms)
        if layer is None:
            assert not any("norm" in each.name for each in model.layers)


@pytest.fixture(scope="module")
def scenes():
    return SortOfClevrTask().generate(24, seed=9)


@pytest.mark.parametrize("name", sorted(relational.BUILDERS))
def test_every_builder_survives_a_safe_roundtrip_with_identical_predictions(name, scenes, tmp_path):
    keras.utils.set_random_seed(0)
    model = relational.BUILDERS[name]()
    inputs = {key: scenes.features[key] for key in model.input}
    model.fit(inputs, scenes.labels, epochs=1, batch_size=8, verbose=0)
    before = model.predict(inputs, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(restored.predict(inputs, verbose=0), before)
    assert before.shape == (24, 10)
    np.testing.assert_allclose(before.sum(axis=1), 1.0, rtol=1e-5)
