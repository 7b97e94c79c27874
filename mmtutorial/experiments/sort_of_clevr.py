"""Train the relational-reasoning chapter's networks on Sort-of-CLEVR and ship them.

Run from the repository root::

    python -m mmtutorial.experiments.sort_of_clevr            # all five, ~2 hours on 2 cores
    python -m mmtutorial.experiments.sort_of_clevr --only sort_of_clevr_cnn_rn
    python -m mmtutorial.experiments.sort_of_clevr --quick --output /tmp/x   # a tiny run (tests)

Each entry of :data:`EXPERIMENTS` trains one builder of
:mod:`mmtutorial.relational` with fixed settings on the splits of seed 0 of
:class:`~mmtutorial.data.sort_of_clevr.SortOfClevrTask`: three pixel networks
(CNN + MLP, CNN + Relation Network, FiLM CNN) and two on the state
description (an MLP and a Relation Network, in the reference
implementations' regime: ``g`` of four 256-unit layers summed over the
pairs, ``f`` of two, batches of 256, 200,000 questions an epoch). It writes
``<name>.keras`` and ``<name>.json`` into ``--output`` (default: the
package's ``experiments/results/``). The log holds the settings, the budget
actually spent (epochs, questions seen, seconds, questions per second, the
machine and its threads, why training stopped), after every epoch the loss,
the questions seen so far, the seconds, and the validation accuracy on
non-relational and on relational questions, and :func:`scores` on its own
test split of the weights kept (the best epoch's by validation, for a
network with a ``patience``). The chapter loads the models with
``mmtutorial.experiments.load(name)`` and scores them on scenes it draws
afresh.

Any setting can be changed on the command line (``--minutes``,
``--questions-per-scene``, ``--reduction``, ``--g-units``, ``--f-units``,
``--units``, ``--normalisation``, ...; ``--reference`` sets the reference
implementations' regime for the pixel Relation Network, for a GPU)::

    python -m mmtutorial.experiments.sort_of_clevr --only sort_of_clevr_cnn_rn \\
        --reference --minutes 120 --output /tmp/reference

A run with changed settings writes into a folder of its own (``--output``),
never over the shipped files, whose logs hold :data:`EXPERIMENTS`' settings.
"""

from __future__ import annotations

import argparse
import inspect
import os
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from .. import relational, train
from ..data import sort_of_clevr
from ..data.base import split_seeds
from . import machine, package_version, script, settings_of, write_result

_COMMON = {
    "train": 60000,
    "validation": 1000,
    "test": 2000,
    "epochs": 60,
    "batch_size": 64,
    "learning_rate": 3e-4,
    "seed": 0,
}
#: The state-description networks: the reference implementations' regime.
_STATE = {
    "train": 200000,
    "validation": 5000,
    "test": 10000,
    "epochs": 40,
    "batch_size": 256,
    "learning_rate": 1e-3,
    "seed": 0,
    "patience": 4,
    "questions_per_scene": 1,
}
#: The trainings of the shipped models; ``--quick`` shrinks the sizes only.
#: ``minutes`` is a wall-clock budget. The pixel networks' logs were written
#: by the first rule: training stopped after the first epoch that ended past
#: it (or after ``epochs``). Every run since stops before an epoch that would
#: end past it (judged by the last epoch's seconds), after ``patience``
#: epochs without a better validation accuracy (the mean of the
#: non-relational and the relational one; the best epoch's weights are
#: kept), or after ``epochs``; the log says which (``stopped``). ``model``
#: holds the builder's own arguments.
EXPERIMENTS = {
    "sort_of_clevr_cnn_mlp": {**_COMMON, "minutes": 10, "builder": "cnn_mlp"},
    "sort_of_clevr_cnn_rn": {**_COMMON, "minutes": 62, "builder": "cnn_rn"},
    "sort_of_clevr_film": {**_COMMON, "minutes": 15, "builder": "film_cnn"},
    "sort_of_clevr_state_rn": {
        **_STATE,
        "minutes": 33,
        "builder": "state_rn",
        "model": {"g_units": [256, 256, 256, 256], "f_units": [256, 256], "reduction": "sum"},
    },
    "sort_of_clevr_state_mlp": {
        **_STATE,
        "minutes": 10,
        "builder": "state_mlp",
        "model": {"units": [256, 256, 256, 256]},
    },
}
QUICK = {"train": 64, "validation": 32, "test": 64, "epochs": 1, "minutes": None}
#: ``--reference``: the pixel Relation Network in the regime of the reference
#: implementations (kimhc6028/relational-networks): 20 questions of every
#: picture (10,000 pictures an epoch), ``g`` of four 256-unit layers summed
#: over the pairs, ``f`` of two, batch normalisation, batches of 64, Adam at
#: 1e-4. Hours on a GPU; nothing here ships from it.
REFERENCE = {
    "train": 200000,
    "questions_per_scene": 20,
    "batch_size": 64,
    "learning_rate": 1e-4,
    "epochs": 100,
    "patience": 10,
    "model": {
        "g_units": [256, 256, 256, 256],
        "f_units": [256, 256],
        "reduction": "sum",
        "normalisation": "batch",
    },
}
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


def splits_of(task, settings: dict) -> dict:
    """The train, validation and test splits of ``settings`` (as ``task.splits`` draws them).

    Only the training split asks ``questions_per_scene`` questions of each
    scene: the validation and test questions each have a scene of their own,
    so that their binomial standard errors hold. A state-description
    builder's splits have no pictures.
    """
    images = not settings["builder"].startswith("state_")
    per_scene = {"train": settings.get("questions_per_scene", 1), "validation": 1, "test": 1}
    return {
        name: task.generate(
            settings[name], seed=seed, images=images, questions_per_scene=per_scene[name]
        )
        for name, seed in zip(("train", "validation", "test"), split_seeds(settings["seed"]))
    }


def build(settings: dict, task):
    """The compiled model of ``settings``: its builder with ``settings["model"]``'s arguments."""
    builder = relational.BUILDERS[settings["builder"]]
    arguments = dict(settings.get("model", {}))
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(arguments) - set(accepted))
    if unknown:
        raise ValueError(
            f"the builder {settings['builder']!r} takes no {unknown}; received model settings "
            f"{arguments}"
        )
    for key, value in arguments.items():
        if isinstance(value, list):
            arguments[key] = tuple(value)
    shape = task.input_specs()["state" if settings["builder"].startswith("state_") else "image"][0]
    return builder(
        shape, 11, task.num_classes, learning_rate=settings["learning_rate"], **arguments
    )


def _stop_reason(settings, epochs, elapsed, last_epoch, since_best):
    """Why training stops after ``epochs`` epochs, or ``None`` to go on (see :data:`EXPERIMENTS`)."""
    if epochs >= settings["epochs"]:
        return "epochs"
    patience = settings.get("patience")
    if patience is not None and since_best >= patience:
        return "patience"
    budget = settings.get("minutes")
    if budget is not None and elapsed + last_epoch > 60 * budget:
        return "budget"
    return None


def _train_until_stopped(model, data, settings, kinds, start, log):
    """Fit epoch by epoch until the budget, the epoch count or patience stops it.

    Returns the per-epoch log, the epochs run, the best epoch (mean of the
    relational and non-relational validation accuracy), its weights (kept only
    when ``settings`` has a patience) and the reason it stopped.
    """
    logged = {"questions_seen": [], "seconds": []}
    epochs, best, best_epoch, best_weights, stopped = 0, -1.0, 0, None, None
    while stopped is None:
        epoch_start = time.perf_counter()
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
        elapsed = time.perf_counter() - start
        for key, values in history.history.items():
            logged.setdefault(key, []).extend(round(float(v), 5) for v in values)
        logged["questions_seen"].append(settings["train"] * epochs)
        logged["seconds"].append(round(elapsed, 1))
        non_relational = kinds.history["val_non_relational"][-1]
        relational_ = kinds.history["val_relational"][-1]
        if (non_relational + relational_) / 2 > best:
            best, best_epoch = (non_relational + relational_) / 2, epochs
            best_weights = model.get_weights() if "patience" in settings else None
        log(
            f"  epoch {epochs}: {settings['train'] * epochs} questions, {elapsed:.0f} s, "
            f"validation non-relational {non_relational:.4f}, relational {relational_:.4f}"
            + (" (best)" if best_epoch == epochs else "")
        )
        stopped = _stop_reason(
            settings, epochs, elapsed, time.perf_counter() - epoch_start, epochs - best_epoch
        )
    return logged, epochs, best_epoch, best_weights, stopped


def run(name: str, output: pathlib.Path, quick: bool = False, overrides=None, log=print) -> dict:
    """Train experiment ``name`` (shrunk by ``quick``, changed by ``overrides``), write its files.

    ``overrides`` is a dict of settings that replace :data:`EXPERIMENTS`'
    (``"model"`` is merged key by key); with ``"regime": "reference"``,
    :data:`REFERENCE` is applied first (then ``quick``'s sizes, then the
    rest). Returns the log.
    """
    settings = settings_of(name, EXPERIMENTS, None)
    overrides = dict(overrides or {})
    layers = [REFERENCE] if overrides.get("regime") == "reference" else []
    layers += [QUICK] if quick else []
    for changes in [*layers, overrides]:
        if "model" in changes:
            changes = {**changes, "model": {**settings.get("model", {}), **changes["model"]}}
        settings = {**settings, **changes}
    task = sort_of_clevr.SortOfClevrTask()
    data = splits_of(task, settings)
    train.set_seed(settings["seed"])
    model = build(settings, task)
    kinds = KindAccuracy(data["validation"])
    log(f"training {name} on {settings['train']} questions an epoch, {settings} ...")
    start = time.perf_counter()
    logged, epochs, best_epoch, best_weights, stopped = _train_until_stopped(
        model, data, settings, kinds, start, log
    )
    if best_weights is not None:
        model.set_weights(best_weights)
    seconds = time.perf_counter() - start
    seen = settings["train"] * epochs
    record = {
        "name": name,
        "settings": settings,
        "quick": quick,
        "epochs_run": epochs,
        "stopped": stopped,
        "kept_epoch": best_epoch if best_weights is not None else epochs,
        "seconds": round(seconds, 1),
        "questions_seen": seen,
        "questions_per_second": round(seen / seconds, 1),
        "parameters": int(model.count_params()),
        "machine": f"{machine()}, {threads()}",
        "mmtutorial": package_version(),
        "history": {**logged, **kinds.history},
        "test_scores": scores(model, data["test"]),
    }
    # The weights alone, as an uncompiled model: Adam's two moments per weight would triple
    # the file (the state Relation Network's 340,000 weights: 4.1 MB with them, 1.4 MB without).
    weights_only = keras.Model(model.input, model.output, name=model.name)
    output = write_result(output, name, record, weights_only)
    rows = record["test_scores"]
    log(
        f"wrote {output / name}.keras and .json ({seconds:.0f} s of training, stopped by "
        f"{stopped}, epoch {record['kept_epoch']} kept; test accuracy non-relational "
        f"{rows['non-relational']['accuracy']:.4f}, relational "
        f"{rows['relational']['accuracy']:.4f})"
    )
    return record


def threads() -> str:
    """TensorFlow's thread pools as configured, in words (0: TensorFlow's own choice)."""
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    env = {
        key: os.environ[key]
        for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
        if key in os.environ
    }
    return f"TensorFlow threads intra-op {intra}, inter-op {inter}" + (f" {env}" if env else "")


def _widths(text):
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        widths = []
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(
            f"layer widths must be positive integers separated by commas, such as 256,256; "
            f"received {text!r}"
        )
    return widths


def _add_options(parser):
    group = parser.add_argument_group("settings (a run with any of them needs --output)")
    group.add_argument("--minutes", type=float, help="wall-clock budget of each network")
    group.add_argument("--epochs", type=int, help="most epochs")
    group.add_argument("--patience", type=int, help="epochs without a better validation to stop")
    group.add_argument("--train", type=int, help="training questions an epoch")
    group.add_argument("--batch-size", type=int)
    group.add_argument("--learning-rate", type=float)
    group.add_argument("--questions-per-scene", type=int, help="questions asked of each scene")
    group.add_argument("--reduction", choices=("sum", "mean"), help="over the pairs, in an RN")
    group.add_argument("--g-units", type=_widths, help="widths of an RN's g, e.g. 256,256,256,256")
    group.add_argument("--f-units", type=_widths, help="widths of an RN's f, e.g. 256,256")
    group.add_argument("--units", type=_widths, help="widths of the state MLP")
    group.add_argument("--normalisation", choices=("instance", "batch", "none"))
    group.add_argument(
        "--reference", action="store_true", help="the reference regime (pixel RN, GPU)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow's intra-op and inter-op threads (leave other users of the machine cores)",
    )


def _overrides(args) -> dict:
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be a positive integer; received {args.threads}")
        try:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        except RuntimeError as error:  # TensorFlow already started in this process
            raise ValueError(
                f"--threads {args.threads}: TensorFlow has already started in this process, so "
                f"its thread pools are fixed ({error}); set TF_NUM_INTRAOP_THREADS and "
                "TF_NUM_INTEROP_THREADS before starting Python instead"
            ) from None
    if args.reference and args.only != "sort_of_clevr_cnn_rn":
        raise ValueError(
            f"--reference is the pixel Relation Network's regime: it needs --only "
            f"sort_of_clevr_cnn_rn; received --only {args.only}"
        )
    overrides = {"regime": "reference"} if args.reference else {}
    plain = ("minutes", "epochs", "patience", "train", "batch_size", "learning_rate")
    for key in (*plain, "questions_per_scene"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    model = dict(overrides.get("model", {}))
    for key in ("reduction", "g_units", "f_units", "units", "normalisation"):
        if getattr(args, key) is not None:
            model[key] = getattr(args, key)
    if model:
        overrides["model"] = model
    return overrides


main = script(
    "mmtutorial.experiments.sort_of_clevr", __doc__, EXPERIMENTS, run, (_add_options, _overrides)
)


if __name__ == "__main__":
    main()
