"""CrossAttentionFusion: a NumPy reference of the whole layer, masking, mixed precision,
the token encoders it needs, the builders' checks, and a trained model's safe round trip."""

import os

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import encoders, fusion
from mmtutorial.fusion.attention import CrossAttentionFusion

from .helpers import assert_refused

# -- an independent NumPy version of the layer ------------------------------------


def _dense(x, layer):
    kernel, bias = (np.asarray(w, dtype="float64") for w in layer.get_weights())
    return x @ kernel + bias


def _numpy_attention(query, value, value_mask, attention, heads):
    """Multi-head softmax(Q K^T / sqrt(d_k)) V, one head and one sample at a time, by loops."""
    q, k, v = (
        _dense(query, attention.query),
        _dense(value, attention.key),
        _dense(value, attention.value),
    )
    batch, n, units = q.shape
    m = k.shape[1]
    d_k = units // heads
    weights = np.zeros((batch, heads, n, m))
    context = np.zeros((batch, n, units))
    for s in range(batch):
        valid = np.ones(m, bool) if value_mask is None else np.asarray(value_mask[s], bool)
        for h in range(heads):
            cols = slice(h * d_k, (h + 1) * d_k)
            for i in range(n):
                if not valid.any():
                    continue  # nothing to attend to: weights and context stay 0
                logits = np.array([q[s, i, cols] @ k[s, j, cols] / np.sqrt(d_k) for j in range(m)])
                exp = np.where(valid, np.exp(logits - logits[valid].max()), 0.0)
                weights[s, h, i] = exp / exp.sum()
                context[s, i, cols] = weights[s, h, i] @ v[s, :, cols]
    return _dense(context, attention.output_projection), weights


def _numpy_layer_norm(x, layer):
    gamma, beta = (np.asarray(w, dtype="float64") for w in layer.get_weights())
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + layer.epsilon) * gamma + beta


def _numpy_mean(x, mask):
    if mask is None:
        return x.mean(axis=1)
    w = np.asarray(mask, "float64")[:, :, None]
    return (x * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1.0)


def _numpy_cross_attention(layer, a, b, mask_a=None, mask_b=None):
    """The whole forward pass from the layer's weights: (output, a_to_b weights, b_to_a weights)."""
    pa = _dense(np.asarray(a, "float64"), layer.project_a)
    pb = _dense(np.asarray(b, "float64"), layer.project_b)
    a_reads_b, w_ab = _numpy_attention(pa, pb, mask_b, layer.a_to_b, layer.num_heads)
    b_reads_a, w_ba = _numpy_attention(pb, pa, mask_a, layer.b_to_a, layer.num_heads)
    a_out = _numpy_layer_norm(pa + a_reads_b, layer.norm_a)
    b_out = _numpy_layer_norm(pb + b_reads_a, layer.norm_b)
    return (
        np.concatenate([_numpy_mean(a_out, mask_a), _numpy_mean(b_out, mask_b)], axis=-1),
        w_ab,
        w_ba,
    )


def _randomised(layer, seed):
    """Random weights everywhere (biases, LayerNorm's gamma and beta too): a stricter check than the defaults."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def _tokens(seed, batch=3, n=6, m=5, d_a=7, d_b=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, n, d_a)).astype("float32"), rng.normal(
        size=(batch, m, d_b)
    ).astype("float32")


# Sample 0 has every word, sample 1 three of five, sample 2 none (an empty caption).
TEXT_MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=bool)
IMAGE_MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1]], dtype=bool)


@pytest.mark.parametrize(
    "masks",
    [(None, None), (None, TEXT_MASK), (IMAGE_MASK, TEXT_MASK)],
    ids=["no masks", "padded text", "both masked"],
)
def test_forward_pass_matches_a_numpy_reference(masks):
    a, b = _tokens(0)
    layer = CrossAttentionFusion(units=8, num_heads=2)
    layer.build([a.shape, b.shape])
    _randomised(layer, seed=1)
    expected, w_ab, w_ba = _numpy_cross_attention(layer, a, b, *masks)
    out = np.asarray(layer([a, b], mask=list(masks)))
    assert out.shape == (3, 16)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    a_to_b, b_to_a = layer.attention_scores([a, b], masks=list(masks))
    np.testing.assert_allclose(np.asarray(a_to_b), w_ab, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(b_to_a), w_ba, rtol=1e-5, atol=1e-6)


def test_changing_padded_text_tokens_changes_nothing():
    a, b = _tokens(2)
    layer = CrossAttentionFusion(units=8, num_heads=4)
    layer.build([a.shape, b.shape])
    _randomised(layer, seed=3)
    before = np.asarray(layer([a, b], mask=[None, TEXT_MASK]))
    noisy = b.copy()
    noisy[~TEXT_MASK] = np.random.default_rng(4).normal(0, 100, size=noisy[~TEXT_MASK].shape)
    after = np.asarray(layer([a, noisy], mask=[None, TEXT_MASK]))
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
    # Without the mask the same change does matter, so the check above is not vacuous.
    assert not np.allclose(np.asarray(layer([a, noisy])), np.asarray(layer([a, b])), atol=1e-3)


def test_padded_keys_get_exactly_zero_attention():
    a, b = _tokens(5)
    layer = CrossAttentionFusion(units=8, num_heads=2)
    a_to_b, b_to_a = (
        np.asarray(w) for w in layer.attention_scores([a, b], masks=[IMAGE_MASK, TEXT_MASK])
    )
    assert np.all(
        a_to_b.transpose(0, 3, 1, 2)[~TEXT_MASK] == 0.0
    )  # (batch, m) masked keys, all heads and rows
    assert np.all(b_to_a.transpose(0, 3, 1, 2)[~IMAGE_MASK] == 0.0)
    for sample, real in enumerate(TEXT_MASK):  # ... and real keys do get some
        assert np.all(a_to_b[sample][:, :, real] > 0.0)


def test_attention_scores_have_the_documented_shapes_and_rows_sum_to_one():
    a, b = _tokens(6, batch=2, n=9, m=4)
    layer = CrossAttentionFusion(units=12, num_heads=3)
    a_to_b, b_to_a = (np.asarray(w) for w in layer.attention_scores([a, b]))
    assert a_to_b.shape == (2, 3, 9, 4) and b_to_a.shape == (2, 3, 4, 9)
    np.testing.assert_allclose(a_to_b.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(b_to_a.sum(axis=-1), 1.0, rtol=1e-5)
    # With padding: real rows still sum to 1; an image row over an empty caption has nothing to attend to.
    a, b = _tokens(7)
    a_to_b, _ = (
        np.asarray(w)
        for w in CrossAttentionFusion(units=8, num_heads=2).attention_scores(
            [a, b], masks=[None, TEXT_MASK]
        )
    )
    np.testing.assert_allclose(
        a_to_b.sum(axis=-1),
        np.array([1.0, 1.0, 0.0])[:, None, None] * np.ones((3, 2, 6)),
        rtol=1e-5,
        atol=1e-7,
    )


def test_one_key_gets_all_the_weight():
    a, b = _tokens(8, m=1)
    a_to_b, _ = CrossAttentionFusion(units=8, num_heads=2).attention_scores([a, b])
    np.testing.assert_allclose(np.asarray(a_to_b), 1.0, rtol=1e-6)


def test_config_round_trip_and_output_shape():
    layer = CrossAttentionFusion(units=16, num_heads=2, dropout=0.1, name="xattn")
    config = layer.get_config()
    assert {k: config[k] for k in ("units", "num_heads", "dropout", "name")} == {
        "units": 16,
        "num_heads": 2,
        "dropout": 0.1,
        "name": "xattn",
    }
    clone = CrossAttentionFusion.from_config(config)
    assert (clone.units, clone.num_heads, clone.dropout) == (16, 2, 0.1)
    assert layer.compute_output_shape([(None, 4, 128), (None, 12, 32)]) == (None, 32)
    assert layer.input_rank == 3 and fusion.ConcatFusion.input_rank == 2
    assert "cross_attention" in fusion.available()
    assert isinstance(fusion.get("cross_attention", units=8, num_heads=2), CrossAttentionFusion)


def test_dropout_acts_only_while_training():
    a, b = _tokens(9)
    keras.utils.set_random_seed(0)
    layer = CrossAttentionFusion(units=8, num_heads=2, dropout=0.5)
    inference = np.asarray(layer([a, b]))
    np.testing.assert_array_equal(np.asarray(layer([a, b], training=False)), inference)
    assert not np.allclose(np.asarray(layer([a, b], training=True)), inference)


# -- mixed precision ------------------------------------------------------------


def test_a_mixed_float16_layer_computes_in_float16_throughout():
    """The sublayers share the layer's dtype policy, not the global one (float32 here)."""
    a, b = _tokens(12)
    layer = CrossAttentionFusion(units=8, num_heads=2, dtype="mixed_float16")
    out = layer([a, b], mask=[None, TEXT_MASK])
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    sublayers = [
        layer.project_a,
        layer.project_b,
        layer.norm_a,
        layer.norm_b,
        layer.a_to_b,
        layer.b_to_a,
        layer.a_to_b.query,
        layer.a_to_b.key,
        layer.a_to_b.value,
        layer.a_to_b.output_projection,
        layer.b_to_a.weights_dropout,
    ]
    assert {s.dtype_policy.name for s in sublayers} == {"mixed_float16"}
    assert {keras.backend.standardize_dtype(w.dtype) for w in layer.weights} == {"float32"}
    assert keras.backend.standardize_dtype(layer.attention_scores([a, b])[0].dtype) == "float16"


def test_float16_masking_still_gives_padded_keys_exactly_zero_weight():
    a, b = _tokens(13)
    layer = CrossAttentionFusion(units=8, num_heads=2, dtype="mixed_float16")
    a_to_b, _ = layer.attention_scores([a, b], masks=[None, TEXT_MASK])
    a_to_b = np.asarray(a_to_b, "float32")
    assert np.all(a_to_b.transpose(0, 3, 1, 2)[~TEXT_MASK] == 0.0)
    np.testing.assert_allclose(a_to_b[:2].sum(axis=-1), 1.0, atol=2e-3)
    reference = CrossAttentionFusion(units=8, num_heads=2)
    reference.build([a.shape, b.shape])
    reference.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        np.asarray(layer([a, b], mask=[None, TEXT_MASK]), "float32"),
        np.asarray(reference([a, b], mask=[None, TEXT_MASK])),
        atol=2e-2,
    )


# -- bad arguments and inputs -----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"units": 10, "num_heads": 4},
            r"num_heads must divide units; received units=10, num_heads=4",
        ),
        ({"units": 0}, "units must be an integer >= 1; received 0"),
        ({"units": 8.0}, "units must be an integer >= 1; received 8.0"),
        ({"num_heads": 0}, "num_heads must be an integer >= 1; received 0"),
        ({"num_heads": True}, "num_heads must be an integer >= 1; received True"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\); received 1.0"),
        ({"dropout": "0.1"}, r"dropout must be a number in \[0, 1\); received '0.1'"),
        ({"dropout": False}, r"dropout must be a number in \[0, 1\); received False"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    assert_refused("cross_attention", "^CrossAttentionFusion: " + match, **kwargs)


@pytest.mark.parametrize(
    "shapes, match",
    [
        (
            [(2, 8), (2, 6)],
            r"expects a list of 2 rank-3 tensors .*received shapes \[\(2, 8\), \(2, 6\)\] "
            r"\(one vector per sample .*pooling='tokens'.*return_sequences=True\)",
        ),
        ([(2, 4, 8), (2, 6)], r"received shapes \[\(2, 4, 8\), \(2, 6\)\]"),
        (
            [(2, 4, 8), (2, 5, 6), (2, 3, 2)],
            r"expects a list of 2 rank-3 tensors .*received shapes \[\(2, 4, 8\), \(2, 5, 6\), \(2, 3, 2\)\]",
        ),
        ([(2, 4, 8)], r"received shapes \[\(2, 4, 8\)\]"),
        ([(2, 4, 8), (3, 5, 6)], r"different batch sizes: \[\(2, 4, 8\), \(3, 5, 6\)\]"),
    ],
)
def test_bad_input_shapes_are_named(shapes, match):
    inputs = [np.zeros(s, "float32") for s in shapes]
    layer = CrossAttentionFusion(units=8, num_heads=2)
    with pytest.raises(ValueError, match=match):
        layer(inputs if len(inputs) > 1 else inputs[0])
    with pytest.raises(ValueError, match=match):
        CrossAttentionFusion(units=8, num_heads=2).attention_scores(inputs)


def test_symbolic_inputs_with_unknown_feature_size_are_rejected():
    with pytest.raises(
        ValueError,
        match=r"needs a known feature size .*received shapes \[\(None, 4, 8\), \(None, 5, None\)\]",
    ):
        CrossAttentionFusion(units=8, num_heads=2).compute_output_shape(
            [(None, 4, 8), (None, 5, None)]
        )


@pytest.mark.parametrize(
    "masks, match",
    [
        (
            [None, np.ones((2, 4), bool)],
            r"masks\[1\] must have shape \(batch, length\) = \(2, 5\) like input 1; received shape \(2, 4\)",
        ),
        (
            [np.ones((2, 3, 1), bool), None],
            r"masks\[0\] must have shape .* received shape \(2, 3, 1\)",
        ),
        (np.ones((2, 5), bool), r"masks must be None or a list of 2 masks"),
    ],
)
def test_bad_masks_are_named(masks, match):
    a, b = np.zeros((2, 3, 4), "float32"), np.zeros((2, 5, 6), "float32")
    with pytest.raises(ValueError, match="^CrossAttentionFusion: " + match):
        CrossAttentionFusion(units=8, num_heads=2).attention_scores([a, b], masks=masks)


# -- the encoders that produce tokens -------------------------------------------


def test_image_tokens_are_the_last_feature_map_row_by_row():
    model = encoders.image_encoder((32, 32, 3), filters=(4, 4, 6), pooling="tokens")
    assert model.output_shape == (None, 4, 6)  # 32 -> 15 -> 6 -> 2: a 2x2 map of regions
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.Lambda)]
    x = np.random.default_rng(10).random((2, 32, 32, 3), dtype="float32")
    feature_map = np.asarray(keras.Model(model.inputs[0], model.get_layer("pool3").output)(x))
    np.testing.assert_array_equal(np.asarray(model(x)), feature_map.reshape(2, 4, 6))


def test_image_token_projection_applies_to_each_token():
    model = encoders.image_encoder(
        (32, 32, 3), filters=(4, 4, 6), pooling="tokens", projection_dim=5
    )
    assert model.output_shape == (None, 4, 5)
    x = np.random.default_rng(11).random((2, 32, 32, 3), dtype="float32")
    tokens = np.asarray(keras.Model(model.inputs[0], model.get_layer("tokens").output)(x))
    kernel, bias = model.get_layer("projection").get_weights()
    np.testing.assert_allclose(
        np.asarray(model(x)), np.maximum(tokens @ kernel + bias, 0), rtol=1e-5, atol=1e-6
    )


def test_image_feature_size_explains_that_tokens_are_not_one_vector():
    with pytest.raises(
        ValueError,
        match=r"pooling='tokens' gives a sequence of 676 tokens of 128 features .*\(batch, 676, 128\)",
    ):
        encoders.image_feature_size((224, 224, 3), pooling="tokens")
    with pytest.raises(ValueError, match="pooling must be one of .*received 'sum'"):
        encoders.image_feature_size((224, 224, 3), pooling="sum")


def test_signal_encoder_still_offers_only_vector_pooling():
    with pytest.raises(
        ValueError, match=r"pooling must be one of \['flatten', 'avg', 'max'\]; received 'tokens'"
    ):
        encoders.signal_encoder((64, 1), pooling="tokens")


class _MaskProbe(keras.layers.Layer):
    """Passes its input through and outputs the mask Keras hands it (as 0/1 floats)."""

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.full(keras.ops.shape(inputs)[:2], -1.0)
        return keras.ops.cast(mask, "float32")

    def compute_mask(self, inputs, mask=None):
        return None


def test_text_sequences_keep_the_padding_mask_inside_a_model():
    encoder = encoders.text_encoder(
        vocab_size=20, sequence_length=6, embedding_dim=4, units=3, return_sequences=True
    )
    assert encoder.output_shape == (None, 6, 3)
    ids = np.array([[3, 7, 1, 0, 0, 0], [5, 2, 9, 4, 8, 6], [0, 0, 0, 0, 0, 0]], dtype="int32")
    inputs = keras.Input((6,), dtype="int32")
    probe = keras.Model(inputs, _MaskProbe()(encoder(inputs)))
    np.testing.assert_array_equal(
        probe.predict(ids, verbose=0), (ids != 0).astype("float32")
    )  # graph mode
    np.testing.assert_array_equal(np.asarray(probe(ids)), (ids != 0).astype("float32"))  # eager


def test_the_last_step_of_the_sequence_is_the_vector_encoders_output():
    vector = encoders.text_encoder(vocab_size=20, sequence_length=6, embedding_dim=4, units=3)
    sequence = encoders.text_encoder(
        vocab_size=20, sequence_length=6, embedding_dim=4, units=3, return_sequences=True
    )
    sequence.set_weights(vector.get_weights())
    ids = np.array([[3, 7, 1, 4, 2, 9], [5, 2, 0, 0, 0, 0]], dtype="int32")
    states = np.asarray(sequence(ids))
    final = np.asarray(vector(ids))
    np.testing.assert_allclose(states[0, -1], final[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states[1, 1], final[1], rtol=1e-5, atol=1e-6)  # its last real word


def test_return_sequences_must_be_a_bool():
    with pytest.raises(ValueError, match="return_sequences must be True or False; received 'yes'"):
        encoders.text_encoder(vocab_size=20, sequence_length=6, return_sequences="yes")


# -- the builders -----------------------------------------------------------------

SMALL = {"image_filters": (8, 8, 8), "embedding_dim": 16, "text_units": 16, "hidden_units": 16}


def _small_model(**options):
    mt.train.set_seed(0)
    return mt.models.build_classifier(
        (32, 32, 3),
        30,
        8,
        3,
        fusion="cross_attention",
        fusion_config={"units": 16, "num_heads": 2},
        **{**SMALL, **options},
    )


def _fusion_of(model):
    (layer,) = [layer for layer in model.layers if isinstance(layer, CrossAttentionFusion)]
    return layer


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, size=n)
    text = np.where(
        np.arange(8)[None, :] < lengths[:, None], rng.integers(1, 30, size=(n, 8)), 0
    ).astype("int32")
    return {"image": rng.random((n, 32, 32, 3), dtype="float32"), "text": text}, rng.integers(
        0, 3, size=n
    )


def test_cross_attention_classifier_trains_and_survives_a_safe_roundtrip(tmp_path):
    model = _small_model()
    assert model.name == "image_text_cross_attention"
    assert model.get_layer("image_encoder").output_shape == (None, 4, 8)
    assert model.get_layer("text_encoder").output_shape == (None, 8, 16)
    assert model.output_shape == (None, 3)
    assert not [
        layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Lambda)
    ]
    features, labels = _data()
    history = mt.train.fit(model, (features, labels), epochs=1, batch_size=8)
    assert np.isfinite(history.history["loss"][0])
    before = mt.train.predict(model, features)
    path = os.path.join(tmp_path, "cross_attention.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(mt.train.predict(restored, features), before)
    assert _fusion_of(restored).get_config()["units"] == 16


def test_the_model_hands_the_text_padding_mask_to_the_fusion():
    model = _small_model(compile=False)
    layer = _fusion_of(model)
    features, _ = _data(6, seed=1)
    fused = keras.Model(model.inputs, layer.output).predict(features, verbose=0)  # graph mode
    image_tokens = model.get_layer("image_encoder")(features["image"])
    text_tokens = model.get_layer("text_encoder")(features["text"])
    masked = np.asarray(layer([image_tokens, text_tokens], mask=[None, features["text"] != 0]))
    unmasked = np.asarray(layer([image_tokens, text_tokens], mask=[None, None]))
    np.testing.assert_allclose(fused, masked, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fused, unmasked, atol=1e-4)


def test_explicit_tokens_pooling_is_accepted_with_cross_attention():
    assert _small_model(image_pooling="tokens", compile=False).get_layer(
        "image_encoder"
    ).output_shape == (None, 4, 8)


def test_single_modality_models_ignore_the_token_fusion():
    model = _small_model(modalities=("image",), compile=False)
    assert model.get_layer("image_encoder").output_shape == (None, 32)  # flatten, as before
    assert model.name == "image_only"


@pytest.mark.parametrize(
    "fusion_name, options, match",
    [
        (
            "cross_attention",
            {"image_pooling": "avg"},
            r"image_pooling='avg' cannot be used with fusion 'cross_attention'.*leave image_pooling out",
        ),
        (
            "concat",
            {"image_pooling": "tokens"},
            r"image_pooling='tokens' gives a sequence .* fusion 'concat' needs one vector per image",
        ),
        (
            "concat",
            {"image_pooling": "tokens", "modalities": ("image",)},
            r"image_pooling='tokens' .* an image-only model needs one vector per image",
        ),
        (
            "cross_attention",
            {"fusion_config": {"units": 10, "num_heads": 4}},
            "num_heads must divide units; received units=10, num_heads=4",
        ),
    ],
)
def test_build_classifier_names_token_mistakes(fusion_name, options, match):
    with pytest.raises(ValueError, match=match):
        mt.models.build_classifier((32, 32, 3), 30, 8, 3, fusion=fusion_name, **options)


def test_dual_encoder_rejects_token_pooling():
    with pytest.raises(
        ValueError, match=r"image_pooling='tokens' .* each tower of a dual encoder needs one vector"
    ):
        mt.models.build_dual_encoder((32, 32, 3), 30, 8, image_pooling="tokens")


def test_assemble_classifier_checks_the_encoders_rank_against_the_fusion():
    vector_image = encoders.image_encoder((32, 32, 3), filters=(4, 4, 4), pooling="avg")
    token_image = encoders.image_encoder((32, 32, 3), filters=(4, 4, 4), pooling="tokens")
    token_text = encoders.text_encoder(30, 8, embedding_dim=4, units=4, return_sequences=True)
    with pytest.raises(
        ValueError,
        match=(
            r"fusion 'cross_attention' attends over tokens, so encoder 'image' must output a sequence "
            r"\(batch, tokens, features\) \(rank 3\); its output shape is \(None, 4\)"
        ),
    ):
        mt.models.assemble_classifier(
            {"image": vector_image, "text": token_text},
            3,
            fusion="cross_attention",
            fusion_config={"units": 8, "num_heads": 2},
        )
    with pytest.raises(
        ValueError,
        match=r"encoder 'image' must output one vector per sample \(rank 2\); its output shape is \(None, 4, 4\)",
    ):
        mt.models.assemble_classifier(
            {"image": token_image, "text": token_text}, 3, fusion="concat"
        )
    model = mt.models.assemble_classifier(
        {"image": token_image, "text": token_text},
        3,
        fusion="cross_attention",
        fusion_config={"units": 8, "num_heads": 2},
        compile=False,
    )
    assert model.output_shape == (None, 3)
