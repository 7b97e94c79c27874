"""Inputs and weights shared by the fusion tests."""

import keras
import numpy as np
import pytest

from mmtutorial import fusion


def random_inputs(*dims, batch=5, seed=0):
    """One ``(batch, d)`` float32 array per width in ``dims``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, d)).astype("float32") for d in dims]


def random_tokens(*shapes, batch=3, seed=0):
    """One ``(batch, length, d)`` float32 array per ``(length, d)`` in ``shapes``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, *shape)).astype("float32") for shape in shapes]


def randomise(layer, inputs, seed=1):
    """Build ``layer`` on ``inputs`` and give every weight (biases too) random values."""
    layer(inputs)
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype("float32"))
    return layer


def to_numpy(x):
    """A NumPy array from a tensor or a ``keras.Variable``."""
    return np.asarray(x.numpy()) if isinstance(x, keras.Variable) else keras.ops.convert_to_numpy(x)


def softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def assert_refused(name, match, **config):
    """The fusion registered as ``name`` refuses ``config`` with a ``ValueError`` matching
    ``match``, built from its class and through ``fusion.get`` alike."""
    with pytest.raises(ValueError, match=match):
        fusion.registered(name)(**config)
    with pytest.raises(ValueError, match=match):
        fusion.get(name, **config)
