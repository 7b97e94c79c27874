"""Low-rank multimodal fusion: tensor fusion with a low-rank weight, Liu et al. (2018)."""

from __future__ import annotations

from keras import ops

from .. import _checks
from .base import _WeightedFusion, register

__all__ = ["LowRankFusion"]


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
        owner = type(self).__name__
        self.units = _checks.integer("units", units, minimum=1, owner=owner)
        self.rank = _checks.integer("rank", rank, minimum=1, owner=owner)

    def create_weights(self, dims):
        self.factors = [
            self.add_weight(
                shape=(d + 1, self.rank * self.units),
                initializer="glorot_uniform",
                name=f"factor_{m}",
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
