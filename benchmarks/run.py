"""The measurements behind ``python -m benchmarks``; see the package docstring."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import mmtutorial as mt  # noqa: E402
from mmtutorial.train import pipeline as mt_pipeline  # noqa: E402

from . import TARGET_UTILISATION, WALKTHROUGH, machine, timing  # noqa: E402
from .flops import layer_forward_flops, model_flops  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# The recipe the book recommends for training on a CPU (see book/performance.md):
# mt.train.fit's tf.data pipeline with this batch, in float32. It is fixed, not
# the winner of a race, so the figure means the same thing in every run.
PIPELINE_BATCH = 256
MATMUL_SIZE = 2048


def settings(quick, tiny=False):
    """Samples per timed epoch and the repeat rule: the quick run repeats less, never measures less.

    ``tiny`` (the tests' hidden ``--tiny``) times each figure once or twice: it
    checks that the run works, and its figures mean nothing.
    """
    if tiny:
        return {"samples": 256, "min_repeats": 1, "max_repeats": 2, "window": 1, "tolerance": 1.0}
    if quick:
        return {"samples": 4096, "min_repeats": 3, "max_repeats": 6, "window": 2, "tolerance": 0.05}
    return {"samples": 4096, "min_repeats": 5, "max_repeats": 15, "window": 3, "tolerance": 0.03}


@contextlib.contextmanager
def policy(name):
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def walkthrough_model(task, **options):
    """The walkthrough chapter's model: ``build_classifier``'s defaults on the walkthrough's task."""
    mt.train.set_seed(0)
    return mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, **options
    )


def threads():
    """The threads TensorFlow was told to use (0: its default, one per CPU it may use)."""
    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def figure(what, measured, *, unit, dtype, precision, batch, extra=None):
    """One measured rate with everything needed to read it: median, range, repeats and settings."""
    record = {
        "what": what,
        "unit": unit,
        "dtype": dtype,
        "precision_policy": precision,
        "batch": batch,
        "median": measured["median"],
        "min": measured["min"],
        "max": measured["max"],
        "repeats": measured["repeats"],
        "stable": measured["stable"],
    }
    record.update(extra or {})
    return record


def naive_rate(task, split, rule):
    """The article's pattern: ``model.fit`` on NumPy arrays, batch 32, Keras's defaults."""
    model = walkthrough_model(task)
    features = {key: split.features[key] for key in ("image", "text")}
    measured = timing.repeat_until_stable(
        lambda: model.fit(features, split.labels, batch_size=32, epochs=1, verbose=0), **rule
    )
    return timing.rate(measured, len(split.labels))


def pipeline_rate(task, split, rule, *, batch_size, precision="float32"):
    """``mt.train.fit``: the checked, prefetched tf.data pipeline, at ``batch_size``."""
    with policy(precision):
        model = walkthrough_model(task)
        measured = timing.repeat_until_stable(
            lambda: mt.train.fit(model, split, epochs=1, batch_size=batch_size), **rule
        )
    return timing.rate(measured, len(split.labels))


@tf.function
def product(a, b):
    """A matrix product reduced to one number, so fetching the result costs nothing."""
    return tf.reduce_sum(tf.linalg.matmul(a, b))


def matmul_rate(rule, size=MATMUL_SIZE, dtype="float32"):
    """Square ``size`` x ``size`` matrix products in ``dtype``: the most FLOP/s TensorFlow gets here.

    The first (untimed) call traces the function; each timed call runs the
    product and waits for its result.
    """
    a = tf.random.stateless_normal((size, size), seed=(0, 1), dtype=dtype)
    b = tf.random.stateless_normal((size, size), seed=(1, 2), dtype=dtype)
    measured = timing.repeat_until_stable(lambda: product(a, b).numpy(), **rule)
    return timing.rate(measured, 2 * size**3)


def bfloat16_supported(flags=None):
    """Whether the CPU has native bfloat16 dot products (AVX512-BF16 or AMX)."""
    if flags is None:
        flags = machine.describe()["flags"]
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _step_function(model, loss_of):
    """A compiled forward + backward pass of ``model`` (gradients of every trainable weight)."""

    @tf.function
    def step(inputs, labels):
        with tf.GradientTape() as tape:
            loss = loss_of(model(inputs, training=True), labels)
        gradients = tape.gradient(loss, model.trainable_variables)
        # One scalar that depends on every gradient (an embedding's is sparse: its values).
        return tf.add_n([tf.reduce_sum(getattr(g, "values", g)) for g in gradients])

    return step


def profile_step(task, split, rule, *, batch_size=PIPELINE_BATCH):
    """Where a float32 training step of the walkthrough model spends its time, part by part.

    Each part runs on one batch held in memory (no input pipeline), forward and
    backward, in a compiled function: the image encoder (three convolutions),
    the text encoder (embedding and LSTM), the head (two dense layers), the
    whole model's gradient, and the whole training step as ``model.fit``
    runs it on an in-memory dataset. Beside them: the ``tf.data`` pipeline
    ``mt.train.fit`` builds, iterated alone, and the matrix product of one
    LSTM step at this batch (the small matrix the recurrence multiplies
    twelve times in sequence). Returns a list of rows with milliseconds per
    batch and, where the part has matrix products, its FLOP/s.
    """
    model = walkthrough_model(task)
    flops = model_flops(model)
    batch = {key: tf.constant(split.features[key][:batch_size]) for key in ("image", "text")}
    labels = tf.constant(np.asarray(split.labels[:batch_size], dtype="int32"))
    image_encoder = model.get_layer("image_encoder")
    text_encoder = model.get_layer("text_encoder")
    head = model.get_layer("head")
    image_vectors = image_encoder(batch["image"])
    text_vectors = text_encoder(batch["text"])
    fusion = model.layers[model.layers.index(head) - 1]  # the layer that feeds the head
    fused = fusion([image_vectors, text_vectors])

    def layer_flops(sub, no_input_gradient=()):
        total = 0
        for layer in sub.layers:
            forward = layer_forward_flops(layer)
            total += forward * (2 if layer.name in no_input_gradient else 3)
        return total

    def mean_of(outputs, _labels):
        return tf.reduce_mean(tf.cast(outputs, "float32"))

    loss = keras.losses.SparseCategoricalCrossentropy()

    def cross_entropy(outputs, labels):
        return loss(labels, outputs)

    parts = [
        (
            "image encoder (conv1-3), forward + backward",
            image_encoder,
            batch["image"],
            mean_of,
            layer_flops(image_encoder, ("conv1",)),
        ),
        (
            "text encoder (embedding + LSTM), forward + backward",
            text_encoder,
            batch["text"],
            mean_of,
            layer_flops(text_encoder),
        ),
        (
            "head (two dense layers), forward + backward",
            head,
            fused,
            mean_of,
            layer_flops(head, ("hidden",)),
        ),
        (
            "whole model, forward + backward",
            model,
            batch,
            cross_entropy,
            flops["train_step"],
        ),
    ]
    rows = []
    for name, sub, inputs, loss_of, part_flops in parts:
        step = _step_function(sub, loss_of)
        measured = timing.repeat_until_stable(
            lambda step=step, inputs=inputs: step(inputs, labels).numpy(), **rule
        )
        rows.append(_profile_row(name, measured, batch_size, part_flops * batch_size))

    # The training step as model.fit runs it, on batches already in memory (no gathering).
    steps = 4 if batch_size < PIPELINE_BATCH else 16  # the tests' tiny run: fewer
    dataset = tf.data.Dataset.from_tensors((batch, labels)).repeat(steps)
    fit = lambda: model.fit(dataset, epochs=1, verbose=0, shuffle=False)  # noqa: E731
    measured = timing.repeat_until_stable(fit, **rule)
    measured = {
        **measured,
        "median": measured["median"] / steps,
        "min": measured["min"] / steps,
        "max": measured["max"] / steps,
    }
    rows.append(
        _profile_row(
            "model.fit step, batch already in memory (optimizer included)",
            measured,
            batch_size,
            flops["train_step"] * batch_size,
        )
    )

    # mt.train.fit's input pipeline alone: gathering and prefetching one epoch of batches.
    checked = {key: split.features[key] for key in ("image", "text")}
    dataset, steps = mt_pipeline._epoch_batches(
        checked,
        np.asarray(split.labels, dtype="int32"),
        batch_size=batch_size,
        seed=0,
        first_epoch=0,
        epochs=1,
    )
    measured = timing.repeat_until_stable(lambda: [None for _ in dataset], **rule)
    measured = {
        **measured,
        "median": measured["median"] / steps,
        "min": measured["min"] / steps,
        "max": measured["max"] / steps,
    }
    rows.append(
        _profile_row("tf.data input pipeline alone (gather + prefetch)", measured, batch_size, None)
    )

    # One LSTM step's matrix product at this batch: [x_t, h_t-1] (batch x (d + u)) by (d + u) x 4u.
    lstm = text_encoder.get_layer("lstm")
    width = int(keras.tree.flatten(lstm.input)[0].shape[-1]) + lstm.units
    a = tf.random.stateless_normal((batch_size, width), seed=(0, 1))
    b = tf.random.stateless_normal((width, 4 * lstm.units), seed=(1, 2))
    measured = timing.repeat_until_stable(lambda: product(a, b).numpy(), **rule)
    rows.append(
        _profile_row(
            f"one LSTM step's matrix product ({batch_size} x {width} by {width} x {4 * lstm.units})",
            measured,
            batch_size,
            2 * batch_size * width * 4 * lstm.units,
        )
    )
    return rows


def _profile_row(name, measured, batch_size, work_flops):
    row = {
        "part": name,
        "ms_per_batch": round(1e3 * measured["median"], 3),
        "ms_range": [round(1e3 * measured["min"], 3), round(1e3 * measured["max"], 3)],
        "repeats": measured["repeats"],
        "flops_per_s": None if work_flops is None else round(work_flops / measured["median"]),
    }
    return row


def import_overhead(repeat=3):
    """Seconds ``import mmtutorial`` takes once TensorFlow and Keras are imported; the median
    over ``repeat`` fresh interpreters.

    Each interpreter imports TensorFlow and Keras first and times only the
    import of the package after them, so the figure is what the package adds
    and cannot come out negative, as the difference of two separately timed
    interpreters did (-0.56 s in one run: start-up noise larger than the figure).
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    code = (
        "import time, tensorflow, keras; start = time.perf_counter(); import mmtutorial; "
        "print(time.perf_counter() - start)"
    )
    times = []
    for _ in range(repeat):
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
        times.append(float(result.stdout.strip().splitlines()[-1]))
    return float(np.median(times))


def build_book(output):
    """``jupyter-book build`` of the repository into ``output``; seconds.

    A chapter that fails to execute would leave its time out of the figures,
    so any failure stops the benchmark with the build's own report of it.
    """
    jupyter_book = pathlib.Path(sys.executable).parent / "jupyter-book"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MPLBACKEND", None)
    start = time.perf_counter()
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(output), "--builder", "html"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    failed = [line for line in log.splitlines() if "Executing notebook failed" in line]
    if result.returncode or failed:
        raise RuntimeError(
            f"the book build failed ({result.returncode}):\n" + "\n".join(failed or [log[-4000:]])
        )
    return seconds


def chapter_times(cache_path):
    """Each chapter's execution seconds as its build recorded them in the jupyter-cache."""
    from jupyter_cache import get_cache

    if not pathlib.Path(cache_path).exists():
        return {}
    times = {}
    for record in get_cache(str(cache_path)).list_cache_records():
        seconds = record.data.get("execution_seconds")
        if seconds is not None:
            times[pathlib.Path(record.uri).stem] = round(float(seconds), 2)
    return dict(sorted(times.items()))


def device_name(description=None):
    """The machine in words: the processor, the CPUs this process may use, TensorFlow's version."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)} (TensorFlow {tf.__version__})"
    description = description or machine.describe()
    cpus = description["usable_cpus"]
    limits = f"{description['affinity_cpus']} in its affinity"
    if description["cgroup_quota_cpus"] is not None:
        limits += f", cgroup quota {description['cgroup_quota_cpus']:g}"
    return (
        f"CPU: {description['model'] or 'unknown'}, {cpus:g} usable CPUs ({limits}) "
        f"(TensorFlow {tf.__version__})"
    )


def ratios_of(figures):
    """The ratios the page and the quick/full rule compare, from a results dict."""
    out = {
        "pipeline over naive": figures["pipeline_samples_per_s"] / figures["naive_samples_per_s"]
    }
    out["training step over the float32 limit"] = (
        figures["train_step_flops_per_s"] / figures["matmul_flops_per_s"]
    )
    return out


def full_run_for(description, folder=RESULTS):
    """The ratios of a full run in ``folder`` made on this machine, or ``None``."""
    for path in sorted(pathlib.Path(folder).glob("*.json")):
        with contextlib.suppress(ValueError, KeyError, OSError):
            figures = json.loads(path.read_text())
            if figures.get("quick", True) or "machine" not in figures:
                continue
            theirs = figures["machine"]
            same = all(
                theirs.get(key) == description.get(key) for key in ("model", "usable_cpus", "flags")
            ) and figures["device"].endswith(f"(TensorFlow {tf.__version__})")
            if same:
                return ratios_of(figures)
    return None


def measure(*, quick=False, samples=None, log=print, results=RESULTS, tiny=False):
    """Every figure of the benchmark, as a dict with :data:`KEYS` and the details behind them."""
    rule = settings(quick, tiny)
    matmul_size = 256 if tiny else MATMUL_SIZE
    samples = samples or rule["samples"]
    del rule["samples"]
    description = machine.describe()
    description["tensorflow_threads"] = threads()
    peaks = {dtype: description["peak"][dtype]["flops_per_s"] for dtype in description["peak"]}
    task = mt.data.ShapeMaterialTask()
    split = task.generate(samples, seed=1)
    measurements = {}

    dtypes = ["float32"] + (["bfloat16"] if bfloat16_supported(description["flags"]) else [])
    for dtype in dtypes:
        log(
            f"dense matrix products, {dtype} ({'the limit' if dtype == 'float32' else 'its own figure'}) ..."
        )
        rate = matmul_rate(rule, matmul_size, dtype=dtype)
        measurements[f"matmul_{dtype}"] = figure(
            f"{matmul_size} x {matmul_size} matrix product",
            rate,
            unit="FLOP/s",
            dtype=dtype,
            precision=dtype,
            batch=None,
            extra={"peak_flops_per_s": peaks[dtype]},
        )
        machine.check_below_peak(f"{dtype} matrix product", rate["median"], peaks[dtype])
    matmul = measurements["matmul_float32"]

    log("training throughput, the article's pattern ...")
    naive = naive_rate(task, split, rule)
    measurements["naive"] = figure(
        "model.fit on NumPy arrays, Keras's defaults",
        naive,
        unit="samples/s",
        dtype="float32",
        precision="float32",
        batch=32,
    )
    log(f"training throughput, mt.train.fit, batch {PIPELINE_BATCH}, float32 ...")
    pipeline = pipeline_rate(task, split, rule, batch_size=PIPELINE_BATCH)
    measurements["pipeline"] = figure(
        "mt.train.fit (tf.data, prefetched)",
        pipeline,
        unit="samples/s",
        dtype="float32",
        precision="float32",
        batch=PIPELINE_BATCH,
    )
    variants = {}
    if not quick:
        candidates = [(32, "float32"), (2 * PIPELINE_BATCH, "float32")]
        if bfloat16_supported(description["flags"]):
            candidates.append((PIPELINE_BATCH, "mixed_bfloat16"))
        for batch, precision in candidates:
            log(f"training throughput, mt.train.fit, batch {batch}, {precision} ...")
            measured = pipeline_rate(task, split, rule, batch_size=batch, precision=precision)
            variants[f"batch {batch}, {precision}"] = figure(
                "mt.train.fit (tf.data, prefetched)",
                measured,
                unit="samples/s",
                dtype="bfloat16" if "bfloat16" in precision else "float32",
                precision=precision,
                batch=batch,
            )
    measurements["variants"] = variants

    flops = model_flops(walkthrough_model(task))
    step = flops["train_step"] * pipeline["median"]
    machine.check_below_peak("the training step", step, peaks["float32"])
    utilisation = step / matmul["median"]
    log("the training step, part by part ...")
    profile = profile_step(task, split, rule, batch_size=64 if tiny else PIPELINE_BATCH)

    log("import time ...")
    overhead = import_overhead(repeat=1 if quick else 3)

    cold = warm = None
    cache = ROOT / "_build" / ".jupyter_cache"
    if not quick:
        with tempfile.TemporaryDirectory(prefix="mmtutorial-bench-") as folder:
            log("cold book build (executes every chapter) ...")
            cold = build_book(folder)
            log("warm book rebuild ...")
            warm = build_book(folder)
            chapters = chapter_times(pathlib.Path(folder) / "_build" / ".jupyter_cache")
        chapter_source = "the cold build in this run"
    else:
        chapters = chapter_times(cache)
        chapter_source = f"the last build's cache in {cache.relative_to(ROOT)}"

    device = device_name(description)
    figures = {
        "naive_samples_per_s": round(naive["median"], 1),
        "pipeline_samples_per_s": round(pipeline["median"], 1),
        "train_step_flops_per_s": round(step),
        "matmul_flops_per_s": round(matmul["median"]),
        "chapter_seconds": chapters,
        "book_seconds": round(sum(chapters.values()), 2) if chapters else None,
        "import_overhead_s": round(overhead, 3),
        "cold_build_s": None if cold is None else round(cold, 1),
        "warm_build_s": None if warm is None else round(warm, 1),
        "device": device,
        "quick": quick,
        "samples": samples,
        "machine": description,
        "measurements": _rounded(measurements),
        "train_step_flops_per_sample": flops["train_step"],
        "utilisation": round(utilisation, 4),
        "target_utilisation": TARGET_UTILISATION,
        "profile": profile,
        "chapter_source": chapter_source,
    }
    spreads = {
        "pipeline over naive": timing.ratio_spread(pipeline, naive),
        "training step over the float32 limit": timing.ratio_spread(pipeline, matmul),
    }
    verdict = []
    if quick:
        verdict = timing.quick_verdict(
            ratios_of(figures), spreads, full_run_for(description, results)
        )
    figures["quick_verdict"] = verdict
    return figures


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _range(record, scale, digits=0):
    return f"{record['median'] / scale:,.{digits}f} ({record['min'] / scale:,.{digits}f}-{record['max'] / scale:,.{digits}f})"


def table(figures):
    """The figures as a readable plain-text table: median (range), settings and ratios."""
    rows = []
    measurements = figures.get("measurements", {})
    naive = figures["naive_samples_per_s"]
    for key, label in (
        ("naive", "training, the article's pattern (model.fit on arrays)"),
        ("pipeline", "training, recommended (mt.train.fit)"),
    ):
        record = measurements[key]
        rows.append(
            (
                f"{label}, batch {record['batch']}, {record['precision_policy']}",
                _range(record, 1) + " samples/s",
                f"{record['median'] / naive:.2f}",
            )
        )
    for name, record in measurements.get("variants", {}).items():
        rows.append(
            (
                f"training, mt.train.fit, {name}",
                _range(record, 1) + " samples/s",
                f"{record['median'] / naive:.2f}",
            )
        )
    machine_ = figures["machine"]
    limit = figures["matmul_flops_per_s"]
    for dtype in ("float32", "bfloat16"):
        record = measurements.get(f"matmul_{dtype}")
        if record is None:
            continue
        peak = machine_["peak"][dtype]["flops_per_s"]
        rows.append(
            (
                f"{dtype} matrix product, {record['what'].replace(' matrix product', '')}",
                _range(record, 1e9, 1) + " GFLOP/s",
                f"{record['median'] / peak:.2f} of peak" if peak else "",
            )
        )
        rows.append(
            (f"{dtype} theoretical peak", f"{peak / 1e9:,.1f} GFLOP/s" if peak else "unknown", "")
        )
    step = figures["train_step_flops_per_s"]
    rows.append(
        (
            "training step (recommended pipeline, float32)",
            f"{step / 1e9:,.1f} GFLOP/s",
            f"{step / limit:.2f} of the float32 limit",
        )
    )
    for row in figures.get("profile", []):
        rate = "" if row["flops_per_s"] is None else f"{row['flops_per_s'] / 1e9:,.1f} GFLOP/s"
        rows.append((f"  profile: {row['part']}", f"{row['ms_per_batch']:.2f} ms/batch", rate))
    rows.append(
        ("import mmtutorial beyond tensorflow", f"{figures['import_overhead_s']:.2f} s", "")
    )
    chapters = figures["chapter_seconds"]
    base = chapters.get(WALKTHROUGH)
    for stem, seconds in sorted(chapters.items(), key=lambda item: -item[1]):
        rows.append(
            (f"chapter {stem}", f"{seconds:.1f} s", f"{seconds / base:.2f}" if base else "")
        )
    if chapters:
        total = figures["book_seconds"]
        rows.append(("all chapters", f"{total:.1f} s", f"{total / base:.2f}" if base else ""))
    for key, label in (("cold_build_s", "cold book build"), ("warm_build_s", "warm book rebuild")):
        if figures[key] is not None:
            rows.append((label, f"{figures[key]:.1f} s", ""))
    width = max(len(row[0]) for row in rows)
    threads_ = machine_.get("tensorflow_threads", {})
    lines = [
        figures["device"],
        f"peak float32: {machine_['peak']['float32']['formula']}",
        f"peak bfloat16: {machine_['peak']['bfloat16']['formula']}",
        "assumptions: " + "; ".join(machine_["assumptions"]),
        f"TensorFlow threads: intra-op {threads_.get('intra_op', '?')}, inter-op "
        f"{threads_.get('inter_op', '?')} (0 = TensorFlow's default)",
        "rates are the median (and range) over repeats until the median was stable; "
        + ("quick run" if figures.get("quick") else "full run"),
        f"{'measurement':{width}}  {'value':>30}  {'ratio':>12}",
    ]
    lines += [f"{name:{width}}  {value:>30}  {ratio:>12}" for name, value, ratio in rows]
    unstable = [
        key
        for key, record in measurements.items()
        if isinstance(record, dict) and "stable" in record and not record["stable"]
    ]
    if unstable:
        lines.append("not stable within the repeat cap: " + ", ".join(unstable))
    if figures["utilisation"] < figures["target_utilisation"]:
        lines.append(
            f"the training step reaches {figures['utilisation']:.2f} of the float32 limit, below the "
            f"target {figures['target_utilisation']}: see the profile above"
        )
    lines += figures.get("quick_verdict", [])
    return "\n".join(lines)


def read_test_phases(path):
    """``{phase: seconds}`` from the file ``make test`` writes; a clear error for anything else."""
    path = pathlib.Path(path)
    try:
        phases = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"--test-phases: cannot read {path}: {error}") from None
    if not isinstance(phases, dict) or not all(
        isinstance(value, (int, float)) for value in phases.values()
    ):
        raise SystemExit(
            f"--test-phases: {path} must map phase names to seconds; received {phases!r}"
        )
    return {str(name): float(value) for name, value in phases.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="no book builds, fewer repeats")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    parser.add_argument(
        "--test-phases",
        type=pathlib.Path,
        help="the seconds of each phase of a `make test` run (test-artifacts/test-phases.json), "
        "recorded with the figures",
    )
    parser.add_argument(
        "--add-test-phases",
        action="store_true",
        help="measure nothing: add --test-phases to the figures already in --json",
    )
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the tests' run
    args = parser.parse_args(argv)
    if args.add_test_phases:
        if not (args.test_phases and args.json and args.json.is_file()):
            parser.error("--add-test-phases needs --test-phases FILE and an existing --json FILE")
        figures = json.loads(args.json.read_text())
        figures["test_phases"] = read_test_phases(args.test_phases)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(table(figures))
        return figures
    figures = measure(
        quick=args.quick or args.tiny,
        samples=args.samples,
        tiny=args.tiny,
        log=lambda m: print(m, file=sys.stderr),
    )
    if args.test_phases:
        figures["test_phases"] = read_test_phases(args.test_phases)
    print(table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
