"""Transformers' parts: tokens for every modality, and the block that mixes them.

A transformer reads a sequence of vectors, *tokens*, and knows nothing else
about its input. These layers make tokens out of each modality and mix them:

* :class:`PatchEmbedding` cuts an image into non-overlapping square patches
  and maps each one, flattened, to a token, with a learned position embedding
  per patch (ViT, Dosovitskiy et al., 2021).
* :class:`PositionEmbedding` adds a learned vector per position to word
  tokens, so that attention, which is blind to order, can tell "red left of"
  from "left of red". It passes the padding mask on.
* :class:`ModalityTypeEmbedding` adds one learned vector per modality to each
  token of that modality, so that one sequence can hold image and word tokens
  and the model still tells them apart (ViLT, Kim et al., 2021).
* :class:`TransformerBlock` is one pre-norm encoder block: self-attention and
  an MLP, each behind a LayerNorm and on a residual path; with a causal mask
  and a cross-attention sublayer it is a decoder block too.
* :class:`DropPrefix` removes the first tokens of a sequence (and of its mask):
  a language model that reads a prefix of image tokens before the words
  answers only at the words.

One module per role: :mod:`~mmtutorial.transformer.tokens` (the
embeddings and :class:`DropPrefix`), :mod:`~mmtutorial.transformer.block`
(:class:`TransformerBlock`) and :mod:`~mmtutorial.transformer.masks` (the
checks they share); every name is re-exported here.

The single-stream fusion :class:`~mmtutorial.fusion.TransformerFusion`
(``"transformer"``) stacks these blocks over the tokens of every modality.
"""

from __future__ import annotations

from .block import TransformerBlock
from .masks import check_mask
from .tokens import DropPrefix, ModalityTypeEmbedding, PatchEmbedding, PositionEmbedding

__all__ = [
    "PatchEmbedding",
    "PositionEmbedding",
    "ModalityTypeEmbedding",
    "TransformerBlock",
    "DropPrefix",
    "check_mask",
]
