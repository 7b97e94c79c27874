"""Train the segmentation chapter's networks and ship them.

Run from the repository root::

    python -m mmtutorial.experiments.segmentation           # all three, about 3 minutes on 2 cores
    python -m mmtutorial.experiments.segmentation --only referring_cross_attention
    python -m mmtutorial.experiments.segmentation --quick --output /tmp/x   # a tiny run (tests)

Each entry of :data:`EXPERIMENTS` trains :func:`mmtutorial.models.build_segmenter`
with fixed settings on the splits of seed 0 and writes ``<name>.keras`` and
``<name>.json`` (settings, loss and validation loss per epoch, seconds, the
scores on its own test split) into ``--output`` (default: the package's
``experiments/results/``). The chapter loads them with
``mmtutorial.experiments.load(name)`` and scores them on scenes it draws
afresh.
"""

from __future__ import annotations

import pathlib
import platform
import time

import numpy as np

from .. import metrics, models, train
from ..data import referring, segmentation
from . import package_version, script, settings_of, splits_of, write_result

_COMMON = {
    "image_size": 24,
    "train": 3000,
    "validation": 200,
    "test": 500,
    "epochs": 12,
    "batch_size": 32,
    "filters": [8, 16, 32],
    "learning_rate": 5e-3,
    "seed": 0,
}
#: The trainings the shipped models had; ``--quick`` shrinks the sizes only.
EXPERIMENTS = {
    "segmentation_image_only": {**_COMMON, "task": "segmentation", "fusion": None},
    "segmentation_cross_attention": {
        **_COMMON,
        "task": "segmentation",
        "fusion": "cross_attention",
    },
    "referring_cross_attention": {**_COMMON, "task": "referring", "fusion": "cross_attention"},
}
QUICK = {"train": 64, "validation": 16, "test": 32, "epochs": 1}


def make_task(settings: dict):
    """The task an experiment's settings name, at their image size."""
    if settings["task"] == "segmentation":
        return segmentation.SceneSegmentationTask(image_size=settings["image_size"])
    return referring.ReferringSegmentationTask(image_size=settings["image_size"])


def label_scores(model, split, num_classes: int) -> dict:
    """Pixel accuracy, mean IoU and every class's IoU of ``model`` on a 21-class ``split``."""
    predicted = model.predict_labels(split)
    return {
        "pixel_accuracy": metrics.pixel_accuracy(split.labels, predicted, num_classes),
        "mean_iou": metrics.mean_iou(split.labels, predicted, num_classes),
        "per_class_iou": [
            None if np.isnan(v) else float(v)
            for v in metrics.per_class_iou(split.labels, predicted, num_classes)
        ],
    }


def scores(model, split) -> list[dict]:
    """``mt.metrics.iou_scores`` of ``model`` on ``split``: all phrases, then each kind of phrase.

    Rows for all phrases, for phrases that name colour and shape only, and
    for phrases that place the target next to another object (each with
    ``"phrases"`` and ``"pairs"`` besides the scores).
    """
    predicted = model.predict_labels(split) == 1
    relational = split.relation >= 0
    rows = []
    for name, keep in {
        "all phrases": np.ones(len(split), bool),
        "colour and shape": ~relational,
        "place next to another object": relational,
    }.items():
        row = metrics.iou_scores(split.masks[keep], predicted[keep])
        rows.append({"phrases": name, "pairs": int(keep.sum()), **row})
    return rows


def run(name: str, output: pathlib.Path, quick: bool = False, log=print) -> dict:
    """Train experiment ``name`` (shrunk by ``quick``), write its two files, return the log."""
    settings = settings_of(name, EXPERIMENTS, QUICK if quick else None)
    task = make_task(settings)
    data = splits_of(task, settings)
    train.set_seed(settings["seed"])
    model = models.build_segmenter(
        task.image_shape,
        task.vocab_size,
        task.sequence_length,
        task.num_classes,
        fusion=settings["fusion"],
        filters=tuple(settings["filters"]),
        learning_rate=settings["learning_rate"],
    )
    validation = data["validation"]
    keys = [key for key in ("image", "text") if key in model.input]
    log(f"training {name} on {settings['train']} scenes for {settings['epochs']} epochs ...")
    start = time.perf_counter()
    history = model.fit(
        {key: data["train"].features[key] for key in keys},
        data["train"].labels,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        validation_data=({key: validation.features[key] for key in keys}, validation.labels),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    test = data["test"]
    record = {
        "name": name,
        "settings": settings,
        "quick": quick,
        "seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "mmtutorial": package_version(),
        "history": {
            key: [round(float(v), 5) for v in values] for key, values in history.history.items()
        },
    }
    if settings["task"] == "referring":
        record["test_scores"] = scores(model, test)
        record["random_object_iou"] = task.random_object_iou(test)
    else:
        record["test_scores"] = label_scores(model, test, task.num_classes)
    output = write_result(output, name, record, model)
    log(f"wrote {output / name}.keras and .json ({seconds:.0f} s of training)")
    return record


main = script("mmtutorial.experiments.segmentation", __doc__, EXPERIMENTS, run)


if __name__ == "__main__":
    main()
