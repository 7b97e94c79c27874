"""build_segmenter and the spatial fusions: formulas, Keras's layer harness, safe reloads, errors.

The spatial layers are checked against NumPy versions of their formulas here;
``tests/fusion/`` runs them, with every registered fusion, through the
fusion contract and Keras's own ``run_layer_test``. The segmenter is built small (8 x 8 or 16 x 16 pictures) so
the file stays fast.
"""

import keras
import numpy as np
import pytest
from conftest import model_for

import mmtutorial as mt
from mmtutorial.data import segmentation as sg
from mmtutorial.fusion import spatial

BATCH = 2


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def randomise(layer, inputs, seed=1, **call):
    layer(inputs, **call)
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype("float32"))
    return layer


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(3, 4, 5, 6)).astype("float32"),
        rng.normal(size=(3, 7)).astype("float32"),
        rng.normal(size=(3, 5, 7)).astype("float32"),
    )


# -- the layers against their formulas ------------------------------------------------


def test_tile_concatenates_the_text_vector_at_every_position(inputs):
    x, t, _ = inputs
    out = keras.ops.convert_to_numpy(spatial.SpatialTile()([x, t]))
    assert out.shape == (3, 4, 5, 13)
    np.testing.assert_array_equal(out[..., :6], x)
    for i in range(4):
        for j in range(5):
            np.testing.assert_array_equal(out[:, i, j, 6:], t)


def test_film_scales_and_shifts_every_channel_alike_at_every_position(inputs):
    x, t, _ = inputs
    layer = randomise(spatial.SpatialFiLM(), [x, t])
    gamma = 1 + t @ layer.gamma_kernel.numpy() + layer.gamma_bias.numpy()
    beta = t @ layer.beta_kernel.numpy() + layer.beta_bias.numpy()
    expected = np.zeros_like(x)
    for b in range(3):
        for i in range(4):
            for j in range(5):
                expected[b, i, j] = gamma[b] * x[b, i, j] + beta[b]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer([x, t])), expected, rtol=1e-5, atol=1e-5
    )


def test_pixel_word_attention_matches_a_loop_over_pixels_and_heads(inputs):
    x, _, words = inputs
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
    layer = randomise(
        spatial.PixelWordAttention(units=4, num_heads=2), [x, words], mask=[None, mask]
    )
    w = {v.path.split("/")[-1]: v.numpy() for v in layer.weights}
    expected = np.zeros_like(x)
    scores = np.zeros((3, 2, 20, 5))
    for b in range(3):
        k = words[b] @ w["key_kernel"] + w["key_bias"]
        v = words[b] @ w["value_kernel"] + w["value_bias"]
        for i in range(4):
            for j in range(5):
                q = x[b, i, j] @ w["query_kernel"] + w["query_bias"]
                heads = []
                for h in range(2):
                    logits = q[2 * h : 2 * h + 2] @ k[:, 2 * h : 2 * h + 2].T / np.sqrt(2)
                    logits = np.where(mask[b], logits, -np.inf)
                    a = softmax(logits)
                    scores[b, h, i * 5 + j] = a
                    heads.append(a @ v[:, 2 * h : 2 * h + 2])
                context = np.concatenate(heads)
                expected[b, i, j] = x[b, i, j] + context @ w["output_kernel"] + w["output_bias"]
    out = keras.ops.convert_to_numpy(layer([x, words], mask=[None, mask]))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    got = keras.ops.convert_to_numpy(layer.attention_scores([x, words], mask))
    np.testing.assert_allclose(got, scores, rtol=1e-5, atol=1e-6)
    assert got[0, :, :, 3:].max() == 0.0 and got[2, :, :, 1:].max() == 0.0


def test_a_caption_of_padding_only_adds_nothing_but_the_bias(inputs):
    x, _, words = inputs
    layer = randomise(spatial.PixelWordAttention(units=4, num_heads=2), [x, words])
    out = keras.ops.convert_to_numpy(layer([x, words], mask=[None, np.zeros((3, 5), bool)]))
    np.testing.assert_allclose(out, x + layer.output_bias.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "layer, shapes, message",
    [
        (
            spatial.SpatialTile(),
            [(2, 4, 4, 3), (2, 5, 6)],
            r"a rank-2 text tensor \(batch, features\)",
        ),
        (spatial.SpatialFiLM(), [(2, 4, 3), (2, 5)], r"a rank-4 feature map"),
        (
            spatial.PixelWordAttention(),
            [(2, 4, 4, 3), (2, 5)],
            r"a rank-3 text tensor \(batch, words, features\)",
        ),
    ],
)
def test_wrong_ranks_are_named_with_the_shapes(layer, shapes, message):
    with pytest.raises(ValueError, match=message + r".*received shapes"):
        layer.compute_output_shape(shapes)
    with pytest.raises(ValueError, match=message):
        layer([np.zeros(s, "float32") for s in shapes])


def test_a_built_layer_refuses_other_widths():
    layer = spatial.SpatialFiLM()
    layer([np.zeros((1, 2, 2, 3), "float32"), np.zeros((1, 4), "float32")])
    with pytest.raises(ValueError, match="was built for 3 channels and text of width 4"):
        layer([np.zeros((1, 2, 2, 5), "float32"), np.zeros((1, 4), "float32")])


def test_attention_arguments_are_checked():
    with pytest.raises(
        ValueError, match="num_heads must divide units; received units=6, num_heads=4"
    ):
        spatial.PixelWordAttention(units=6, num_heads=4)
    with pytest.raises(ValueError, match=r"units must be an integer >= 1; received 0"):
        spatial.PixelWordAttention(units=0)


def test_the_spatial_fusions_are_in_the_one_registry_under_names_of_their_own():
    spatial_names = mt.fusion.available(kinds=mt.fusion.SPATIAL_KINDS)
    assert spatial_names == ["pixel_word_attention", "spatial_film", "spatial_tile"]
    assert set(spatial_names) <= set(mt.fusion.available())
    assert mt.fusion.registered("spatial_film") is spatial.SpatialFiLM
    assert type(mt.fusion.get("film")) is mt.fusion.FiLMFusion  # the vector FiLM keeps its name
    kinds = {name: mt.fusion.registered(name).input_kind for name in spatial_names}
    assert kinds == {
        "pixel_word_attention": "map_and_words",
        "spatial_film": "map_and_vector",
        "spatial_tile": "map_and_vector",
    }
    assert spatial.PixelWordAttention().text_rank == 3 and spatial.SpatialTile().text_rank == 2


@pytest.mark.parametrize(
    "fusion, layer_type",
    [
        ("tile", spatial.SpatialTile),
        ("spatial_tile", spatial.SpatialTile),
        ("film", spatial.SpatialFiLM),
        ("cross_attention", spatial.PixelWordAttention),
        ("pixel_word_attention", spatial.PixelWordAttention),
    ],
)
def test_the_segmenter_takes_its_own_names_and_the_registry_names(fusion, layer_type):
    model = mt.models.build_segmenter((8, 8, 1), 10, 4, 3, fusion=fusion, filters=(2, 3))
    assert model.name == f"segmenter_{fusion}"
    conditioning = [layer for layer in model.layers if isinstance(layer, spatial.SpatialFusion)]
    assert {type(layer) for layer in conditioning} == {layer_type}
    assert sorted(layer.name for layer in conditioning) == [
        f"{fusion}_stride1",
        f"{fusion}_stride2",
    ]


# -- the segmenter ---------------------------------------------------------------------

FUSIONS = [None, "tile", "film", "cross_attention"]


def small(fusion, **options):
    mt.train.set_seed(0)
    return mt.models.build_segmenter(
        (8, 8, 1),
        vocab_size=12,
        sequence_length=5,
        num_classes=4,
        fusion=fusion,
        filters=(4, 8),
        embedding_dim=4,
        text_units=4,
        **options,
    )


def batch(n=3, seed=0):
    rng = np.random.default_rng(seed)
    features = {
        "image": rng.random((n, 8, 8, 1), dtype="float32"),
        "text": rng.integers(1, 12, (n, 5)).astype("int32"),
    }
    features["text"][:, 3:] = 0  # padding
    return features, rng.integers(0, 4, (n, 8, 8)).astype("int32")


@pytest.mark.parametrize("fusion", FUSIONS)
def test_output_is_a_probability_per_pixel_and_class(fusion):
    model = small(fusion)
    features, _ = batch()
    assert model.output_shape == (None, 8, 8, 4)
    assert mt.models.input_keys(model) == (("image",) if fusion is None else ("image", "text"))
    probabilities = model.predict(features, verbose=0)
    assert probabilities.shape == (3, 8, 8, 4)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
    assert model.predict_labels(features).shape == (3, 8, 8)
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers), (
        "no dense layer"
    )


@pytest.mark.parametrize("fusion", FUSIONS[1:])
def test_the_text_changes_the_masks_of_a_conditioned_model(fusion):
    model = small(fusion)
    features, _ = batch()
    other = {**features, "text": np.roll(features["text"], 1, axis=0)}
    assert not np.allclose(model.predict(features, verbose=0), model.predict(other, verbose=0))


def test_padding_does_not_change_the_masks_of_the_attention_model():
    model = small("cross_attention")
    features, _ = batch()
    padded = {**features, "text": features["text"].copy()}
    assert (padded["text"][:, 3:] == 0).all()
    longer = mt.models.build_segmenter(
        (8, 8, 1), 12, 5, 4, fusion="cross_attention", filters=(4, 8), embedding_dim=4, text_units=4
    )
    assert longer.output_shape == model.output_shape


@pytest.mark.parametrize("fusion", FUSIONS)
def test_safe_mode_round_trip_gives_identical_predictions(fusion, tmp_path):
    model = small(fusion)
    features, labels = batch()
    model.fit(features, labels, epochs=1, batch_size=3, verbose=0)
    path = tmp_path / "segmenter.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is mt.models.Segmenter
    np.testing.assert_array_equal(
        model.predict(features, verbose=0), loaded.predict(features, verbose=0)
    )
    with pytest.raises(ValueError, match="label maps of shape"):
        loaded.fit(features, labels[:, :4], verbose=0)  # the reloaded model still checks


def test_fit_accepts_a_segmentation_split_and_learns():
    task = sg.SceneSegmentationTask(image_size=16)
    data = task.generate(32, seed=0)
    mt.train.set_seed(0)
    model = model_for(
        task,
        builder=mt.models.build_segmenter,
        fusion="film",
        filters=(4, 8),
        embedding_dim=4,
        text_units=4,
    )
    history = model.fit(data, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"image_shape": (30, 30, 1)},
            r"height and width must be divisible by 4, the stride of the 2 poolings of filters=\(8, 16, 32\); received 30 x 30",
        ),
        (
            {"fusion": "gated"},
            r"fusion 'gated' has no spatial form .* valid values are \[None, 'tile', 'film', "
            r"'cross_attention', 'pixel_word_attention', 'spatial_film', 'spatial_tile'\]",
        ),
        ({"fusion": "bilinear"}, r"fusion 'bilinear' has no spatial form"),
        ({"fusion": mt.fusion.FiLMFusion()}, r"fusion <FiLMFusion.* has no spatial form"),
        ({"filters": (8,)}, r"filters must be a list of at least 2 positive integers"),
        (
            {"conditioned_strides": (3,)},
            r"conditioned_strides must be a non-empty tuple of strides from \[4, 2, 1\]; received \(3,\)",
        ),
        (
            {"fusion_config": {"units": 8}},
            r"fusion_config \{'units': 8\} needs a fusion; received fusion=None",
        ),
        (
            {"fusion": "cross_attention", "fusion_config": {"units": 6, "num_heads": 4}},
            "num_heads must divide units",
        ),
        ({"num_classes": 1}, r"num_classes must be an integer >= 2; received 1"),
        ({"image_shape": (32, 32)}, r"image_shape must be \(height, width, channels\)"),
        ({"dropuot": 0.5}, r"unknown option\(s\) \['dropuot'\]"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    arguments = {
        "image_shape": (32, 32, 1),
        "vocab_size": 20,
        "sequence_length": 8,
        "num_classes": 21,
        "filters": (8, 16, 32),
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        mt.models.build_segmenter(**arguments)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f, y: (f, y[:, :4]),
            r"labels must be integer label maps of shape \(batch, 8, 8\).*received shape \(3, 4, 8\)",
        ),
        (
            lambda f, y: (f, np.eye(4, dtype="int32")[y]),
            r"not one-hot\); received shape \(3, 8, 8, 4\)",
        ),
        (
            lambda f, y: (f, y + 1),
            r"labels must hold class ids in \[0, 4\); received min 1 and max 4",
        ),
        (lambda f, y: (f, y.astype("float32")), r"received shape \(3, 8, 8\) and dtype float32"),
        (lambda f, y: (f, y[:2]), r"different batch sizes"),
        (lambda f, y: ({**f, "image": f["image"] * 255}, y), r"values must lie in \[0, 1\]"),
        (lambda f, y: ({**f, "text": f["text"] + 20}, y), r"token ids must lie in \[0, 12\)"),
        (lambda f, y: ({"image": f["image"]}, y), r"missing the key\(s\) \['text'\]"),
    ],
)
def test_bad_training_data_is_named(change, message):
    model = small("film")
    features, labels = change(*batch())
    with pytest.raises(ValueError, match=message):
        model.fit(features, labels, epochs=1, verbose=0)


def test_predict_labels_pads_to_one_batch_shape_and_drops_the_padding():
    task = mt.data.segmentation.SceneSegmentationTask(image_size=16)
    split = task.generate(11, seed=5)
    mt.train.set_seed(0)
    model = mt.models.build_segmenter(
        task.image_shape, task.vocab_size, task.sequence_length, 21, fusion="film", filters=(4, 8)
    )
    expected = np.argmax(model.predict(split.features, verbose=0), axis=-1)
    labels = model.predict_labels(split, batch_size=4)
    assert labels.shape == (11, 16, 16) and labels.dtype == np.int32
    np.testing.assert_array_equal(labels, expected)
    with pytest.raises(ValueError, match="batch_size"):
        model.predict_labels(split, batch_size=0)
