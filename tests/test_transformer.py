"""The transformer's parts and the single-stream fusion, against NumPy written out by hand.

Each layer is compared with an independent NumPy version of its formula that
reads the layer's own weights: patches cut with two loops, LayerNorm,
attention and the MLP spelled out, the fusion's joint sequence assembled by
hand. The masks are checked by what they promise (a padded or a later token
cannot change what they hide) and each such test also shows that an
unhidden change does change the output, so that it could fail. Keras's layer
harness and the fusion contract run over these layers in
``tests/fusion/test_keras_harness.py`` and ``tests/fusion/test_contract.py``.
"""

import math
import os

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.fusion import TransformerFusion
from mmtutorial.transformer import (
    ModalityTypeEmbedding,
    PatchEmbedding,
    PositionEmbedding,
    TransformerBlock,
)


def _numpy(x):
    return keras.ops.convert_to_numpy(x).astype("float64")


def _randomise(layer, seed=1, scale=0.5):
    """Give every weight of a built ``layer`` (biases, LayerNorms, embeddings too) random values."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(scale=scale, size=variable.shape).astype("float32"))
    return layer


def _built(layer, inputs, seed=1, scale=0.5):
    """``layer``, called once on ``inputs`` (so built), with random weights."""
    layer(inputs)
    return _randomise(layer, seed=seed, scale=scale)


def _weights(layer, prefix):
    """``{"query/kernel": array, ...}``: the weights under ``prefix`` of ``layer``'s paths."""
    out = {}
    for variable in layer.weights:
        parts = variable.path.split("/")
        if prefix in parts:
            out["/".join(parts[parts.index(prefix) + 1 :])] = np.asarray(
                variable.numpy(), "float64"
            )
    assert out, f"no weights under {prefix!r} in {[v.path for v in layer.weights]}"
    return out


# -- NumPy references -------------------------------------------------------------------


def _layer_norm(x, w, epsilon=1e-6):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * w["gamma"] + w["beta"]


def _gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _attention(queries, keys, w, allowed):
    """Multi-head attention, one head at a time; ``allowed[b, i, j]``: query i may see key j.

    Returns the output and the weights ``(batch, heads, n, m)``.
    """
    batch, n, _ = queries.shape
    heads, key_dim = w["query/kernel"].shape[1:]
    out = np.zeros((batch, n, w["attention_output/kernel"].shape[-1]))
    scores = np.zeros((batch, heads, n, keys.shape[1]))
    for b in range(batch):
        merged = []
        for h in range(heads):
            q = queries[b] @ w["query/kernel"][:, h] + w["query/bias"][h]
            k = keys[b] @ w["key/kernel"][:, h] + w["key/bias"][h]
            v = keys[b] @ w["value/kernel"][:, h] + w["value/bias"][h]
            logits = q @ k.T / math.sqrt(key_dim)
            logits = np.where(allowed[b], logits, -np.inf)
            top = logits.max(axis=1, keepdims=True)
            weights = np.exp(logits - np.where(np.isfinite(top), top, 0.0))  # exp(-inf) = 0
            total = weights.sum(axis=1, keepdims=True)  # 0 for a query that may see nothing
            weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
            scores[b, h] = weights
            merged.append(weights @ v)
        context = np.concatenate(merged, axis=1)  # (n, heads * key_dim), head by head
        projection = w["attention_output/kernel"].reshape(heads * key_dim, -1)
        out[b] = context @ projection + w["attention_output/bias"]
    return out, scores


def _reference_block(block, x, mask=None, context=None, context_mask=None, scores=None):
    """A pre-norm block in NumPy, with the weights of ``block``; appends its self-attention
    weights to ``scores`` if given."""
    batch, n, _ = x.shape
    keep = np.ones((batch, n), bool) if mask is None else mask
    allowed = keep[:, :, None] & keep[:, None, :]  # padded queries attend to nothing
    if block.causal:
        allowed = allowed & np.tril(np.ones((n, n), bool))[None]
    h = _layer_norm(x, _weights(block, "attention_norm"))
    attended, weights = _attention(h, h, _weights(block, "self_attention"), allowed)
    x = x + attended
    if scores is not None:
        scores.append(weights)
    if block.cross_attention:
        m = context.shape[1]
        keep_context = np.ones((batch, m), bool) if context_mask is None else context_mask
        h = _layer_norm(x, _weights(block, "cross_attention_norm"))
        allowed = keep[:, :, None] & keep_context[:, None, :]
        x = x + _attention(h, context, _weights(block, "cross_attention"), allowed)[0]
    h = _layer_norm(x, _weights(block, "mlp_norm"))
    hidden, output = _weights(block, "mlp_hidden"), _weights(block, "mlp_output")
    h = _gelu(h @ hidden["kernel"] + hidden["bias"]) @ output["kernel"] + output["bias"]
    return x + h


def _reference_fusion(layer, inputs, masks, scores=None):
    """The single-stream fusion in NumPy: project, add types, prepend the class token, blocks."""
    projections = iter(layer.projections)
    types = layer.type_embedding.embeddings.numpy()
    tokens = []
    for m, x in enumerate(inputs):
        if layer._projected[m]:
            dense = next(projections)
            x = x @ dense.kernel.numpy() + dense.bias.numpy()
        tokens.append(x + types[m])
    batch = inputs[0].shape[0]
    first = np.broadcast_to(layer.class_token.numpy(), (batch, 1, layer.units))
    x = np.concatenate([first, *tokens], axis=1)
    keep = np.concatenate(
        [np.ones((batch, 1), bool)]
        + [np.ones(t.shape[:2], bool) if m is None else m for t, m in zip(tokens, masks)],
        axis=1,
    )
    for block in layer.blocks:
        x = _reference_block(block, x, keep, scores=scores)
    return _layer_norm(x[:, 0], _weights(layer.final_norm, "final_norm"))


# -- PatchEmbedding ------------------------------------------------------------------


def test_patch_embedding_is_each_flattened_patch_times_one_matrix_plus_its_position():
    images = np.random.default_rng(0).random((2, 8, 12, 3), dtype="float32")
    layer = _built(PatchEmbedding(patch_size=4, units=5), images)
    tokens = _numpy(layer(images))
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    position = layer.position.numpy()
    assert tokens.shape == (2, 6, 5) and kernel.shape == (4 * 4 * 3, 5)
    for b in range(2):
        for row in range(2):
            for column in range(3):
                patch = images[b, 4 * row : 4 * row + 4, 4 * column : 4 * column + 4, :]
                index = row * 3 + column  # row by row
                np.testing.assert_allclose(_numpy(layer.patches(images))[b, index], patch.ravel())
                expected = patch.ravel() @ kernel + bias + position[index]
                np.testing.assert_allclose(tokens[b, index], expected, rtol=1e-5, atol=1e-5)


def test_patch_embedding_positions_tell_equal_patches_apart():
    layer = PatchEmbedding(patch_size=2, units=4)
    tokens = _numpy(layer(np.ones((1, 4, 4, 1), "float32")))  # four identical patches
    np.testing.assert_allclose(
        tokens[0] - tokens[0, :1], layer.position.numpy() - layer.position.numpy()[:1], atol=1e-6
    )
    assert np.abs(tokens[0, 1:] - tokens[0, :1]).max() > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"patch_size": 0, "units": 4},
            r"^PatchEmbedding: patch_size must be an integer >= 1; received 0$",
        ),
        ({"patch_size": 2.0, "units": 4}, r"patch_size must be an integer >= 1; received 2\.0"),
        ({"patch_size": 2, "units": True}, r"units must be an integer >= 1; received True"),
    ],
)
def test_patch_embedding_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PatchEmbedding(**kwargs)


@pytest.mark.parametrize(
    "shape, match",
    [
        (
            (2, 8, 10, 3),
            r"patch_size must divide the image's height and width; received patch_size=4 for "
            r"images of shape \(8, 10, 3\)",
        ),
        ((2, 6, 8, 3), r"received patch_size=4 for images of shape \(6, 8, 3\)"),
        (
            (2, 8, 8),
            r"expects images \(batch, height, width, channels\) .*received shape \(2, 8, 8\)",
        ),
    ],
)
def test_patch_embedding_refuses_images_it_cannot_cut(shape, match):
    with pytest.raises(ValueError, match="^PatchEmbedding.*" + match):
        PatchEmbedding(patch_size=4, units=3)(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=match):
        PatchEmbedding(patch_size=4, units=3).compute_output_shape(shape)


def test_a_built_patch_embedding_refuses_images_of_another_size():
    layer = PatchEmbedding(patch_size=2, units=3)
    layer(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(
        ValueError,
        match=r"was built for images of shape \(4, 4, 3\); received shape \(1, 6, 4, 3\)",
    ):
        layer(np.zeros((1, 6, 4, 3), "float32"))


# -- PositionEmbedding and ModalityTypeEmbedding -----------------------------------------


def test_position_embedding_adds_one_vector_per_position_and_passes_the_mask_on():
    ids = np.array([[5, 2, 7, 0, 0], [3, 0, 0, 0, 0]], "int32")
    inputs = keras.Input((5,), dtype="int32")
    words = keras.layers.Embedding(9, 4, mask_zero=True, name="words")(inputs)
    tokens = PositionEmbedding(max_length=8, name="positions")(words)
    assert tuple(tokens._keras_mask.shape) == (None, 5)  # the functional graph keeps the mask
    model = keras.Model(inputs, tokens)
    layer = _randomise(model.get_layer("positions"))
    table = model.get_layer("words").embeddings.numpy()
    expected = table[ids] + layer.position.numpy()[:5]
    np.testing.assert_allclose(_numpy(model(ids)), expected, rtol=1e-6, atol=1e-6)
    eager = layer(model.get_layer("words")(ids))
    np.testing.assert_array_equal(np.asarray(eager._keras_mask), ids != 0)


def test_position_embedding_refuses_a_sequence_longer_than_max_length():
    with pytest.raises(
        ValueError, match=r"holds 4 positions \(max_length\); received a sequence of length 6"
    ):
        PositionEmbedding(max_length=4)(np.zeros((1, 6, 3), "float32"))
    with pytest.raises(
        ValueError, match=r"^PositionEmbedding: max_length must be an integer >= 1; received 0"
    ):
        PositionEmbedding(max_length=0)
    with pytest.raises(
        ValueError, match=r"expects tokens of shape \(batch, length, features\).*\(2, 3\)"
    ):
        PositionEmbedding(max_length=4)(np.zeros((2, 3), "float32"))


def test_modality_type_embedding_adds_its_own_vector_to_each_modality():
    rng = np.random.default_rng(2)
    a, b = (
        rng.normal(size=(2, 3, 4)).astype("float32"),
        rng.normal(size=(2, 5, 4)).astype("float32"),
    )
    layer = ModalityTypeEmbedding(num_modalities=2)
    layer([a, b])
    _randomise(layer)
    types = layer.embeddings.numpy()
    out_a, out_b = layer([a, b])
    np.testing.assert_allclose(_numpy(out_a), a + types[0], rtol=1e-6)
    np.testing.assert_allclose(_numpy(out_b), b + types[1], rtol=1e-6)
    assert not np.allclose(types[0], types[1])


def test_modality_type_embedding_refuses_the_wrong_inputs():
    with pytest.raises(
        ValueError, match=r"expects a list of 2 token sequences .*received shapes \[\(2, 3, 4\)\]"
    ):
        ModalityTypeEmbedding(2)([np.zeros((2, 3, 4), "float32")])
    with pytest.raises(ValueError, match=r"one known width .*\[\(2, 3, 4\), \(2, 5, 6\)\]"):
        ModalityTypeEmbedding(2)([np.zeros((2, 3, 4), "float32"), np.zeros((2, 5, 6), "float32")])
    with pytest.raises(ValueError, match=r"num_modalities must be an integer >= 1; received 0"):
        ModalityTypeEmbedding(0)


# -- TransformerBlock ----------------------------------------------------------------


def _tokens(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize(
    "heads, causal, cross, masked",
    [(1, False, False, False), (2, False, False, True), (2, True, True, True)],
    ids=["one_head", "two_heads_padding", "decoder_causal_cross"],
)
def test_the_block_matches_pre_norm_attention_written_out_in_numpy(heads, causal, cross, masked):
    x = _tokens((2, 5, 6))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool) if masked else None
    context = _tokens((2, 4, 3), seed=5) if cross else None
    context_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool) if cross else None
    block = TransformerBlock(heads, mlp_units=7, causal=causal, cross_attention=cross)
    block(x, context=context, mask=mask, context_mask=context_mask)
    _randomise(block)
    out = _numpy(block(x, context=context, mask=mask, context_mask=context_mask))
    expected = _reference_block(block, x.astype("float64"), mask, context, context_mask)
    real = np.ones((2, 5), bool) if mask is None else mask  # padded positions' outputs are unused
    np.testing.assert_allclose(out[real], expected[real], rtol=2e-4, atol=2e-4)


def test_padded_tokens_cannot_change_the_outputs_at_real_tokens():
    x = _tokens((2, 6, 8))
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]], bool)
    block = _built(TransformerBlock(2), x)
    out = _numpy(block(x, mask=mask))
    changed = np.where(mask[:, :, None], x, 100 * _tokens(x.shape, seed=3))
    np.testing.assert_allclose(_numpy(block(changed, mask=mask))[mask], out[mask], atol=1e-5)
    unmasked = _numpy(block(changed))  # the same change, seen: the test can fail
    assert np.abs(unmasked[mask] - out[mask]).max() > 1e-2


def test_a_causal_block_never_lets_a_token_see_a_later_one():
    x = _tokens((1, 6, 8))
    block = _built(TransformerBlock(2, causal=True), x)
    out = _numpy(block(x))
    changed = x.copy()
    # A random change: adding one constant to every feature would be invisible after LayerNorm.
    changed[0, 3] += _tokens((8,), seed=7)
    after = _numpy(block(changed))
    np.testing.assert_allclose(after[0, :3], out[0, :3], atol=1e-6)
    assert np.abs(after[0, 3:] - out[0, 3:]).min() > 1e-3
    full = _built(TransformerBlock(2), x)  # without the causal mask
    assert np.abs(_numpy(full(changed))[0, :3] - _numpy(full(x))[0, :3]).max() > 1e-3


def test_the_block_passes_the_padding_mask_on_and_survives_a_safe_roundtrip(tmp_path):
    inputs = keras.Input((5,), dtype="int32")
    tokens = PositionEmbedding(5)(keras.layers.Embedding(20, 8, mask_zero=True)(inputs))
    first = TransformerBlock(2, dropout=0.1, name="first")(tokens)
    second = TransformerBlock(2, causal=True, name="second")(first)
    assert tuple(second._keras_mask.shape) == (None, 5)
    model = keras.Model(inputs, second)
    ids = np.array([[3, 4, 5, 0, 0], [6, 0, 0, 0, 0]], "int32")
    before = _numpy(model(ids))
    path = os.path.join(tmp_path, "blocks.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(_numpy(restored(ids)), before)
    assert restored.get_layer("second").get_config() == model.get_layer("second").get_config()


@pytest.mark.parametrize(
    "kwargs, call, match",
    [
        (
            {"num_heads": 3},
            {},
            r"num_heads must divide the tokens' width; received num_heads=3 for tokens of shape \(2, 5, 8\)",
        ),
        (
            {"num_heads": 2},
            {"context": "tokens"},
            r"cross_attention=False, so it takes no context; received a context of shape \(2, 5, 8\)",
        ),
        (
            {"num_heads": 2, "cross_attention": True},
            {},
            r"cross_attention=True, so it needs a context .*received context=None",
        ),
        (
            {"num_heads": 2},
            {"mask": np.ones((2, 4), bool)},
            r"mask must have shape \(batch, length\) = \(2, 5\); received shape \(2, 4\)",
        ),
        (
            {"num_heads": 2, "dropout": 1.0},
            None,
            r"dropout must be a number in \[0, 1\); received 1\.0",
        ),
        ({"num_heads": 2, "causal": 1}, None, r"causal must be True or False; received 1"),
        ({"num_heads": 0}, None, r"num_heads must be an integer >= 1; received 0"),
    ],
)
def test_the_block_names_bad_arguments(kwargs, call, match):
    x = _tokens((2, 5, 8))
    with pytest.raises(ValueError, match="TransformerBlock.*" + match):
        block = TransformerBlock(**kwargs)
        call = {key: (x if isinstance(value, str) else value) for key, value in call.items()}
        block(x, **call)


# -- the single-stream fusion --------------------------------------------------------------


def _fusion_inputs(seed=0):
    rng = np.random.default_rng(seed)
    regions = rng.normal(size=(3, 4, 6)).astype("float32")
    words = rng.normal(size=(3, 5, 8)).astype("float32")
    real = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    return regions, words, real


def test_the_fusion_matches_its_joint_sequence_written_out_in_numpy():
    regions, words, real = _fusion_inputs()
    layer = TransformerFusion(units=8, layers=2, num_heads=2, mlp_units=10)
    layer([regions, words])
    _randomise(layer, scale=0.3)
    assert layer._projected == (True, False)  # words are already 8 wide: no projection
    out = _numpy(layer([regions, words], mask=[None, real]))
    assert out.shape == (3, 8)
    expected = _reference_fusion(layer, [regions, words], [None, real])
    np.testing.assert_allclose(out, expected, rtol=2e-4, atol=2e-4)


def test_attention_scores_are_each_blocks_weights_with_padding_at_zero():
    regions, words, real = _fusion_inputs()
    layer = _built(TransformerFusion(units=8, layers=2, num_heads=2), [regions, words], scale=0.3)
    scores = [_numpy(a) for a in layer.attention_scores([regions, words], masks=[None, real])]
    expected = []
    _reference_fusion(layer, [regions, words], [None, real], scores=expected)
    assert [a.shape for a in scores] == [(3, 2, 10, 10)] * 2  # class token, 4 regions, 5 words
    for got, want in zip(scores, expected):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)
        rows = np.concatenate([np.ones((3, 5), bool), real], axis=1)  # class token, regions, words
        np.testing.assert_allclose(
            got.sum(axis=-1), np.broadcast_to(rows[:, None], (3, 2, 10)), atol=1e-5
        )
        assert got[2][:, :, 5 + 1 :].max() == 0.0  # sample 2 has one real word: 4 padded


def test_a_causal_blocks_attention_scores_are_lower_triangular():
    x = _tokens((2, 5, 8))
    block = TransformerBlock(2, causal=True)
    with pytest.raises(ValueError, match="is not built yet: call it on tokens first"):
        block.attention_scores(x)
    block(x)
    scores = _numpy(
        block.attention_scores(x, mask=np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool))
    )
    assert scores.shape == (2, 2, 5, 5)
    assert np.triu(scores, k=1).max() == 0.0 and scores[1][:, :, 3:].max() == 0.0
    np.testing.assert_allclose(scores[0].sum(axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(scores[1].sum(axis=-1), [[1, 1, 1, 0, 0]] * 2, atol=1e-6)


def test_the_fusion_never_reads_padded_words():
    regions, words, real = _fusion_inputs()
    layer = _built(TransformerFusion(units=8, layers=2, num_heads=2), [regions, words], scale=0.3)
    out = _numpy(layer([regions, words], mask=[None, real]))
    noise = 50 * np.random.default_rng(9).normal(size=words.shape).astype("float32")
    padded_changed = np.where(real[:, :, None], words, noise)
    np.testing.assert_allclose(
        _numpy(layer([regions, padded_changed], mask=[None, real])), out, atol=1e-5
    )
    real_changed = words.copy()
    real_changed[1, 0] += 3 * _tokens((8,), seed=8)  # a real word of sample 1: its output moves
    moved = _numpy(layer([regions, real_changed], mask=[None, real]))
    assert np.abs(moved[1] - out[1]).max() > 1e-3
    np.testing.assert_allclose(moved[[0, 2]], out[[0, 2]], atol=1e-6)


def test_the_fusion_joins_three_modalities_in_one_sequence():
    rng = np.random.default_rng(4)
    inputs = [rng.normal(size=(2, n, d)).astype("float32") for n, d in ((3, 4), (2, 8), (4, 5))]
    layer = TransformerFusion(units=8, layers=1, num_heads=4)
    layer(inputs)
    _randomise(layer, scale=0.3)
    assert layer.type_embedding.embeddings.shape == (3, 8)
    expected = _reference_fusion(layer, inputs, [None, None, None])
    np.testing.assert_allclose(_numpy(layer(inputs)), expected, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"units": 10, "num_heads": 4},
            r"num_heads must divide units; received units=10, num_heads=4",
        ),
        ({"layers": 0}, r"layers must be an integer >= 1; received 0"),
        ({"mlp_units": -1}, r"mlp_units must be an integer >= 1; received -1"),
        ({"dropout": -0.1}, r"dropout must be a number in \[0, 1\); received -0\.1"),
    ],
)
def test_the_fusion_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match="^TransformerFusion: " + match):
        mt.fusion.get("transformer", **kwargs)


def test_the_fusion_names_bad_masks_and_widths():
    regions, words, real = _fusion_inputs()
    layer = TransformerFusion(units=8, num_heads=2)
    with pytest.raises(ValueError, match=r"mask must be None or a list of 2 masks .*received"):
        layer([regions, words], mask=real)
    with pytest.raises(
        ValueError,
        match=r"mask\[1\] must have shape \(batch, length\) = \(3, 5\) like input 1; received shape \(3, 4\)",
    ):
        layer([regions, words], mask=[None, real[:, :4]])
    layer([regions, words])
    with pytest.raises(
        ValueError,
        match=r"was built for inputs of widths \[6, 8\]; received shapes \[\(3, 4, 6\), \(3, 5, 7\)\]",
    ):
        layer([regions, words[:, :, :7]])


# -- in a classifier -----------------------------------------------------------------------

SMALL = {"image_filters": (4, 8, 8), "embedding_dim": 8, "text_units": 8, "hidden_units": 8}


def _image_text(n=16, seed=0, shape=(32, 32, 3), vocab=30, length=8, classes=3):
    """Random images, captions of random lengths padded with 0, and labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, length + 1, size=n)
    ids = rng.integers(1, vocab, size=(n, length))
    text = np.where(np.arange(length)[None, :] < lengths[:, None], ids, 0).astype("int32")
    images = rng.random((n, *shape), dtype="float32")
    return {"image": images, "text": text}, rng.integers(0, classes, size=n)


def _fits_and_reloads(model, tmp_path, features, labels):
    history = mt.train.fit(model, (features, labels), epochs=1, batch_size=8)
    assert np.isfinite(history.history["loss"][0])
    before = mt.train.predict(model, features)
    path = os.path.join(tmp_path, f"{model.name}.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(mt.train.predict(restored, features), before)
    assert not [
        layer for layer in restored._flatten_layers() if isinstance(layer, keras.layers.Lambda)
    ]
    return restored


def test_build_classifier_with_the_transformer_fusion_trains_and_reloads_in_safe_mode(tmp_path):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        (32, 32, 3),
        30,
        8,
        3,
        fusion="transformer",
        fusion_config={"units": 8, "layers": 1, "num_heads": 2, "mlp_units": 16},
        **SMALL,
    )
    assert model.name == "image_text_transformer" and model.output_shape == (None, 3)
    assert model.get_layer("image_encoder").output_shape == (None, 4, 8)  # region tokens
    features, labels = _image_text()
    restored = _fits_and_reloads(model, tmp_path, features, labels)
    (layer,) = [lyr for lyr in restored.layers if isinstance(lyr, TransformerFusion)]
    assert layer.get_config()["layers"] == 1
    # The text encoder's padding mask reaches the fusion in the model's graph.
    encoded = [restored.get_layer(f"{key}_encoder")(features[key]) for key in ("image", "text")]
    fused = keras.Model(restored.inputs, layer.output).predict(features, verbose=0)
    masked = _numpy(layer(encoded, mask=[None, features["text"] != 0]))
    np.testing.assert_allclose(fused, masked, rtol=1e-5, atol=1e-5)
    unmasked = _numpy(layer(encoded, mask=[None, np.ones_like(features["text"], bool)]))
    assert not np.allclose(fused, unmasked, atol=1e-4)


def test_the_vilt_classifier_reads_patches_and_words_trains_and_reloads_in_safe_mode(tmp_path):
    mt.train.set_seed(0)
    model = mt.models.build_vilt_classifier(
        (32, 32, 3), 30, 8, 3, patch_size=8, units=8, layers=1, num_heads=2, hidden_units=8
    )
    assert model.name == "image_text_vilt" and model.output_shape == (None, 3)
    assert mt.models.input_keys(model) == ("image", "text")
    assert model.get_layer("patch_embedding").output.shape == (None, 16, 8)  # 4 x 4 patches
    kinds = {type(layer).__name__ for layer in model.layers}
    assert not kinds & {"Conv2D", "LSTM", "Functional"}, kinds  # no CNN or LSTM encoder
    features, labels = _image_text()
    restored = _fits_and_reloads(model, tmp_path, features, labels)
    fusion = restored.get_layer("transformer_fusion")
    # The word embedding's padding mask reaches the fusion through the position embedding.
    tokens = [
        restored.get_layer("patch_embedding")(features["image"]),
        restored.get_layer("word_positions")(
            restored.get_layer("word_embedding")(features["text"])
        ),
    ]
    fused = keras.Model(restored.inputs, fusion.output).predict(features, verbose=0)
    masked = _numpy(fusion(tokens, mask=[None, features["text"] != 0]))
    np.testing.assert_allclose(fused, masked, rtol=1e-5, atol=1e-5)
    unmasked = _numpy(fusion(tokens, mask=[None, np.ones_like(features["text"], bool)]))
    assert not np.allclose(fused, unmasked, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"patch_size": 5},
            r"patch_size must divide .*received patch_size=5 for images of shape \(32, 32, 3\)",
        ),
        (
            {"units": 10, "num_heads": 4},
            r"num_heads must divide units; received units=10, num_heads=4",
        ),
        ({"learning_rate": 0}, r"learning_rate must be a positive number; received 0"),
        ({"compile": "yes"}, r"compile must be True or False; received 'yes'"),
    ],
)
def test_the_vilt_classifier_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.models.build_vilt_classifier((32, 32, 3), 30, 8, 3, **{"layers": 1, **kwargs})


# -- freezing and a prefix -----------------------------------------------------------


def test_a_frozen_block_stays_frozen_after_a_safe_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, TransformerBlock(num_heads=2, mlp_units=16)(inputs))
    model.trainable = False
    assert model.trainable_weights == []
    model.save(tmp_path / "frozen.keras")
    loaded = keras.saving.load_model(tmp_path / "frozen.keras", safe_mode=True)
    assert loaded.trainable_weights == []
    assert len(loaded.non_trainable_weights) == 16
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


def test_drop_prefix_cuts_the_tokens_and_the_mask_alike():
    from mmtutorial.transformer import DropPrefix

    x = np.arange(2 * 5 * 3, dtype="float32").reshape(2, 5, 3)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer = DropPrefix(2)
    np.testing.assert_array_equal(np.asarray(layer(x)), x[:, 2:])
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(x, mask)), mask[:, 2:])
    with pytest.raises(ValueError, match=r"DropPrefix drops the first 5 tokens \(length\), so it"):
        DropPrefix(5)(x)
    with pytest.raises(ValueError, match="DropPrefix: length must be an integer >= 1; received 0"):
        DropPrefix(0)
