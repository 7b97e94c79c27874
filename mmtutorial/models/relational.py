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

* :class:`RelationNetwork` and :class:`CellObjects`, the layers
  (:mod:`~mmtutorial.models.relational_layers`);
* the builders, each a compiled ``keras.Model`` with inputs named after the
  split's features: :func:`build_cnn_mlp`, :func:`build_cnn_relation_network`,
  :func:`build_film_cnn` (pixels and question), :func:`build_state_mlp` and
  :func:`build_state_relation_network` (state description and question).

Every layer is registered, so every model saves to ``.keras`` and loads back
in safe mode.
"""

from __future__ import annotations

import keras

from .. import _checks
from ..fusion.spatial import SpatialFiLM
from .base import compile_classifier
from .relational_layers import CellObjects, RelationNetwork, layer_widths

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


def _common_checks(owner, num_classes, learning_rate):
    _checks.integer("num_classes", num_classes, minimum=2, owner=owner)
    _checks.positive("learning_rate", learning_rate, owner=owner)


def _mlp(x, units, name):
    for index, width in enumerate(units):
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_{index}")(x)
    return x


def _answering_model(inputs, x, units, prefix, num_classes, name, learning_rate):
    """``x`` through ReLU layers of ``units`` and a softmax over the answers, as a compiled model."""
    x = _mlp(x, units, prefix)
    answer = keras.layers.Dense(num_classes, activation="softmax", name="answer")(x)
    return compile_classifier(keras.Model(inputs, answer, name=name), learning_rate)


def _pixel_inputs(owner, image_shape, question_dim):
    image_shape = _checks.shape(
        "image_shape", image_shape, 3, owner=owner, describe="(height, width, channels)"
    )
    question_dim = _checks.integer("question_dim", question_dim, minimum=1, owner=owner)
    image = keras.Input(image_shape, name="image")
    question = keras.Input((question_dim,), name="question")
    return image, question


_NORMALISATIONS = ("instance", "batch", "none")


def _conv_stack(x, owner, filters, conv_layers, question=None, normalisation="instance"):
    """``conv_layers`` 3 x 3 stride-2 convolutions of ``filters``, each channel normalised per picture.

    Instance normalisation (a ``GroupNormalization`` with one group per
    channel): each channel of each picture is standardised over its
    positions. Not batch normalisation, whose statistics depend on the batch
    (a model evaluates the same early in training as it trains); not layer
    normalisation over each position's channels, which on pictures that are
    background nearly everywhere kept the networks from reading them. With
    ``question``, each layer is FiLM-modulated by it (the normalisation then
    has no scale and shift of its own). ``normalisation="batch"`` (the
    reference implementations' choice) or ``"none"`` replace the instance
    normalisation of a network without ``question``.
    """
    normalisation = _checks.choice("normalisation", normalisation, _NORMALISATIONS, owner=owner)
    filters = _checks.integer("filters", filters, minimum=1, owner=owner)
    conv_layers = _checks.integer("conv_layers", conv_layers, minimum=1, owner=owner)
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(x)
    for index in range(conv_layers):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", name=f"conv_{index}")(x)
        if question is not None:
            x = keras.layers.GroupNormalization(
                filters, center=False, scale=False, name=f"norm_{index}"
            )(x)
            x = SpatialFiLM(name=f"film_{index}")([x, question])
        elif normalisation == "instance":
            x = keras.layers.GroupNormalization(filters, name=f"norm_{index}")(x)
        elif normalisation == "batch":
            x = keras.layers.BatchNormalization(name=f"norm_{index}")(x)
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
    normalisation="instance",
    learning_rate=1e-3,
    name="cnn_mlp",
):
    """The baseline: a CNN's flattened feature map and the question, into an MLP.

    ``conv_layers`` stride-2 convolutions (75 x 75 -> 5 x 5 with 4), the map
    flattened (5 x 5 x 24 = 600 features), concatenated with the question,
    then ``mlp_units`` ReLU layers and a softmax over the answers. Any relation
    between two objects must be learned separately for every pair of
    positions the two could occupy. ``normalisation``: ``"instance"`` (each
    channel of each picture), ``"batch"`` or ``"none"`` after every
    convolution.

    Returns:
        A compiled ``keras.Model`` with inputs ``"image"`` (uint8 or float,
        0-255) and ``"question"``.
    """
    owner = "build_cnn_mlp"
    _common_checks(owner, num_classes, learning_rate)
    image, question = _pixel_inputs(owner, image_shape, question_dim)
    mlp_units = layer_widths("mlp_units", mlp_units, owner)
    x = _conv_stack(image, owner, filters, conv_layers, normalisation=normalisation)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Concatenate(name="with_question")([x, question])
    inputs = {"image": image, "question": question}
    return _answering_model(inputs, x, mlp_units, "mlp", num_classes, name, learning_rate)


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
    normalisation="instance",
    learning_rate=1e-3,
    name="cnn_rn",
):
    """CNN + Relation Network: ``g`` over all pairs of feature-map cells with the question, then ``f``.

    The CNN is :func:`build_cnn_mlp`'s (``normalisation`` as there); each
    of its ``h * w`` cells, with its coordinates (:class:`CellObjects`), is
    an object of a :class:`RelationNetwork`; ``f`` is ``f_units`` ReLU layers
    and a softmax.
    Memory of the pairwise part: ``batch x (h * w)**2 x max(g_units)``
    floats per layer.

    Returns:
        A compiled ``keras.Model`` with inputs ``"image"`` and ``"question"``.
    """
    owner = "build_cnn_relation_network"
    _common_checks(owner, num_classes, learning_rate)
    image, question = _pixel_inputs(owner, image_shape, question_dim)
    f_units = layer_widths("f_units", f_units, owner)
    relation = RelationNetwork(layer_widths("g_units", g_units, owner), reduction, name="relation")
    x = _conv_stack(image, owner, filters, conv_layers, normalisation=normalisation)
    objects = CellObjects(name="cells")(x)
    x = relation([objects, question])
    inputs = {"image": image, "question": question}
    return _answering_model(inputs, x, f_units, "f", num_classes, name, learning_rate)


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
    head_units = layer_widths("head_units", head_units, owner)
    q = keras.layers.Dense(question_units, activation="relu", name="question_embedding")(question)
    x = _conv_stack(image, owner, filters, conv_layers, question=q)
    x = CellObjects(name="cells")(x)
    x = keras.layers.Dense(4 * int(filters), activation="relu", name="conv_1x1")(x)
    x = keras.layers.GlobalMaxPooling1D(name="max_pool")(x)
    inputs = {"image": image, "question": question}
    return _answering_model(inputs, x, head_units, "head", num_classes, name, learning_rate)


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
    units = layer_widths("units", units, owner)
    x = keras.layers.Flatten(name="flatten")(state)
    x = keras.layers.Concatenate(name="with_question")([x, question])
    inputs = {"state": state, "question": question}
    return _answering_model(inputs, x, units, "mlp", num_classes, name, learning_rate)


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
    f_units = layer_widths("f_units", f_units, owner)
    relation = RelationNetwork(layer_widths("g_units", g_units, owner), reduction, name="relation")
    x = relation([state, question])
    inputs = {"state": state, "question": question}
    return _answering_model(inputs, x, f_units, "f", num_classes, name, learning_rate)


#: Every builder of this module, by the name the experiments use.
BUILDERS = {
    "cnn_mlp": build_cnn_mlp,
    "cnn_rn": build_cnn_relation_network,
    "film_cnn": build_film_cnn,
    "state_mlp": build_state_mlp,
    "state_rn": build_state_relation_network,
}
