"""Relational reasoning: Relation Networks and their baselines, for questions about a scene.

A question such as "what shape is the object furthest from the red one?"
asks about a *relation* between objects. Santoro et al. (2017) answer it with
a Relation Network (RN), a function of a set of objects ``o_1 .. o_n`` and a
question ``q``:

    ``RN(O, q) = f( reduce_{i, j} g([o_i; o_j; q]) )``

``g`` (an MLP) looks at every ordered pair of objects with the question, the
pairs' outputs are summed (or averaged), and ``f`` (another MLP) turns the sum
into the answer. The objects are either the rows of a state description or
the cells of a CNN's last feature map, each with its coordinates.

* :class:`RelationNetwork` -- ``reduce_{i,j} g(...)``, pairwise with
  ``keras.ops`` broadcasting;
* :class:`CellObjects` -- a feature map ``(batch, h, w, c)`` as ``h * w``
  objects with their coordinates, ``(batch, h * w, c + 2)``;
* the builders, each a compiled ``keras.Model`` with inputs named after the
  split's features: :func:`build_cnn_mlp`, :func:`build_cnn_relation_network`,
  :func:`build_film_cnn` (pixels and question), :func:`build_state_mlp` and
  :func:`build_state_relation_network` (state description and question).

Every layer is registered, so every model saves to ``.keras`` and loads back
in safe mode.
"""

from __future__ import annotations

import keras
from keras import ops

from . import _checks
from .fusion.spatial import SpatialFiLM

__all__ = [
    "RelationNetwork",
    "CellObjects",
    "build_cnn_mlp",
    "build_cnn_relation_network",
    "build_film_cnn",
    "build_state_mlp",
    "build_state_relation_network",
    "BUILDERS",
]

_REDUCTIONS = ("mean", "sum")


def _units(name, value, owner):
    """A non-empty tuple of positive layer widths, or a ``ValueError`` naming ``name``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(
            f"{owner}: {name} must be a non-empty tuple of positive integers; received {value!r}"
        )
    units = tuple(value)
    if not units or not all(_checks.is_integer(u) and u >= 1 for u in units):
        raise ValueError(
            f"{owner}: {name} must be a non-empty tuple of positive integers; received {value!r}"
        )
    return tuple(int(u) for u in units)


@keras.saving.register_keras_serializable(package="mmtutorial")
class RelationNetwork(keras.layers.Layer):
    """The pairwise part of a Relation Network: ``reduce_{i,j} g([o_i; o_j; q])``.

    ``g`` is an MLP of ``len(units)`` ReLU layers. Its first layer on the
    concatenation ``[o_i; o_j; q]`` equals ``W_i o_i + W_j o_j + W_q q + b``
    (the kernel cut into three blocks), so the layer computes ``W_i o_i`` and
    ``W_j o_j`` once per object and adds them for every pair by broadcasting:
    a ``(batch, n, 1, width)`` and a ``(batch, 1, n, width)`` tensor give the
    ``(batch, n, n, width)`` first layer of all ``n**2`` ordered pairs (a
    pair of an object with itself included, as in the paper). The other
    layers run on all pairs at once; ``reduction`` sums or averages them.

    Memory: each layer of ``g`` holds a ``batch x n**2 x width`` float tensor
    (and training keeps them for the backward pass). For a 5 x 5 feature map
    (``n = 25``), a batch of 64 and ``width = 64``, that is 64 x 625 x 64 =
    2.56 million floats, about 10 MB per layer; it grows with the square of
    the number of objects.

    Args:
        units: the widths of ``g``'s layers, for example ``(64, 64, 64)``.
        reduction: ``"mean"`` (the default; trains more steadily early on) or
            ``"sum"`` (the paper's formula).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[objects, question]``, shapes ``(batch, n, d)`` and
        ``(batch, q)``: a tensor ``(batch, units[-1])``.

    Example:
        >>> import numpy as np
        >>> layer = RelationNetwork(units=(8, 4))
        >>> tuple(layer([np.ones((2, 6, 10)), np.ones((2, 11))]).shape)
        (2, 4)
    """

    def __init__(self, units=(64, 64, 64), reduction="mean", **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = _units("units", units, owner)
        self.reduction = _checks.choice("reduction", reduction, _REDUCTIONS, owner=owner)

    def _shapes(self, input_shape):
        shapes = None
        if isinstance(input_shape, (list, tuple)) and len(input_shape) == 2:
            if all(isinstance(s, (list, tuple)) for s in input_shape):
                shapes = [tuple(s) for s in input_shape]
        if (
            shapes is None
            or len(shapes[0]) != 3
            or len(shapes[1]) != 2
            or shapes[0][-1] is None
            or shapes[1][-1] is None
        ):
            raise ValueError(
                f"{type(self).__name__} expects [objects, question]: a rank-3 tensor (batch, "
                f"objects, features) and a rank-2 tensor (batch, features), with known last "
                f"axes; received shapes {input_shape}"
            )
        return shapes

    def build(self, input_shape):
        objects, question = self._shapes(input_shape)
        d, q, width = int(objects[-1]), int(question[-1]), self.units[0]
        self.first_kernel = self.add_weight(
            shape=(2 * d + q, width), initializer="glorot_uniform", name="first_kernel"
        )
        self.first_bias = self.add_weight(shape=(width,), initializer="zeros", name="first_bias")
        self.kernels, self.biases = [], []
        for index, (fan_in, fan_out) in enumerate(zip(self.units[:-1], self.units[1:])):
            self.kernels.append(
                self.add_weight(
                    shape=(fan_in, fan_out), initializer="glorot_uniform", name=f"kernel_{index}"
                )
            )
            self.biases.append(
                self.add_weight(shape=(fan_out,), initializer="zeros", name=f"bias_{index}")
            )
        self._dims = (d, q)
        self.built = True

    def _checked(self, inputs):
        """``objects`` and ``question`` as tensors, or a ``ValueError`` naming what is wrong."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"{type(self).__name__} expects a list [objects, question]; received "
                f"{type(inputs).__name__}"
            )
        objects, question = (ops.convert_to_tensor(x, dtype=self.compute_dtype) for x in inputs)
        shapes = self._shapes([tuple(objects.shape), tuple(question.shape)])
        if (shapes[0][-1], shapes[1][-1]) != self._dims:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for objects of {self._dims[0]} "
                f"features and questions of {self._dims[1]}; received shapes {shapes}"
            )
        return objects, question

    def call(self, inputs):
        objects, question = self._checked(inputs)
        d = self._dims[0]
        kernel = ops.cast(self.first_kernel, self.compute_dtype)
        # The first layer of g on [o_i; o_j; q], split into three shares.
        first_i = ops.matmul(objects, kernel[:d])  # (batch, n, width)
        first_j = ops.matmul(objects, kernel[d : 2 * d])
        first_q = ops.matmul(question, kernel[2 * d :]) + self.first_bias
        # Broadcasting adds every (i, j) combination: (batch, n, n, width).
        pairs = first_i[:, :, None, :] + first_j[:, None, :, :]
        pairs = pairs + first_q[:, None, None, :]
        hidden = ops.relu(pairs)
        for weights, bias in zip(self.kernels, self.biases):
            hidden = ops.relu(ops.matmul(hidden, weights) + bias)
        reduce = ops.mean if self.reduction == "mean" else ops.sum
        return reduce(hidden, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        objects, _ = self._shapes(input_shape)
        return (objects[0], self.units[-1])

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="mmtutorial")
class CellObjects(keras.layers.Layer):
    """A feature map as a set of objects: each cell's features and its coordinates.

    A map ``(batch, h, w, c)`` becomes ``(batch, h * w, c + 2)``: cell
    ``(r, s)`` (row-major) gets its ``c`` features followed by its row and
    column scaled to ``[-1, 1]``, ``-1 + 2 r / (h - 1)`` and ``-1 + 2 s / (w -
    1)`` (0 for an axis of length 1). The coordinates let ``g`` know where
    two cells are relative to each other, which a sum over pairs would
    otherwise forget.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        A tensor ``(batch, h * w, c + 2)``.

    Example:
        >>> import numpy as np
        >>> tuple(CellObjects()(np.zeros((2, 5, 5, 24))).shape)
        (2, 25, 26)
    """

    def _check(self, shape):
        shape = tuple(shape)
        if len(shape) != 4 or any(s is None for s in shape[1:]):
            raise ValueError(
                f"{type(self).__name__} expects a feature map (batch, height, width, channels) "
                f"with known height, width and channels; received shape {shape}"
            )
        return shape

    @staticmethod
    def _axis(length):
        if length == 1:
            return ops.zeros((1,))
        return ops.linspace(-1.0, 1.0, length)

    def call(self, feature_map):
        _, h, w, c = self._check(feature_map.shape)
        rows = ops.repeat(self._axis(h), w)
        columns = ops.tile(self._axis(w), [h])
        coordinates = ops.cast(ops.stack([rows, columns], axis=-1), feature_map.dtype)
        cells = ops.reshape(feature_map, (-1, h * w, c))
        batch = ops.shape(cells)[0]
        tiled = ops.broadcast_to(coordinates[None], (batch, h * w, 2))
        return ops.concatenate([cells, tiled], axis=-1)

    def compute_output_shape(self, input_shape):
        batch, h, w, c = self._check(input_shape)
        return (batch, h * w, c + 2)


# -- builders ----------------------------------------------------------------------------


def _compile(model, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _common_checks(owner, num_classes, learning_rate):
    _checks.integer("num_classes", num_classes, minimum=2, owner=owner)
    _checks.positive("learning_rate", learning_rate, owner=owner)


def _mlp(x, units, name):
    for index, width in enumerate(units):
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_{index}")(x)
    return x


def _pixel_inputs(owner, image_shape, question_dim):
    image_shape = _checks.shape(
        "image_shape", image_shape, 3, owner=owner, describe="(height, width, channels)"
    )
    question_dim = _checks.integer("question_dim", question_dim, minimum=1, owner=owner)
    image = keras.Input(image_shape, name="image")
    question = keras.Input((question_dim,), name="question")
    return image, question


def _conv_stack(x, owner, filters, conv_layers, question=None):
    """``conv_layers`` 3 x 3 stride-2 convolutions of ``filters``, each channel normalised per picture.

    Instance normalisation (a ``GroupNormalization`` with one group per
    channel): each channel of each picture is standardised over its
    positions. Not batch normalisation, whose statistics depend on the batch
    (a model evaluates the same early in training as it trains); not layer
    normalisation over each position's channels, which on pictures that are
    background nearly everywhere kept the networks from reading them. With
    ``question``, each layer is FiLM-modulated by it (the normalisation then
    has no scale and shift of its own).
    """
    filters = _checks.integer("filters", filters, minimum=1, owner=owner)
    conv_layers = _checks.integer("conv_layers", conv_layers, minimum=1, owner=owner)
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(x)
    for index in range(conv_layers):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", name=f"conv_{index}")(x)
        if question is None:
            x = keras.layers.GroupNormalization(filters, name=f"norm_{index}")(x)
        else:
            x = keras.layers.GroupNormalization(
                filters, center=False, scale=False, name=f"norm_{index}"
            )(x)
            x = SpatialFiLM(name=f"film_{index}")([x, question])
        x = keras.layers.ReLU(name=f"relu_{index}")(x)
    return x


def build_cnn_mlp(
    image_shape=(75, 75, 3),
    question_dim=11,
    num_classes=10,
    *,
    filters=24,
    conv_layers=4,
    mlp_units=(128, 128),
    learning_rate=1e-3,
    name="cnn_mlp",
):
    """The baseline: a CNN's flattened feature map and the question, into an MLP.

    ``conv_layers`` stride-2 convolutions (75 x 75 -> 5 x 5 with 4), the map
    flattened (5 x 5 x 24 = 600 features), concatenated with the question,
    then ``mlp_units`` ReLU layers and a softmax over the answers. Any relation
    between two objects must be learned separately for every pair of
    positions the two could occupy.

    Returns:
        A compiled ``keras.Model`` with inputs ``"image"`` (uint8 or float,
        0-255) and ``"question"``.
    """
    owner = "build_cnn_mlp"
    _common_checks(owner, num_classes, learning_rate)
    image, question = _pixel_inputs(owner, image_shape, question_dim)
    mlp_units = _units("mlp_units", mlp_units, owner)
    x = _conv_stack(image, owner, filters, conv_layers)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Concatenate(name="with_question")([x, question])
    x = _mlp(x, mlp_units, "mlp")
    answer = keras.layers.Dense(num_classes, activation="softmax", name="answer")(x)
    return _compile(
        keras.Model({"image": image, "question": question}, answer, name=name), learning_rate
    )


def build_cnn_relation_network(
    image_shape=(75, 75, 3),
    question_dim=11,
    num_classes=10,
    *,
    filters=24,
    conv_layers=4,
    g_units=(64, 64, 64),
    f_units=(64,),
    reduction="mean",
    learning_rate=1e-3,
    name="cnn_rn",
):
    """CNN + Relation Network: ``g`` over all pairs of feature-map cells with the question, then ``f``.

    The CNN is :func:`build_cnn_mlp`'s; each of its ``h * w`` cells, with its
    coordinates (:class:`CellObjects`), is an object of a
    :class:`RelationNetwork`; ``f`` is ``f_units`` ReLU layers and a softmax.
    Memory of the pairwise part: ``batch x (h * w)**2 x max(g_units)``
    floats per layer.

    Returns:
        A compiled ``keras.Model`` with inputs ``"image"`` and ``"question"``.
    """
    owner = "build_cnn_relation_network"
    _common_checks(owner, num_classes, learning_rate)
    image, question = _pixel_inputs(owner, image_shape, question_dim)
    f_units = _units("f_units", f_units, owner)
    relation = RelationNetwork(_units("g_units", g_units, owner), reduction, name="relation")
    x = _conv_stack(image, owner, filters, conv_layers)
    objects = CellObjects(name="cells")(x)
    x = relation([objects, question])
    x = _mlp(x, f_units, "f")
    answer = keras.layers.Dense(num_classes, activation="softmax", name="answer")(x)
    return _compile(
        keras.Model({"image": image, "question": question}, answer, name=name), learning_rate
    )


def build_film_cnn(
    image_shape=(75, 75, 3),
    question_dim=11,
    num_classes=10,
    *,
    filters=24,
    conv_layers=4,
    question_units=64,
    head_units=(256,),
    learning_rate=1e-3,
    name="film_cnn",
):
    """A FiLM-conditioned CNN (Perez et al., 2018): the question scales and shifts every channel.

    The question goes through a ``question_units`` ReLU layer; each
    convolution of the stack is normalised (no scale or shift of its own) and
    modulated by a :class:`~mmtutorial.fusion.spatial.SpatialFiLM` of that
    vector, ``gamma * x + beta``, then ReLU, as in the paper's residual blocks
    (without their residual connections). The head, as in the paper's
    classifier: the cells with their coordinates, a 1 x 1 convolution
    (``4 * filters``), a global max pooling, ``head_units`` ReLU layers and a
    softmax.

    Returns:
        A compiled ``keras.Model`` with inputs ``"image"`` and ``"question"``.
    """
    owner = "build_film_cnn"
    _common_checks(owner, num_classes, learning_rate)
    image, question = _pixel_inputs(owner, image_shape, question_dim)
    question_units = _checks.integer("question_units", question_units, minimum=1, owner=owner)
    head_units = _units("head_units", head_units, owner)
    q = keras.layers.Dense(question_units, activation="relu", name="question_embedding")(question)
    x = _conv_stack(image, owner, filters, conv_layers, question=q)
    x = CellObjects(name="cells")(x)
    x = keras.layers.Dense(4 * int(filters), activation="relu", name="conv_1x1")(x)
    x = keras.layers.GlobalMaxPooling1D(name="max_pool")(x)
    x = _mlp(x, head_units, "head")
    answer = keras.layers.Dense(num_classes, activation="softmax", name="answer")(x)
    return _compile(
        keras.Model({"image": image, "question": question}, answer, name=name), learning_rate
    )


def _state_inputs(owner, state_shape, question_dim):
    state_shape = _checks.shape(
        "state_shape", state_shape, 2, owner=owner, describe="(objects, features)"
    )
    question_dim = _checks.integer("question_dim", question_dim, minimum=1, owner=owner)
    return keras.Input(state_shape, name="state"), keras.Input((question_dim,), name="question")


def build_state_mlp(
    state_shape=(6, 10),
    question_dim=11,
    num_classes=10,
    *,
    units=(256, 256),
    learning_rate=1e-3,
    name="state_mlp",
):
    """An MLP over the flattened state description and the question.

    Returns:
        A compiled ``keras.Model`` with inputs ``"state"`` ``(objects,
        features)`` and ``"question"``.
    """
    owner = "build_state_mlp"
    _common_checks(owner, num_classes, learning_rate)
    state, question = _state_inputs(owner, state_shape, question_dim)
    units = _units("units", units, owner)
    x = keras.layers.Flatten(name="flatten")(state)
    x = keras.layers.Concatenate(name="with_question")([x, question])
    x = _mlp(x, units, "mlp")
    answer = keras.layers.Dense(num_classes, activation="softmax", name="answer")(x)
    return _compile(
        keras.Model({"state": state, "question": question}, answer, name=name), learning_rate
    )


def build_state_relation_network(
    state_shape=(6, 10),
    question_dim=11,
    num_classes=10,
    *,
    g_units=(64, 64, 64),
    f_units=(64,),
    reduction="mean",
    learning_rate=1e-3,
    name="state_rn",
):
    """A Relation Network over the state description's objects and the question.

    Returns:
        A compiled ``keras.Model`` with inputs ``"state"`` and ``"question"``.
    """
    owner = "build_state_relation_network"
    _common_checks(owner, num_classes, learning_rate)
    state, question = _state_inputs(owner, state_shape, question_dim)
    f_units = _units("f_units", f_units, owner)
    relation = RelationNetwork(_units("g_units", g_units, owner), reduction, name="relation")
    x = relation([state, question])
    x = _mlp(x, f_units, "f")
    answer = keras.layers.Dense(num_classes, activation="softmax", name="answer")(x)
    return _compile(
        keras.Model({"state": state, "question": question}, answer, name=name), learning_rate
    )


#: Every builder of this module, by the name the experiments use.
BUILDERS = {
    "cnn_mlp": build_cnn_mlp,
    "cnn_rn": build_cnn_relation_network,
    "film_cnn": build_film_cnn,
    "state_mlp": build_state_mlp,
    "state_rn": build_state_relation_network,
}
