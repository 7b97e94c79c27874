"""Figures: what they draw, and the counting behind the confusion matrix."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import mmtutorial as mt
from mmtutorial import plots


def test_sample_grid_draws_one_titled_image_per_sample(task, small):
    fig = plots.sample_grid(
        small.images, small.captions, small.labels, task.class_names, n=6, ncols=3
    )
    assert isinstance(fig, Figure)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 6 and len(fig.axes) == 6
    assert task.class_names[small.labels[0]] in titled[0].get_title()
    assert small.captions[0] in titled[0].get_title()
    assert len(titled[0].images) == 1


def test_sample_grid_rejects_missing_captions(small):
    with pytest.raises(ValueError, match="a caption and a label per image"):
        plots.sample_grid(small.images[:5], small.captions[:2], small.labels[:5])
    with pytest.raises(ValueError, match="at least one image"):
        plots.sample_grid(small.images[:0], (), ())


def test_learning_curves_plot_train_and_validation_per_model():
    histories = {
        "a": {"accuracy": [0.1, 0.5], "val_accuracy": [0.2, 0.4]},
        "b": {"accuracy": [0.3, 0.6]},
    }
    fig = plots.learning_curves(histories)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[1].get_ydata(), [0.2, 0.4])
    with pytest.raises(
        ValueError, match=r"history 'a' has no metric 'auc'; it has \['accuracy', 'val_accuracy'\]"
    ):
        plots.learning_curves(histories, metric="auc")
    with pytest.raises(ValueError, match="at least one history"):
        plots.learning_curves({})


def test_confusion_counts_match_a_brute_force_count():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    expected = np.zeros((5, 5), int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    np.testing.assert_array_equal(plots.confusion_counts(y_true, y_pred, 5), expected)


def test_confusion_counts_reject_bad_labels():
    with pytest.raises(ValueError, match="same length; received 3 and 2"):
        plots.confusion_counts([0, 1, 2], [0, 1], 3)
    with pytest.raises(ValueError, match=r"y_pred must lie in \[0, 3\); received min 0 and max 3"):
        plots.confusion_counts([0, 1, 2], [0, 1, 3], 3)


def test_confusion_matrix_rows_are_normalised():
    fig = plots.confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], ["x", "y"])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, [[0.5, 0.5], [0.0, 1.0]])


def test_accuracy_vs_ceiling_draws_a_pair_of_bars_per_model():
    fig = plots.accuracy_vs_ceiling({"a": 0.8, "b": 0.3}, {"a": 0.85, "b": 0.31})
    heights = sorted(round(p.get_height(), 3) for p in fig.axes[0].patches)
    assert heights == [0.3, 0.31, 0.8, 0.85]
    with pytest.raises(ValueError, match=r"no accuracy: \['c'\]"):
        plots.accuracy_vs_ceiling({"a": 0.8}, {"c": 0.9})


def test_source_is_still_reachable_from_plots():
    # it moved to mmtutorial.notebook; chapters and readers wrote mt.plots.source
    assert plots.source is mt.notebook.source


def test_figures_display_as_png_in_jupyter():
    fig = plots.learning_curves({"a": {"accuracy": [0.1, 0.5]}})
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
