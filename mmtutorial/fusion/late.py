"""Late fusion: combine the class probabilities of single-modality models.

The layers of this package fuse *features*, inside one model (early or
intermediate fusion). Late fusion instead trains one model per modality and
combines their predictions. :func:`product_of_experts` does it by Bayes' rule.
It works on probabilities, not tensors inside a model, so it is a NumPy
function rather than a layer, and it is not in the registry of
:func:`~mmtutorial.fusion.available`. (:mod:`mmtutorial.heads` re-exports it
as ``heads.product_of_experts``.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["product_of_experts"]


def product_of_experts(probabilities_list, prior=None):
    """Late fusion by the product rule: multiply the experts' probabilities, divide by the prior.

    Each of ``K`` single-modality models (the "experts") gives the class
    posterior of its own input, ``p(y | x_k)``. If the inputs are
    conditionally independent given the class, Bayes' rule turns these into
    the posterior given all inputs at once:

    ``p(y | x_1, ..., x_K) = p(y)^(1 - K) * prod_k p(y | x_k) / Z``,

    where ``Z`` makes each row sum to 1. The prior is divided out ``K - 1``
    times because each expert's posterior already contains it once. The
    product is taken in log space, so many small probabilities do not
    underflow. A class that any expert gives probability 0 gets probability
    0: each expert can veto a class, which averaging cannot do.

    Args:
        probabilities_list: a list of ``K >= 1`` arrays (NumPy arrays or
            tensors) of one shape ``(..., num_classes)``, typically
            ``(batch, num_classes)``: each expert's class probabilities,
            non-negative and finite. A row need not sum to 1; a constant
            factor per row cancels in ``Z``.
        prior: ``None`` for equally likely classes, or the class
            probabilities ``p(y)``, shape ``(num_classes,)``, all positive.

    Returns:
        A float64 NumPy array of the inputs' shape whose rows sum to 1.

    Raises:
        ValueError: naming the argument and the value received, for an empty
            list, arrays of different shapes, negative or non-finite values,
            a bad prior, or a sample in which every class is vetoed.

    Example:
        >>> import numpy as np
        >>> image = np.array([[0.7, 0.3, 0.0]])  # the image rules out class 2
        >>> text = np.array([[0.0, 0.3, 0.7]])   # the caption rules out class 0
        >>> product_of_experts([image, text]).round(3).tolist()
        [[0.0, 1.0, 0.0]]
        >>> ((image + text) / 2).round(3).tolist()  # the average prefers a vetoed class
        [[0.35, 0.3, 0.35]]
    """
    if not isinstance(probabilities_list, (list, tuple)) or not probabilities_list:
        if isinstance(probabilities_list, (list, tuple)):
            received = "an empty list"
        else:
            received = (
                f"{type(probabilities_list).__name__} of shape {np.shape(probabilities_list)}"
            )
        raise ValueError(
            "probabilities_list must be a non-empty list of (batch, num_classes) arrays, one "
            f"per expert; received {received}"
        )
    experts = []
    for index, probabilities in enumerate(probabilities_list):
        array = np.asarray(probabilities)
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"probabilities_list[{index}] must be an array of real numbers; received "
                f"dtype {array.dtype}"
            )
        array = array.astype("float64")
        if array.ndim < 1 or array.shape[-1] < 1:
            raise ValueError(
                f"probabilities_list[{index}] must have shape (..., num_classes); "
                f"received shape {array.shape}"
            )
        if experts and array.shape != experts[0].shape:
            raise ValueError(
                "every expert must give probabilities of the same shape; received shapes "
                f"{[tuple(e.shape) for e in experts] + [array.shape]}"
            )
        if not np.isfinite(array).all() or (array < 0).any():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array) | (array < 0))[0])
            raise ValueError(
                f"probabilities_list[{index}] must hold non-negative finite probabilities; "
                f"received {float(array[bad])} at index {bad}"
            )
        experts.append(array)
    num_classes = experts[0].shape[-1]
    with np.errstate(divide="ignore"):
        log_posterior = sum(np.log(array) for array in experts)
    if prior is not None:
        prior_array = np.asarray(prior, dtype="float64")
        if prior_array.shape != (num_classes,) or not (
            np.isfinite(prior_array).all() and (prior_array > 0).all()
        ):
            raise ValueError(
                f"prior must be {num_classes} positive, finite class probabilities, shape "
                f"({num_classes},); received {np.array2string(prior_array, threshold=8)} "
                f"of shape {prior_array.shape}"
            )
        log_posterior = log_posterior - (len(experts) - 1) * np.log(prior_array)
    largest = log_posterior.max(axis=-1, keepdims=True)
    if np.isneginf(largest).any():
        sample = tuple(int(i) for i in np.argwhere(np.isneginf(largest[..., 0]))[0])
        raise ValueError(
            f"the experts leave no class possible for sample {sample}: every class has "
            "probability 0 under at least one expert"
        )
    posterior = np.exp(log_posterior - largest)
    return posterior / posterior.sum(axis=-1, keepdims=True)
