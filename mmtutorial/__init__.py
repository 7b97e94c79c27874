"""mmtutorial: the companion package of the executable book on multimodal deep learning.

Modules, in the order data flows through them:

* :mod:`mmtutorial.data` -- the synthetic image + caption task and input checks, and the
  per-pixel segmentation tasks
* :mod:`mmtutorial.encoders` -- one encoder per modality (CNN, LSTM)
* :mod:`mmtutorial.transformer` -- tokens for every modality (image patches, word
  positions, modality types) and the pre-norm transformer block
* :mod:`mmtutorial.fusion` -- serializable fusion layers (concatenation, gated, tensor,
  low-rank, FiLM, cross-attention, a single-stream transformer) and their registry; the
  spatial fusions of a segmenter
* :mod:`mmtutorial.heads` -- prediction heads
* :mod:`mmtutorial.models` -- complete, compiled models (classifiers, dual encoders,
  segmenters)
* :mod:`mmtutorial.relational` -- Relation Networks and their baselines (CNN + MLP,
  FiLM), over pixels or a state description, for Sort-of-CLEVR
* :mod:`mmtutorial.metrics` -- accuracy with its standard error, multi-label F-scores,
  retrieval recall@k, segmentation IoU, from plain arrays
* :mod:`mmtutorial.train` -- seeding, tf.data pipelines, fitting, evaluation
* :mod:`mmtutorial.plots` -- the book's figures
* :mod:`mmtutorial.notebook` -- what chapters show besides figures: package source,
  error messages, Markdown tables, numbers glued into the prose
"""

from . import (
    data,
    encoders,
    experiments,
    fusion,
    heads,
    metrics,
    models,
    notebook,
    plots,
    relational,
    train,
    transformer,
)

__version__ = "0.1.0"

# ``source`` lived in ``plots`` before ``notebook`` existed; chapters and readers still call
# ``mt.plots.source``. It is set here because ``plots`` comes before ``notebook``.
plots.source = notebook.source

# In the order data flows through the stages; tests/test_architecture.py reads it as that order.
__all__ = [
    "data",
    "encoders",
    "transformer",
    "fusion",
    "heads",
    "models",
    "relational",
    "metrics",
    "train",
    "plots",
    "notebook",
    "experiments",
    "__version__",
]
