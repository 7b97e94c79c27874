"""Concatenation fusion: put the modalities' vectors side by side."""

from __future__ import annotations

from keras import ops

from .base import Fusion, register

__all__ = ["ConcatFusion"]


@register("concat")
class ConcatFusion(Fusion):
    """Concatenation: ``z = [f_1; f_2; ...]``, the article's fusion done right.

    The output width is the sum of the input widths, ``d = d_1 + d_2 + ...``.
    It has no weights: whatever interaction the modalities need is left to the
    layers after it.

    Returns:
        Called on ``[(batch, d_1), ..., (batch, d_N)]`` with ``N >= 2``, a
        tensor of shape ``(batch, d_1 + ... + d_N)``.

    Example:
        >>> import numpy as np
        >>> tuple(ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape)
        (2, 7)
    """

    def fuse(self, inputs):
        return ops.concatenate(inputs, axis=-1)

    def fused_dim(self, dims):
        return sum(dims)
