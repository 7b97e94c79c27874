"""The shared base of the element-wise fusions, sum and product."""

from __future__ import annotations

from keras import ops

from .. import _checks
from .base import _WeightedFusion

__all__ = []


class _ElementwiseFusion(_WeightedFusion):
    """A fusion that combines inputs of one width entry by entry (sum, product).

    Inputs of equal widths are combined as they are. When the widths differ,
    or when ``units`` is given, each input first goes through its own affine
    projection ``x_m W_m + b_m`` to a common width: ``units`` if given, else
    the largest input width. Subclasses implement ``combine(tensors)`` on the
    list of equally wide tensors.
    """

    def __init__(self, units=None, **kwargs):
        super().__init__(**kwargs)
        if units is not None:
            units = _checks.integer("units", units, minimum=1, owner=type(self).__name__)
        self.units = units

    def _width(self, dims):
        if self.units is not None:
            return self.units
        return max(dims)

    def _projects(self, dims):
        return self.units is not None or len(set(dims)) > 1

    def create_weights(self, dims):
        self.kernels, self.biases = [], []
        if not self._projects(dims):
            return
        width = self._width(dims)
        for m, d in enumerate(dims):
            self.kernels.append(
                self.add_weight(shape=(d, width), initializer="glorot_uniform", name=f"kernel_{m}")
            )
            self.biases.append(
                self.add_weight(shape=(width,), initializer="zeros", name=f"bias_{m}")
            )

    def projected(self, inputs):
        """The inputs as the layer combines them: projected if the widths differ, else as they are."""
        if not self.kernels:
            return list(inputs)
        return [ops.matmul(x, w) + b for x, w, b in zip(inputs, self.kernels, self.biases)]

    def fuse(self, inputs):
        return self.combine(self.projected(inputs))

    def fused_dim(self, dims):
        return self._width(dims)

    def combine(self, tensors):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "units": self.units}
