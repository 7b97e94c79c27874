"""Tensor fusion: the outer product of the modalities' vectors, Zadeh et al. (2017)."""

from __future__ import annotations

import math

from keras import ops

from .. import _checks
from .base import Fusion, register

__all__ = ["TensorFusion"]


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
        self.max_dim = _checks.integer("max_dim", max_dim, minimum=1, owner=type(self).__name__)

    def build(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        self.fused_dim([s[-1] for s in shapes])  # refuses a width above max_dim before any call
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
