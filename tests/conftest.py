"""Shared fixtures. Small sizes keep the suite fast on a 2-core CPU."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mmtutorial as mt  # noqa: E402


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


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]
