"""Fusion: Keras layers that merge one vector per modality into one vector.

Every fusion layer takes a list of rank-2 tensors ``[(batch, d_1), (batch,
d_2), ...]`` and returns one rank-2 tensor ``(batch, d)``. Each is a
``keras.layers.Layer`` subclass with a complete ``get_config``, registered for
safe ``.keras`` serialization, and listed in a registry so that a model can
name its fusion by a string. This module holds five vector fusions:

* ``"concat"`` (:class:`ConcatFusion`): ``[x_1; x_2; ...]``, no weights.
* ``"gated"`` (:class:`GatedFusion`): a gated multimodal unit; learned,
  per-sample gates decide how much of each modality to pass on.
* ``"tensor"`` (:class:`TensorFusion`): the outer product of ``[x_m; 1]``,
  every product of features across 2 or 3 modalities, no weights.
* ``"low_rank"`` (:class:`LowRankFusion`): tensor fusion followed by a linear
  map whose weight tensor has low rank, computed without the outer product.
* ``"film"`` (:class:`FiLMFusion`): one modality scales and shifts the
  features of the other.

A sixth, :class:`CrossAttentionFusion` (``"cross_attention"``), works on token
sequences ``(batch, tokens, features)`` instead of vectors; it lives in
``mmtutorial._cross_attention`` and is importable from here.

>>> from mmtutorial import fusion
>>> fusion.available()
['concat', 'cross_attention', 'film', 'gated', 'low_rank', 'tensor']
>>> layer = fusion.get("gated", units=32)

To add a fusion, subclass :class:`Fusion` and decorate it with
``@fusion.register("name")``.
"""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops

__all__ = [
    "Fusion",
    "ConcatFusion",
    "GatedFusion",
    "TensorFusion",
    "LowRankFusion",
    "FiLMFusion",
    "register",
    "get",
    "available",
]

_REGISTRY: dict = {}


def register(name: str):
    """Class decorator: make a :class:`Fusion` subclass available as ``get(name)``.

    It also registers the class with Keras (package ``"mmtutorial"``) so that
    models using it load back from ``.keras`` files in safe mode.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a fusion name must be a non-empty string; received {name!r}")

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, Fusion)):
            raise TypeError(f"@register({name!r}) needs a Fusion subclass; received {cls!r}")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a fusion named {name!r} is already registered: {_REGISTRY[name]!r}")
        cls = keras.saving.register_keras_serializable(package="mmtutorial")(cls)
        cls.fusion_name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def available() -> list:
    """The names :func:`get` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name, /, **config):
    """Build the fusion layer registered as ``name`` with keyword ``config``.

    ``name`` may also be a :class:`Fusion` instance, which is returned as is
    (with no ``config``).

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    if isinstance(name, Fusion):
        if config:
            raise ValueError(
                f"config {sorted(config)} cannot be applied to an existing layer {name.name!r}"
            )
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown fusion {name!r}; valid names are {available()}")
    return _REGISTRY[name](**config)


class Fusion(keras.layers.Layer):
    """Base class: checks that the inputs are a list of rank-2 tensors.

    Subclasses implement ``fuse(inputs)`` and ``fused_dim(dims)`` (the output
    width from the input widths); ``min_inputs``/``max_inputs`` bound how many
    modalities they accept.
    """

    min_inputs = 2
    max_inputs = None
    fusion_name = None

    def _check_shapes(self, shapes):
        shapes = [tuple(s) for s in shapes]
        count_ok = len(shapes) >= self.min_inputs and (
            self.max_inputs is None or len(shapes) <= self.max_inputs
        )
        if not count_ok or any(len(s) != 2 for s in shapes):
            if self.max_inputs is None:
                count = f"at least {self.min_inputs}"
            elif self.max_inputs == self.min_inputs:
                count = str(self.min_inputs)
            elif self.max_inputs == self.min_inputs + 1:
                count = f"{self.min_inputs} or {self.max_inputs}"
            else:
                count = f"{self.min_inputs} to {self.max_inputs}"
            raise ValueError(
                f"{type(self).__name__} expects a list of {count} rank-2 tensors "
                f"(batch, features); received shapes {shapes}"
            )
        return self._check_sizes(shapes, "for every input")

    def _check_sizes(self, shapes, which):
        """Every input's feature size (last axis) is known and the batch sizes agree."""
        if any(s[-1] is None for s in shapes):
            raise ValueError(
                f"{type(self).__name__} needs a known feature size {which}; "
                f"received shapes {shapes}"
            )
        batches = {s[0] for s in shapes if s[0] is not None}
        if len(batches) > 1:
            raise ValueError(
                f"{type(self).__name__} received inputs with different batch sizes: {shapes}"
            )
        return shapes

    @staticmethod
    def _as_shapes(input_shape):
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            return [input_shape]
        return input_shape

    def build(self, input_shape):
        self._check_shapes(self._as_shapes(input_shape))
        super().build(input_shape)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        self._check_shapes([tuple(x.shape) for x in inputs])
        return self.fuse(list(inputs))

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        batch = next((s[0] for s in shapes if s[0] is not None), None)
        return (batch, self.fused_dim([s[1] for s in shapes]))

    def fuse(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def fused_dim(self, dims):  # pragma: no cover - abstract
        raise NotImplementedError


@register("concat")
class ConcatFusion(Fusion):
    """Concatenation: ``z = [f_1; f_2; ...]``, the article's fusion done right.

    The output width is the sum of the input widths, ``d = d_1 + d_2 + ...``.
    It has no weights: whatever interaction the modalities need is left to the
    layers after it.

    Example:
        >>> import numpy as np
        >>> tuple(ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape)
        (2, 7)
    """

    def fuse(self, inputs):
        return ops.concatenate(inputs, axis=-1)

    def fused_dim(self, dims):
        return sum(dims)


# -- helpers shared by the layers below ----------------------------------------


def _check_int(owner, name, value, minimum):
    """``value`` as an ``int`` if it is an integer >= ``minimum`` (a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}; received {value!r}")
    return int(value)


def _as_list(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


class _WeightedFusion(Fusion):
    """A fusion with weights whose shapes depend on the input widths.

    Subclasses create their weights in ``create_weights(dims)``. Once built,
    the layer refuses inputs of other widths with a message that names both,
    instead of a matrix-multiplication error from the backend.
    """

    def build(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        self._dims = tuple(int(s[1]) for s in shapes)
        self.create_weights(self._dims)
        super().build(input_shape)

    def _checked(self, inputs):
        inputs = _as_list(inputs)
        shapes = self._check_shapes([tuple(x.shape) for x in inputs])
        if tuple(s[1] for s in shapes) != self._dims:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for inputs of widths "
                f"{list(self._dims)}; received shapes {shapes}"
            )
        return inputs

    def call(self, inputs):
        return self.fuse(self._checked(inputs))

    def create_weights(self, dims):  # pragma: no cover - abstract
        raise NotImplementedError


# -- gated multimodal unit ------------------------------------------------------


@register("gated")
class GatedFusion(_WeightedFusion):
    """Gated multimodal unit: per-sample gates mix one hidden vector per modality.

    Each modality gets its own hidden vector ``h_m = tanh(W_m x_m + b_m)``
    (``units`` wide). Gate logits for modality ``m`` come from all inputs at
    once, ``a_m = V_m [x_1; ...; x_N] + c_m``, and a softmax across the ``N``
    modalities, one per unit, turns them into gates ``g_m`` that sum to 1. The
    output is ``z = sum_m g_m * h_m``. This generalises the bimodal GMU of
    Arevalo et al. (2017), ``z = g * h_1 + (1 - g) * h_2`` with
    ``g = sigmoid(a_1 - a_2)``, to any number of modalities: for ``N = 2`` the
    softmax of ``(a_1, a_2)`` is exactly ``(g, 1 - g)``. :meth:`gates` returns
    the gates, to see which modality the model relies on for each sample.

    Args:
        units: width of the hidden vectors and of the output (>= 1).
        activation: the name of the Keras activation applied to ``h_m``
            (``"tanh"`` as in the paper; ``"relu"``, ``"linear"``, ...).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[(batch, d_1), ..., (batch, d_N)]`` with ``N >= 2``, a
        tensor of shape ``(batch, units)``.

    Example:
        >>> import numpy as np
        >>> layer = GatedFusion(units=8)
        >>> inputs = [np.ones((2, 3)), np.zeros((2, 5))]
        >>> tuple(layer(inputs).shape), tuple(layer.gates(inputs).shape)
        ((2, 8), (2, 2, 8))
    """

    def __init__(self, units=64, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = _check_int(type(self).__name__, "units", units, 1)
        message = (
            f"{type(self).__name__}: activation must be the name of a Keras activation "
            f"such as 'tanh' or 'relu'; received {activation!r}"
        )
        if not isinstance(activation, str):
            raise ValueError(message)
        try:
            self._activation = keras.activations.get(activation)
        except ValueError:
            raise ValueError(message) from None
        self.activation = activation

    def create_weights(self, dims):
        n = len(dims)
        self.kernels = [
            self.add_weight(shape=(d, self.units), initializer="glorot_uniform", name=f"kernel_{m}")
            for m, d in enumerate(dims)
        ]
        self.biases = [
            self.add_weight(shape=(self.units,), initializer="zeros", name=f"bias_{m}") for m in range(n)
        ]
        # V_1 ... V_N side by side: column block m holds modality m's gate logits.
        self.gate_kernel = self.add_weight(
            shape=(sum(dims), n * self.units), initializer="glorot_uniform", name="gate_kernel"
        )
        self.gate_bias = self.add_weight(shape=(n * self.units,), initializer="zeros", name="gate_bias")

    def _gates(self, inputs):
        logits = ops.matmul(ops.concatenate(inputs, axis=-1), self.gate_kernel) + self.gate_bias
        logits = ops.reshape(logits, (-1, len(inputs), self.units))
        return ops.softmax(logits, axis=1)

    def fuse(self, inputs):
        hidden = ops.stack(
            [self._activation(ops.matmul(x, w) + b) for x, w, b in zip(inputs, self.kernels, self.biases)],
            axis=1,
        )
        return ops.sum(self._gates(inputs) * hidden, axis=1)

    def gates(self, inputs):
        """The gates ``g`` for ``inputs``, with the layer's current weights.

        Builds the layer first if it has not been called yet.

        Args:
            inputs: the list the layer takes, ``[(batch, d_1), ..., (batch, d_N)]``.

        Returns:
            A tensor of shape ``(batch, N, units)``: ``[i, m, u]`` is the share
            of modality ``m`` in unit ``u`` of sample ``i``; it sums to 1 over
            ``m``. ``keras.ops.convert_to_numpy`` turns it into an array for plots.
        """
        inputs = [ops.cast(ops.convert_to_tensor(x), self.compute_dtype) for x in _as_list(inputs)]
        if not self.built:
            self.build([tuple(x.shape) for x in inputs])
        return self._gates(self._checked(inputs))

    def fused_dim(self, dims):
        return self.units

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation}


# -- tensor fusion ----------------------------------------------------------------


@register("tensor")
class TensorFusion(Fusion):
    """Tensor fusion: every product of one feature per modality, constant 1 included.

    Zadeh et al. (2017) append a 1 to each modality's vector and take the outer
    product, ``z = vec([x_1; 1] ⊗ [x_2; 1])`` (``⊗ [x_3; 1]`` for a third
    modality), flattened in row-major order. Because of the 1s, ``z`` holds
    each modality's own features, every pairwise product and (for three
    modalities) every triple product. It has no weights; the layers after it
    learn from ``z``. The width is ``prod(d_m + 1)`` and grows fast: two
    128-wide inputs already give 16,641 features. ``max_dim`` turns an
    accidental huge fusion into an error at build time.

    Args:
        max_dim: the largest output width allowed (default 65,536).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on 2 or 3 tensors ``(batch, d_m)``, a tensor of shape
        ``(batch, (d_1 + 1) * (d_2 + 1) [* (d_3 + 1)])``.

    Raises:
        ValueError: if that width exceeds ``max_dim``.

    Example:
        >>> import numpy as np
        >>> tuple(TensorFusion()([np.ones((2, 3)), np.ones((2, 4))]).shape)
        (2, 20)
    """

    max_inputs = 3

    def __init__(self, max_dim=65_536, **kwargs):
        super().__init__(**kwargs)
        self.max_dim = _check_int(type(self).__name__, "max_dim", max_dim, 1)

    def build(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        self.fused_dim([s[1] for s in shapes])
        super().build(input_shape)

    @staticmethod
    def _with_one(x):
        return ops.concatenate([x, ops.ones_like(x[:, :1])], axis=-1)

    def fuse(self, inputs):
        fused = self._with_one(inputs[0])
        for x in inputs[1:]:
            x = self._with_one(x)
            width = fused.shape[-1] * x.shape[-1]
            fused = ops.reshape(ops.expand_dims(fused, 2) * ops.expand_dims(x, 1), (-1, width))
        return fused

    def fused_dim(self, dims):
        width = math.prod(d + 1 for d in dims)
        if width > self.max_dim:
            factors = " x ".join(f"({d} + 1)" for d in dims)
            raise ValueError(
                f"{type(self).__name__} of inputs of widths {list(dims)} would output "
                f"{factors} = {width} features, more than max_dim={self.max_dim}; use smaller "
                "encoder outputs (for example build_classifier's image_projection or text_units "
                "options), the 'low_rank' fusion, or a larger max_dim"
            )
        return width

    def get_config(self):
        return {**super().get_config(), "max_dim": self.max_dim}


# -- low-rank multimodal fusion ---------------------------------------------------


@register("low_rank")
class LowRankFusion(_WeightedFusion):
    """Low-rank multimodal fusion: tensor fusion times a low-rank weight, computed cheaply.

    Liu et al. (2018) follow tensor fusion with a linear map ``W z`` whose
    weight tensor is a sum of ``rank`` outer products of per-modality factors,
    ``W = sum_r W_1^(r) ⊗ W_2^(r) ⊗ ...`` with ``W_m^(r)`` of shape
    ``(d_m + 1, units)``. Then ``W z`` equals
    ``sum_r prod_m ([x_m; 1] W_m^(r))`` (a product feature by feature across
    modalities), which never forms the ``prod(d_m + 1)``-wide outer product.
    The appended 1 gives each factor its affine term, so there is no separate
    bias; this layer also omits the paper's output bias, leaving exactly the
    formula above. Each modality's ``rank`` factors are stored side by side in
    one ``(d_m + 1, rank * units)`` weight, the ``[x_m; 1]`` row last.

    Args:
        units: width of the output (>= 1).
        rank: number of outer products in the weight tensor (>= 1).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[(batch, d_1), ..., (batch, d_N)]`` with ``N >= 2``, a
        tensor of shape ``(batch, units)``.

    Example:
        >>> import numpy as np
        >>> layer = LowRankFusion(units=8, rank=2)
        >>> tuple(layer([np.ones((2, 3)), np.ones((2, 5)), np.ones((2, 4))]).shape)
        (2, 8)
        >>> [tuple(w.shape) for w in layer.factors]
        [(4, 16), (6, 16), (5, 16)]
    """

    def __init__(self, units=64, rank=4, **kwargs):
        super().__init__(**kwargs)
        self.units = _check_int(type(self).__name__, "units", units, 1)
        self.rank = _check_int(type(self).__name__, "rank", rank, 1)

    def create_weights(self, dims):
        self.factors = [
            self.add_weight(
                shape=(d + 1, self.rank * self.units), initializer="glorot_uniform", name=f"factor_{m}"
            )
            for m, d in enumerate(dims)
        ]

    def fuse(self, inputs):
        product = None
        for x, factor in zip(inputs, self.factors):
            # [x; 1] W = x W[:-1] + W[-1], without concatenating the 1.
            projected = ops.matmul(x, factor[:-1]) + factor[-1]
            projected = ops.reshape(projected, (-1, self.rank, self.units))
            product = projected if product is None else product * projected
        return ops.sum(product, axis=1)

    def fused_dim(self, dims):
        return self.units

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rank": self.rank}


# -- feature-wise linear modulation -----------------------------------------------


@register("film")
class FiLMFusion(_WeightedFusion):
    """FiLM: one modality scales and shifts, feature by feature, the other's vector.

    Perez et al. (2018) modulate features ``x`` with a scale and a shift
    computed from a conditioning input ``c``: ``z = gamma * x + beta``. Here
    both are linear in ``c``: ``gamma = 1 + (W_g c + b_g)`` and
    ``beta = W_b c + b_b``, each as wide as ``x``, so the output is as wide as
    ``x``. The ``1 +`` is this package's choice, not the paper's formula (which
    predicts ``gamma`` directly): with the default initialisers (Glorot-uniform
    kernels, zero biases) a fresh layer scales ``x`` by 1 plus a term linear in
    ``c`` rather than by a term centred on 0, so ``x`` passes through from the
    start instead of being nearly erased. It is not exactly the identity: the
    random kernels make ``gamma - 1`` and ``beta`` nonzero until training
    shapes them.

    Args:
        conditioned: the index, 0 or 1, of the input that is modulated (``x``);
            the other one is the conditioning input ``c``.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on exactly 2 tensors, a tensor of shape ``(batch, d_x)``.

    Example:
        >>> import numpy as np
        >>> tuple(FiLMFusion(conditioned=1)([np.ones((2, 3)), np.ones((2, 5))]).shape)
        (2, 5)
    """

    max_inputs = 2

    def __init__(self, conditioned=0, **kwargs):
        if kwargs.get("name") is None:  # Keras would derive "fi_lm_fusion" from the class name
            uid = keras.backend.get_uid("film_fusion")
            kwargs["name"] = "film_fusion" if uid == 1 else f"film_fusion_{uid - 1}"
        super().__init__(**kwargs)
        if isinstance(conditioned, bool) or conditioned not in (0, 1):
            raise ValueError(
                f"{type(self).__name__}: conditioned must be 0 or 1, the index of the modulated "
                f"input; received {conditioned!r}"
            )
        self.conditioned = int(conditioned)

    def create_weights(self, dims):
        modulated, condition = dims[self.conditioned], dims[1 - self.conditioned]
        self.gamma_kernel = self.add_weight(
            shape=(condition, modulated), initializer="glorot_uniform", name="gamma_kernel"
        )
        self.gamma_bias = self.add_weight(shape=(modulated,), initializer="zeros", name="gamma_bias")
        self.beta_kernel = self.add_weight(
            shape=(condition, modulated), initializer="glorot_uniform", name="beta_kernel"
        )
        self.beta_bias = self.add_weight(shape=(modulated,), initializer="zeros", name="beta_bias")

    def fuse(self, inputs):
        x, c = inputs[self.conditioned], inputs[1 - self.conditioned]
        gamma = 1.0 + ops.matmul(c, self.gamma_kernel) + self.gamma_bias
        beta = ops.matmul(c, self.beta_kernel) + self.beta_bias
        return gamma * x + beta

    def fused_dim(self, dims):
        return dims[self.conditioned]

    def get_config(self):
        return {**super().get_config(), "conditioned": self.conditioned}


# The token-level fusion lives in its own module (it needs sequences, not vectors); it is
# imported here, after everything it builds on, so that it is registered and importable as
# ``mmtutorial.fusion.CrossAttentionFusion`` like the vector fusions.
from ._cross_attention import CrossAttentionFusion  # noqa: E402

__all__ += ["CrossAttentionFusion"]
