"""Segmentation: a U-Net-style segmenter, conditioned on text by a spatial fusion.

:func:`build_segmenter` returns a :class:`Segmenter`, a functional model that
checks what it is fed with the package's messages.
"""

from __future__ import annotations

import keras
import numpy as np

from .. import _checks, encoders
from .. import fusion as fusion_module
from ..data import check_features
from ..data.segmentation import SegmentationSplit, check_label_maps
from .base import model_spec, with_defaults

__all__ = ["Segmenter", "build_segmenter"]


_SEGMENTER_DEFAULTS = {
    "filters": (16, 32, 64),
    "embedding_dim": 32,
    "text_units": 32,
    "conditioned_strides": None,
    "fusion_config": None,
    "learning_rate": 3e-3,
    "decay_steps": None,
    "compile": True,
}

# The segmenter's own names for the spatial fusions, which the book and the experiments use; the
# registry's names ("spatial_film", ...) are accepted too.
_SEGMENTER_FUSIONS = {
    "tile": "spatial_tile",
    "film": "spatial_film",
    "cross_attention": "pixel_word_attention",
}


def _spatial_choices():
    """Every value ``fusion`` may take: ``None``, the segmenter's names and the registry's."""
    registered = fusion_module.available(kinds=fusion_module.SPATIAL_KINDS)
    return [None, *_SEGMENTER_FUSIONS, *registered]


def _spatial_fusion(fusion):
    """The registered class of the spatial fusion ``fusion`` names, or ``None`` for no text."""
    if fusion is None:
        return None
    name = _SEGMENTER_FUSIONS.get(fusion, fusion) if isinstance(fusion, str) else None
    if name not in fusion_module.available(kinds=fusion_module.SPATIAL_KINDS):
        raise ValueError(
            f"fusion {fusion!r} has no spatial form (a version that conditions a feature map), so "
            f"build_segmenter cannot use it; valid values are {_spatial_choices()}"
        )
    return fusion_module.registered(name)


@keras.saving.register_keras_serializable(package="mmtutorial")
class Segmenter(keras.Model):
    """The model :func:`build_segmenter` returns: a functional model that checks what it is fed.

    It is an ordinary functional Keras model (it saves to ``.keras`` and
    loads back in safe mode like any other), whose ``fit``, ``evaluate`` and
    ``predict`` first check NumPy inputs and label maps with the package's
    messages: images of the wrong shape or outside [0, 1], token ids outside
    the vocabulary, label maps of the wrong shape (one-hot maps included) and
    class ids out of range. A :class:`~mmtutorial.data.segmentation.SegmentationSplit`
    may be passed as ``x`` (its label maps are then ``y``). A ``tf.data``
    dataset passes through unchecked.
    """

    def _checked(self, x, y=None):
        if isinstance(x, SegmentationSplit):
            x, y = x.features, (x.labels if y is None else y)
        if not isinstance(x, dict):
            return x, y  # a dataset or a generator: Keras reads it
        spec = model_spec(self)
        features = check_features(
            x,
            image_shape=spec["image_shape"],
            sequence_length=spec["sequence_length"],
            vocab_size=spec["vocab_size"],
            keys=spec["keys"],
        )
        if y is not None:
            y = check_label_maps(y, shape=spec["image_shape"][:2], num_classes=spec["num_classes"])
            sizes = {key: int(value.shape[0]) for key, value in features.items()}
            if len(set(sizes.values()) | {int(y.shape[0])}) > 1:
                raise ValueError(
                    f"the inputs and the label maps have different batch sizes: "
                    f"{ {**sizes, 'labels': int(y.shape[0])} }"
                )
        return features, y

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` after checking NumPy inputs and label maps."""
        x, y = self._checked(x, y)
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """``keras.Model.evaluate`` after checking NumPy inputs and label maps."""
        x, y = self._checked(x, y)
        return super().evaluate(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """Class probabilities ``(batch, height, width, num_classes)`` after checking the inputs."""
        x, _ = self._checked(x)
        return super().predict(x, **kwargs)

    def predict_labels(self, x, batch_size: int = 128):
        """The most probable class of every pixel, int32 ``(batch, height, width)``.

        Every batch the model sees has ``batch_size`` rows (the last one is
        filled up with copies of the last sample, whose answers are dropped),
        so the prediction step is traced once per model instead of once per
        new batch shape, which TensorFlow would otherwise warn about.
        """

        batch_size = _checks.integer("batch_size", batch_size, minimum=1)
        features, _ = self._checked(x)
        if not isinstance(features, dict):
            probabilities = self.predict(features, batch_size=batch_size, verbose=0)
            return np.argmax(probabilities, axis=-1).astype("int32")
        n = int(next(iter(features.values())).shape[0])
        size = batch_size
        fill = (-n) % size
        padded = {
            key: np.concatenate([np.asarray(v), np.repeat(np.asarray(v)[-1:], fill, axis=0)])
            for key, v in features.items()
        }
        probabilities = super().predict(padded, batch_size=size, verbose=0)[:n]
        return np.argmax(probabilities, axis=-1).astype("int32")


def _conv_block(x, filters, name):
    """Two 3 x 3 convolutions, each with batch normalisation and ReLU: the unit of every level."""
    for k in (1, 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{k}")(
            x
        )
        x = keras.layers.BatchNormalization(name=f"{name}_norm{k}")(x)
        x = keras.layers.ReLU(name=f"{name}_relu{k}")(x)
    return x


def build_segmenter(
    image_shape,
    vocab_size: int,
    sequence_length: int,
    num_classes: int,
    fusion=None,
    **options,
) -> Segmenter:
    """Build (and compile) a fully convolutional image (+ text) segmenter, U-Net style.

    The encoder is a stack of levels, each two 3 x 3 convolutions; a 2 x 2
    max pooling halves the resolution between levels, so with ``L`` levels
    the deepest feature map has stride ``2 ** (L - 1)``. The decoder climbs
    back: at each level it upsamples by 2 (a transposed convolution),
    concatenates the encoder's feature map of that resolution (the skip
    connection of Ronneberger et al., 2015) and applies two convolutions. A
    1 x 1 convolution and a softmax over the classes give every pixel its
    class probabilities. No layer is fully connected, so the network takes
    any image whose sides the stride divides and answers pixel by pixel.

    The text is encoded once (embedding + LSTM, padding masked) and
    conditions the feature map at every stride in ``conditioned_strides``
    (by default the bottleneck and the input of every decoder level), with
    the spatial fusion ``fusion`` (:mod:`mmtutorial.fusion.spatial`):

    * ``None``: no text; the model takes ``{"image"}`` only;
    * ``"tile"`` (:class:`~mmtutorial.fusion.SpatialTile`): the caption's
      vector is concatenated with every position;
    * ``"film"`` (:class:`~mmtutorial.fusion.SpatialFiLM`): the caption's
      vector scales and shifts every channel;
    * ``"cross_attention"`` (:class:`~mmtutorial.fusion.PixelWordAttention`):
      every position attends over the words (the LSTM returns one vector per
      word, because the layer's ``input_kind`` is ``"map_and_words"``).

    The registry's names of the three (``"spatial_tile"``, ``"spatial_film"``,
    ``"pixel_word_attention"``) are accepted too.

    For a binary mask (referring segmentation) use ``num_classes=2``: class 1
    is the object, and the mask is ``argmax == 1``; this keeps one output
    form, one loss and one set of metrics for both tasks.

    Longer than 80 lines because of this documentation: the code is 55 lines.

    Args:
        image_shape: ``(height, width, channels)`` of the float32 images in [0, 1];
            the stride must divide height and width.
        vocab_size: number of token ids including 0 (padding), >= 2.
        sequence_length: length of the int32 token-id sequences, >= 1.
        num_classes: classes per pixel, >= 2.
        fusion: ``None``, ``"tile"``, ``"film"`` or ``"cross_attention"`` (or a
            registered name of a spatial fusion).
        **options: ``filters`` (per level, default ``(16, 32, 64)``),
            ``embedding_dim`` and ``text_units`` (32 each),
            ``conditioned_strides`` (a tuple of strides, default all of them),
            ``fusion_config`` (keyword arguments of the spatial fusion, e.g.
            ``{"units": 32, "num_heads": 2}``), ``learning_rate`` (Adam, 3e-3),
            ``decay_steps`` (if given, the rate follows a cosine from
            ``learning_rate`` down to 5% of it over that many steps) and
            ``compile``.

    Returns:
        A :class:`Segmenter` taking ``{"image": ..., "text": ...}`` (only
        ``"image"`` without a fusion) and returning ``(batch, height, width,
        num_classes)`` probabilities; compiled with the sparse categorical
        cross-entropy over pixels and pixel accuracy.

    Raises:
        ValueError: naming the argument and the value received.

    Example:
        >>> model = build_segmenter((32, 32, 1), vocab_size=20, sequence_length=8, num_classes=21,
        ...                         fusion="film")
        >>> model.output_shape
        (None, 32, 32, 21)
    """

    opts = with_defaults(options, _SEGMENTER_DEFAULTS)
    image_shape = encoders.check_image_shape(image_shape)
    vocab_size = _checks.integer("vocab_size", vocab_size, minimum=2)
    sequence_length = _checks.integer("sequence_length", sequence_length, minimum=1)
    num_classes = _checks.integer("num_classes", num_classes, minimum=2)
    spatial_class = _spatial_fusion(fusion)
    filters = _checked_filters(opts["filters"], image_shape)
    # the bottleneck (stride 2 ** (L - 1)) and the input of every decoder level
    decoder_strides = tuple(2**i for i in range(len(filters) - 1, -1, -1))
    chosen = _checked_strides(opts["conditioned_strides"], decoder_strides)
    fusion_config = opts["fusion_config"] or {}
    if not isinstance(fusion_config, dict):
        raise ValueError(f"fusion_config must be a dict; received {fusion_config!r}")
    if fusion is None and fusion_config:
        raise ValueError(f"fusion_config {fusion_config!r} needs a fusion; received fusion=None")
    rate = _checks.positive("learning_rate", opts["learning_rate"])
    if opts["decay_steps"] is not None:
        steps = _checks.integer("decay_steps", opts["decay_steps"], minimum=1)
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=0.05)

    inputs = {"image": keras.Input(shape=image_shape, dtype="float32", name="image")}
    text = None
    if spatial_class is not None:
        inputs["text"] = keras.Input(shape=(sequence_length,), dtype="int32", name="text")
        text = encoders.text_encoder(
            vocab_size,
            sequence_length,
            embedding_dim=opts["embedding_dim"],
            units=opts["text_units"],
            return_sequences=spatial_class.input_kind == "map_and_words",
        )(inputs["text"])

    def condition(x, at):
        if spatial_class is None or at not in chosen:
            return x
        return spatial_class(**fusion_config, name=f"{fusion}_stride{at}")([x, text])

    outputs = _unet(inputs["image"], filters, num_classes, condition)
    model = Segmenter(inputs=inputs, outputs=outputs, name="segmenter_" + (fusion or "image_only"))
    if opts["compile"]:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


def _checked_filters(filters, image_shape):
    """``filters`` as a tuple of at least two widths, one per level, whose stride divides the image."""
    if (
        isinstance(filters, (str, bytes))
        or not isinstance(filters, (list, tuple))
        or len(filters) < 2
        or not all(_checks.is_integer(f) and f >= 1 for f in filters)
    ):
        raise ValueError(
            f"filters must be a list of at least 2 positive integers, one per level; received {filters!r}"
        )
    filters = tuple(int(f) for f in filters)
    levels = len(filters)
    stride = 2 ** (levels - 1)
    height, width = image_shape[:2]
    if height % stride or width % stride:
        raise ValueError(
            f"image_shape {image_shape}: height and width must be divisible by {stride}, the "
            f"stride of the {levels - 1} poolings of filters={filters}; received "
            f"{height} x {width} (pad or crop the images, or use fewer levels)"
        )
    return filters


def _checked_strides(chosen, decoder_strides):
    """The set of strides to condition: ``chosen`` (default all of ``decoder_strides``), checked."""
    if chosen is None:
        chosen = decoder_strides
    if (
        isinstance(chosen, (str, bytes))
        or not isinstance(chosen, (list, tuple))
        or not chosen
        or not all(_checks.is_integer(s) and s in decoder_strides for s in chosen)
    ):
        raise ValueError(
            f"conditioned_strides must be a non-empty tuple of strides from {list(decoder_strides)}; "
            f"received {chosen!r}"
        )
    return {int(s) for s in chosen}


def _unet(image, filters, num_classes, condition):
    """The U-Net from ``image`` to class probabilities; ``condition(x, stride)`` conditions a map."""
    levels = len(filters)
    x, skips = image, []
    for level, width in enumerate(filters):
        x = _conv_block(x, width, f"encoder{level}")
        if level < levels - 1:
            skips.append(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = condition(x, 2 ** (levels - 1))
    for level in range(levels - 2, -1, -1):
        x = keras.layers.Conv2DTranspose(filters[level], 2, strides=2, name=f"up{level}")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = condition(x, 2**level)
        x = _conv_block(x, filters[level], f"decoder{level}")
    return keras.layers.Conv2D(num_classes, 1, activation="softmax", name="classes")(x)
