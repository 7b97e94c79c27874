"""Every fusion whose definition allows it takes three modalities, in a model that trains."""

import keras
import numpy as np
import pytest

import mmtutorial as mt

# name -> fusion_config, for the fusions of one vector per modality; FiLM (one input
# conditions one other) and cross-attention (two sequences read each other) are defined for
# two modalities, so they are left out. The transformer fusion takes token sequences; its
# three-modality case is in tests/test_transformer.py.
THREE_WAY = {
    "concat": {},
    "sum": {},
    "product": {"units": 8},
    "gated": {"units": 8},
    "tensor": {"max_dim": 2000},
    "low_rank": {"units": 8, "rank": 2},
    "late": {},
}


def test_the_list_is_every_fusion_that_takes_three_inputs():
    takes_three = {
        name
        for name in mt.fusion.available(kinds="vectors")
        if (mt.fusion.get(name).max_inputs or 3) >= 3
    }
    assert takes_three == set(THREE_WAY)


@pytest.mark.parametrize("name", sorted(THREE_WAY))
def test_a_three_modality_model_trains_and_learns(name):
    """Three noisy views of a 3-class label; any working fusion beats chance after training."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=600)
    widths = {"a": 4, "b": 6, "c": 3}
    features = {
        key: (np.eye(3)[labels] @ rng.normal(size=(3, d)) + 0.8 * rng.normal(size=(600, d))).astype(
            "float32"
        )
        for key, d in widths.items()
    }
    mt.train.set_seed(0)
    model = mt.models.assemble_classifier(
        {
            k: keras.Sequential([keras.Input((d,)), keras.layers.Identity()])
            for k, d in widths.items()
        },
        3,
        fusion=name,
        fusion_config=THREE_WAY[name],
        hidden_units=16,
        dropout=0.0,
        learning_rate=0.01,
    )
    fusion_layers = [lyr for lyr in model.layers if isinstance(lyr, mt.fusion.Fusion)]
    assert len(fusion_layers) == 1 and len(fusion_layers[0].input) == 3
    history = mt.train.fit(model, (features, labels), epochs=8, batch_size=32, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert mt.train.evaluate(model, (features, labels)) > 0.6
