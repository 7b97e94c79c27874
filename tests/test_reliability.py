"""Reliability: every kind of model the book builds survives a safe save/load, and runs repeat.

The unit tests of each module check its own pieces; this file checks the promises
the book makes about *all* of its models at once:

* every model the chapters build loads back from a ``.keras`` file with
  ``keras.saving.load_model`` in safe mode (no Lambda layers, every custom
  layer registered) and predicts exactly what it predicted before saving;
* the same seed gives identical metrics twice;
* the chapters build no model through a function these tests do not cover.

The table of every bad input and fault the suite tries, with what a user sees,
is in README.md ("Bad input and what you see").
"""

import json
import pathlib
import re

import keras
import numpy as np
import pytest

import mmtutorial as mt

ROOT = pathlib.Path(__file__).resolve().parents[1]
COVERED_BUILDERS = {
    "build_classifier",
    "assemble_classifier",
    "build_dual_encoder",
    "build_segmenter",
    # Its round trip is in tests/test_transformer.py, with the layers it is made of.
    "build_vilt_classifier",
    # Its round trip (logits, greedy and beam ids) is in tests/test_captioner.py.
    "build_captioner",
    # Their round trips (logits, and the prefix captioner's greedy and beam ids)
    # are in tests/test_captioner.py too.
    "build_caption_language_model",
    "build_prefix_captioner",
}


def _roundtrip(model, features, tmp_path):
    before = np.asarray(model.predict(features, verbose=0))
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # safe_mode=True is the default
    after = np.asarray(restored.predict(features, verbose=0))
    np.testing.assert_array_equal(after, before)
    assert [w.shape for w in restored.get_weights()] == [w.shape for w in model.get_weights()]


CLASSIFIER_OPTIONS = [
    {},
    {"modalities": ("image",)},
    {"modalities": ("text",)},
    {"image_pooling": "avg"},
    {"image_pooling": "max", "image_projection": 32},
    {"embedding_dim": 32, "text_units": 32},
    {"fusion": "sum"},
    {"fusion": "product", "fusion_config": {"units": 32}},
    {"fusion": "late"},
    {"fusion": "late", "fusion_config": {"mode": "mean"}},
    {"fusion": "gated", "fusion_config": {"single_gate": True}},
    {"modality_dropout": 0.3},
]


@pytest.mark.parametrize(
    "options", CLASSIFIER_OPTIONS, ids=[str(o) or "default" for o in CLASSIFIER_OPTIONS]
)
def test_every_classifier_variant_survives_a_safe_roundtrip(task, small, tmp_path, options):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, **options
    )
    mt.train.fit(model, small, epochs=1, batch_size=16)  # trained weights and optimizer state too
    keys = mt.models.input_keys(model)
    _roundtrip(model, {k: small.features[k] for k in keys}, tmp_path)


def _encoder_for(key, values, vocab_size):
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        return mt.encoders.text_encoder(
            vocab_size, values.shape[1], embedding_dim=16, units=16, name=f"{key}_encoder"
        )
    if values.ndim == 4:
        return mt.encoders.image_encoder(
            values.shape[1:], filters=(8, 8, 8), pooling="avg", name=f"{key}_encoder"
        )
    if values.ndim == 3:
        return mt.encoders.signal_encoder(values.shape[1:], filters=(8, 8), name=f"{key}_encoder")
    raise AssertionError(f"no encoder for {key!r} with shape {values.shape}")


APPLICATION_TASKS = [
    name
    for name in ("SpokenWordTask", "DrivingSceneTask", "ScanReportTask")
    if hasattr(mt.data, name)
]


@pytest.mark.parametrize("task_name", APPLICATION_TASKS)
def test_assembled_models_of_every_application_survive_a_safe_roundtrip(task_name, tmp_path):
    application = getattr(mt.data, task_name)()
    split = application.generate(32, seed=0)
    vocab_size = getattr(application, "vocab_size", None)
    encoders = {
        key: _encoder_for(key, values, vocab_size) for key, values in split.features.items()
    }
    mt.train.set_seed(0)
    model = mt.models.assemble_classifier(encoders, num_classes=application.num_classes)
    mt.train.fit(model, (split.features, split.labels), epochs=1, batch_size=16)
    _roundtrip(model, split.features, tmp_path)


def test_the_dual_encoder_survives_a_safe_roundtrip(task, small, tmp_path):
    mt.train.set_seed(0)
    model = mt.models.build_dual_encoder(task.image_shape, task.vocab_size, task.sequence_length)
    _roundtrip(model, small.features, tmp_path)


@pytest.mark.parametrize("fusion", [None, "cross_attention"])
def test_the_segmenter_survives_a_safe_roundtrip(fusion, tmp_path):
    task = mt.data.segmentation.SceneSegmentationTask(image_size=16)
    split = task.generate(16, seed=2)
    mt.train.set_seed(0)
    model = mt.models.build_segmenter(
        task.image_shape, task.vocab_size, task.sequence_length, 21, fusion=fusion, filters=(4, 8)
    )
    model.fit(split, epochs=1, batch_size=8, verbose=0)
    keys = ["image", "text"] if fusion else ["image"]
    _roundtrip(model, {key: split.features[key] for key in keys}, tmp_path)


def test_the_book_builds_models_only_through_covered_builders():
    used = set()
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                used |= set(
                    re.findall(r"\bmodels\.(build_\w+|assemble_\w+)\(", "".join(cell["source"]))
                )
    assert used, "no chapter builds a model through mmtutorial.models?"
    assert used <= COVERED_BUILDERS, (
        f"chapters use builders without a round-trip test: {sorted(used - COVERED_BUILDERS)}"
    )


def test_the_same_seed_gives_identical_metrics_twice(task):
    # Three batches an epoch and two epochs: each epoch's own order, the validation and the
    # evaluation must all repeat (more samples would test nothing more).
    split = task.generate(96, seed=4)

    def run():
        mt.train.set_seed(5)
        model = mt.models.build_classifier(
            task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
        )
        history = mt.train.fit(model, split, split, epochs=2, batch_size=32, seed=5)
        return history.history, mt.train.evaluate(model, split)

    assert run() == run()
