"""Speed of the book's training recipes and of the book itself, measured in one run.

Run ``python -m benchmarks`` (or ``make bench``) from the repository root::

    python -m benchmarks                   # everything, a cold and a warm book build included
    python -m benchmarks --quick           # no book builds, fewer repeats (a few minutes)
    python -m benchmarks --json out.json   # also write the figures as JSON

Everything is measured back to back in the same process on the same data and
model, so the ratios carry over between machines far better than the seconds
do. Every rate is the median (and range) of repeated calls after an untimed
warm-up, repeated until the median settles (:mod:`benchmarks.timing`), and
says its dtype, precision policy and batch. The matrix-product limit is
measured in float32 (bfloat16 is its own, labelled figure) beside the
machine's theoretical peak, read from its CPU flags, usable CPUs and clock
(:mod:`benchmarks.machine`); a rate above the peak stops the run with an error.
A ``--quick`` run compares its ratios with a full run of the same machine in
``benchmarks/results/`` and says where they differ by more than 15%, or that
it cannot check. The book's Performance page renders the JSON files committed under
``benchmarks/results/``. Nothing here is asserted in the tests: the tests
check behaviour, this module informs decisions.
"""

# The headline figures ``--json`` writes; the book's table requires them.
KEYS = (
    "naive_samples_per_s",
    "pipeline_samples_per_s",
    "train_step_flops_per_s",
    "matmul_flops_per_s",
    "chapter_seconds",
    "book_seconds",
    "import_overhead_s",
    "cold_build_s",
    "warm_build_s",
    "device",
)
# What a run of this version also writes, beside KEYS: how each figure was measured
# (dtype, precision policy, batch, repeats, median and range), the machine as the
# process sees it with its theoretical peak, the training step's share of the
# float32 limit and the profile of that step. Files without them still render.
DETAIL_KEYS = (
    "quick",
    "samples",
    "machine",
    "measurements",
    "train_step_flops_per_sample",
    "utilisation",
    "target_utilisation",
    "profile",
    "chapter_source",
    "quick_verdict",
)
# The share of the float32 matrix-product limit a training step should reach.
TARGET_UTILISATION = 0.4
# Chapter budgets are stated relative to this chapter's time in the same build.
WALKTHROUGH = "code_walkthrough"
