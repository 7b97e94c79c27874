"""mmtutorial: the companion package of the executable book on multimodal deep learning.

Modules, in the order data flows through them:

* :mod:`mmtutorial.data` -- the synthetic image + caption task and input checks
* :mod:`mmtutorial.encoders` -- one encoder per modality (CNN, LSTM)
* :mod:`mmtutorial.fusion` -- serializable fusion layers (concatenation, gated, tensor,
  low-rank, FiLM, cross-attention) and their registry
* :mod:`mmtutorial.heads` -- prediction heads
* :mod:`mmtutorial.models` -- complete, compiled models
* :mod:`mmtutorial.train` -- seeding, tf.data pipelines, fitting, evaluation
* :mod:`mmtutorial.plots` -- the book's figures
"""

__version__ = "0.1.0"

from . import data, encoders, fusion, heads, models, train, plots  # noqa: E402,F401

__all__ = ["data", "encoders", "fusion", "heads", "models", "train", "plots", "__version__"]
