"""The measurements behind ``python -m benchmarks``; see the package docstring."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import mmtutorial as mt  # noqa: E402

from . import WALKTHROUGH  # noqa: E402
from .flops import model_flops  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The recipe the book recommends for training on a CPU, chosen by the measurements
# below (see book/performance.md): mt.train.fit's tf.data pipeline with this batch.
PIPELINE_BATCH = 256


def best_of(function, repeat):
    """The shortest of ``repeat`` timed calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


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


def naive_rate(task, split, epochs, repeat):
    """The article's pattern: ``model.fit`` on NumPy arrays, batch 32, Keras's defaults."""
    model = walkthrough_model(task)
    features = {key: split.features[key] for key in ("image", "text")}

    def train(epochs):
        model.fit(features, split.labels, batch_size=32, epochs=epochs, verbose=0)

    train(1)  # traces the step
    return epochs * len(split.labels) / best_of(lambda: train(epochs), repeat)


def pipeline_rate(task, split, epochs, repeat, *, batch_size, precision="float32"):
    """``mt.train.fit``: the checked, prefetched tf.data pipeline, at ``batch_size``."""
    with policy(precision):
        model = walkthrough_model(task)

        def train(epochs):
            mt.train.fit(model, split, epochs=epochs, batch_size=batch_size)

        train(1)
        return epochs * len(split.labels) / best_of(lambda: train(epochs), repeat)


def matmul_flops_per_s(size=2048, repeat=5, dtype="float32"):
    """Dense square matrix products: the most FLOP/s this machine gives TensorFlow."""
    a = tf.random.stateless_normal((size, size), seed=(0, 1), dtype=dtype)
    b = tf.random.stateless_normal((size, size), seed=(1, 2), dtype=dtype)
    product = tf.function(lambda a, b: tf.linalg.matmul(a, b))

    def run():
        product(a, b).numpy()

    return 2 * size**3 / best_of(run, repeat)


def bfloat16_supported():
    """Whether the CPU has native bfloat16 dot products (AVX512-BF16 or AMX)."""
    try:
        flags = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def import_overhead(repeat=3):
    """Seconds ``import mmtutorial`` adds to ``import tensorflow``, each in a fresh interpreter."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")

    def seconds(code):
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
            best = min(best, time.perf_counter() - start)
        return best

    return seconds("import tensorflow, mmtutorial") - seconds("import tensorflow")


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


def device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)} (TensorFlow {tf.__version__})"
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {model}, {cores} cores (TensorFlow {tf.__version__})"


def measure(*, quick=False, samples=None, log=print):
    """Every figure of the benchmark, as a dict with :data:`KEYS` (and ``details`` for the table)."""
    task = mt.data.ShapeMaterialTask()
    samples = samples or (2048 if quick else 4096)
    epochs, repeat = (1, 1) if quick else (3, 2)
    split = task.generate(samples, seed=1)
    details = {"samples": samples, "epochs": epochs}

    log("training throughput, the article's pattern ...")
    naive = naive_rate(task, split, epochs, repeat)
    # The candidates for the recommended pipeline; the fastest is kept.
    candidates = [(32, "float32"), (PIPELINE_BATCH, "float32"), (2 * PIPELINE_BATCH, "float32")]
    if bfloat16_supported():
        candidates.append((PIPELINE_BATCH, "mixed_bfloat16"))
    variants = {}
    for batch, precision in candidates:
        log(f"training throughput, mt.train.fit, batch {batch}, {precision} ...")
        rate = pipeline_rate(task, split, epochs, repeat, batch_size=batch, precision=precision)
        variants[(batch, precision)] = rate
    (batch, precision), pipeline = max(variants.items(), key=lambda item: item[1])
    dtype = "bfloat16" if "bfloat16" in precision else "float32"
    details["variants"] = {
        f"mt.train.fit, batch {b}, {p}": round(rate, 1) for (b, p), rate in variants.items()
    }
    details["pipeline"] = f"mt.train.fit, batch {batch}, {precision}"
    details["dtype"] = dtype

    flops = model_flops(walkthrough_model(task))
    details["train_step_flops_per_sample"] = flops["train_step"]
    log("dense matrix products ...")
    matmul = matmul_flops_per_s(repeat=3 if quick else 5, dtype=dtype)

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
        details["chapter_source"] = "the cold build in this run"
    else:
        chapters = chapter_times(cache)
        details["chapter_source"] = f"the last build's cache in {cache.relative_to(ROOT)}"

    figures = {
        "naive_samples_per_s": round(naive, 1),
        "pipeline_samples_per_s": round(pipeline, 1),
        "train_step_flops_per_s": round(flops["train_step"] * pipeline),
        "matmul_flops_per_s": round(matmul),
        "chapter_seconds": chapters,
        "book_seconds": round(sum(chapters.values()), 2) if chapters else None,
        "import_overhead_s": round(overhead, 3),
        "cold_build_s": None if cold is None else round(cold, 1),
        "warm_build_s": None if warm is None else round(warm, 1),
        "device": device_name(),
    }
    return figures, details


def table(figures, details=None):
    """The figures as a readable plain-text table, ratios beside the seconds."""
    details = details or {}
    rows = []
    naive, pipeline = figures["naive_samples_per_s"], figures["pipeline_samples_per_s"]
    rows.append(
        (
            "training, the article's pattern (model.fit on arrays, batch 32)",
            f"{naive:,.0f} samples/s",
            "1.00",
        )
    )
    for name, rate in details.get("variants", {}).items():
        rows.append((f"training, {name}", f"{rate:,.0f} samples/s", f"{rate / naive:.2f}"))
    step, peak = figures["train_step_flops_per_s"], figures["matmul_flops_per_s"]
    rows.append(
        (
            f"recommended: {details.get('pipeline', 'mt.train.fit')}",
            f"{pipeline:,.0f} samples/s",
            f"{pipeline / naive:.2f}",
        )
    )
    rows.append(
        ("training step, achieved", f"{step / 1e9:,.1f} GFLOP/s", f"{step / peak:.2f} of peak")
    )
    dtype = details.get("dtype", "float32")
    rows.append((f"dense 2048 x 2048 {dtype} matmul (peak)", f"{peak / 1e9:,.1f} GFLOP/s", "1.00"))
    rows.append(
        ("import mmtutorial beyond tensorflow", f"{figures['import_overhead_s']:.2f} s", "")
    )
    chapters = figures["chapter_seconds"]
    base = chapters.get(WALKTHROUGH)
    for stem, seconds in sorted(chapters.items(), key=lambda item: -item[1]):
        ratio = f"{seconds / base:.2f}" if base else ""
        rows.append((f"chapter {stem}", f"{seconds:.1f} s", ratio))
    if chapters:
        total = figures["book_seconds"]
        rows.append(("all chapters", f"{total:.1f} s", f"{total / base:.2f}" if base else ""))
    for key, label in (("cold_build_s", "cold book build"), ("warm_build_s", "warm book rebuild")):
        if figures[key] is not None:
            rows.append((label, f"{figures[key]:.1f} s", ""))
    width = max(len(row[0]) for row in rows)
    lines = [f"{figures['device']}", f"{'measurement':{width}}  {'value':>20}  {'ratio':>12}"]
    lines += [f"{name:{width}}  {value:>20}  {ratio:>12}" for name, value, ratio in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="no book builds, smaller samples")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)  # tests use a tiny run
    args = parser.parse_args(argv)
    figures, details = measure(
        quick=args.quick, samples=args.samples, log=lambda m: print(m, file=sys.stderr)
    )
    print(table(figures, details))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
