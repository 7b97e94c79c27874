"""The benchmark's FLOP count, its JSON schema, and the Performance page's renderer.

Speeds are never asserted here (they are what the benchmark reports); these
tests check that its counting is right and that its output is complete.
"""

import importlib.util
import json
import pathlib

import keras
import pytest
import tensorflow as tf

import benchmarks
import mmtutorial as mt
from benchmarks import run
from benchmarks.flops import layer_forward_flops, model_flops

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def profiled_forward_flops(model, input_shape):
    """FLOPs of one forward pass as TensorFlow's own profiler counts them on the traced graph."""
    spec = tf.TensorSpec((1, *input_shape), tf.float32)
    graph = tf.function(lambda x: model(x)).get_concrete_function(spec).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def test_the_hand_count_of_convolutions_and_dense_layers_matches_tensorflows_profiler():
    # No biases and no activations: the profiler then counts the matrix products alone.
    model = keras.Sequential(
        [
            keras.Input((12, 10, 3)),
            keras.layers.Conv2D(8, 3, use_bias=False),
            keras.layers.Conv2D(4, (3, 2), strides=2, use_bias=False),
            keras.layers.Flatten(),
            keras.layers.Dense(7, use_bias=False),
        ]
    )
    counted = sum(layer_forward_flops(layer) for layer in model.layers)
    assert counted == profiled_forward_flops(model, (12, 10, 3))


def test_an_lstm_costs_four_gate_products_per_step():
    inputs = keras.Input((5, 6))
    lstm = keras.layers.LSTM(4)
    keras.Model(inputs, lstm(inputs))
    # per step: the input (6) and the previous state (4) times four gates of 4 units
    assert layer_forward_flops(lstm) == 5 * 2 * (4 * 4) * (6 + 4)


def test_the_first_layer_on_the_data_needs_no_input_gradient():
    task = mt.data.ShapeMaterialTask()
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )
    flops = model_flops(model)
    layers = flops["layers"]
    assert set(layers) == {"conv1", "conv2", "conv3", "lstm", "hidden", "probabilities"}
    assert flops["forward"] == sum(layers.values())
    # conv1 reads the image: forward and weight gradient only. The LSTM reads a
    # trainable embedding, so it needs its input gradient like every later layer.
    assert flops["train_step"] == 3 * flops["forward"] - layers["conv1"]


def test_the_keys_are_the_ones_the_issue_fixed():
    # Spelled out here, not imported: readers' scripts depend on these names.
    assert benchmarks.KEYS == (
        "naive_samples_per_s",
        "pipeline_samples_per_s",
        "train_step_flops_per_s",
        "matmul_flops_per_s",
        "chapter_seconds",
        "book_seconds",
        "import_overhead_s",
        "cold_build_s",
        "warm_build_s",
        "device",
    )


def test_a_tiny_quick_run_writes_every_key(tmp_path, capsys):
    path = tmp_path / "out.json"
    figures = run.main(["--quick", "--samples", "256", "--json", str(path)])
    written = json.loads(path.read_text())
    assert tuple(written) == benchmarks.KEYS
    assert written == figures
    assert written["pipeline_samples_per_s"] > 0 and written["naive_samples_per_s"] > 0
    assert 0 < written["train_step_flops_per_s"] and 0 < written["matmul_flops_per_s"]
    assert written["cold_build_s"] is None and written["warm_build_s"] is None
    assert written["device"].startswith(("CPU: ", "GPU: "))
    printed = capsys.readouterr().out
    assert "training step, achieved" in printed and written["device"] in printed


def load_renderer():
    spec = importlib.util.spec_from_file_location(
        "benchmark_table", ROOT / "book" / "_ext" / "benchmark_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_results_have_every_key_the_page_renders():
    files = sorted(RESULTS.glob("*.json"))
    assert files, "benchmarks/results/ holds no run for the Performance page"
    renderer = load_renderer()
    assert renderer.KEYS is benchmarks.KEYS
    for path in files:
        figures = json.loads(path.read_text())
        assert tuple(figures) == benchmarks.KEYS, path.name
        assert figures["chapter_seconds"], f"{path.name}: no chapter times"
        rows = dict(renderer.headline_rows(figures))
        ratio = figures["pipeline_samples_per_s"] / figures["naive_samples_per_s"]
        assert rows["Pipeline over the article's pattern"] == f"{ratio:.2f}x"


def test_the_renderer_names_a_file_that_lacks_a_key(tmp_path):
    renderer = load_renderer()
    (tmp_path / "machine.json").write_text(json.dumps({"device": "CPU"}))
    with pytest.raises(Exception, match=r"machine\.json lacks the keys \['naive_samples_per_s'"):
        renderer.load(tmp_path)
