"""Where the walkthrough's time goes, as ratios measured in one run.

Run with `.venv/bin/python benchmarks/bench_training.py` (about two minutes on 2 cores).
It prints absolute times for this machine and, more usefully, ratios between
alternatives measured back to back in the same process, which carry over to
other machines far better than seconds do. Nothing here is asserted: the tests
check behaviour, this file informs decisions.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


import mmtutorial as mt  # noqa: E402


def timed(function, repeat=3):
    """Best of `repeat` wall-clock runs, in seconds (the first call warms up)."""
    function()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def epoch_time(task, split, **options):
    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, **options
    )
    return timed(lambda: mt.train.fit(model, split, epochs=1, batch_size=32), repeat=2)


def main():
    task = mt.data.ShapeMaterialTask()
    generate = timed(lambda: task.generate(10_000, seed=0), repeat=2)
    split = task.generate(2000, seed=1)

    fused = epoch_time(task, split)
    image = epoch_time(task, split, modalities=("image",))
    text = epoch_time(task, split, modalities=("text",))
    pooled = epoch_time(task, split, image_pooling="avg")

    mt.train.set_seed(0)
    model = mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )
    checked = timed(lambda: mt.train.predict(model, split))
    raw = timed(lambda: model.predict(split.features, batch_size=256, verbose=0))

    # Every fusion with the same small encoders (32-wide image and text vectors, so that
    # tensor fusion stays 33 x 33 wide), relative to concatenation with those encoders.
    small = {"image_projection": 32, "text_units": 32}
    fusions = {
        "concat": {},
        "gated": {"units": 64},
        "tensor": {},
        "low_rank": {"units": 64, "rank": 4},
        "film": {},
        "cross_attention": {"units": 32, "num_heads": 4},
    }
    fusion_times = {
        name: epoch_time(task, split, fusion=name, fusion_config=config, **small)
        for name, config in fusions.items()
    }

    rows = [
        ("generate 10,000 task samples", generate, None),
        ("one epoch, 2,000 samples, image + text", fused, 1.0),
        ("  image only", image, image / fused),
        ("  text only", text, text / fused),
        ("  image + text, global average pooling", pooled, pooled / fused),
        ("predict 2,000 with mt.train.predict (checked tf.data)", checked, None),
        ("predict 2,000 with model.predict on NumPy arrays", raw, raw / checked),
        ("one epoch, 2,000 samples, 32-wide encoders, concat", fusion_times["concat"], 1.0),
    ] + [
        (f"  fusion {name!r}", seconds, seconds / fusion_times["concat"])
        for name, seconds in fusion_times.items()
        if name != "concat"
    ]
    print(f"{'measurement':56} {'seconds':>8} {'ratio':>7}")
    for name, seconds, ratio in rows:
        print(f"{name:56} {seconds:8.3f} {'' if ratio is None else f'{ratio:7.2f}'}")


if __name__ == "__main__":
    main()
