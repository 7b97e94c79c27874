"""Train the relational-reasoning chapter's three pixel models on Sort-of-CLEVR and ship them.

Run from the repository root::

    python -m mmtutorial.experiments.sort_of_clevr            # all three, ~90 minutes on 2 cores
    python -m mmtutorial.experiments.sort_of_clevr --only sort_of_clevr_cnn_rn
    python -m mmtutorial.experiments.sort_of_clevr --quick --output /tmp/x   # a tiny run (tests)

Each entry of :data:`EXPERIMENTS` trains one builder of
:mod:`mmtutorial.relational` (CNN + MLP, CNN + Relation Network, FiLM CNN)
with fixed settings on the splits of seed 0 of
:class:`~mmtutorial.data.sort_of_clevr.SortOfClevrTask`, and writes
``<name>.keras`` and ``<name>.json`` into ``--output`` (default: the
package's ``experiments/results/``). The log holds the settings, the budget
actually spent (epochs, questions seen, seconds, questions per second, the
machine), the loss and the validation accuracy on non-relational and on
relational questions after every epoch, and :func:`scores` on its own test
split. The chapter loads the models with ``mmtutorial.experiments.load(name)``
and scores them on scenes it draws afresh.
"""

from __future__ import annotations

import pathlib
import time

import keras
import numpy as np

from .. import relational, train
from ..data import sort_of_clevr
from . import machine, package_version, script, settings_of, splits_of, write_result

_COMMON = {
    "train": 60000,
    "validation": 1000,
    "test": 2000,
    "epochs": 60,
    "batch_size": 64,
    "learning_rate": 3e-4,
    "seed": 0,
}
#: The trainings of the shipped models; ``--quick`` shrinks the sizes only.
#: ``minutes`` is a wall-clock budget: training stops after the first epoch
#: that ends past it (or after ``epochs``), and the log records how many
#: epochs fitted (``epochs_run``), the seconds and the machine.
EXPERIMENTS = {
    "sort_of_clevr_cnn_mlp": {**_COMMON, "minutes": 10, "builder": "cnn_mlp"},
    "sort_of_clevr_cnn_rn": {**_COMMON, "minutes": 62, "builder": "cnn_rn"},
    "sort_of_clevr_film": {**_COMMON, "minutes": 15, "builder": "film_cnn"},
}
QUICK = {"train": 64, "validation": 32, "test": 64, "epochs": 1, "minutes": None}
#: The kinds of question :func:`scores` reports, in its order.
KINDS = ("all", "non-relational", "relational") + sort_of_clevr.QUESTION_TYPES


def inputs_of(model, split) -> dict:
    """The features of ``split`` that ``model`` takes (``"image"``/``"state"`` and ``"question"``)."""
    return {key: split.features[key] for key in model.input}


def scores(model, split, *, batch_size: int = 256) -> dict:
    """Accuracy of ``model`` on ``split``: overall, per kind of question, per question type.

    Returns:
        ``{kind: {"accuracy": a, "stderr": s, "questions": n}}`` for every
        kind of :data:`KINDS`; ``stderr`` is the binomial standard error
        ``sqrt(a (1 - a) / n)``.
    """
    with train.quiet_retracing():
        predicted = model.predict(inputs_of(model, split), batch_size=batch_size, verbose=0)
    return scores_of_predictions(predicted.argmax(axis=-1), split)


def scores_of_predictions(predicted, split) -> dict:
    """:func:`scores` from answer ids already predicted for ``split``."""
    predicted = np.asarray(predicted)
    correct = predicted == split.labels
    masks = {
        "all": np.ones(len(split), bool),
        "non-relational": ~split.relational,
        "relational": split.relational,
    }
    for index, name in enumerate(sort_of_clevr.QUESTION_TYPES):
        masks[name] = split.question_types == index
    rows = {}
    for kind in KINDS:
        n = int(masks[kind].sum())
        a = float(correct[masks[kind]].mean()) if n else float("nan")
        rows[kind] = {
            "accuracy": a,
            "stderr": float(np.sqrt(a * (1 - a) / n)) if n else float("nan"),
            "questions": n,
        }
    return rows


class KindAccuracy(keras.callbacks.Callback):
    """After every epoch, the validation accuracy on non-relational and relational questions."""

    def __init__(self, split):
        super().__init__()
        self.split = split
        self.history = {"val_non_relational": [], "val_relational": []}

    def on_epoch_end(self, epoch, logs=None):
        rows = scores(self.model, self.split)
        self.history["val_non_relational"].append(round(rows["non-relational"]["accuracy"], 5))
        self.history["val_relational"].append(round(rows["relational"]["accuracy"], 5))


def run(name: str, output: pathlib.Path, quick: bool = False, log=print) -> dict:
    """Train experiment ``name`` (shrunk by ``quick``), write its two files, return the log."""
    settings = settings_of(name, EXPERIMENTS, QUICK if quick else None)
    task = sort_of_clevr.SortOfClevrTask()
    data = splits_of(task, settings)
    train.set_seed(settings["seed"])
    model = relational.BUILDERS[settings["builder"]](
        task.image_shape, 11, task.num_classes, learning_rate=settings["learning_rate"]
    )
    kinds = KindAccuracy(data["validation"])
    log(f"training {name} on {settings['train']} questions for {settings['epochs']} epochs ...")
    start = time.perf_counter()
    budget = settings.get("minutes")
    logged = {}
    epochs = 0
    while epochs < settings["epochs"]:
        history = model.fit(
            inputs_of(model, data["train"]),
            data["train"].labels,
            initial_epoch=epochs,
            epochs=epochs + 1,
            batch_size=settings["batch_size"],
            validation_data=(inputs_of(model, data["validation"]), data["validation"].labels),
            callbacks=[kinds],
            verbose=0,
        )
        epochs += 1
        for key, values in history.history.items():
            logged.setdefault(key, []).extend(round(float(v), 5) for v in values)
        log(
            f"  epoch {epochs}: {time.perf_counter() - start:.0f} s, validation non-relational "
            f"{kinds.history['val_non_relational'][-1]:.3f}, "
            f"relational {kinds.history['val_relational'][-1]:.3f}"
        )
        if budget is not None and time.perf_counter() - start > 60 * budget:
            break
    seconds = time.perf_counter() - start
    seen = settings["train"] * epochs
    record = {
        "name": name,
        "settings": settings,
        "quick": quick,
        "epochs_run": epochs,
        "seconds": round(seconds, 1),
        "questions_seen": seen,
        "questions_per_second": round(seen / seconds, 1),
        "parameters": int(model.count_params()),
        "machine": machine(),
        "mmtutorial": package_version(),
        "history": {**logged, **kinds.history},
        "test_scores": scores(model, data["test"]),
    }
    output = write_result(output, name, record, model)
    rows = record["test_scores"]
    log(
        f"wrote {output / name}.keras and .json ({seconds:.0f} s of training; test accuracy "
        f"non-relational {rows['non-relational']['accuracy']:.3f}, "
        f"relational {rows['relational']['accuracy']:.3f})"
    )
    return record


main = script("mmtutorial.experiments.sort_of_clevr", __doc__, EXPERIMENTS, run)


if __name__ == "__main__":
    main()
