"""The base of every fusion layer, and the registry that names them.

This module never imports a fusion of its own: each one lives in a module of
this package (:mod:`~mmtutorial.fusion.concat`, :mod:`~mmtutorial.fusion.gated`,
...), subclasses :class:`Fusion` and registers itself with :func:`register`.
The package's ``__init__`` imports them all, so that :func:`available` lists
every fusion as soon as ``mmtutorial.fusion`` is imported.
"""

from __future__ import annotations

import keras

__all__ = ["Fusion", "register", "get", "available"]

_REGISTRY: dict = {}

# How each supported input rank is written in messages.
_AXES = {2: "(batch, features)", 3: "(batch, tokens, features)"}


def register(name: str):
    """Class decorator: make a :class:`Fusion` subclass available as ``get(name)``.

    It also registers the class with Keras under its class name (package
    ``"mmtutorial"``, so ``"mmtutorial>GatedFusion"``), so that models using
    it load back from ``.keras`` files in safe mode, and it sets the class's
    ``fusion_name`` to ``name``.

    Raises:
        ValueError: for an empty name, a name already taken by another class,
            or a class whose ``input_rank`` is not 2 or 3.
        TypeError: if the decorated object is not a :class:`Fusion` subclass.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a fusion name must be a non-empty string; received {name!r}")

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, Fusion)):
            raise TypeError(f"@register({name!r}) needs a Fusion subclass; received {cls!r}")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a fusion named {name!r} is already registered: {_REGISTRY[name]!r}")
        if cls.input_rank not in _AXES:
            raise ValueError(
                f"{cls.__name__}.input_rank must be 2 (one vector per modality) or 3 (token "
                f"sequences); received {cls.input_rank!r}"
            )
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
