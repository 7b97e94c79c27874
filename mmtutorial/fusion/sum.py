"""Sum fusion: add the modalities' vectors entry by entry."""

from __future__ import annotations

from ._elementwise import _ElementwiseFusion
from .base import register

__all__ = ["SumFusion"]


@register("sum")
class SumFusion(_ElementwiseFusion):
    """Sum: ``z = x_1 + x_2 + ... + x_N``, the simplest additive fusion.

    Adding is what a linear layer after concatenation does to its input
    blocks, so a sum adds no modelling power over ``"concat"``; it keeps the
    fused vector as narrow as one input, and a reader can compare every other
    fusion against it. Inputs of different widths (or any inputs, when
    ``units`` is given) are first mapped to a common width by their own
    affine projection, ``z = sum_m (x_m W_m + b_m)``; the width is ``units``,
    or else the largest input width.

    Args:
        units: the common width, or ``None`` to keep inputs of equal width as
            they are and to project inputs of unequal widths to the largest.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[(batch, d_1), ..., (batch, d_N)]`` with ``N >= 2``, a
        tensor of shape ``(batch, units or max(d_m))``.

    Example:
        >>> import numpy as np
        >>> np.asarray(SumFusion()([np.ones((1, 3)), 2 * np.ones((1, 3))]), dtype=float).tolist()
        [[3.0, 3.0, 3.0]]
        >>> layer = SumFusion()
        >>> tuple(layer([np.ones((2, 3)), np.ones((2, 5))]).shape), len(layer.kernels)
        ((2, 5), 2)
    """

    def combine(self, tensors):
        total = tensors[0]
        for x in tensors[1:]:
            total = total + x
        return total
