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
    # The budget was spent: training stopped at the first epoch past it, or at the last epoch.
    budget = 60 * log["settings"]["minutes"]
    assert log["seconds"] > budget or epochs == log["settings"]["epochs"]
    assert log["machine"] and log["test_scores"]["all"]["questions"] == log["settings"]["test"]


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_network_scores_what_its_log_says_on_fresh_scenes(name, fresh):
    model, log = mt.experiments.load(name)
    rows = experiments.scores(model, fresh)
    for kind in ("non-relational", "relational"):
        here, there = rows[kind], log["test_scores"][kind]
        spread = np.hypot(here["stderr"], there["stderr"])
        assert abs(here["accuracy"] - there["accuracy"]) < 4 * spread + 1e-9, (kind, here, there)


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
