"""Training: seeding, checked ``tf.data`` pipelines, fitting, evaluation and embeddings.

The helpers here check every batch of inputs against the model before
anything is built (:func:`mmtutorial.data.check_features`), so a mistake meets
a message that names it instead of an error from deep inside TensorFlow.

One module per role: :mod:`.pipeline` (seeding, checked datasets, the one
decision about progress output), :mod:`.fitting` (:func:`fit`,
:class:`EpochTimer`), :mod:`.inference` (:func:`predict`, :func:`evaluate`,
:func:`absent_value`, :func:`embed_images`, :func:`embed_texts`). Every public
name is importable from ``mmtutorial.train``.
"""

from __future__ import annotations

# Re-exported: their home is mmtutorial.metrics, and chapters and readers call them from here.
from ..metrics import f_scores, match_ranks, recall_at_k

# model_spec lives with the models, whose segmenter checks its inputs with it too.
from ..models.base import model_spec
from .fitting import EpochTimer, fit
from .inference import absent_value, embed_images, embed_texts, evaluate, predict
from .pipeline import (
    QUIET_VARIABLE,
    make_dataset,
    progress_verbosity,
    quiet_retracing,
    set_seed,
)

__all__ = [
    "set_seed",
    "model_spec",
    "make_dataset",
    "fit",
    "predict",
    "evaluate",
    "absent_value",
    "EpochTimer",
    "progress_verbosity",
    "quiet_retracing",
    "QUIET_VARIABLE",
    "embed_images",
    "embed_texts",
    "match_ranks",
    "recall_at_k",
    "f_scores",
]
