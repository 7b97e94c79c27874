"""Gated fusion: the gated multimodal unit (GMU) of Arevalo et al. (2017)."""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks
from .base import _as_list, _WeightedFusion, register

__all__ = ["GatedFusion"]


@register("gated")
class GatedFusion(_WeightedFusion):
    """Gated multimodal unit: per-sample gates mix one hidden vector per modality.

    Each modality gets its own hidden vector ``h_m = tanh(W_m x_m + b_m)``
    (``units`` wide). Gate logits for modality ``m`` come from all inputs at
    once, ``a_m = V_m [x_1; ...; x_N] + c_m``, and a softmax across the ``N``
    modalities, one per unit, turns them into gates ``g_m`` that sum to 1. The
    output is ``z = sum_m g_m * h_m``. This generalises the bimodal GMU of
    Arevalo et al. (2017), ``z = g * h_1 + (1 - g) * h_2`` with
    ``g = sigmoid(a_1 - a_2)``, to any number of modalities: for ``N = 2`` the
    softmax of ``(a_1, a_2)`` is exactly ``(g, 1 - g)``. :meth:`gates` returns
    the gates, to see which modality the model relies on for each sample.

    ``single_gate=True`` builds the paper's bimodal unit itself, for exactly
    two modalities: one gate ``g = sigmoid(V [x_1; x_2] + c)`` and
    ``z = g * h_1 + (1 - g) * h_2``. It computes the same family of functions
    as the default with half the gate weights (the softmax form learns
    ``a_1`` and ``a_2`` where only their difference matters).

    Args:
        units: width of the hidden vectors and of the output (>= 1).
        activation: the name of the Keras activation applied to ``h_m``
            (``"tanh"`` as in the paper; ``"relu"``, ``"linear"``, ...).
        single_gate: ``True`` for the bimodal unit with one sigmoid gate
            (two inputs only); ``False`` (the default) for a softmax gate per
            modality, which takes any number of inputs.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[(batch, d_1), ..., (batch, d_N)]`` with ``N >= 2``, a
        tensor of shape ``(batch, units)``.

    Example:
        >>> import numpy as np
        >>> layer = GatedFusion(units=8)
        >>> inputs = [np.ones((2, 3)), np.zeros((2, 5))]
        >>> tuple(layer(inputs).shape), tuple(layer.gates(inputs).shape)
        ((2, 8), (2, 2, 8))
    """

    def __init__(self, units=64, activation="tanh", single_gate=False, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = _checks.integer("units", units, minimum=1, owner=owner)
        self.single_gate = _checks.boolean("single_gate", single_gate, owner=owner)
        if self.single_gate:
            self.max_inputs = 2  # the bimodal unit; the softmax form takes any number
        message = (
            f"{owner}: activation must be the name of a Keras activation such as 'tanh' or "
            f"'relu'; received {activation!r}"
        )
        if not isinstance(activation, str):
            raise ValueError(message)
        try:
            self._activation = keras.activations.get(activation)
        except ValueError:
            raise ValueError(message) from None
        self.activation = activation

    def create_weights(self, dims):
        n = len(dims)
        self.kernels = [
            self.add_weight(shape=(d, self.units), initializer="glorot_uniform", name=f"kernel_{m}")
            for m, d in enumerate(dims)
        ]
        self.biases = [
            self.add_weight(shape=(self.units,), initializer="zeros", name=f"bias_{m}")
            for m in range(n)
        ]
        # V_1 ... V_N side by side: column block m holds modality m's gate logits
        # (one block only for the single sigmoid gate).
        blocks = 1 if self.single_gate else n
        self.gate_kernel = self.add_weight(
            shape=(sum(dims), blocks * self.units), initializer="glorot_uniform", name="gate_kernel"
        )
        self.gate_bias = self.add_weight(
            shape=(blocks * self.units,), initializer="zeros", name="gate_bias"
        )

    def _gates(self, inputs):
        logits = ops.matmul(ops.concatenate(inputs, axis=-1), self.gate_kernel) + self.gate_bias
        if self.single_gate:
            gate = ops.sigmoid(logits)
            return ops.stack([gate, 1.0 - gate], axis=1)
        logits = ops.reshape(logits, (-1, len(inputs), self.units))
        return ops.softmax(logits, axis=1)

    def fuse(self, inputs):
        hidden = ops.stack(
            [
                self._activation(ops.matmul(x, w) + b)
                for x, w, b in zip(inputs, self.kernels, self.biases)
            ],
            axis=1,
        )
        return ops.sum(self._gates(inputs) * hidden, axis=1)

    def gates(self, inputs):
        """The gates ``g`` for ``inputs``, with the layer's current weights.

        Builds the layer first if it has not been called yet.

        Args:
            inputs: the list the layer takes, ``[(batch, d_1), ..., (batch, d_N)]``.

        Returns:
            A tensor of shape ``(batch, N, units)``: ``[i, m, u]`` is the share
            of modality ``m`` in unit ``u`` of sample ``i``; it sums to 1 over
            ``m``. ``keras.ops.convert_to_numpy`` turns it into an array for plots.
        """
        inputs = [ops.cast(ops.convert_to_tensor(x), self.compute_dtype) for x in _as_list(inputs)]
        if not self.built:
            self.build([tuple(x.shape) for x in inputs])
        return self._gates(self._checked(inputs))

    def fused_dim(self, dims):
        return self.units

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "single_gate": self.single_gate,
        }
