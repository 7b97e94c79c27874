"""Late fusion: combine the class probabilities of single-modality models.

The other layers of this package fuse *features*, inside one model (early or
intermediate fusion). Late fusion combines *predictions* instead: one head
per modality gives class probabilities, and a fixed rule merges them.

* :class:`LateFusion` (registered as ``"late"``) is that rule as a layer, so
  ``build_classifier(..., fusion="late")`` builds one head per modality and
  trains them together through it; the model saves and loads like any other.
* :func:`product_of_experts` is the product rule in NumPy, for the
  probabilities of models trained apart. (:mod:`mmtutorial.heads`
  re-exports it as ``heads.product_of_experts``.)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .. import _checks
from .base import Fusion, register

__all__ = ["LateFusion", "product_of_experts"]

_MODES = ("product", "mean")


@register("late")
class LateFusion(Fusion):
    """Late fusion: merge each modality's class probabilities by a product of experts or a mean.

    Each input is one modality's class probabilities ``p_k = p(y | x_k)``,
    shape ``(batch, num_classes)``. With ``mode="product"`` the layer applies
    Bayes' rule for inputs that are independent given the class,

    ``p(y | x_1, ..., x_K) = softmax(sum_k log p_k - (K - 1) log p(y))``,

    where ``p(y)`` is ``prior`` (the prior is in every expert's posterior
    once, so it is divided out ``K - 1`` times; equally likely classes cancel).
    With ``mode="mean"`` it averages, ``(1 / K) sum_k p_k``, a mixture in
    which no expert can veto a class. Either way the output is a probability
    vector per sample, as a classification head's is, so a model ends with
    this layer instead of a head (:func:`mmtutorial.models.assemble_classifier`
    builds the heads in front of it: its ``fuses_predictions`` is True).

    Because each expert sees one modality, late fusion can only add up (in
    log space, for the product) what each modality says on its own: a label
    that depends on an *interaction* between the modalities, such as "the
    shape in the quadrant the question names", is out of its reach.

    Args:
        mode: ``"product"`` (the default) or ``"mean"``.
        prior: ``None`` for equally likely classes, or the ``num_classes``
            class probabilities ``p(y)``, all positive (used by ``"product"``).
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``K >= 2`` tensors ``(batch, num_classes)``, a tensor
        ``(batch, num_classes)`` whose rows sum to 1.

    Example:
        >>> import numpy as np
        >>> image = np.array([[0.7, 0.3, 0.0]])  # the image rules out class 2
        >>> text = np.array([[0.0, 0.3, 0.7]])   # the caption rules out class 0
        >>> np.asarray(LateFusion()([image, text]), dtype=float).round(3).tolist()
        [[0.0, 1.0, 0.0]]
        >>> np.asarray(LateFusion(mode="mean")([image, text]), dtype=float).round(3).tolist()
        [[0.35, 0.3, 0.35]]
    """

    fuses_predictions = True

    def __init__(self, mode="product", prior=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.mode = _checks.choice("mode", mode, _MODES, owner=owner)
        if prior is not None:
            values = np.asarray(prior, dtype="float64")
            if (
                values.ndim != 1
                or values.size < 2
                or not (np.isfinite(values).all() and (values > 0).all())
            ):
                raise ValueError(
                    f"{owner}: prior must be None or a list of at least 2 positive, finite class "
                    f"probabilities; received {prior!r}"
                )
            prior = [float(v) for v in values / values.sum()]
        self.prior = prior

    def build(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        self.fused_dim([s[-1] for s in shapes])
        super().build(input_shape)

    def fused_dim(self, dims):
        if len(set(dims)) != 1:
            raise ValueError(
                f"{type(self).__name__} combines class probabilities, so every input needs the "
                f"same number of classes; received widths {list(dims)}"
            )
        if self.prior is not None and len(self.prior) != dims[0]:
            raise ValueError(
                f"{type(self).__name__}: prior has {len(self.prior)} classes but the inputs have "
                f"{dims[0]}"
            )
        return dims[0]

    def fuse(self, inputs):
        if self.mode == "mean":
            total = inputs[0]
            for p in inputs[1:]:
                total = total + p
            return total / len(inputs)
        tiny = keras.backend.epsilon()
        log_posterior = ops.log(ops.maximum(inputs[0], tiny))
        for p in inputs[1:]:
            log_posterior = log_posterior + ops.log(ops.maximum(p, tiny))
        if self.prior is not None:
            log_prior = ops.cast(np.log(np.asarray(self.prior)), log_posterior.dtype)
            log_posterior = log_posterior - (len(inputs) - 1) * log_prior
        return ops.softmax(log_posterior, axis=-1)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "prior": self.prior}


def product_of_experts(probabilities_list, prior=None):
    """Late fusion by the product rule: multiply, divide by the prior.

    Each of ``K`` single-modality models (the "experts") gives the class
    posterior of its own input, ``p(y | x_k)``. If the inputs are
    conditionally independent given the class, Bayes' rule turns these
    into the posterior given all inputs at once:

    ``p(y | x_1, ..., x_K) = p(y)^(1 - K) * prod_k p(y | x_k) / Z``,

    where ``Z`` makes each row sum to 1. The prior is divided out
    ``K - 1`` times because each expert's posterior already contains it
    once. The product is taken in log space, so many small probabilities
    do not underflow. A class that any expert gives probability 0 gets
    probability 0: each expert can veto a class, which averaging cannot
    do.

    Args:
        probabilities_list: a list of ``K >= 1`` arrays (NumPy arrays or
            tensors) of one shape ``(..., num_classes)``, typically
            ``(batch, num_classes)``: each expert's class probabilities,
            non-negative and finite. A row need not sum to 1; a constant
            factor per row cancels in ``Z``.
        prior: ``None`` for equally likely classes, or the class
            probabilities ``p(y)``, shape ``(num_classes,)``, all
            positive.

    Returns:
        A float64 NumPy array of the inputs' shape whose rows sum to 1.

    Raises:
        ValueError: naming the argument and the value received, for an
            empty list, arrays of different shapes, negative or
            non-finite values, a bad prior, or a sample in which every
            class is vetoed.

    Example:
        >>> import numpy as np
        >>> image = np.array([[0.7, 0.3, 0.0]])  # rules out class 2
        >>> text = np.array([[0.0, 0.3, 0.7]])  # rules out class 0
        >>> product_of_experts([image, text]).round(3).tolist()
        [[0.0, 1.0, 0.0]]
        >>> # the average prefers a vetoed class
        >>> ((image + text) / 2).round(3).tolist()
        [[0.35, 0.3, 0.35]]
    """
    experts = _checked_experts(probabilities_list)
    with np.errstate(divide="ignore"):
        log_posterior = sum(np.log(array) for array in experts)
    if prior is not None:
        prior_array = _checked_prior(prior, experts[0].shape[-1])
        repeats = len(experts) - 1
        log_posterior = log_posterior - repeats * np.log(prior_array)
    largest = log_posterior.max(axis=-1, keepdims=True)
    if np.isneginf(largest).any():
        vetoed = np.argwhere(np.isneginf(largest[..., 0]))[0]
        sample = tuple(int(i) for i in vetoed)
        raise ValueError(
            f"the experts leave no class possible for sample {sample}: "
            "every class has probability 0 under at least one expert"
        )
    posterior = np.exp(log_posterior - largest)
    return posterior / posterior.sum(axis=-1, keepdims=True)


def _checked_experts(probabilities_list):
    """The experts' probabilities as float64 arrays of one shape, non-negative and finite."""
    is_list = isinstance(probabilities_list, (list, tuple))
    if not is_list or not probabilities_list:
        if is_list:
            received = "an empty list"
        else:
            kind = type(probabilities_list).__name__
            received = f"{kind} of shape {np.shape(probabilities_list)}"
        raise ValueError(
            "probabilities_list must be a non-empty list of "
            "(batch, num_classes) arrays, one per expert; "
            f"received {received}"
        )
    experts = []
    for index, probabilities in enumerate(probabilities_list):
        name = f"probabilities_list[{index}]"
        array = np.asarray(probabilities)
        if array.dtype.kind not in "biuf":
            received = f"received dtype {array.dtype}"
            raise ValueError(
                f"{name} must be an array of real numbers; {received}",
            )
        array = array.astype("float64")
        if array.ndim < 1 or array.shape[-1] < 1:
            received = f"received shape {array.shape}"
            raise ValueError(
                f"{name} must have shape (..., num_classes); {received}",
            )
        if experts and array.shape != experts[0].shape:
            shapes = [tuple(e.shape) for e in experts] + [array.shape]
            need = "every expert must give probabilities of the same shape"
            raise ValueError(f"{need}; received shapes {shapes}")
        invalid = ~np.isfinite(array) | (array < 0)
        if invalid.any():
            bad = tuple(int(i) for i in np.argwhere(invalid)[0])
            raise ValueError(
                f"{name} must hold non-negative finite probabilities; "
                f"received {float(array[bad])} at index {bad}"
            )
        experts.append(array)
    return experts


def _checked_prior(prior, num_classes):
    """``prior`` as float64 ``(num_classes,)`` positive, finite class probabilities."""
    prior_array = np.asarray(prior, dtype="float64")
    if prior_array.shape != (num_classes,) or not (
        np.isfinite(prior_array).all() and (prior_array > 0).all()
    ):
        shown = np.array2string(prior_array, threshold=8)
        raise ValueError(
            f"prior must be {num_classes} positive, finite class "
            f"probabilities, shape ({num_classes},); received "
            f"{shown} of shape {prior_array.shape}"
        )
    return prior_array
