"""Training on several replicas with tf.distribute matches training on one device.

Two logical CPU devices must be configured before TensorFlow first touches
its devices, which this test process did long ago; the two-replica case runs
in a fresh interpreter.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf
from conftest import model_for

import mmtutorial as mt

TWO_REPLICAS = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import numpy as np
    import mmtutorial as mt

    task = mt.data.ShapeMaterialTask()
    train = task.generate(512, seed=1)
    test = task.generate(256, seed=2)
    options = dict(image_filters=(8, 16, 16), embedding_dim=16, text_units=16,
                   hidden_units=32, dropout=0.0, learning_rate=3e-3)

    def run(strategy):
        mt.train.set_seed(0)
        model = mt.models.build_classifier(
            task.image_shape, task.vocab_size, task.sequence_length, task.num_classes,
            strategy=strategy, **options)
        untrained = mt.train.predict(model, test)
        history = mt.train.fit(model, train, epochs=3, batch_size=64, strategy=strategy)
        trained = mt.train.predict(model, test)
        return model, history.history["loss"], trained, float(np.max(np.abs(trained - untrained)))

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    _, one_loss, one_probabilities, moved = run(None)
    model, two_loss, two_probabilities, _ = run(mirrored)
    try:
        mt.train.fit(model, train, epochs=1, batch_size=63, strategy=mirrored)
        uneven = None
    except ValueError as error:
        uneven = str(error)
    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "one_loss": one_loss,
        "two_loss": two_loss,
        "largest_probability_gap": float(np.max(np.abs(one_probabilities - two_probabilities))),
        "largest_probability_change_by_training": moved,
        "uneven": uneven,
    }))
    """
)


@pytest.fixture(scope="module")
def two_replicas():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", TWO_REPLICAS],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_replicas_train_like_one_device_on_the_same_global_batch(two_replicas):
    assert two_replicas["replicas"] == 2
    # Training must have moved the predictions, or agreeing would prove nothing.
    moved = two_replicas["largest_probability_change_by_training"]
    assert moved > 0.01 and moved > 1000 * two_replicas["largest_probability_gap"]
    # The replicas sum per-replica gradients in another order than one device
    # sums its batch, so the runs agree to float32 round-off, not bit for bit
    # (measured: 3e-8 in the probabilities after 24 steps): within 1e-5 in
    # each epoch's loss and 1e-4 in every predicted probability.
    for one, two in zip(two_replicas["one_loss"], two_replicas["two_loss"], strict=True):
        assert abs(one - two) < 1e-5, (two_replicas["one_loss"], two_replicas["two_loss"])
    assert two_replicas["largest_probability_gap"] < 1e-4


def test_a_global_batch_that_does_not_split_over_the_replicas_is_refused(two_replicas):
    message = two_replicas["uneven"]
    assert message is not None and "batch_size=63" in message and "2 replicas" in message


def test_a_model_built_outside_the_strategy_is_refused(task, small):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with pytest.raises(ValueError, match="not built under this OneDeviceStrategy"):
        mt.train.fit(model, small, epochs=1, strategy=strategy)


@pytest.mark.parametrize("where", ["fit", "build"])
def test_a_strategy_that_is_not_one_is_refused(task, small, fused, where):
    with pytest.raises(ValueError, match="strategy must be a tf.distribute.Strategy.*'mirrored'"):
        if where == "fit":
            mt.train.fit(fused, small, epochs=1, strategy="mirrored")
        else:
            model_for(
                task,
                strategy="mirrored",
            )


def test_a_model_built_under_a_strategy_trains_with_it_and_records_it(task, small):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, strategy=strategy
    )
    assert model.distribute_strategy is strategy
    history = mt.train.fit(model, small, epochs=1, strategy=strategy)
    assert len(history.history["loss"]) == 1
