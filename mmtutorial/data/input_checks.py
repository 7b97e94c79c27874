"""Input checks: every batch of model inputs is checked where it enters a pipeline.

A mistake in the inputs (a wrong shape, pixels in 0-255, text that is not token
ids, NaN values, batches of different sizes) is named here, with the value
received, instead of surfacing as an opaque TensorFlow error deep inside
``fit``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["check_features"]


def check_features(
    features: Mapping,
    *,
    image_shape=None,
    sequence_length=None,
    vocab_size=None,
    keys=("image", "text"),
    labels=None,
    num_classes=None,
    input_specs=None,
) -> dict:
    """Check model inputs before they enter a pipeline; return them as arrays.

    Every mistake raises ``ValueError`` naming the offending key and the
    value received: a missing key, an image batch of the wrong rank or
    channel count, image values outside [0, 1] or not finite, text that is
    not integer token ids, ids outside ``[0, vocab_size)``, batches of
    different sizes, and labels that do not fit ``num_classes``.

    Args:
        features: a mapping with (some of) the keys ``"image"`` and ``"text"``.
        image_shape: expected ``(height, width, channels)``, or ``None``.
        sequence_length: expected text length, or ``None``.
        vocab_size: token ids must be smaller than this, or ``None``.
        keys: the keys the model needs.
        labels: optional integer labels of the same batch size.
        num_classes: labels must lie in ``[0, num_classes)``, or ``None``.
        input_specs: for keys other than ``"image"`` and ``"text"`` (audio, a
            range sensor, ...): key -> ``(shape_without_batch, dtype)``. Integer
            dtypes are checked as token ids, float dtypes as finite numbers.

    Returns:
        A dict with exactly ``keys``, as NumPy arrays (float32 images, int32
        token ids).
    """
    if not isinstance(features, Mapping):
        raise ValueError(
            "features must be a dict with the keys "
            f"{list(keys)}; received {type(features).__name__}"
        )
    missing = [k for k in keys if k not in features]
    if missing:
        raise ValueError(
            f"features is missing the key(s) {missing}; received keys {sorted(features)}"
        )
    out = {}
    if "image" in keys:
        out["image"] = _check_images(features["image"], image_shape)
    if "text" in keys:
        out["text"] = _check_tokens(features["text"], sequence_length, vocab_size)
    for key in keys:
        if key in ("image", "text"):
            continue
        out[key] = _check_other(key, features[key], (input_specs or {}).get(key))
    sizes = {k: int(v.shape[0]) for k, v in out.items()}
    if labels is not None:
        sizes["labels"] = _check_labels(labels, num_classes)
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the inputs have different batch sizes: {sizes}")
    return out


def _check_images(values, image_shape):
    """``features['image']`` as float32 ``(batch, height, width, channels)`` in [0, 1]."""
    image = np.asarray(values)
    if image.ndim != 4:
        raise ValueError(
            "features['image'] must have rank 4 (batch, height, width, channels); "
            f"received shape {image.shape}"
        )
    if image_shape is not None and tuple(image.shape[1:]) != tuple(image_shape):
        what = "channel count" if image.shape[1:3] == tuple(image_shape)[:2] else "shape"
        raise ValueError(
            f"features['image'] has the wrong {what}: the model expects images of "
            f"shape {tuple(image_shape)}; received {tuple(image.shape[1:])}"
        )
    if not np.issubdtype(image.dtype, np.number) or np.issubdtype(image.dtype, np.complexfloating):
        raise ValueError(f"features['image'] must be real numbers; received dtype {image.dtype}")
    image = image.astype("float32", copy=False)
    if image.size:
        _check_finite("image", image)
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                "features['image'] values must lie in [0, 1]; received min "
                f"{low:g} and max {high:g} (divide 8-bit images by 255)"
            )
    return image


def _check_tokens(values, sequence_length, vocab_size):
    """``features['text']`` as int32 token ids ``(batch, sequence_length)`` in ``[0, vocab_size)``."""
    text = np.asarray(values)
    if text.dtype.kind not in "iu":
        if (
            text.dtype.kind == "f"
            and text.size
            and np.isfinite(text).all()
            and np.all(text == np.round(text))
        ):
            hint = " (whole numbers stored as floats: cast with .astype('int32'))"
        else:
            hint = " (tokenize strings first, for example with ShapeMaterialTask.tokenize)"
        raise ValueError(
            f"features['text'] must be integer token ids; received dtype {text.dtype}{hint}"
        )
    if text.ndim != 2:
        raise ValueError(
            "features['text'] must have rank 2 (batch, sequence_length); "
            f"received shape {text.shape}"
        )
    if sequence_length is not None and text.shape[1] != sequence_length:
        raise ValueError(
            f"features['text'] must have sequence length {sequence_length}; "
            f"received shape {text.shape}"
        )
    if text.size:
        low, high = int(text.min()), int(text.max())
        if low < 0 or (vocab_size is not None and high >= vocab_size):
            limit = f"[0, {vocab_size})" if vocab_size is not None else "[0, vocab_size)"
            raise ValueError(
                f"features['text'] token ids must lie in {limit}; received min {low} and max {high}"
            )
    return text.astype("int32", copy=False)


def _check_labels(values, num_classes):
    """The number of ``labels``, if they are 1-D integer class ids in ``[0, num_classes)``."""
    labels = np.asarray(values)
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise ValueError(
            "labels must be a 1-D array of integer class ids (not one-hot); "
            f"received dtype {labels.dtype} and shape {labels.shape}"
        )
    if (
        num_classes is not None
        and labels.size
        and (labels.min() < 0 or labels.max() >= num_classes)
    ):
        raise ValueError(
            f"labels must lie in [0, {num_classes}); received min {int(labels.min())} "
            f"and max {int(labels.max())}"
        )
    return int(labels.shape[0])


def _check_other(key, values, spec):
    """Checks for a modality without special rules: shape, dtype kind, finiteness."""
    array = np.asarray(values)
    if spec is None:
        return array
    shape, dtype = tuple(spec[0]), str(spec[1])
    if array.ndim != len(shape) + 1 or any(
        expected is not None and got != expected for got, expected in zip(array.shape[1:], shape)
    ):
        raise ValueError(
            f"features[{key!r}] must have shape (batch, {', '.join(str(d) for d in shape)}); "
            f"received shape {array.shape}"
        )
    if "int" in dtype:
        if array.dtype.kind not in "iu":
            raise ValueError(f"features[{key!r}] must be integer ids; received dtype {array.dtype}")
        if array.size and array.min() < 0:
            raise ValueError(f"features[{key!r}] ids must be >= 0; received min {int(array.min())}")
        return array.astype(dtype, copy=False)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"features[{key!r}] must be real numbers; received dtype {array.dtype}")
    array = array.astype(dtype, copy=False)
    _check_finite(key, array)
    return array


def _check_finite(key, array):
    """Raise a ``ValueError`` naming the first NaN or infinite value of ``features[key]``."""
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"features[{key!r}] contains {int(bad.sum())} NaN or infinite value(s); "
            f"the first is at index {first} (sample {first[0]})"
        )
