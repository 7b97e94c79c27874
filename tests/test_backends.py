"""The layers and models on a second Keras backend: JAX, in a subprocess, as Keras's CI runs per backend.

The backend is fixed when Keras is first imported, so each check starts a
fresh Python with ``KERAS_BACKEND=jax``. Backend-neutral, by design: the
fusion layers, the heads' layers and the models (all written with
``keras.ops``). TensorFlow-only, and so not run here: tf.distribute (the
``strategy=`` of the builders and of ``mt.train.fit``). ``mt.train.fit``
feeds a ``tf.data`` pipeline, which Keras accepts on every backend, so one
small fit on JAX checks that too.

``make test`` runs a representative subset (:data:`SUBSET`: a vector fusion
with weights, a token-level fusion with masks and dropout, a layer with seed
generators, and one fit of the token-level path); ``make test-backends``
(``MMTUTORIAL_BACKENDS_ALL=1``) runs every layer and every fit (slow: each
layer compiles anew on JAX).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import mmtutorial as mt

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.backends

pytest.importorskip("jax", reason="the test extra installs jax[cpu] for the backend checks")

ALL = bool(os.environ.get("MMTUTORIAL_BACKENDS_ALL"))
# The representative subset: fusions (harness and contract), other layers, and the fusions fitted.
SUBSET = {
    "fusions": ("gated", "cross_attention"),
    "other_layers": ("ModalityDropout",),
    "fitted": ("cross_attention",),
}
FITTED = ("gated", "late", "cross_attention") if ALL else SUBSET["fitted"]


def _run_on_jax(args, timeout=900):
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "JAX_PLATFORMS": "cpu",
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _selection(fusions, other_layers):
    """A ``-k`` expression for the harness and contract tests of these layers (and the bookkeeping)."""
    names = [f"test_run_layer_test_{name}" for name in (*fusions, *other_layers)]
    names += [f"layer_contract[{name}]" for name in fusions]
    return " or ".join([*names, "has_a_harness_case"])


def test_the_subset_names_layers_that_exist():
    spec = importlib.util.spec_from_file_location(
        "harness", ROOT / "tests" / "fusion" / "test_keras_harness.py"
    )
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    assert set(SUBSET["fusions"]) <= set(mt.fusion.available())
    assert set(SUBSET["fitted"]) <= set(mt.fusion.available())
    assert set(SUBSET["other_layers"]) <= set(harness.OTHER_LAYERS)
    # No name in the subset is a prefix of another layer's, so -k selects exactly these.
    names = [*mt.fusion.available(), *harness.OTHER_LAYERS]
    for chosen in (*SUBSET["fusions"], *SUBSET["other_layers"]):
        assert [name for name in names if name.startswith(chosen)] == [chosen]


def test_every_layer_passes_the_keras_harness_and_the_contract_on_jax():
    files = ["tests/fusion/test_keras_harness.py", "tests/fusion/test_contract.py"]
    spec = importlib.util.spec_from_file_location("harness", ROOT / files[0])
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    fusions = mt.fusion.available() if ALL else SUBSET["fusions"]
    other_layers = list(harness.OTHER_LAYERS) if ALL else SUBSET["other_layers"]
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *files]
    if not ALL:
        args += ["-k", _selection(fusions, other_layers)]
    result = _run_on_jax(args)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    # Each chosen fusion twice (harness and contract), each chosen other layer once, and the
    # bookkeeping test: nothing was skipped on the way, and nothing else was selected.
    expected = 2 * len(fusions) + len(other_layers) + 1
    assert passed == expected and "skipped" not in summary, summary


def test_a_classifier_trains_on_jax_from_a_tf_data_pipeline_and_reloads(tmp_path):
    script = textwrap.dedent(
        f"""
        import keras
        import numpy as np
        import mmtutorial as mt

        assert keras.backend.backend() == "jax", keras.backend.backend()
        task = mt.data.ShapeMaterialTask()
        train, test = task.generate(256, seed=1), task.generate(64, seed=2)
        for fusion in {FITTED!r}:
            keras.utils.set_random_seed(0)
            model = mt.models.build_classifier(
                task.image_shape, task.vocab_size, task.sequence_length, task.num_classes,
                fusion=fusion, image_filters=(8, 8, 8), embedding_dim=8, text_units=8,
                hidden_units=16, modality_dropout=0.2,
            )
            history = mt.train.fit(model, train, epochs=2, batch_size=32, seed=0)
            losses = history.history["loss"]
            assert np.isfinite(losses).all() and losses[-1] < losses[0], (fusion, losses)
            before = mt.train.predict(model, test)
            path = r"{tmp_path}" + f"/{{fusion}}.keras"
            model.save(path)
            after = mt.train.predict(keras.saving.load_model(path, safe_mode=True), test)
            np.testing.assert_array_equal(after, before)
            print(fusion, "ok", losses)
        """
    )
    result = _run_on_jax(["-c", script], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count(" ok ") == len(FITTED), result.stdout
