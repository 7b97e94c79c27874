"""Trainings too long for a chapter's budget, run once by one command, with their results shipped.

Each module here is a script (``python -m mmtutorial.experiments.<name>``)
that trains a model with fixed, documented settings and writes two files into
``mmtutorial/experiments/results/``: the model (``<name>.keras``, loadable in
safe mode) and its training log (``<name>.json``: the settings, the loss per
epoch, the seconds it took, the figures on its own test split). A chapter
then loads the shipped model with :func:`load` and evaluates it live on scenes
it draws afresh; ``tests/test_experiments.py`` checks that the shipped model
still reaches the figures the chapter states.

* :mod:`~mmtutorial.experiments.segmentation` -- the segmentation chapter's
  networks: ``segmentation_image_only`` and ``segmentation_cross_attention``
  (21 classes per pixel) and ``referring_cross_attention`` (one object's mask).
* :mod:`~mmtutorial.experiments.sort_of_clevr` -- the relational-reasoning
  chapter's three pixel networks and two state-description networks on
  Sort-of-CLEVR (and ``sort_of_clevr_references.json``: the published
  figures the chapter compares with, no model).
* :mod:`~mmtutorial.experiments.transformers` -- the transformers chapter's
  comparisons on seeds 0 to 4: figures only (``transformers_seeds.json``),
  no model.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import json
import os
import pathlib
import platform

import keras
import tensorflow as tf

from .. import models  # noqa: F401  (registers the layers the shipped models are made of)

#: Where the shipped models and logs live, inside the installed package.
RESULTS = "results"


def result_path(name: str, suffix: str) -> pathlib.Path:
    """The shipped file ``results/<name><suffix>`` (``suffix`` is ``".keras"`` or ``".json"``)."""
    if suffix not in (".keras", ".json"):
        raise ValueError(f"suffix must be '.keras' or '.json'; received {suffix!r}")
    path = pathlib.Path(
        str(importlib.resources.files(__package__).joinpath(RESULTS, name + suffix))
    )
    if not path.exists():
        shipped = sorted(p.stem for p in path.parent.glob("*.keras"))
        raise FileNotFoundError(
            f"no shipped result named {name!r} ({path} does not exist); shipped: {shipped}"
        )
    return path


def load(name: str, folder=None):
    """The model and training log ``name``, from ``folder`` or else the shipped results.

    The model is loaded in safe mode: nothing but registered layers is
    deserialized. Returns ``(model, log)``, the log as a dict.
    """
    if folder is None:
        model_file, log_file = result_path(name, ".keras"), result_path(name, ".json")
    else:
        model_file = pathlib.Path(folder) / f"{name}.keras"
        log_file = pathlib.Path(folder) / f"{name}.json"
        for path in (model_file, log_file):
            if not path.exists():
                raise FileNotFoundError(
                    f"load({name!r}, folder={str(folder)!r}): {path} is missing"
                )
    model = keras.saving.load_model(model_file, safe_mode=True)
    return model, json.loads(log_file.read_text())


__all__ = ["RESULTS", "load", "result_path"]


# -- what every experiment script shares: where it runs, what it writes, its command line ---


def package_version() -> str:
    """The installed package's version, for the training logs (read from its metadata)."""
    return importlib.metadata.version("mmtutorial")


def machine() -> str:
    """The machine a training ran on, in words: processor, cores, GPUs, Python and TensorFlow."""
    gpus = tf.config.list_physical_devices("GPU")
    names = [tf.config.experimental.get_device_details(d).get("device_name", d.name) for d in gpus]
    device = f"GPU {names}" if gpus else "CPU only"
    return (
        f"{platform.machine()}{_processor()}, {os.cpu_count()} cores, {device}, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}"
    )


def _processor() -> str:
    """`` (model name)`` of the processor where Linux says it, else nothing."""
    try:
        lines = pathlib.Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f" ({names[0]})" if names else ""


def settings_of(name: str, experiments: dict, quick: dict | None) -> dict:
    """The settings of experiment ``name``, shrunk by ``quick`` (a dict of overrides) if given."""
    if name not in experiments:
        raise ValueError(f"name must be one of {sorted(experiments)}; received {name!r}")
    return {**experiments[name], **(quick or {})}


def splits_of(task, settings: dict) -> dict:
    """The train, validation and test splits of ``task`` at the sizes and seed ``settings`` give."""
    sizes = {key: settings[key] for key in ("train", "validation", "test")}
    return task.splits(**sizes, seed=settings["seed"])


def write_result(output, name: str, record: dict, model=None) -> pathlib.Path:
    """Write ``<name>.json`` (and ``<name>.keras`` for a ``model``) into ``output``; return it."""
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    if model is not None:
        model.save(output / f"{name}.keras")
    (output / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    return output


def script(module: str, doc: str, experiments, run, options=None):
    """The ``main(argv=None)`` of the experiment script ``module``: :func:`command_line` on its runs."""

    def main(argv=None):
        return command_line(module, doc.splitlines()[0], experiments, run, argv, options)

    return main


def command_line(module: str, description: str, experiments, run, argv=None, options=None) -> dict:
    """The command line every experiment script shares: ``[--only NAME] [--quick --output DIR]``.

    ``experiments`` holds the names a run may choose; ``run(name, output,
    quick=...)`` trains one and returns its record. ``--quick`` (a tiny run,
    for the tests) is refused without an ``--output`` of the caller's own, so
    that it never overwrites the shipped models. A script with settings of its
    own passes ``options``, a pair of functions: ``add(parser)`` adds its
    arguments, ``overrides(args)`` turns them into a dict of settings, which
    ``run`` then receives as ``overrides=``; a run with any override is
    refused the shipped folder too, so that a shipped log always holds the
    settings its script names. Returns name -> record.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--only", choices=sorted(experiments), help="train this one only")
    parser.add_argument("--quick", action="store_true", help="a tiny run (for the tests)")
    shipped = pathlib.Path(__file__).resolve().parent / RESULTS
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=shipped,
        help="folder for the .keras and .json files (default: the package's results/)",
    )
    if options is not None:
        options[0](parser)
    args = parser.parse_args(argv)
    extra = {} if options is None else {"overrides": options[1](args)}
    for refused, why in (
        (args.quick, "--quick"),
        (extra.get("overrides"), "settings other than the script's"),
    ):
        if refused and args.output.resolve() == shipped:
            parser.error(
                f"{why} would overwrite the shipped models; give --output a folder of your own"
            )
    names = [args.only] if args.only else list(experiments)
    return {name: run(name, args.output, quick=args.quick, **extra) for name in names}
