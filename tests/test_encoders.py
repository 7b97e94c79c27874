"""Encoders: output shapes, the size arithmetic, masking, and an LSTM checked against NumPy."""

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial import encoders


@pytest.mark.parametrize("size", [22, 23, 32, 33, 64, 100, 224])
def test_conv_output_size_matches_keras(size):
    model = encoders.image_encoder((size, size, 1), filters=(2, 2, 2))
    height = model.get_layer("pool3").output.shape[1]
    assert encoders.conv_output_size(size) == height


def test_the_articles_224_pixel_input_flattens_to_86528_features():
    assert encoders.image_feature_size((224, 224, 3)) == 26 * 26 * 128 == 86528
    assert encoders.image_encoder((224, 224, 3)).output_shape == (None, 86528)


@pytest.mark.parametrize(
    "pooling, projection, width",
    [
        ("flatten", None, 512),
        ("avg", None, 128),
        ("max", None, 128),
        ("flatten", 64, 64),
        ("avg", 32, 32),
    ],
)
def test_image_encoder_output_widths(pooling, projection, width):
    model = encoders.image_encoder((32, 32, 3), pooling=pooling, projection_dim=projection)
    assert model.output_shape == (None, width)
    if projection is None:
        assert encoders.image_feature_size((32, 32, 3), pooling=pooling) == width
    out = model(np.random.default_rng(0).random((2, 32, 32, 3), dtype="float32"))
    assert tuple(out.shape) == (2, width)


def test_global_average_pooling_is_the_mean_of_the_last_feature_map():
    model = encoders.image_encoder((32, 32, 3), pooling="avg")
    feature_map = keras.Model(model.inputs[0], model.get_layer("pool3").output)
    x = np.random.default_rng(1).random((3, 32, 32, 3), dtype="float32")
    expected = np.asarray(feature_map(x)).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-5, atol=1e-6)


def test_conv_layer_matches_a_numpy_convolution():
    model = encoders.image_encoder((24, 24, 3), filters=(4,))
    conv = model.get_layer("conv1")
    kernel, bias = (np.asarray(w) for w in conv.get_weights())
    x = np.random.default_rng(2).random((1, 24, 24, 3), dtype="float32")
    keras_out = np.asarray(keras.Model(model.inputs[0], conv.output)(x))[0]
    expected = np.zeros((22, 22, 4), dtype="float64")
    for i in range(22):
        for j in range(22):
            expected[i, j] = np.tensordot(x[0, i : i + 3, j : j + 3, :], kernel, axes=3) + bias
    np.testing.assert_allclose(keras_out, np.maximum(expected, 0), rtol=1e-4, atol=1e-5)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _numpy_lstm_final_state(embedded, kernel, recurrent, bias):
    """Standard LSTM (gates i, f, c, o as Keras orders them) run over the given steps."""
    units = recurrent.shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    for x_t in embedded:
        z = x_t @ kernel + h @ recurrent + bias
        i, f, g, o = (z[k * units : (k + 1) * units] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    return h


def test_text_encoder_matches_a_numpy_lstm_that_stops_at_the_padding():
    model = encoders.text_encoder(vocab_size=20, sequence_length=7, embedding_dim=5, units=4)
    rng = np.random.default_rng(3)
    for layer in model.layers:  # non-zero biases make the check stricter than the defaults
        layer.set_weights(
            [rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()]
        )
    tokens = np.array(
        [[3, 7, 1, 12, 0, 0, 0], [5, 0, 0, 0, 0, 0, 0], [9, 2, 4, 4, 8, 6, 19]], dtype="int32"
    )
    table = np.asarray(model.get_layer("embedding").get_weights()[0], dtype="float64")
    kernel, recurrent, bias = (
        np.asarray(w, dtype="float64") for w in model.get_layer("lstm").get_weights()
    )
    keras_out = np.asarray(model(tokens))
    for row, ids in enumerate(tokens):
        real = ids[ids > 0]
        expected = _numpy_lstm_final_state(table[real], kernel, recurrent, bias)
        np.testing.assert_allclose(keras_out[row], expected, rtol=1e-4, atol=1e-5)


def test_text_encoder_output_does_not_depend_on_padding():
    model = encoders.text_encoder(vocab_size=30, sequence_length=12)
    ids = np.array([[4, 15, 6] + [0] * 9], dtype="int32")
    short = keras.Sequential([keras.Input((3,), dtype="int32")] + model.layers)
    np.testing.assert_allclose(np.asarray(model(ids)), np.asarray(short(ids[:, :3])), atol=1e-6)


@pytest.mark.parametrize(
    "shape",
    [(32, 32), (32, 32, 3, 1), (0, 32, 3), (32.0, 32, 3), "32x32", None, (32, 32, True)],
)
def test_image_encoder_rejects_bad_image_shapes(shape):
    with pytest.raises(ValueError, match="image_shape must be \\(height, width, channels\\)"):
        encoders.image_encoder(shape)


def test_image_encoder_rejects_images_too_small_for_the_blocks():
    with pytest.raises(
        ValueError, match=r"image_shape \(16, 16, 3\) is too small for 3 conv blocks.*at least 22"
    ):
        encoders.image_encoder((16, 16, 3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"pooling": "mean"},
            r"pooling must be one of \['flatten', 'avg', 'max', 'tokens'\]; received 'mean'",
        ),
        ({"filters": ()}, "filters must name at least one conv block"),
        ({"filters": (32, 0)}, "each entry of filters must be an integer >= 1; received 0"),
        ({"projection_dim": 0}, "projection_dim must be an integer >= 1; received 0"),
    ],
)
def test_image_encoder_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        encoders.image_encoder((32, 32, 3), **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"vocab_size": 1}, "vocab_size must be an integer >= 2; received 1"),
        ({"sequence_length": 0}, "sequence_length must be an integer >= 1; received 0"),
        ({"units": -1}, "units must be an integer >= 1; received -1"),
        ({"embedding_dim": 2.5}, "embedding_dim must be an integer >= 1; received 2.5"),
    ],
)
def test_text_encoder_rejects_bad_arguments(kwargs, match):
    args = {"vocab_size": 30, "sequence_length": 12, **kwargs}
    with pytest.raises(ValueError, match=match):
        encoders.text_encoder(**args)


# -- the 1-D signal encoder ---------------------------------------------------------


@pytest.mark.parametrize(
    "length, filters, kernel, pooling, width",
    [
        (64, (16, 32), 5, "flatten", 13 * 32),
        (64, (16, 32), 5, "avg", 32),
        (64, (16, 32), 5, "max", 32),
        (100, (8,), 3, "flatten", 49 * 8),
        (64, (4, 4, 4), 7, "flatten", 2 * 4),  # 64 -> 29 -> 11 -> 2
    ],
)
def test_signal_encoder_output_widths(length, filters, kernel, pooling, width):
    model = mt.encoders.signal_encoder(
        (length, 2), filters=filters, kernel_size=kernel, pooling=pooling
    )
    assert model.output_shape == (None, width)
    if pooling == "flatten":
        steps = mt.encoders.conv_output_size(length, len(filters), kernel=kernel)
        assert steps * filters[-1] == width
    out = model(np.zeros((3, length, 2), dtype="float32"))
    assert tuple(out.shape) == (3, width)
    assert mt.encoders.signal_encoder((length, 2), projection_dim=7).output_shape == (None, 7)


def test_signal_encoder_conv_matches_numpy():
    model = mt.encoders.signal_encoder((40, 3), filters=(5,), kernel_size=4)
    conv = model.get_layer("conv1")
    rng = np.random.default_rng(14)
    conv.set_weights([rng.normal(size=w.shape).astype("float32") for w in conv.get_weights()])
    kernel, bias = (np.asarray(w, dtype="float64") for w in conv.get_weights())
    x = rng.normal(size=(2, 40, 3)).astype("float32")
    keras_out = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], conv.output)(x))
    expected = np.zeros((2, 37, 5))
    for t in range(37):
        expected[:, t] = np.einsum("bsc,scf->bf", x[:, t : t + 4].astype("float64"), kernel) + bias
    np.testing.assert_allclose(keras_out, np.maximum(expected, 0), rtol=1e-4, atol=1e-4)
    pooled = keras.ops.convert_to_numpy(
        keras.Model(model.inputs[0], model.get_layer("pool1").output)(x)
    )
    np.testing.assert_allclose(
        pooled,
        np.maximum(expected, 0)[:, :36].reshape(2, 18, 2, 5).max(axis=2),
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (
            ((64,),),
            {},
            r"input_shape must be \(length, channels\).*received \(64,\) \(add a channel axis",
        ),
        (((64, 1, 1),), {}, r"input_shape must be \(length, channels\)"),
        (((64.0, 1),), {}, r"input_shape must be \(length, channels\)"),
        (
            ((8, 1),),
            {},
            r"input_shape \(8, 1\) is too short for 2 conv blocks with kernel_size 5; use signals of at least 16 steps",
        ),
        (((64, 1),), {"filters": ()}, "filters must name at least one conv block"),
        (((64, 1),), {"kernel_size": 0}, "kernel_size must be an integer >= 1; received 0"),
        (
            ((64, 1),),
            {"pooling": "mean"},
            r"pooling must be one of \['flatten', 'avg', 'max'\]; received 'mean'",
        ),
        (((64, 1),), {"projection_dim": -2}, "projection_dim must be an integer >= 1; received -2"),
    ],
)
def test_signal_encoder_names_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.encoders.signal_encoder(*args, **kwargs)


# -- a camera + range model trains, saves and loads --------------------------------------------------
