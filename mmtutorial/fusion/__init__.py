"""Fusion: Keras layers that merge one input per modality into one vector.

Every :class:`Fusion` takes a list of tensors, one per modality, and returns one
rank-2 tensor ``(batch, d)``. Each is a ``keras.layers.Layer`` subclass of
:class:`Fusion` with a complete ``get_config``, registered for safe
``.keras`` serialization, and listed in a registry so that a model can name
its fusion by a string. A fusion's ``input_rank`` says what it takes: 2 for
one vector per modality ``(batch, features)``, 3 for token sequences
``(batch, tokens, features)``. One module per fusion:

* ``"concat"`` (:class:`ConcatFusion`, :mod:`~mmtutorial.fusion.concat`):
  ``[x_1; x_2; ...]``, no weights.
* ``"sum"`` and ``"product"`` (:class:`SumFusion`, :class:`ProductFusion`,
  :mod:`~mmtutorial.fusion.sum`, :mod:`~mmtutorial.fusion.product`):
  ``x_1 + x_2 + ...`` and ``x_1 * x_2 * ...`` entry by entry, each input first
  projected to a common width when the widths differ.
* ``"gated"`` (:class:`GatedFusion`, :mod:`~mmtutorial.fusion.gated`): a gated
  multimodal unit; learned, per-sample gates decide how much of each modality
  to pass on (``single_gate=True``: the paper's bimodal unit, one sigmoid gate).
* ``"tensor"`` (:class:`TensorFusion`, :mod:`~mmtutorial.fusion.tensor`): the
  outer product of ``[x_m; 1]``, every product of features across 2 or 3
  modalities, no weights.
* ``"low_rank"`` (:class:`LowRankFusion`, :mod:`~mmtutorial.fusion.low_rank`):
  tensor fusion followed by a linear map whose weight tensor has low rank,
  computed without the outer product.
* ``"film"`` (:class:`FiLMFusion`, :mod:`~mmtutorial.fusion.film`): one
  modality scales and shifts the features of the other.
* ``"cross_attention"`` (:class:`CrossAttentionFusion`,
  :mod:`~mmtutorial.fusion.attention`): a fusion of token sequences
  (``input_rank`` 3); each modality's tokens attend to the other's, then both
  are pooled.
* ``"transformer"`` (:class:`TransformerFusion`,
  :mod:`~mmtutorial.fusion.single_stream`): the other fusion of token
  sequences; a learned class token and the tokens of every modality, each
  with a modality-type embedding, in one sequence through a stack of pre-norm
  transformer blocks (single-stream, as in ViLT); the class token comes out.
* ``"late"`` (:class:`LateFusion`, :mod:`~mmtutorial.fusion.late`): combines
  class probabilities, one per modality, by a product of experts or a mean;
  a model builder puts a head in front of it for each modality (its
  ``fuses_predictions`` is True). :func:`product_of_experts` is the same rule
  in NumPy, for models trained apart.

The base class and the registry (:func:`register`, :func:`get`,
:func:`available`, :func:`registered`) live in :mod:`~mmtutorial.fusion.base`, which imports none
of the fusions; :class:`TokenFusion` (:mod:`~mmtutorial.fusion._tokens`), the
base of the two token fusions, checks their masks. :class:`ModalityDropout` (:mod:`~mmtutorial.fusion.dropout`)
is not a fusion but goes in front of one: during training it blanks out a
whole modality of some samples, so that the model copes when one is missing.

* ``"spatial_tile"``, ``"spatial_film"`` and ``"pixel_word_attention"``
  (:class:`SpatialTile`, :class:`SpatialFiLM`, :class:`PixelWordAttention`,
  :mod:`~mmtutorial.fusion.spatial`): they condition a feature map on text,
  for a segmenter; they take tensors of two ranks, so they are not
  :class:`Fusion` subclasses.

Every registered layer declares its ``input_kind`` (:data:`INPUT_KINDS`):
``"vectors"``, ``"tokens"``, ``"map_and_vector"`` or ``"map_and_words"``;
model builders read it (:func:`registered` gives the class without building
it) instead of comparing names, and ``available(kinds=...)`` lists the names
of some kinds only.

>>> from mmtutorial import fusion
>>> fusion.available(kinds=("vectors", "tokens"))  # doctest: +NORMALIZE_WHITESPACE
['concat', 'cross_attention', 'film', 'gated', 'late', 'low_rank', 'product', 'sum',
 'tensor', 'transformer']
>>> fusion.available(kinds=fusion.SPATIAL_KINDS)
['pixel_word_attention', 'spatial_film', 'spatial_tile']
>>> layer = fusion.get("gated", units=32)
>>> layer.input_kind, fusion.get("cross_attention").input_kind
('vectors', 'tokens')

To add a fusion, subclass :class:`Fusion` in a module of its own, decorate it
with ``@fusion.register("name")`` and import that module here.
"""

from __future__ import annotations

from ._tokens import TokenFusion
from .attention import CrossAttentionFusion
from .base import INPUT_KINDS, SPATIAL_KINDS, Fusion, available, get, register, registered
from .concat import ConcatFusion
from .dropout import ModalityDropout
from .film import FiLMFusion
from .gated import GatedFusion
from .late import LateFusion, product_of_experts
from .low_rank import LowRankFusion
from .product import ProductFusion
from .single_stream import TransformerFusion
from .spatial import PixelWordAttention, SpatialFiLM, SpatialFusion, SpatialTile
from .sum import SumFusion
from .tensor import TensorFusion

__all__ = [
    "Fusion",
    "TokenFusion",
    "ConcatFusion",
    "SumFusion",
    "ProductFusion",
    "GatedFusion",
    "TensorFusion",
    "LowRankFusion",
    "FiLMFusion",
    "CrossAttentionFusion",
    "TransformerFusion",
    "LateFusion",
    "ModalityDropout",
    "register",
    "get",
    "available",
    "product_of_experts",
    "SpatialFusion",
    "SpatialTile",
    "SpatialFiLM",
    "PixelWordAttention",
    "registered",
    "INPUT_KINDS",
    "SPATIAL_KINDS",
]
