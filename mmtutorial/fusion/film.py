"""FiLM fusion: feature-wise linear modulation, Perez et al. (2018)."""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks
from .base import _WeightedFusion, register

__all__ = ["FiLMFusion"]


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
        if not (_checks.is_integer(conditioned) and conditioned in (0, 1)):
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
        self.gamma_bias = self.add_weight(
            shape=(modulated,), initializer="zeros", name="gamma_bias"
        )
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
