"""Keras's own layer harness, ``keras.src.testing.TestCase.run_layer_test``, over every fusion.

The harness is what Keras runs on its merging layers: a config and
serialization round trip (``dir()`` of the revived layer included), ``build``
on shapes, a symbolic call, an eager call, a compiled training step
(``jit_compile="auto"``, so XLA on TensorFlow), and a ``mixed_float16`` layer
whose output must have the dtype of its ``compute_output_spec`` and whose
variables must stay float32. It complements ``test_contract.py`` with Keras's
view of the same contract. ``keras.src.testing`` is not public API; should
Keras move it, this file is the one to update.
"""

from absl.testing import parameterized
from keras.src import testing as keras_testing  # private, so pinned by requirements-lock.txt

from mmtutorial import fusion, heads, transformer
from mmtutorial.models import relational_layers

BATCH = 2

# name -> (init_kwargs, input shapes, output shape, trainable weights, seed generators).
# The shapes are a tuple, as in Keras's merging_test.py: the harness's training step feeds the
# inputs through tf.data, whose output_signature accepts tuples but not lists.
CASES = {
    "concat": ({}, ((BATCH, 3), (BATCH, 5)), (BATCH, 8), 0, 0),
    "gated": ({"units": 4}, ((BATCH, 3), (BATCH, 5)), (BATCH, 4), 6, 0),  # W_m, b_m per input; V, c
    "tensor": ({"max_dim": 100}, ((BATCH, 3), (BATCH, 5)), (BATCH, 24), 0, 0),
    "low_rank": (
        {"units": 4, "rank": 2},
        ((BATCH, 3), (BATCH, 5)),
        (BATCH, 4),
        2,
        0,
    ),  # one factor per input
    "film": ({"conditioned": 1}, ((BATCH, 3), (BATCH, 5)), (BATCH, 5), 4, 0),
    # Widths 3 and 5 differ, so each input gets its own projection (kernel and bias) to 6.
    "sum": ({"units": 6}, ((BATCH, 3), (BATCH, 5)), (BATCH, 6), 4, 0),
    "product": ({}, ((BATCH, 3), (BATCH, 5)), (BATCH, 5), 4, 0),
    "late": ({"mode": "product"}, ((BATCH, 4), (BATCH, 4)), (BATCH, 4), 0, 0),
    # Two projections, 2 x 4 attention projections, 2 LayerNorms: 12 kernels and biases or
    # gammas and betas; one dropout (one seed generator) per direction.
    "cross_attention": (
        {"units": 8, "num_heads": 2, "dropout": 0.1},
        ((BATCH, 4, 3), (BATCH, 6, 5)),
        (BATCH, 16),
        24,
        2,
    ),
    # Two projections (kernel, bias), the type embeddings, the class token, one block (two
    # LayerNorms, four attention projections, two MLP layers: 16) and the final LayerNorm; the
    # block's attention dropout and residual dropout hold one seed generator each.
    "transformer": (
        {"units": 8, "layers": 1, "num_heads": 2, "mlp_units": 12, "dropout": 0.1},
        ((BATCH, 4, 3), (BATCH, 6, 5)),
        (BATCH, 8),
        24,
        2,
    ),
    # The spatial fusions: a feature map and its text in, a feature map out.
    "spatial_tile": ({}, ((BATCH, 4, 4, 3), (BATCH, 5)), (BATCH, 4, 4, 8), 0, 0),
    "spatial_film": ({}, ((BATCH, 4, 4, 3), (BATCH, 5)), (BATCH, 4, 4, 3), 4, 0),
    # Query, key, value and output projections, each a kernel and a bias.
    "pixel_word_attention": (
        {"units": 8, "num_heads": 2},
        ((BATCH, 4, 4, 3), (BATCH, 6, 5)),
        (BATCH, 4, 4, 3),
        8,
        0,
    ),
}


def test_every_registered_fusion_has_a_harness_case():
    assert sorted(CASES) == fusion.available()


def run_harness(case, cls, init_kwargs, shapes, output_shape, trainable, seeds):
    """Keras's ``run_layer_test`` on ``cls``: float32 outputs (one per modality where the expected
    output is a tuple of shapes), no non-trainable weights, no losses, a training step and mixed
    precision."""
    several = isinstance(output_shape[0], tuple)  # one output per modality
    case.run_layer_test(
        cls,
        init_kwargs=init_kwargs,
        input_shape=shapes,
        expected_output_shape=output_shape,
        expected_output_dtype=("float32",) * len(output_shape) if several else "float32",
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=seeds,
        expected_num_losses=0,
        run_training_check=True,
        run_mixed_precision_check=True,
    )


class FusionHarnessTest(keras_testing.TestCase):
    @parameterized.named_parameters(*[(name, name) for name in sorted(CASES)])
    def test_run_layer_test(self, name):
        run_harness(self, fusion.registered(name), *CASES[name])


# The package's other layers, through the same harness. The encoders are built from Keras's own
# layers only (Conv2D, Embedding, LSTM, ...), so they have none of their own to test here.
# name -> (class, init_kwargs, input shapes, expected output shape, trainable weights, seeds).
OTHER_LAYERS = {
    "ResumableDropout": (
        heads.ResumableDropout,
        {"rate": 0.5, "seed": 1},
        (BATCH, 6),
        (BATCH, 6),
        0,
        1,
    ),
    "SimilarityLogits": (
        heads.SimilarityLogits,
        {"temperature": 0.1, "learnable": True},
        ((BATCH, 4), (BATCH, 4)),
        (BATCH, BATCH),
        1,
        0,
    ),
    "ModalityDropout": (
        fusion.ModalityDropout,
        {"rate": 0.5, "fill_values": [None, [0.5]], "seed": 2},
        ((BATCH, 3), (BATCH, 5)),
        ((BATCH, 3), (BATCH, 5)),
        0,
        1,
    ),
    # The relational models' layers: pairs of objects with a question, and a map as objects.
    "RelationNetwork": (
        relational_layers.RelationNetwork,
        {"units": (4, 3), "reduction": "sum"},
        ((BATCH, 5, 3), (BATCH, 2)),
        (BATCH, 3),
        4,  # the first layer's kernel and bias, then the second's
        0,
    ),
    "CellObjects": (relational_layers.CellObjects, {}, (BATCH, 3, 4, 5), (BATCH, 12, 7), 0, 0),
    "PatchEmbedding": (
        transformer.PatchEmbedding,
        {"patch_size": 2, "units": 5},
        (BATCH, 4, 6, 3),
        (BATCH, 6, 5),
        3,  # kernel, bias, one position embedding per patch
        0,
    ),
    "PositionEmbedding": (
        transformer.PositionEmbedding,
        {"max_length": 7},
        (BATCH, 5, 4),
        (BATCH, 5, 4),
        1,
        0,
    ),
    "ModalityTypeEmbedding": (
        transformer.ModalityTypeEmbedding,
        {"num_modalities": 2},
        ((BATCH, 3, 4), (BATCH, 5, 4)),
        ((BATCH, 3, 4), (BATCH, 5, 4)),
        1,
        0,
    ),
    # Two LayerNorms, four attention projections and two MLP layers, each with two weights.
    "TransformerBlock": (
        transformer.TransformerBlock,
        {"num_heads": 2, "mlp_units": 6, "dropout": 0.1, "causal": True},
        (BATCH, 5, 4),
        (BATCH, 5, 4),
        16,
        2,
    ),
    "DropPrefix": (transformer.DropPrefix, {"length": 2}, (BATCH, 5, 4), (BATCH, 3, 4), 0, 0),
}


class OtherLayersHarnessTest(keras_testing.TestCase):
    @parameterized.named_parameters(*[(name, name) for name in sorted(OTHER_LAYERS)])
    def test_run_layer_test(self, name):
        run_harness(self, *OTHER_LAYERS[name])
