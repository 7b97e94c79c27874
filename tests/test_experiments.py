"""The shipped segmentation models: they load in safe mode, stay small, and still reach the
figures the segmentation chapter states, on scenes none of them trained on."""

import json

import keras
import numpy as np
import pytest
from conftest import shipped_log

import mmtutorial as mt
from mmtutorial.data import referring, segmentation
from mmtutorial.experiments import segmentation as experiments

NAMES = sorted(experiments.EXPERIMENTS)
# Far from seed 0, whose splits the shipped models trained on.
FRESH = 4242


@pytest.mark.parametrize("name", NAMES)
def test_every_experiment_ships_a_small_model_and_its_log(name):
    log = shipped_log(name, experiments)
    assert len(log["history"]["loss"]) == log["settings"]["epochs"]
    assert log["history"]["loss"][-1] < log["history"]["loss"][0]


@pytest.fixture(scope="module")
def scenes():
    task = segmentation.SceneSegmentationTask(image_size=24)
    return task, task.generate(300, seed=FRESH)


def test_the_shipped_21_class_models_keep_the_chapters_claims(scenes):
    task, test = scenes
    fused, _ = mt.experiments.load("segmentation_cross_attention")
    alone, _ = mt.experiments.load("segmentation_image_only")
    fused_iou = mt.metrics.mean_iou(test.labels, fused.predict_labels(test), 21)
    alone_maps = alone.predict_labels(test)
    alone_iou = mt.metrics.mean_iou(test.labels, alone_maps, 21)
    bayes = mt.metrics.mean_iou(test.labels, task.ceiling_predictions(test, "bayes", seed=0), 21)
    image_rule = mt.metrics.mean_iou(
        test.labels, task.ceiling_predictions(test, "image", seed=0), 21
    )
    assert fused_iou > alone_iou + 0.3, (fused_iou, alone_iou)
    assert alone_iou < image_rule + 0.05, (alone_iou, image_rule)
    assert bayes - fused_iou < 0.35, (bayes, fused_iou)
    assert mt.metrics.per_class_iou(test.labels, alone_maps, 21)[0] > 0.9


def test_the_shipped_referring_model_keeps_the_chapters_claims():
    task = referring.ReferringSegmentationTask(image_size=24)
    test = task.generate(300, seed=FRESH)
    model, _ = mt.experiments.load("referring_cross_attention")
    rows = experiments.scores(model, test)
    assert [row["phrases"] for row in rows] == [
        "all phrases",
        "colour and shape",
        "place next to another object",
    ]
    assert rows[0]["overall_iou"] > task.random_object_iou(test) + 0.2
    assert rows[1]["mean_iou"] > rows[2]["mean_iou"]


def test_a_quick_run_writes_files_that_load_back_with_identical_predictions(tmp_path, scenes):
    _, test = scenes
    record = experiments.main(
        ["--quick", "--only", "segmentation_image_only", "--output", str(tmp_path)]
    )["segmentation_image_only"]
    assert record["quick"] and record["settings"]["train"] == experiments.QUICK["train"]
    model, log = mt.experiments.load("segmentation_image_only", folder=tmp_path)
    assert log == json.loads((tmp_path / "segmentation_image_only.json").read_text())
    again = keras.saving.load_model(tmp_path / "segmentation_image_only.keras", safe_mode=True)
    images = {"image": test.images[:8]}
    np.testing.assert_array_equal(
        model.predict(images, verbose=0), again.predict(images, verbose=0)
    )


def test_bad_names_and_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no shipped result named 'nope'"):
        mt.experiments.load("nope")
    with pytest.raises(FileNotFoundError, match=r"segmentation_image_only\.keras is missing"):
        mt.experiments.load("segmentation_image_only", folder=tmp_path)
    with pytest.raises(ValueError, match=r"name must be one of .*received 'nope'"):
        experiments.run("nope", tmp_path)
    with pytest.raises(SystemExit):
        experiments.main(["--quick"])  # would overwrite the shipped models


def test_every_shipped_file_is_committed():
    # A file that exists here but is not in git (an ignore rule, a forgotten add)
    # passes locally and is missing from every fresh clone and wheel.
    import pathlib
    import shutil
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "mmtutorial/experiments/results"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expected = [
        f"mmtutorial/experiments/results/{n}{s}" for n in NAMES for s in (".json", ".keras")
    ]
    assert set(expected) <= set(tracked), sorted(set(expected) - set(tracked))
    # every file in results/, whichever experiment wrote it, is in git too
    on_disk = {
        f"mmtutorial/experiments/results/{p.name}"
        for p in (root / "mmtutorial/experiments/results").iterdir()
        if p.suffix in (".json", ".keras")
    }
    assert on_disk <= set(tracked), sorted(on_disk - set(tracked))
