"""Models: encoders + fusion + head, assembled and compiled, one module per task.

As keras-hub lays out its models, each task family has a module of its own;
every name is re-exported here, so ``mt.models.build_captioner`` and the
like work whatever module holds them.

* :mod:`~mmtutorial.models.base` -- what every builder shares: options over
  defaults, a ``tf.distribute`` strategy, the classifiers' compile,
  :func:`input_keys`, :func:`model_spec` (what a model expects of its
  inputs) and :func:`parameter_counts`;
* :mod:`~mmtutorial.models.classification` -- :func:`build_classifier` (the
  source article's architecture with its defects fixed, and its unimodal
  baselines), :func:`assemble_classifier` (any encoders) and
  :func:`build_vilt_classifier` (one transformer over patches and words);
* :mod:`~mmtutorial.models.retrieval` -- :func:`build_dual_encoder`, CLIP-style;
* :mod:`~mmtutorial.models.segmentation` -- :func:`build_segmenter` and its
  :class:`Segmenter`;
* :mod:`~mmtutorial.models.captioning` -- :func:`build_captioner`,
  :func:`build_caption_language_model`, :func:`build_prefix_captioner` and
  :func:`caption_loss`;
* :mod:`~mmtutorial.models.decoding` -- :func:`greedy_decode` and
  :func:`beam_search`, which write captions with any captioner;
* :mod:`~mmtutorial.models.relational` -- the Sort-of-CLEVR models (Relation
  Networks and their baselines), with their layers in
  :mod:`~mmtutorial.models.relational_layers`; also reachable as
  :mod:`mmtutorial.relational`.
"""

from __future__ import annotations

from . import relational
from .base import input_keys, model_spec, parameter_counts
from .captioning import (
    build_caption_language_model,
    build_captioner,
    build_prefix_captioner,
    caption_loss,
)
from .classification import (
    MODALITIES,
    assemble_classifier,
    build_classifier,
    build_vilt_classifier,
)
from .decoding import beam_search, greedy_decode
from .relational import *  # noqa: F403  (the layers, the builders and BUILDERS)
from .retrieval import build_dual_encoder
from .segmentation import Segmenter, build_segmenter

__all__ = [
    "MODALITIES",
    "assemble_classifier",
    "build_classifier",
    "input_keys",
    "build_vilt_classifier",
    "build_dual_encoder",
    "Segmenter",
    "build_segmenter",
    "build_captioner",
    "caption_loss",
    "greedy_decode",
    "beam_search",
    "build_caption_language_model",
    "build_prefix_captioner",
    "parameter_counts",
    "model_spec",
    "relational",
    *relational.__all__,
]
