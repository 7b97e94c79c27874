"""The transformers chapter's comparisons, run on five seeds and shipped as one log.

Run from the repository root::

    python -m mmtutorial.experiments.transformers            # seeds 0 to 4, ~6 minutes on 2 cores
    python -m mmtutorial.experiments.transformers --quick --output /tmp/x   # a tiny run (tests)

The chapter *Transformers across modalities* trains, live, on its own seed:

* :func:`book_task_run`: three models on the book's task
  (:class:`~mmtutorial.data.ShapeMaterialTask`) from pixels and words, the
  fused pair (CNN + LSTM, concatenated), a single stream over the same
  encoders' tokens (``fusion="transformer"``) and ViLT in miniature
  (:func:`~mmtutorial.models.build_vilt_classifier`, patches and words);
* :func:`scene_task_run`: four fusions of given features on
  :class:`~mmtutorial.data.SceneQuestionTask` (concatenation,
  cross-attention, and the single stream with one and with two blocks).

Five seeds of both do not fit the chapter's time budget, so this script
runs them once, with the same functions and settings, and writes
``transformers_seeds.json`` (no model: the study ships numbers only) into
``--output`` (default: the package's ``experiments/results/``): the
settings, every seed's accuracies, epoch times and weight counts, the
seconds it took and the machine. The chapter reads it with
:func:`mmtutorial.experiments.result_path` and puts its own live run next
to the five seeds' mean and standard error.
"""

from __future__ import annotations

import pathlib
import time

import keras
import numpy as np

from .. import models, train
from ..data import SceneQuestionTask, ShapeMaterialTask
from . import machine, package_version, script, write_result

#: The book task's three models: name -> builder of (image_shape, vocab, length, classes).
BOOK_MODELS = {
    "fused pair": lambda *args: models.build_classifier(*args),
    "single stream, encoder tokens": lambda *args: models.build_classifier(
        *args,
        fusion="transformer",
        fusion_config={"units": 32, "layers": 1, "num_heads": 4},
    ),
    "ViLT, patches": lambda *args: models.build_vilt_classifier(
        *args, patch_size=8, units=32, layers=2, num_heads=4
    ),
}
#: The scene task's fusions: name -> (fusion, fusion_config, input layout).
SCENE_MODELS = {
    "concatenation": ("concat", {}, "vectors"),
    "cross-attention": ("cross_attention", {"units": 32, "num_heads": 4}, "tokens"),
    "single stream, 1 block": ("transformer", {"units": 32, "layers": 1, "num_heads": 4}, "tokens"),
    "single stream, 2 blocks": (
        "transformer",
        {"units": 32, "layers": 2, "num_heads": 4},
        "tokens",
    ),
}
#: The sizes both the chapter and this script use.
BOOK_SETTINGS = {"train": 2000, "test": 1000, "epochs": 4, "batch_size": 32}
SCENE_SETTINGS = {"train": 1500, "test": 2000, "epochs": 12, "batch_size": 32}
EXPERIMENTS = {"transformers_seeds": {"seeds": [0, 1, 2, 3, 4]}}
QUICK = {"seeds": [0, 1], "train": 64, "test": 64, "epochs": 2}


def _fit(model, data, settings, seed):
    timer = train.EpochTimer()
    train.fit(
        model,
        data,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        seed=seed,
        callbacks=[timer],
    )
    return float(np.mean(timer.seconds)) if timer.seconds else float("nan")


def book_task_run(seed: int, settings=None, keep=()):
    """Train and score :data:`BOOK_MODELS` on the book's task, data drawn for ``seed``.

    Returns:
        ``(rows, kept)``: ``rows[name]`` holds ``accuracy`` (on the test
        split), ``seconds_per_epoch`` and ``weights``; ``kept[name]`` is the
        trained model for every name in ``keep``.
    """
    settings = {**BOOK_SETTINGS, **(settings or {})}
    task = ShapeMaterialTask()
    data = task.splits(train=settings["train"], validation=50, test=settings["test"], seed=seed)
    args = (task.image_shape, task.vocab_size, task.sequence_length, task.num_classes)
    rows, kept = {}, {}
    for name, build in BOOK_MODELS.items():
        train.set_seed(seed)
        model = build(*args)
        seconds = _fit(model, data["train"], settings, seed)
        rows[name] = {
            "accuracy": float(train.evaluate(model, data["test"])),
            "seconds_per_epoch": seconds,
            "weights": int(model.count_params()),
        }
        if name in keep:
            kept[name] = model
    return rows, kept


def _pass_through(shape):
    return keras.Sequential([keras.Input(shape), keras.layers.Identity()])


def scene_task_run(seed: int, settings=None):
    """Train and score :data:`SCENE_MODELS` on scenes drawn for ``seed``.

    Returns:
        ``(rows, ceiling)``: ``rows[name]`` holds ``accuracy``,
        ``seconds_per_epoch`` and ``weights``; ``ceiling`` is the Bayes
        classifier's accuracy on the same test scenes.
    """
    settings = {**SCENE_SETTINGS, **(settings or {})}
    task = SceneQuestionTask()
    train_split = task.generate(settings["train"], seed=seed + 1)
    test_split = task.generate(settings["test"], seed=seed + 3)
    ceiling = float(np.mean(task.posterior(test_split).argmax(axis=1) == test_split.labels))
    rows = {}
    for name, (fusion, config, layout) in SCENE_MODELS.items():
        data = train_split.as_layout(layout)
        train.set_seed(seed)
        model = models.assemble_classifier(
            {key: _pass_through(value.shape[1:]) for key, value in data.features.items()},
            task.num_classes,
            fusion=fusion,
            fusion_config=config,
        )
        seconds = _fit(model, data, settings, seed)
        rows[name] = {
            "accuracy": float(train.evaluate(model, test_split.as_layout(layout))),
            "seconds_per_epoch": seconds,
            "weights": int(model.count_params()),
        }
    return rows, ceiling


def summary(per_seed: dict) -> dict:
    """Mean and standard error over seeds of every model's accuracy in ``per_seed[seed][name]``."""
    names = list(next(iter(per_seed.values())))
    table = {}
    for name in names:
        values = np.array([rows[name]["accuracy"] for rows in per_seed.values()])
        error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
        table[name] = {"mean": float(values.mean()), "stderr": float(error)}
    return table


def run(name: str, output: pathlib.Path, quick: bool = False, log=print) -> dict:
    """Run the study ``name`` (shrunk by ``quick``) and write ``<name>.json``; return the record."""
    if name not in EXPERIMENTS:
        raise ValueError(f"name must be one of {sorted(EXPERIMENTS)}; received {name!r}")
    seeds = QUICK["seeds"] if quick else EXPERIMENTS[name]["seeds"]
    shrink = {k: QUICK[k] for k in ("train", "test", "epochs")} if quick else {}
    book, scenes, ceilings = {}, {}, {}
    start = time.perf_counter()
    for seed in seeds:
        book[str(seed)], _ = book_task_run(seed, shrink)
        scenes[str(seed)], ceilings[str(seed)] = scene_task_run(seed, shrink)
        log(f"  seed {seed}: {time.perf_counter() - start:.0f} s")
    record = {
        "name": name,
        "quick": quick,
        "seeds": seeds,
        "book_settings": {**BOOK_SETTINGS, **shrink},
        "scene_settings": {**SCENE_SETTINGS, **shrink},
        "book_task": book,
        "scene_task": scenes,
        "scene_ceilings": ceilings,
        "book_summary": summary(book),
        "scene_summary": summary(scenes),
        "seconds": round(time.perf_counter() - start, 1),
        "machine": machine(),
        "mmtutorial": package_version(),
    }
    output = write_result(output, name, record)
    log(f"wrote {output / name}.json ({record['seconds']:.0f} s)")
    return record


main = script("mmtutorial.experiments.transformers", __doc__, EXPERIMENTS, run)


if __name__ == "__main__":
    main()
