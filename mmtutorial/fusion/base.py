"""The base of every fusion layer, and the registry that names them.

This module never imports a fusion of its own: each one lives in a module of
this package (:mod:`~mmtutorial.fusion.concat`, :mod:`~mmtutorial.fusion.gated`,
...), subclasses :class:`Fusion` and registers itself with :func:`register`.
The package's ``__init__`` imports them all, so that :func:`available` lists
every fusion as soon as ``mmtutorial.fusion`` is imported.
"""

from __future__ import annotations

import keras

__all__ = ["Fusion", "register", "get", "available", "registered", "INPUT_KINDS", "SPATIAL_KINDS"]

_REGISTRY: dict = {}

# How each supported input rank is written in messages.
_AXES = {2: "(batch, features)", 3: "(batch, tokens, features)"}

#: What a registered layer may take, by the ``input_kind`` it declares.
INPUT_KINDS = {
    "vectors": "a list of one vector per modality, (batch, features) each",
    "tokens": "a list of one token sequence per modality, (batch, tokens, features) each",
    "map_and_vector": "[feature_map, text]: a feature map (batch, height, width, channels) "
    "and one text vector (batch, features)",
    "map_and_words": "[feature_map, words]: a feature map (batch, height, width, channels) "
    "and one vector per word (batch, words, features)",
}
#: The kinds that condition a feature map on text: what a segmenter can use.
SPATIAL_KINDS = ("map_and_vector", "map_and_words")
_KIND_OF_RANK = {2: "vectors", 3: "tokens"}


def register(name: str):
    """Class decorator: make a fusion layer available as ``get(name)``.

    The class is a :class:`Fusion` subclass (whose ``input_rank`` says it
    takes ``"vectors"`` or ``"tokens"``) or another ``keras.layers.Layer``
    that declares its ``input_kind``, one of :data:`INPUT_KINDS` (the spatial
    fusions of :mod:`~mmtutorial.fusion.spatial` take a feature map and text).
    It also registers the class with Keras under its class name (package
    ``"mmtutorial"``, so ``"mmtutorial>GatedFusion"``), so that models using
    it load back from ``.keras`` files in safe mode, and it sets the class's
    ``fusion_name`` to ``name``.

    Raises:
        ValueError: for an empty name, a name already taken by another class,
            or a class whose ``input_kind`` (or ``input_rank``) is not one of those known.
        TypeError: if the decorated object is not a ``keras.layers.Layer`` subclass.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a fusion name must be a non-empty string; received {name!r}")

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
            raise TypeError(f"@register({name!r}) needs a fusion layer class; received {cls!r}")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a fusion named {name!r} is already registered: {_REGISTRY[name]!r}")
        if issubclass(cls, Fusion) and cls.input_rank not in _AXES:
            raise ValueError(
                f"{cls.__name__}.input_rank must be 2 (one vector per modality) or 3 (token "
                f"sequences); received {cls.input_rank!r}"
            )
        if issubclass(cls, Fusion):
            cls.input_kind = _KIND_OF_RANK[cls.input_rank]
        if getattr(cls, "input_kind", None) not in INPUT_KINDS:
            raise ValueError(
                f"{cls.__name__}.input_kind must be one of {sorted(INPUT_KINDS)}; "
                f"received {getattr(cls, 'input_kind', None)!r}"
            )
        cls = keras.saving.register_keras_serializable(package="mmtutorial")(cls)
        cls.fusion_name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def available(kinds=None) -> list:
    """The names :func:`get` accepts, sorted; only those of the given input kinds if ``kinds`` is given.

    Example:
        >>> from mmtutorial import fusion
        >>> fusion.available(kinds=("tokens",))
        ['cross_attention', 'transformer']
    """
    if kinds is None:
        return sorted(_REGISTRY)
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = sorted(set(kinds) - set(INPUT_KINDS))
    if unknown:
        raise ValueError(f"unknown input kinds {unknown}; valid kinds are {sorted(INPUT_KINDS)}")
    return sorted(name for name, cls in _REGISTRY.items() if cls.input_kind in kinds)


def registered(name):
    """The class registered as ``name``, for a builder that reads its ``input_kind`` before building it.

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown fusion {name!r}; valid names are {available()}")
    return _REGISTRY[name]


def get(name, /, **config):
    """Build the fusion layer registered as ``name`` with keyword ``config``.

    ``name`` may also be an instance of a registered class, which is returned
    as is (with no ``config``).

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    if isinstance(name, tuple(_REGISTRY.values()) + (Fusion,)):
        if config:
            raise ValueError(
                f"config {sorted(config)} cannot be applied to an existing layer {name.name!r}"
            )
        return name
    return registered(name)(**config)


def _as_list(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


class Fusion(keras.layers.Layer):
    """Base class of the fusion layers: a list of tensors, one per modality, in; one vector out.

    A fusion takes ``[x_1, ..., x_N]`` with ``min_inputs <= N <= max_inputs``
    and returns one tensor ``(batch, d)``. The base class checks the inputs'
    count and rank and that their feature sizes are known, in ``build``,
    ``call`` and ``compute_output_shape`` alike, and names the shapes it
    received when they are wrong. Subclasses implement two methods:

    * ``fuse(inputs)``: the computation, on a list of checked tensors;
    * ``fused_dim(dims)``: the output width ``d`` from the inputs' feature
      sizes (their last axes).

    Class attributes:
        input_rank: the rank of every input. 2 (the default) means one vector
            per modality, ``(batch, features)``; 3 means a token sequence per
            modality, ``(batch, tokens, features)``, as
            :class:`~mmtutorial.fusion.CrossAttentionFusion` takes. Model
            builders read it to decide what the encoders must output.
        min_inputs, max_inputs: how many modalities the fusion accepts
            (``max_inputs = None``: no upper bound).
        input_kind: ``"vectors"`` or ``"tokens"``, set by :func:`register`
            from ``input_rank`` (every registered layer declares one).
        fusion_name: the name it is registered under, set by :func:`register`.

    Example:
        >>> import numpy as np
        >>> class ProductFusion(Fusion):
        ...     max_inputs = 2
        ...     def fuse(self, inputs):
        ...         return inputs[0] * inputs[1]
        ...     def fused_dim(self, dims):
        ...         return dims[0]
        >>> tuple(ProductFusion()([np.ones((2, 3)), np.ones((2, 3))]).shape)
        (2, 3)
        >>> ProductFusion().compute_output_shape([(None, 3), (None, 4, 3)])
        Traceback (most recent call last):
            ...
        ValueError: ProductFusion expects a list of 2 rank-2 tensors (batch, features); received shapes [(None, 3), (None, 4, 3)]
    """

    input_rank = 2
    input_kind = "vectors"
    min_inputs = 2
    max_inputs = None
    fusion_name = None

    # -- shape checks, shared by every fusion ------------------------------------

    def _expected_inputs(self):
        """What the layer takes, as the error messages say it: "a list of 2 rank-2 tensors ..."."""
        if self.max_inputs is None:
            count = f"at least {self.min_inputs}"
        elif self.max_inputs == self.min_inputs:
            count = str(self.min_inputs)
        elif self.max_inputs == self.min_inputs + 1:
            count = f"{self.min_inputs} or {self.max_inputs}"
        else:
            count = f"{self.min_inputs} to {self.max_inputs}"
        return f"a list of {count} rank-{self.input_rank} tensors {_AXES[self.input_rank]}"

    def _shape_hint(self, shapes):
        """Advice appended to the wrong-inputs message; subclasses may add some."""
        return ""

    def _check_shapes(self, shapes):
        """``shapes`` as a list of tuples, if their count, ranks and sizes suit the layer."""
        shapes = [tuple(s) for s in shapes]
        count_ok = len(shapes) >= self.min_inputs and (
            self.max_inputs is None or len(shapes) <= self.max_inputs
        )
        if not count_ok or any(len(s) != self.input_rank for s in shapes):
            raise ValueError(
                f"{type(self).__name__} expects {self._expected_inputs()}; "
                f"received shapes {shapes}{self._shape_hint(shapes)}"
            )
        if any(s[-1] is None for s in shapes):
            raise ValueError(
                f"{type(self).__name__} needs a known feature size for every input (its last "
                f"axis); received shapes {shapes}"
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

    # -- the keras.layers.Layer interface ---------------------------------------------

    def build(self, input_shape):
        self._check_shapes(self._as_shapes(input_shape))
        super().build(input_shape)

    def call(self, inputs):
        inputs = _as_list(inputs)
        self._check_shapes([tuple(x.shape) for x in inputs])
        return self.fuse(inputs)

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        batch = next((s[0] for s in shapes if s[0] is not None), None)
        return (batch, self.fused_dim([s[-1] for s in shapes]))

    def fuse(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def fused_dim(self, dims):  # pragma: no cover - abstract
        raise NotImplementedError


class _WeightedFusion(Fusion):
    """A fusion with weights whose shapes depend on the input widths.

    Subclasses create their weights in ``create_weights(dims)``. Once built,
    the layer refuses inputs of other widths with a message that names both,
    instead of a matrix-multiplication error from the backend.
    """

    def build(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        self._dims = tuple(int(s[-1]) for s in shapes)
        self.create_weights(self._dims)
        super().build(input_shape)

    def _checked(self, inputs):
        inputs = _as_list(inputs)
        shapes = self._check_shapes([tuple(x.shape) for x in inputs])
        if tuple(s[-1] for s in shapes) != self._dims:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for inputs of widths "
                f"{list(self._dims)}; received shapes {shapes}"
            )
        return inputs

    def call(self, inputs):
        return self.fuse(self._checked(inputs))

    def create_weights(self, dims):  # pragma: no cover - abstract
        raise NotImplementedError
