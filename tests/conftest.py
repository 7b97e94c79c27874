"""Shared fixtures. Small sizes keep the suite fast on a 2-core CPU."""

import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mmtutorial as mt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def task():
    return mt.data.ShapeMaterialTask()


@pytest.fixture(scope="session")
def small(task):
    """A small split, shared read-only by many tests."""
    return task.generate(64, seed=7)


@pytest.fixture
def fused(task):
    mt.train.set_seed(0)
    return mt.models.build_classifier(
        task.image_shape, task.vocab_size, task.sequence_length, task.num_classes
    )


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book built once per session into a fresh folder; tests/test_book.py and tests/test_browser.py share it."""
    output = tmp_path_factory.mktemp("book")
    jupyter_book = pathlib.Path(sys.executable).parent / "jupyter-book"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MPLBACKEND", None)  # the kernels should use Jupyter's own inline backend
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(ROOT),
            "--path-output",
            str(output),
            "--builder",
            "html",
            "-W",
            "-n",
            "--keep-going",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (
        f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    )
    return output / "_build" / "html"


def pytest_collection_modifyitems(config, items):
    """Every test that needs the built book is marked ``book``, so ``make test-fast`` can leave it out."""
    for item in items:
        if "built_book" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.book)


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]
