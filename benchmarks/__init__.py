"""Speed of the book's training recipes and of the book itself, measured in one run.

Run ``python -m benchmarks`` (or ``make bench``) from the repository root::

    python -m benchmarks                   # everything, a cold and a warm book build included
    python -m benchmarks --quick           # no book builds, smaller samples (under 3 minutes)
    python -m benchmarks --json out.json   # also write the figures as JSON

Everything is measured back to back in the same process on the same data and
model, so the ratios carry over between machines far better than the seconds
do. The book's Performance page renders the JSON files committed under
``benchmarks/results/``. Nothing here is asserted in the tests: the tests
check behaviour, this module informs decisions.
"""

# The figures ``--json`` writes, exactly these keys; the book's table checks for them.
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
# Chapter budgets are stated relative to this chapter's time in the same build.
WALKTHROUGH = "code_walkthrough"
