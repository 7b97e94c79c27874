"""tools/check_seeds.py: it changes exactly the chapter's SEED line and finds every failed cell."""

import pytest

from tools import check_seeds


def notebook(*cells):
    return {
        "cells": [
            {
                "cell_type": kind,
                "source": source,
                "metadata": {},
                **({"outputs": outputs} if kind == "code" else {}),
            }
            for kind, source, outputs in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_with_seed_changes_only_the_seed_line():
    original = notebook(
        ("markdown", "SEED = 0 in prose is left alone", None),
        ("code", ["import numpy as np\n", "SEED = 0\n", "rng = np.random.default_rng(SEED)\n"], []),
        ("code", "split = task.generate(10, seed=SEED + 1)", []),
    )
    changed = check_seeds.with_seed(original, 3)
    assert (
        changed["cells"][1]["source"]
        == "import numpy as np\nSEED = 3\nrng = np.random.default_rng(SEED)\n"
    )
    assert changed["cells"][0]["source"] == original["cells"][0]["source"]
    assert changed["cells"][2]["source"] == original["cells"][2]["source"]
    assert original["cells"][1]["source"][1] == "SEED = 0\n", "the original must not be modified"


@pytest.mark.parametrize("sources, found", [(["x = 1"], 0), (["SEED = 0", "SEED = 1"], 2)])
def test_with_seed_needs_exactly_one_seed_cell(sources, found):
    with pytest.raises(ValueError, match=f"found {found}"):
        check_seeds.with_seed(notebook(*[("code", s, []) for s in sources]), 1)


@pytest.mark.parametrize("seed", [-1, True, 1.0])
def test_with_seed_refuses_a_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer; received"):
        check_seeds.with_seed(notebook(("code", "SEED = 0", [])), seed)


def test_failures_of_reports_every_cell_with_an_error():
    error = {
        "output_type": "error",
        "ename": "AssertionError",
        "evalue": "0.72 < 0.80",
        "traceback": [],
    }
    executed = notebook(
        ("code", "SEED = 1", []),
        ("code", "\nassert late > joint, (late, joint)", [error]),
        ("code", "print('fine')", [{"output_type": "stream", "name": "stdout", "text": "fine"}]),
        ("code", "assert other", [dict(error, evalue="")]),
    )
    failures = check_seeds.failures_of(executed)
    assert [(f.cell, f.code, f.error) for f in failures] == [
        (1, "assert late > joint, (late, joint)", "AssertionError: 0.72 < 0.80"),
        (3, "assert other", "AssertionError:"),
    ]


def test_the_table_marks_failed_seeds():
    outcomes = [
        check_seeds.Outcome("a.ipynb", 0, 12.0, []),
        check_seeds.Outcome(
            "a.ipynb", 1, 11.0, [check_seeds.Failure(4, "assert x", "AssertionError")]
        ),
    ]
    text = check_seeds.table(outcomes, [0, 1])
    assert text.splitlines()[2] == "| a.ipynb | ok (12 s) | FAIL cell 4 |"
