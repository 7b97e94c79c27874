"""The fusion base: the registry, ``get``, ``available``, the shared shape checks, and the errors.

The per-layer files check each fusion against an independent reference;
this one checks what every fusion inherits from :mod:`mmtutorial.fusion.base`
and how the registry feeds the model builders.
"""

import ast
import pathlib

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import fusion
from mmtutorial.fusion import base

from .helpers import random_inputs, to_numpy

ALL_CLASSES = {
    "concat": fusion.ConcatFusion,
    "cross_attention": fusion.CrossAttentionFusion,
    "film": fusion.FiLMFusion,
    "gated": fusion.GatedFusion,
    "late": fusion.LateFusion,
    "low_rank": fusion.LowRankFusion,
    "product": fusion.ProductFusion,
    "sum": fusion.SumFusion,
    "tensor": fusion.TensorFusion,
    "transformer": fusion.TransformerFusion,
    "pixel_word_attention": fusion.PixelWordAttention,
    "spatial_film": fusion.SpatialFiLM,
    "spatial_tile": fusion.SpatialTile,
}
VECTOR_AND_TOKEN_CLASSES = {
    name: cls for name, cls in ALL_CLASSES.items() if issubclass(cls, fusion.Fusion)
}

# -- the registry -------------------------------------------------------------------


def test_registry_lists_and_builds_concat():
    assert "concat" in fusion.available()
    layer = fusion.get("concat", name="joiner")
    assert isinstance(layer, fusion.ConcatFusion) and layer.name == "joiner"
    assert fusion.get(layer) is layer


def test_every_fusion_is_registered_under_its_name_and_its_class_name():
    assert fusion.available() == sorted(ALL_CLASSES)
    for name, cls in ALL_CLASSES.items():
        assert type(fusion.get(name)) is cls and cls.fusion_name == name
        # The Keras name is what .keras files store: it must not change when a class moves.
        assert keras.saving.get_registered_name(cls) == f"mmtutorial>{cls.__name__}"
        assert keras.saving.get_registered_object(f"mmtutorial>{cls.__name__}") is cls


def test_every_fusion_declares_its_input_rank():
    ranks = {name: cls.input_rank for name, cls in VECTOR_AND_TOKEN_CLASSES.items()}
    assert ranks == {
        **dict.fromkeys(VECTOR_AND_TOKEN_CLASSES, 2),
        "cross_attention": 3,
        "transformer": 3,
    }
    assert fusion.Fusion.input_rank == 2
    assert "input_rank" in vars(fusion.Fusion), "the base class itself declares the default"


def test_every_registered_layer_declares_its_input_kind():
    kinds = {name: cls.input_kind for name, cls in ALL_CLASSES.items()}
    assert kinds == {
        **dict.fromkeys(VECTOR_AND_TOKEN_CLASSES, "vectors"),
        "cross_attention": "tokens",
        "transformer": "tokens",
        "pixel_word_attention": "map_and_words",
        "spatial_film": "map_and_vector",
        "spatial_tile": "map_and_vector",
    }
    assert fusion.available(kinds="tokens") == ["cross_attention", "transformer"]
    assert fusion.registered("gated") is fusion.GatedFusion
    with pytest.raises(ValueError, match=r"unknown input kinds \['pixels'\]; valid kinds are"):
        fusion.available(kinds=("pixels",))
    with pytest.raises(ValueError, match=r"unknown fusion 'bilinear'; valid names are \["):
        fusion.registered("bilinear")


def test_register_refuses_a_layer_without_a_known_input_kind():
    class Pixels(keras.layers.Layer):
        input_kind = "pixels"

    with pytest.raises(
        ValueError, match=r"Pixels\.input_kind must be one of \[.*received 'pixels'"
    ):
        fusion.register("pixels")(Pixels)
    assert "pixels" not in fusion.available()


def test_unknown_fusion_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown fusion 'bilinear'; valid names are \[") as error:
        fusion.get("bilinear")
    listed = str(error.value).split("valid names are ", 1)[1]
    for name in ("concat", "film", "gated", "low_rank", "tensor"):
        assert repr(name) in listed, f"{name!r} missing from {listed}"
    with pytest.raises(ValueError, match="unknown fusion 3"):
        fusion.get(3)


def test_get_refuses_config_for_an_existing_layer():
    with pytest.raises(ValueError, match="cannot be applied to an existing layer"):
        fusion.get(fusion.ConcatFusion(), units=3)


def test_register_guards_against_mistakes():
    with pytest.raises(TypeError, match="needs a fusion layer class"):
        fusion.register("thing")(dict)
    with pytest.raises(ValueError, match="already registered"):

        @fusion.register("concat")
        class Other(fusion.Fusion):
            pass

    with pytest.raises(ValueError, match="non-empty string"):
        fusion.register("")


def test_register_refuses_an_unsupported_input_rank():
    class Images(fusion.Fusion):
        input_rank = 4

    with pytest.raises(ValueError, match=r"Images\.input_rank must be 2 .* or 3 .*; received 4"):
        fusion.register("images")(Images)
    assert "images" not in fusion.available()


def test_the_package_exports_every_public_name():
    for name in fusion.__all__:
        assert hasattr(fusion, name), name
    assert fusion.product_of_experts is mt.heads.product_of_experts
    assert fusion.register is base.register and fusion.Fusion is base.Fusion


def test_the_base_module_imports_none_of_the_fusions():
    """Keras's merging layers' rule: the base never imports its leaves, so no leaf can form a cycle."""
    tree = ast.parse(pathlib.Path(base.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not [
        name for name in imported if name.startswith(".") or name.startswith("mmtutorial")
    ], imported


# -- the shape checks every fusion inherits ----------------------------------------


@pytest.mark.parametrize(
    "layer, shapes, match",
    [
        (
            fusion.FiLMFusion(),
            [(None, 3), (None, 4), (None, 5)],
            r"FiLMFusion expects a list of 2 rank-2 tensors \(batch, features\); received shapes \[\(None, 3\), \(None, 4\), \(None, 5\)\]",
        ),
        (
            fusion.TensorFusion(),
            [(None, 64), (None, 10, 32)],
            r"TensorFusion expects a list of 2 or 3 rank-2 tensors \(batch, features\); received shapes \[\(None, 64\), \(None, 10, 32\)\]",
        ),
        (
            fusion.TensorFusion(),
            [(None, 2)] * 4,
            r"TensorFusion expects a list of 2 or 3 rank-2 tensors",
        ),
        (
            fusion.GatedFusion(),
            [(None, 8)],
            r"GatedFusion expects a list of at least 2 rank-2 tensors .*received shapes \[\(None, 8\)\]",
        ),
        (
            fusion.LowRankFusion(),
            [(None, 8), (None, None)],
            r"LowRankFusion needs a known feature size for every input",
        ),
    ],
)
def test_wrong_input_counts_and_ranks_are_named(layer, shapes, match):
    with pytest.raises(ValueError, match=match):
        layer([keras.Input(s[1:]) for s in shapes])


def test_the_count_is_worded_from_min_and_max_inputs():
    class Four(fusion.Fusion):
        max_inputs = 5

    with pytest.raises(ValueError, match=r"Four expects a list of 2 to 5 rank-2 tensors"):
        Four().compute_output_shape([(None, 3)])


@pytest.mark.parametrize("name", ["gated", "low_rank", "film"])
def test_a_built_layer_refuses_inputs_of_other_widths(name):
    layer = fusion.get(name, name="fuser")
    layer(random_inputs(3, 5))
    with pytest.raises(
        ValueError,
        match=r"'fuser' was built for inputs of widths \[3, 5\]; received shapes \[\(5, 3\), \(5, 6\)\]",
    ):
        layer(random_inputs(3, 6))
    if name == "gated":
        with pytest.raises(ValueError, match=r"built for inputs of widths \[3, 5\]"):
            layer.gates(random_inputs(3, 6))


# -- configs ------------------------------------------------------------------------------

CONFIGS = {
    "gated": {"units": 6, "activation": "relu"},
    "tensor": {"max_dim": 1000},
    "low_rank": {"units": 6, "rank": 2},
    "film": {"conditioned": 1},
    "sum": {"units": 4},
    "product": {},
    "late": {"mode": "mean"},
}
# Late fusion combines class probabilities: every input needs the same width.
INPUT_WIDTHS = {"late": (5, 5)}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_round_trips_through_safe_deserialization(name):
    layer = fusion.get(name, name="fuser", **CONFIGS[name])
    xs = random_inputs(*INPUT_WIDTHS.get(name, (3, 5)))
    before = to_numpy(layer(xs))
    serialized = keras.saving.serialize_keras_object(layer)
    again = keras.saving.deserialize_keras_object(serialized, safe_mode=True)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert {k: again.get_config()[k] for k in CONFIGS[name]} == CONFIGS[name]
    again(xs)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(to_numpy(again(xs)), before)


# -- the registry inside the model builders -------------------------------------------------

VECTOR_FUSIONS = fusion.available(kinds="vectors")


def test_the_vector_fusions_are_every_rank_2_fusion():
    assert set(VECTOR_FUSIONS) == {"concat", *CONFIGS}


@pytest.mark.parametrize("name", VECTOR_FUSIONS)
def test_every_vector_fusion_trains_in_a_classifier_and_survives_a_safe_reload(name, tmp_path):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        (24, 24, 3),
        vocab_size=20,
        sequence_length=6,
        num_classes=3,
        fusion=name,
        fusion_config=CONFIGS.get(name, {}),
        image_filters=(4, 4, 4),
        image_projection=16,
        embedding_dim=8,
        text_units=16,
        hidden_units=8,
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
    initial = [to_numpy(w).copy() for w in layer.weights]
    loss = model.train_on_batch(features, np.arange(8) % 3)
    assert np.isfinite(loss)
    unchanged = [w.path for w, w0 in zip(layer.weights, initial) if np.array_equal(to_numpy(w), w0)]
    assert not unchanged, f"no gradient reached {unchanged}"
    before = to_numpy(model(features, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(to_numpy(restored(features, training=False)), before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"fusion": "bilinear"},
            r"unknown fusion 'bilinear'; valid names are \[.*'gated'.*'low_rank'.*'tensor'",
        ),
        (
            {"fusion": "gated", "fusion_config": {"units": 0}},
            r"GatedFusion: units must be an integer >= 1; received 0",
        ),
        (
            {"fusion": "film", "fusion_config": {"conditioned": 2}},
            r"FiLMFusion: conditioned must be 0 or 1",
        ),
    ],
)
def test_build_classifier_passes_on_the_fusion_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.models.build_classifier((24, 24, 3), 20, 6, 3, compile=False, **kwargs)
