"""The base of the fusions of token sequences: their masks, checked once for all of them.

:class:`~mmtutorial.fusion.CrossAttentionFusion` and
:class:`~mmtutorial.fusion.TransformerFusion` both take token sequences
(``input_rank`` 3) with the Keras masks that mark their padding; this module
holds what they share. Like :mod:`~mmtutorial.fusion.base`, it registers no
fusion of its own.
"""

from __future__ import annotations

from keras import ops

from .. import _checks
from ..transformer import check_mask
from .base import Fusion, _as_list

__all__ = ["TokenFusion"]


class TokenFusion(Fusion):
    """Base class of the fusions of token sequences (``input_rank`` 3), with their masks.

    A token fusion takes ``[x_1, ..., x_N]``, each ``(batch, tokens,
    features)``, and the Keras masks that come with them (``None`` or a
    boolean ``(batch, tokens)`` per input, True at real tokens, as the text
    encoder's embedding marks padding). It checks both, so that a mask of the
    wrong shape is named instead of failing deep in a matrix product, and
    returns one vector per sample, so it passes no mask on. Subclasses
    implement ``fuse(inputs, masks, training=None)`` and ``fused_dim(dims)``.
    """

    input_rank = 3
    input_kind = "tokens"

    def _shape_hint(self, shapes):
        if shapes and all(len(s) == 2 for s in shapes):
            return (
                " (one vector per sample is too little to attend over: give the image encoder "
                "pooling='tokens' and the text encoder return_sequences=True)"
            )
        return ""

    @classmethod
    def _units_and_heads(cls, units, num_heads):
        """``(units, num_heads)`` as ints, if ``num_heads`` divides ``units``."""
        owner = cls.__name__
        units = _checks.integer("units", units, minimum=1, owner=owner)
        num_heads = _checks.integer("num_heads", num_heads, minimum=1, owner=owner)
        if units % num_heads:
            raise ValueError(
                f"{owner}: num_heads must divide units; received units={units}, num_heads={num_heads}"
            )
        return units, num_heads

    def compute_mask(self, inputs, mask=None):
        return None  # the masks are used up by the fusion; the output is one vector per sample

    def _checked_masks(self, masks, inputs, argument):
        """``masks`` as a list of ``None``-or-bool tensors, one per input and matching it."""
        owner = type(self).__name__
        count = len(inputs)
        if masks is None:
            return [None] * count
        if not isinstance(masks, (list, tuple)) or len(masks) != count:
            raise ValueError(
                f"{owner}: {argument} must be None or a list of {count} masks (None or boolean "
                f"(batch, length)), one per input; received {masks!r}"
            )
        return [
            check_mask(mask, x, f"{argument}[{index}]", owner=owner, like=f"input {index}")
            for index, (mask, x) in enumerate(zip(masks, inputs))
        ]

    def _inputs(self, inputs):
        """``inputs`` as a checked list of tensors in the compute dtype; builds the layer if needed."""
        inputs = [ops.convert_to_tensor(x, dtype=self.compute_dtype) for x in _as_list(inputs)]
        self._check_shapes([tuple(x.shape) for x in inputs])
        if not self.built:
            self.build([tuple(x.shape) for x in inputs])
        return inputs

    def call(self, inputs, mask=None, training=None):
        inputs = self._inputs(inputs)
        return self.fuse(inputs, self._checked_masks(mask, inputs, "mask"), training=training)

    def fuse(self, inputs, masks=None, training=None):  # pragma: no cover - abstract
        raise NotImplementedError
