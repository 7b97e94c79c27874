"""Training helpers: determinism, pipelines, checks that fire before anything changes."""

import keras
import numpy as np
import pytest
from conftest import model_for, weights_of

import mmtutorial as mt


def _fit_once(task, split, seed):
    mt.train.set_seed(seed)
    model = model_for(task)
    history = mt.train.fit(model, split, split, epochs=1, batch_size=16, seed=seed)
    return model, history


def test_same_seed_gives_identical_weights_and_metrics(task, small):
    a, ha = _fit_once(task, small, seed=1)
    b, hb = _fit_once(task, small, seed=1)
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(wa, wb)
    assert ha.history == hb.history


def _traced_fit(task, split, monkeypatch=None):
    """A seeded one-epoch fit; returns the model and how often Keras traced ``train_step``."""
    mt.train.set_seed(3)
    model = model_for(task)
    traces = []
    step = model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)
    mt.train.fit(model, split, epochs=2, batch_size=16, seed=3)
    return model, len(traces)


def test_fit_traces_the_training_step_once_and_changes_no_weight(task, small, monkeypatch):
    # mt.train.fit creates the optimizer's and metrics' variables first, so
    # tf.function traces train_step once; left to Keras (the patched run),
    # the step is traced again after the first trace created them.
    built, once = _traced_fit(task, small)
    monkeypatch.setattr(mt.train.fitting, "_build_before_tracing", lambda *args: None)
    plain, twice = _traced_fit(task, small)
    assert once == 1
    assert twice >= 1
    for a, b in zip(weights_of(built), weights_of(plain)):
        np.testing.assert_array_equal(a, b)


def test_another_seed_gives_other_weights(task, small):
    a, _ = _fit_once(task, small, seed=1)
    c, _ = _fit_once(task, small, seed=2)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(weights_of(a), weights_of(c)))


def test_fit_returns_the_history_of_every_metric(task, small):
    _, history = _fit_once(task, small, seed=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 1


def test_epoch_timer_times_every_epoch_after_the_first(task, small):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )
    timer = mt.train.EpochTimer()
    mt.train.fit(model, small, epochs=3, batch_size=16, seed=0, callbacks=[timer])
    assert len(timer.seconds) == 2 and all(s > 0 for s in timer.seconds)
    # A new fit starts a new list; one epoch leaves it empty (it only traces).
    mt.train.fit(model, small, epochs=1, batch_size=16, seed=0, callbacks=[timer])
    assert timer.seconds == []


def test_a_short_fit_learns_the_text_half_of_the_label(task):
    split = task.generate(1200, seed=3)
    mt.train.set_seed(0)
    model = model_for(task, modalities=("text",))
    before = mt.train.evaluate(model, split)
    mt.train.fit(model, split, epochs=3, batch_size=32)
    after = mt.train.evaluate(model, split)
    # Knowing the material is worth up to 3x chance (0.133 vs 0.048).
    assert after > 0.10 and after > before


def test_make_dataset_batches_and_keeps_only_the_models_inputs(task, small):
    model = model_for(task, modalities=("text",))
    dataset = mt.train.make_dataset(small.features, small.labels, batch_size=10, model=model)
    features, labels = next(iter(dataset))
    assert (
        set(features) == {"text"} and features["text"].shape == (10, 12) and labels.shape == (10,)
    )
    assert sum(1 for _ in dataset) == 7  # 64 samples in batches of 10


def test_shuffling_is_reproducible_and_differs_between_epochs(small):
    def order(seed):
        ds = mt.train.make_dataset(
            {"text": small.tokens}, small.labels, batch_size=64, shuffle=True, seed=seed
        )
        return [next(iter(ds))[1].numpy().tolist() for _ in range(2)]

    first, second = order(5)
    assert order(5) == [first, second]
    assert first != second and sorted(first) == sorted(small.labels.tolist())


def test_predict_and_evaluate_agree_with_keras(task, small, fused):
    probabilities = mt.train.predict(fused, small)
    keras_probabilities = fused.predict(small.features, verbose=0)
    np.testing.assert_allclose(probabilities, keras_probabilities, rtol=1e-5, atol=1e-6)
    expected = np.mean(keras_probabilities.argmax(1) == small.labels)
    assert mt.train.evaluate(fused, small) == pytest.approx(expected)
    assert mt.train.evaluate(fused, (small.features, small.labels)) == pytest.approx(expected)


BAD_INPUTS = [
    (
        "image rank",
        lambda s: {"image": s.images[0], "text": s.tokens},
        r"features\['image'\] must have rank 4",
    ),
    (
        "channel count",
        lambda s: {"image": s.images[..., :1], "text": s.tokens},
        "wrong channel count",
    ),
    (
        "text not ids",
        lambda s: {"image": s.images, "text": s.tokens + 0.5},
        "must be integer token ids",
    ),
    (
        "ids beyond the vocabulary",
        lambda s: {"image": s.images, "text": s.tokens + 40},
        r"token ids must lie in \[0, \d+\)",
    ),
    (
        "batch sizes",
        lambda s: {"image": s.images[:10], "text": s.tokens[:12]},
        "different batch sizes",
    ),
    (
        "NaN pixels",
        lambda s: {"image": np.where(s.images > 0.9, np.nan, s.images), "text": s.tokens},
        "NaN or infinite",
    ),
]


@pytest.mark.parametrize("what, change, match", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_fit_rejects_bad_input_before_touching_the_model(small, fused, what, change, match):
    before = weights_of(fused)
    features = change(small)
    labels = small.labels[: len(features["image"])]
    with pytest.raises(ValueError, match=match):
        mt.train.fit(fused, (features, labels), epochs=1)
    for a, b in zip(before, weights_of(fused)):
        np.testing.assert_array_equal(a, b)


def test_fit_rejects_one_hot_and_out_of_range_labels(small, fused):
    with pytest.raises(ValueError, match=r"integer class ids \(not one-hot\)"):
        mt.train.fit(fused, (small.features, np.eye(21)[small.labels]), epochs=1)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 21\)"):
        mt.train.fit(fused, (small.features, small.labels + 21), epochs=1)


def test_predict_rejects_mismatched_batches(small, fused):
    with pytest.raises(ValueError, match=r"different batch sizes: \{'image': 8, 'text': 9\}"):
        mt.train.predict(fused, {"image": small.images[:8], "text": small.tokens[:9]})


def test_keras_itself_rejects_mismatched_batches_with_a_clear_message(small, fused):
    # Users who bypass the helpers still get a message that names the sizes.
    with pytest.raises(ValueError, match="(?i)different batch sizes|cardinality"):
        fused({"image": small.images[:8], "text": small.tokens[:9]})


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, s: mt.train.fit(m, s, epochs=0), "epochs must be an integer >= 1; received 0"),
        (lambda m, s: mt.train.fit(m, s.features), "train needs labels"),
        (lambda m, s: mt.train.fit(m, s, s.features), "validation needs labels"),
        (
            lambda m, s: mt.train.fit(m, [1, 2, 3]),
            "expected a Split, a \\(features, labels\\) pair",
        ),
        (
            lambda m, s: mt.train.make_dataset(s.features, batch_size=0),
            "batch_size must be an integer >= 1; received 0",
        ),
        (lambda m, s: mt.train.set_seed(-1), "seed must be an integer >= 0; received -1"),
        (lambda m, s: mt.train.evaluate(m, s.features), "evaluate needs labels"),
    ],
)
def test_helpers_name_bad_arguments(small, fused, call, match):
    with pytest.raises(ValueError, match=match):
        call(fused, small)


def test_model_spec_reads_what_the_model_expects(task, fused):
    spec = mt.train.model_spec(fused)
    assert spec.pop("inputs") == {"image": ((32, 32, 3), "float32"), "text": ((12,), "int32")}
    assert spec == {
        "keys": ("image", "text"),
        "image_shape": (32, 32, 3),
        "sequence_length": 12,
        "vocab_size": task.vocab_size,
        "num_classes": 21,
    }


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(task, small, tmp_path):
    """Checkpoint after epoch 2 to a .keras file, load it back, finish: same weights as one run."""
    import keras

    def build():
        mt.train.set_seed(0)
        return mt.models.build_classifier(
            task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
        )

    straight = build()
    mt.train.fit(straight, small, epochs=4, batch_size=16, seed=3)

    interrupted = build()
    path = str(tmp_path / "checkpoint.keras")
    mt.train.fit(
        interrupted,
        small,
        epochs=2,
        batch_size=16,
        seed=3,
        callbacks=[keras.callbacks.ModelCheckpoint(path)],
    )
    del interrupted
    resumed = keras.saving.load_model(path)
    mt.train.fit(resumed, small, epochs=4, initial_epoch=2, batch_size=16, seed=3)
    for a, b in zip(weights_of(straight), weights_of(resumed)):
        np.testing.assert_array_equal(a, b)


def test_every_epoch_visits_every_sample_once_in_a_new_order(small):
    checked = {"text": small.tokens}
    dataset, steps = mt.train.pipeline._epoch_batches(
        checked, small.labels, batch_size=64, seed=1, first_epoch=0, epochs=3
    )
    epochs = [labels.numpy().tolist() for _, labels in dataset]
    assert steps == 1 and len(epochs) == 3
    assert all(sorted(e) == sorted(small.labels.tolist()) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    again, _ = mt.train.pipeline._epoch_batches(
        checked, small.labels, batch_size=64, seed=1, first_epoch=2, epochs=3
    )
    assert [labels.numpy().tolist() for _, labels in again] == epochs[2:]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"epochs": 2, "initial_epoch": 2},
            "initial_epoch must be smaller than epochs; received initial_epoch=2, epochs=2",
        ),
        ({"epochs": 2, "initial_epoch": -1}, "initial_epoch must be an integer >= 0; received -1"),
        ({"epochs": 2, "batch_size": 0}, "batch_size must be an integer >= 1; received 0"),
    ],
)
def test_fit_checks_its_schedule(small, fused, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mt.train.fit(fused, small, **kwargs)


def test_models_of_other_modalities_get_their_inputs_checked(task):
    """assemble_classifier joins any encoders; fit checks each input against its encoder."""
    import keras

    signal = keras.Sequential(
        [keras.Input((16, 1)), keras.layers.Conv1D(4, 3), keras.layers.GlobalAveragePooling1D()]
    )
    text = mt.encoders.text_encoder(task.vocab_size, task.sequence_length)
    model = mt.models.assemble_classifier({"range": signal, "text": text}, num_classes=3)
    assert mt.models.input_keys(model) == ("range", "text")
    rng = np.random.default_rng(0)
    features = {
        "range": rng.random((20, 16, 1)).astype("float32"),
        "text": np.ones((20, 12), "int32"),
    }
    labels = rng.integers(0, 3, 20)
    mt.train.fit(model, (features, labels), epochs=1)
    bad = dict(features, range=np.where(features["range"] > 0.5, np.inf, features["range"]))
    with pytest.raises(ValueError, match=r"features\['range'\] contains .* NaN or infinite"):
        mt.train.fit(model, (bad, labels), epochs=1)
    with pytest.raises(
        ValueError,
        match=r"features\['range'\] must have shape \(batch, 16, 1\); received shape \(20, 16\)",
    ):
        mt.train.fit(model, (dict(features, range=features["range"][..., 0]), labels), epochs=1)


def test_predict_returns_every_named_output_of_a_feature_extractor(task, small):
    image, text = (
        keras.Input(task.image_shape, name="image"),
        keras.Input((task.sequence_length,), dtype="int32", name="text"),
    )
    image_encoder = mt.encoders.image_encoder(task.image_shape, pooling="avg")
    text_encoder = mt.encoders.text_encoder(
        task.vocab_size, task.sequence_length, units=8, return_sequences=True
    )
    extractor = keras.Model(
        [image, text], {"pooled": image_encoder(image), "states": text_encoder(text)}
    )
    got = mt.train.predict(extractor, small, batch_size=7)
    assert mt.train.model_spec(extractor)["num_classes"] is None
    assert set(got) == {"pooled", "states"}
    want = extractor.predict([small.images, small.tokens], verbose=0)
    for name in got:
        np.testing.assert_allclose(got[name], want[name], atol=1e-6)


class _Shell:
    """Stands in for the IPython shell of a Jupyter kernel."""


@pytest.fixture
def in_jupyter(monkeypatch):
    """Run as a reader in Jupyter would: an IPython shell, and MMTUTORIAL_QUIET unset."""
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: _Shell())
    monkeypatch.delenv("MMTUTORIAL_QUIET", raising=False)


def test_progress_shows_in_jupyter_and_nowhere_else(monkeypatch, in_jupyter):
    assert mt.train.progress_verbosity() == 2
    monkeypatch.setenv("MMTUTORIAL_QUIET", "1")  # the book's build and the tests
    assert mt.train.progress_verbosity() == 0
    monkeypatch.setenv("MMTUTORIAL_QUIET", "0")
    assert mt.train.progress_verbosity() == 2
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # a plain script
    assert mt.train.progress_verbosity() == 0


def test_fit_prints_a_line_per_epoch_for_a_reader_and_nothing_under_the_build(
    monkeypatch, capsys, in_jupyter, small, fused
):
    mt.train.fit(fused, small, epochs=2, batch_size=32)
    shown = capsys.readouterr().out
    assert "Epoch 1/2" in shown and "Epoch 2/2" in shown and "loss:" in shown, shown
    monkeypatch.setenv("MMTUTORIAL_QUIET", "1")
    mt.train.fit(fused, small, epochs=2, batch_size=32)
    assert capsys.readouterr().out == ""
