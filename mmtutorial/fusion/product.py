"""Product fusion: multiply the modalities' vectors entry by entry."""

from __future__ import annotations

from ._elementwise import _ElementwiseFusion
from .base import register

__all__ = ["ProductFusion"]


@register("product")
class ProductFusion(_ElementwiseFusion):
    """Element-wise product: ``z = x_1 * x_2 * ... * x_N``, the simplest multiplicative fusion.

    Entry ``j`` of ``z`` is large only when entry ``j`` is large in every
    modality, so a product can express "this and that" directly, which a sum
    leaves to the layers after it. It is the diagonal of tensor fusion (the
    ``d`` products ``x_1j x_2j`` out of its ``(d + 1)^2``). Inputs of
    different widths (or any inputs, when ``units`` is given) are first
    mapped to a common width by their own affine projection,
    ``z = prod_m (x_m W_m + b_m)``; the width is ``units``, or else the largest
    input width. With projections this is low-rank fusion of rank 1 without
    the appended 1s.

    Args:
        units: the common width, or ``None`` to keep inputs of equal width as
            they are and to project inputs of unequal widths to the largest.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[(batch, d_1), ..., (batch, d_N)]`` with ``N >= 2``, a
        tensor of shape ``(batch, units or max(d_m))``.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1.0, 2.0, 3.0]])
        >>> np.asarray(ProductFusion()([x, x, x]), dtype=float).tolist()
        [[1.0, 8.0, 27.0]]
    """

    def combine(self, tensors):
        product = tensors[0]
        for x in tensors[1:]:
            product = product * x
        return product
