"""python -m mmtutorial.experiments.sort_of_clevr: the --quick run writes a model and a log that
load back unchanged, the scores count every kind of question, bad names are refused, and the
shipped networks load in safe mode, stay small, and score on fresh scenes what their logs say."""

import json
import pathlib

import keras
import numpy as np
import pytest
from conftest import shipped_log

import mmtutorial as mt
from mmtutorial.data.sort_of_clevr import SortOfClevrTask
from mmtutorial.experiments import sort_of_clevr as experiments

NAMES = list(experiments.EXPERIMENTS)
FRESH = 4242  # scenes no model trained on
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fresh():
    return SortOfClevrTask().generate(1500, seed=FRESH)


def test_a_quick_run_writes_files_that_load_back_with_identical_predictions(tmp_path, fresh):
    name = "sort_of_clevr_cnn_rn"
    record = experiments.main(["--quick", "--only", name, "--output", str(tmp_path)])[name]
    assert record["quick"] and record["settings"]["train"] == experiments.QUICK["train"]
    model, log = mt.experiments.load(name, folder=tmp_path)
    assert log == json.loads((tmp_path / f"{name}.json").read_text())
    again = keras.saving.load_model(tmp_path / f"{name}.keras", safe_mode=True)
    inputs = experiments.inputs_of(model, fresh.take(np.arange(16)))
    np.testing.assert_array_equal(
        model.predict(inputs, verbose=0), again.predict(inputs, verbose=0)
    )


def test_the_settings_reach_the_model_and_the_budget_stops_before_an_overrun(tmp_path):
    name = "sort_of_clevr_state_rn"
    argv = ["--quick", "--only", name, "--output", str(tmp_path), "--epochs", "3"]
    argv += ["--g-units", "8,6", "--f-units", "5", "--reduction", "mean"]
    argv += ["--questions-per-scene", "4", "--minutes", "0.0001", "--learning-rate", "0.01"]
    record = experiments.main(argv)[name]
    settings = record["settings"]
    assert settings["model"] == {"g_units": [8, 6], "f_units": [5], "reduction": "mean"}
    assert settings["questions_per_scene"] == 4 and settings["learning_rate"] == 0.01
    model, log = mt.experiments.load(name, folder=tmp_path)
    relation = model.get_layer("relation")
    assert relation.units == (8, 6) and relation.reduction == "mean"
    assert model.get_layer("f_0").units == 5
    # one epoch took longer than the budget, so no second one started
    assert log["stopped"] == "budget" and log["epochs_run"] == 1
    history = log["history"]
    assert history["questions_seen"] == [experiments.QUICK["train"]]
    assert len(history["seconds"]) == len(history["val_relational"]) == 1
    assert "TensorFlow threads" in log["machine"]


def test_the_kept_weights_are_the_best_validation_epochs(tmp_path):
    name = "sort_of_clevr_state_mlp"
    argv = ["--quick", "--only", name, "--output", str(tmp_path), "--epochs", "4"]
    record = experiments.main([*argv, "--patience", "4", "--learning-rate", "0.03"])[name]
    assert record["stopped"] == "epochs" and record["epochs_run"] == 4
    history, kept = record["history"], record["kept_epoch"]
    means = (np.array(history["val_relational"]) + history["val_non_relational"]) / 2
    assert kept == int(np.argmax(means)) + 1
    model, _ = mt.experiments.load(name, folder=tmp_path)
    validation = experiments.splits_of(SortOfClevrTask(), record["settings"])["validation"]
    rows = experiments.scores(model, validation)
    assert round(rows["relational"]["accuracy"], 5) == history["val_relational"][kept - 1]
    assert round(rows["non-relational"]["accuracy"], 5) == history["val_non_relational"][kept - 1]


@pytest.mark.parametrize(
    ("epochs", "elapsed", "last", "since_best", "reason"),
    [
        (40, 10.0, 1.0, 0, "epochs"),
        (3, 10.0, 1.0, 4, "patience"),
        (3, 60 * 33 - 100, 101.0, 0, "budget"),
        (3, 60 * 33 - 100, 99.0, 3, None),
    ],
)
def test_training_stops_for_the_first_reason_that_holds(epochs, elapsed, last, since_best, reason):
    settings = experiments.EXPERIMENTS["sort_of_clevr_state_rn"]
    assert (settings["epochs"], settings["patience"], settings["minutes"]) == (40, 4, 33)
    assert experiments._stop_reason(settings, epochs, elapsed, last, since_best) == reason


def test_the_reference_regime_builds_the_reference_pixel_network(tmp_path):
    name = "sort_of_clevr_cnn_rn"
    argv = ["--quick", "--only", name, "--output", str(tmp_path), "--reference"]
    record = experiments.main(argv)[name]
    settings = record["settings"]
    assert settings["regime"] == "reference" and settings["questions_per_scene"] == 20
    assert settings["train"] == experiments.QUICK["train"]  # --quick still shrinks it
    model, _ = mt.experiments.load(name, folder=tmp_path)
    assert model.get_layer("relation").units == (256, 256, 256, 256)
    assert model.get_layer("relation").reduction == "sum"
    assert type(model.get_layer("norm_0")).__name__ == "BatchNormalization"
    assert [model.get_layer(f"f_{i}").units for i in range(2)] == [256, 256]


def test_bad_settings_are_named(tmp_path):
    out = ["--output", str(tmp_path)]
    with pytest.raises(ValueError, match=r"--reference .*needs --only sort_of_clevr_cnn_rn"):
        experiments.main(["--quick", "--reference", *out])
    with pytest.raises(ValueError, match=r"TensorFlow has already started"):
        experiments.main(["--quick", "--threads", "1", *out])
    with pytest.raises(ValueError, match=r"--threads must be a positive integer; received 0"):
        experiments.main(["--quick", "--threads", "0", *out])
    with pytest.raises(ValueError, match=r"builder 'state_mlp' takes no \['g_units'\]"):
        experiments.main(["--quick", "--only", "sort_of_clevr_state_mlp", "--g-units", "4", *out])
    with pytest.raises(SystemExit):  # not positive widths
        experiments.main(["--quick", "--units", "4,0", *out])
    with pytest.raises(SystemExit):  # changed settings would overwrite the shipped models
        experiments.main(["--only", "sort_of_clevr_state_mlp", "--minutes", "1"])


def test_scores_count_every_kind_of_question(fresh):
    rows = experiments.scores_of_predictions(fresh.labels, fresh)
    assert all(row["accuracy"] == 1.0 for row in rows.values())
    assert rows["all"]["questions"] == len(fresh)
    assert rows["relational"]["questions"] + rows["non-relational"]["questions"] == len(fresh)


def test_bad_names_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"name must be one of .*received 'nope'"):
        experiments.run("nope", tmp_path)
    with pytest.raises(SystemExit):
        experiments.main(["--quick"])  # would overwrite the shipped models


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_network_is_small_and_logged(name):
    log = shipped_log(name, experiments)
    epochs = log["epochs_run"]
    assert 1 <= epochs <= log["settings"]["epochs"]
    assert log["questions_seen"] == epochs * log["settings"]["train"]
    for key in ("loss", "val_loss", "val_non_relational", "val_relational"):
        assert len(log["history"][key]) == epochs, key
    budget = 60 * log["settings"]["minutes"]
    if "stopped" not in log:
        # The first rule: training stopped at the first epoch past the budget, or at the last.
        assert log["seconds"] > budget or epochs == log["settings"]["epochs"]
    else:
        # Stopped before an epoch that would overrun, by patience, or at the last epoch.
        history = log["history"]
        assert history["questions_seen"] == [
            log["settings"]["train"] * (i + 1) for i in range(epochs)
        ]
        seconds = [0.0, *history["seconds"]]
        reason = experiments._stop_reason(
            log["settings"],
            epochs,
            seconds[-1],
            seconds[-1] - seconds[-2],
            epochs - log["kept_epoch"],
        )
        assert reason == log["stopped"] and 1 <= log["kept_epoch"] <= epochs
    assert log["machine"] and log["test_scores"]["all"]["questions"] == log["settings"]["test"]


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_network_scores_what_its_log_says_on_fresh_scenes(name, fresh):
    model, log = mt.experiments.load(name)
    rows = experiments.scores(model, fresh)
    for kind in ("non-relational", "relational"):
        here, there = rows[kind], log["test_scores"][kind]
        spread = np.hypot(here["stderr"], there["stderr"])
        assert abs(here["accuracy"] - there["accuracy"]) < 4 * spread + 1e-9, (kind, here, there)


def test_the_shipped_state_networks_keep_the_chapters_claims():
    # The chapter's claims on a fresh sample smaller than its own: each holds within three
    # standard errors of this sample (one false alarm in about 700 draws where it holds).
    test = SortOfClevrTask().generate(3000, seed=FRESH, images=False)
    rn, mlp = (
        experiments.scores(mt.experiments.load(f"sort_of_clevr_state_{name}")[0], test)
        for name in ("rn", "mlp")
    )
    for kind, floor in (("relational", 0.90), ("non-relational", 0.98)):
        assert rn[kind]["accuracy"] >= floor - 3 * rn[kind]["stderr"], (kind, rn[kind])
    for kind in ("closest", "furthest"):
        margin = 3 * np.hypot(rn[kind]["stderr"], mlp[kind]["stderr"])
        gap = rn[kind]["accuracy"] - mlp[kind]["accuracy"]
        assert gap >= 0.15 - margin, (kind, rn[kind], mlp[kind])


def test_the_shipped_pixel_networks_read_the_shapes_as_the_chapter_says(fresh):
    rn, mlp = (
        experiments.scores(mt.experiments.load(name)[0], fresh)
        for name in ("sort_of_clevr_cnn_rn", "sort_of_clevr_cnn_mlp")
    )
    floor = SortOfClevrTask().question_ceiling(relational=True)
    for table in (rn, mlp):
        assert table["relational"]["accuracy"] > floor + 0.15, table["relational"]
        assert table["count"]["accuracy"] > 10 / 32 + 0.25, table["count"]
    assert rn["relational"]["accuracy"] > mlp["relational"]["accuracy"] - 0.03
