"""Fusion: Keras layers that merge one input per modality into one vector.

Every fusion layer takes a list of tensors, one per modality, and returns one
rank-2 tensor ``(batch, d)``. Each is a ``keras.layers.Layer`` subclass of
:class:`Fusion` with a complete ``get_config``, registered for safe
``.keras`` serialization, and listed in a registry so that a model can name
its fusion by a string. A fusion's ``input_rank`` says what it takes: 2 for
one vector per modality ``(batch, features)``, 3 for token sequences
``(batch, tokens, features)``. One module per fusion:

* ``"concat"`` (:class:`ConcatFusion`, :mod:`~mmtutorial.fusion.concat`):
  ``[x_1; x_2; ...]``, no weights.
* ``"gated"`` (:class:`GatedFusion`, :mod:`~mmtutorial.fusion.gated`): a gated
  multimodal unit; learned, per-sample gates decide how much of each modality
  to pass on.
* ``"tensor"`` (:class:`TensorFusion`, :mod:`~mmtutorial.fusion.tensor`): the
  outer product of ``[x_m; 1]``, every product of features across 2 or 3
  modalities, no weights.
* ``"low_rank"`` (:class:`LowRankFusion`, :mod:`~mmtutorial.fusion.low_rank`):
  tensor fusion followed by a linear map whose weight tensor has low rank,
  computed without the outer product.
* ``"film"`` (:class:`FiLMFusion`, :mod:`~mmtutorial.fusion.film`): one
  modality scales and shifts the features of the other.
* ``"cross_attention"`` (:class:`CrossAttentionFusion`,
  :mod:`~mmtutorial.fusion.attention`): the only fusion with ``input_rank``
  3; each modality's tokens attend to the other's, then both are pooled.

The base class and the registry (:func:`register`, :func:`get`,
:func:`available`) live in :mod:`~mmtutorial.fusion.base`, which imports none
of the fusions. Late fusion, which combines the predictions of separate
models instead of their features, is :func:`product_of_experts`
(:mod:`~mmtutorial.fusion.late`); it is a function on probabilities, not a
layer, so it is not in the registry.

The spatial fusions of :mod:`~mmtutorial.fusion.spatial` (:class:`SpatialTile`,
:class:`SpatialFiLM`, :class:`PixelWordAttention`) condition a feature map on
text for a segmenter; they take tensors of two ranks, so they have their own
lookup (:func:`get_spatial`, :func:`available_spatial`) instead of the registry.

>>> from mmtutorial import fusion
>>> fusion.available()
['concat', 'cross_attention', 'film', 'gated', 'low_rank', 'tensor']
>>> layer = fusion.get("gated", units=32)
>>> layer.input_rank, fusion.get("cross_attention").input_rank
(2, 3)

To add a fusion, subclass :class:`Fusion` in a module of its own, decorate it
with ``@fusion.register("name")`` and import that module here.
"""

from __future__ import annotations

from .attention import CrossAttentionFusion
from .base import Fusion, available, get, register
from .concat import ConcatFusion
from .film import FiLMFusion
from .gated import GatedFusion
from .late import product_of_experts
from .low_rank import LowRankFusion
from .spatial import (
    PixelWordAttention,
    SpatialFiLM,
    SpatialFusion,
    SpatialTile,
    available_spatial,
    get_spatial,
)
from .tensor import TensorFusion

__all__ = [
    "Fusion",
    "ConcatFusion",
    "GatedFusion",
    "TensorFusion",
    "LowRankFusion",
    "FiLMFusion",
    "CrossAttentionFusion",
    "register",
    "get",
    "available",
    "product_of_experts",
    "SpatialFusion",
    "SpatialTile",
    "SpatialFiLM",
    "PixelWordAttention",
    "get_spatial",
    "available_spatial",
]
