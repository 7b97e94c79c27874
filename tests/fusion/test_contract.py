"""The contract every registered fusion keeps, checked the same way for each.

One test, parametrised over ``mt.fusion.available()``, so that a fusion added
to the registry is checked without writing a test for it. Inputs follow the
layer's ``input_kind``: rank-2 vectors ``(batch, features)``, rank-3 token
sequences ``(batch, tokens, features)``, or a feature map with a text vector
or with word vectors (the spatial fusions a segmenter uses). A fusion registered later with
required arguments gets them from ``CONFIGS``; the others are built with
their defaults.
"""

import contextlib

import keras
import numpy as np
import pytest

from mmtutorial import fusion

# Small but non-default settings, to keep the test fast and to catch a config that forgets one.
CONFIGS = {
    "cross_attention": {"units": 8, "num_heads": 2, "dropout": 0.1},
    "film": {"conditioned": 1},
    "gated": {"units": 6, "activation": "relu"},
    "late": {"mode": "product", "prior": [0.1, 0.2, 0.3, 0.4]},
    "low_rank": {"units": 6, "rank": 2},
    "product": {"units": 4},
    "sum": {"units": 7},
    "tensor": {"max_dim": 1000},
    "transformer": {"units": 8, "layers": 2, "num_heads": 2, "mlp_units": 12, "dropout": 0.1},
    "pixel_word_attention": {"units": 8, "num_heads": 2},
}

BATCH = 4
WIDTHS = (3, 5, 2)
# A fusion of class probabilities needs one width (the number of classes) for every input.
WIDTHS_BY_NAME = {"late": (4, 4, 4)}
LENGTHS = (4, 6, 3)


# A feature map (batch, 4, 4, 3) and its text, for the spatial fusions.
MAP_SHAPES = {
    "map_and_vector": [(BATCH, 4, 4, 3), (BATCH, 5)],
    "map_and_words": [(BATCH, 4, 4, 3), (BATCH, 6, 5)],
}


def _shapes(layer, batch=BATCH):
    """The layer's inputs as its ``input_kind`` says: one shape per modality, as many as it needs."""
    if layer.input_kind in MAP_SHAPES:
        return [(batch, *s[1:]) for s in MAP_SHAPES[layer.input_kind]]
    count = layer.min_inputs
    widths = WIDTHS_BY_NAME.get(layer.fusion_name, WIDTHS)
    if layer.input_kind == "vectors":
        return [(batch, d) for d in widths[:count]]
    return [(batch, n, d) for n, d in zip(LENGTHS[:count], widths[:count])]


def _data(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


def _wrong_rank(shapes):
    """The same inputs one rank off: vectors become sequences, sequences and maps lose an axis."""
    return [s[:1] + (2,) + s[1:] if len(s) == 2 else s[:1] + s[2:] for s in shapes]


def _numpy(x):
    return keras.ops.convert_to_numpy(x).astype("float32")


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


@pytest.fixture
def global_policy():
    """A context manager that sets the global dtype policy; the previous one always comes back."""
    previous = keras.mixed_precision.global_policy()

    @contextlib.contextmanager
    def use(name):
        keras.mixed_precision.set_global_policy(name)
        try:
            yield
        finally:
            keras.mixed_precision.set_global_policy(previous)

    try:
        yield use
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("name", fusion.available())
def test_every_registered_fusion_keeps_the_layer_contract(name, tmp_path, global_policy):
    config = CONFIGS.get(name, {})
    layer = fusion.get(name, **config)
    cls = type(layer)
    assert layer.input_kind in fusion.INPUT_KINDS and fusion.registered(name) is cls
    shapes = _shapes(layer)
    xs = _data(shapes)

    # 1. Eager and symbolic calls agree with compute_output_shape.
    out = layer(xs)
    expected = layer.compute_output_shape(shapes)
    assert tuple(out.shape) == expected, (name, out.shape, expected)
    symbolic_inputs = [keras.Input(s[1:]) for s in shapes]
    symbolic = cls(**config)(symbolic_inputs)
    assert tuple(symbolic.shape) == (None, *expected[1:])
    assert layer.compute_output_shape([(None, *s[1:]) for s in shapes]) == (None, *expected[1:])

    # 2. get_config / from_config: the same config, and with the same weights the same outputs.
    clone = cls.from_config(layer.get_config())
    assert type(clone) is cls and clone.get_config() == layer.get_config()
    clone(xs)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_numpy(clone(xs)), _numpy(out))

    # 3. A model holding the layer survives a safe .keras round trip with identical predictions.
    model = keras.Model(symbolic_inputs, symbolic)
    before = _numpy(model(xs, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(_numpy(restored(xs, training=False)), before)
    (restored_layer,) = [lyr for lyr in restored.layers if type(lyr) is cls]
    assert (
        type(restored_layer) is cls and restored_layer.get_config() == model.layers[-1].get_config()
    )

    # 4. One training step reaches every trainable weight (a fusion without weights has none to train).
    if model.trainable_weights:
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)
        initial = [_numpy(w).copy() for w in model.trainable_weights]
        target = np.random.default_rng(1).normal(size=(BATCH, *expected[1:])).astype("float32")
        loss = model.train_on_batch(xs, target)
        assert np.isfinite(loss)
        unchanged = [
            w.path
            for w, w0 in zip(model.trainable_weights, initial)
            if np.array_equal(_numpy(w), w0)
        ]
        assert not unchanged, f"{name}: one training step left {unchanged} unchanged"
    else:
        assert not layer.weights, f"{name} has weights but none of them is trainable"

    # 5. Under mixed precision the layer computes and returns float16, its compute dtype, whether
    # the policy is global or the layer's own (then its sublayers must follow it, not the global one).
    def check_float16(half):
        assert half.compute_dtype == "float16"
        assert _dtype(half(xs)) == "float16", (
            f"{name} returns {_dtype(half(xs))} under mixed_float16"
        )
        assert _dtype(half([keras.Input(s[1:]) for s in shapes])) == "float16"
        assert {_dtype(w) for w in half.weights} <= {"float32"}, "variables stay float32"

    with global_policy("mixed_float16"):
        check_float16(cls(**config))
    assert keras.mixed_precision.global_policy().name == "float32"
    check_float16(cls(**config, dtype="mixed_float16"))

    # 6. Inputs of the wrong rank are refused with the class name and the shapes received.
    wrong = _wrong_rank(shapes)
    with pytest.raises(ValueError) as error:
        cls(**config)(_data(wrong))
    message = str(error.value)
    assert cls.__name__ in message and str(wrong) in message, message
    with pytest.raises(ValueError, match=cls.__name__):
        cls(**config).compute_output_shape([(None, *s[1:]) for s in wrong])
