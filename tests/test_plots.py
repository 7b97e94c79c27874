"""Figures: what they draw, and the counting behind the confusion matrix."""

import html
import importlib.util
import pathlib

import numpy as np
import pytest
from matplotlib.figure import Figure

import mmtutorial as mt
from mmtutorial import plots

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load_extension(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


figure_alt = _load_extension("figure_alt")


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


def test_learning_curves_name_each_line_at_its_end_without_overlap():
    histories = {
        name: {"accuracy": [0.3, end], "val_accuracy": [0.3, end - 0.01]}
        for name, end in (("image + caption", 0.84), ("image only", 0.47), ("caption only", 0.46))
    }
    fig = plots.learning_curves(histories)
    ax = fig.axes[0]
    labels = {t.get_text(): t for t in ax.texts}
    assert set(labels) == set(histories)
    for index, name in enumerate(histories):
        assert labels[name].get_color() == f"C{index}"
        assert labels[name].xy[0] == 2  # at the last epoch
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in ax.texts]
    assert not any(_overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation"]
    assert "image + caption 0.830; image only 0.460; caption only 0.450." in fig.alt_text


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


# -- sample grid titles fit ------------------------------------------------------------


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_sample_grid_titles_do_not_overlap_each_other_or_the_images_after_a_draw(task, small):
    captions = [
        f"{caption} and a much longer tail of words that once ran into its neighbour"
        for caption in small.captions
    ]
    fig = plots.sample_grid(small.images, captions, small.labels, task.class_names, n=8, ncols=4)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    images = [ax.images[0].get_window_extent(renderer) for ax in fig.axes if ax.images]
    assert len(titles) == len(images) == 8
    for i, a in enumerate(titles):
        for j, b in enumerate(titles):
            assert i == j or not _overlaps(a, b), (i, j, a, b)
        for j, b in enumerate(images):
            assert not _overlaps(a, b), ("title", i, "image", j)
    assert max(t.width for t in titles) <= fig.bbox.width / 4
    assert fig.alt_text.startswith("A grid of 8 sample images")
    assert captions[0] in fig.alt_text


# -- robustness panels -----------------------------------------------------------------


def test_robustness_panels_draw_one_panel_per_model_and_damage():
    table = {
        name: {"clean": 0.8, "caption p=0.5": 0.6 - k / 20, "image missing": 0.3}
        for k, name in enumerate(["concat", "sum", "gated"])
    }
    rows = {
        "caption damaged": (["clean", "caption p=0.5"], 0.5),
        "image": (["clean", "image missing"], 0.2),
    }
    fig = plots.robustness_panels(table, rows, title="t", reference=table)
    assert len(fig.axes) == 6
    panel = fig.axes[2]  # first row, third model
    assert panel.get_title() == "gated"
    np.testing.assert_allclose(panel.get_lines()[1].get_ydata(), [0.8, 0.5])
    assert [t.get_text() for t in panel.get_xticklabels()] == ["clean", "p=0.5"]
    assert "caption damaged, from clean to worst: concat 0.80 to 0.60; sum 0.80 to 0.55" in (
        fig.alt_text
    )
    with pytest.raises(
        ValueError, match=r"condition\(s\) \['noise'\] that the results of 'concat'"
    ):
        plots.robustness_panels(table, {"x": (["clean", "noise"], 0.5)})
    with pytest.raises(ValueError, match="at least one model"):
        plots.robustness_panels({}, rows)


# -- model diagrams --------------------------------------------------------------------


def _config_edges(model):
    """(source, target) layer pairs as the model's own serialized config lists them."""
    edges = set()

    def histories(value):
        if isinstance(value, dict):
            if "keras_history" in value:
                yield value["keras_history"][0]
            for item in value.values():
                yield from histories(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from histories(item)

    for layer in model.get_config()["layers"]:
        for source in histories(layer["inbound_nodes"]):
            edges.add((source, layer["name"]))
    return edges


@pytest.fixture(scope="module")
def two_branch_model():
    import keras

    image = keras.Input((6, 6, 1), name="image")
    text = keras.Input((4,), name="text")
    x = keras.layers.Flatten(name="flat")(image)
    for k in range(6):
        x = keras.layers.Dense(8, name=f"d{k}")(x)
    y = keras.layers.Dense(8, name="words")(text)
    joined = keras.layers.Concatenate(name="join")([x, y])
    skip = keras.layers.Concatenate(name="skip")([joined, x])
    out = keras.layers.Dense(3, name="out")(skip)
    return keras.Model([image, text], out, name="toy")


def test_model_graph_boxes_are_the_layers_and_edges_the_inbound_connections(two_branch_model):
    graph = plots.model_graph(two_branch_model)
    assert list(graph.layers) == [layer.name for layer in two_branch_model.layers]
    assert set(graph.edges) == _config_edges(two_branch_model)
    assert graph.layers["join"] == ("Concatenate", (16,))
    assert graph.inputs == ["image", "text"] and graph.outputs == ["out"]


def test_model_graph_keeps_only_this_models_connections_of_a_shared_layer(two_branch_model):
    import keras

    other_in = keras.Input((6, 6, 1), name="other")
    flat = two_branch_model.get_layer("flat")
    second = keras.Model(other_in, keras.layers.Dense(2, name="tail")(flat(other_in)))
    graph = plots.model_graph(second)
    assert set(graph.edges) == {("other", "flat"), ("flat", "tail")} == _config_edges(second)
    assert set(plots.model_graph(two_branch_model).edges) == _config_edges(two_branch_model)


def test_model_diagram_draws_a_box_per_layer_or_chain_and_says_so_in_its_alt_text(
    two_branch_model,
):
    fig = plots.model_diagram(two_branch_model, collapse=4)
    texts = [t.get_text() for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is None]
    # flat and d0..d5 make a chain of 7: one box; every other layer has its own.
    assert len(texts) == len(two_branch_model.layers) - 6
    assert "flat …\n… d5\n7 layers, 8" in texts and "join\n16" in texts
    arrows = [a for a in fig.axes[0].texts if getattr(a, "arrow_patch", None) is not None]
    # image->chain, text->words, chain->join, words->join, join->skip, chain->skip, skip->out
    assert len(arrows) == 7
    assert fig.alt_text.startswith(
        "Diagram of the model toy, read left to right: 13 layers in 7 boxes"
    )
    assert "flat … d5 and words feed join (16)" in fig.alt_text
    assert fig.alt_text.endswith("Output: out (3).")
    assert figure_alt.png_description(fig._repr_png_()) == fig.alt_text
    every = plots.model_diagram(two_branch_model, collapse=10)
    assert len([t for t in every.axes[0].texts if getattr(t, "arrow_patch", None) is None]) == 13


def test_model_diagram_of_the_books_classifier_matches_its_summary():
    model = mt.models.build_classifier((28, 28, 1), 12, 6, 5, fusion="concat")
    fig = plots.model_diagram(model)
    assert "image_encoder and text_encoder feed concat_fusion" in fig.alt_text
    labels = {
        t.get_text().split("\n")[0]
        for t in fig.axes[0].texts
        if getattr(t, "arrow_patch", None) is None
    }
    assert labels == {layer.name for layer in model.layers}


def test_model_diagrams_draw_small_multiples_titled_by_key(two_branch_model):
    model = mt.models.build_classifier((28, 28, 1), 12, 6, 5, fusion="sum")
    fig = plots.model_diagrams({"toy": two_branch_model, "sum": model}, ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["toy", "sum"]
    assert fig.alt_text.startswith("Panel toy: Diagram of the model toy")
    assert "Panel sum: Diagram of the model" in fig.alt_text


def test_model_diagram_rejects_what_it_cannot_draw():
    import keras

    with pytest.raises(ValueError, match="model must be a built Keras model; received str"):
        plots.model_diagram("not a model")

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="no graph of layers to draw"):
        plots.model_graph(Subclassed())
    with pytest.raises(ValueError, match="collapse must be an integer of at least 2; received 1"):
        plots.model_diagram(
            keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), collapse=1
        )
    with pytest.raises(ValueError, match="models must be a non-empty dict"):
        plots.model_diagrams({})
    with pytest.raises(ValueError, match="ncols must be a positive integer; received 0"):
        plots.model_diagrams(
            {"a": keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])}, ncols=0
        )


def test_the_build_gives_a_figure_the_alt_text_its_png_carries(tmp_path, two_branch_model):
    fig = plots.model_diagram(two_branch_model)
    images = tmp_path / "_images"
    images.mkdir()
    (images / "diagram.png").write_bytes(fig._repr_png_())
    (images / "plain.png").write_bytes(
        plots.confusion_matrix([0, 1], [0, 1], ["x", "y"])._repr_png_()
    )
    page = (
        '<p><img alt="_images/diagram.png" src="_images/diagram.png" />'
        '<img alt="_images/plain.png" src="_images/plain.png" />'
        '<img alt="a chosen text" src="_images/diagram.png" /></p>'
    )
    described, changed = figure_alt.describe(page, tmp_path)
    assert changed == 1
    assert f'<img alt="{html.escape(fig.alt_text, quote=True)}" src="_images/diagram.png" />' in (
        described
    )
    assert '<img alt="_images/plain.png" src="_images/plain.png" />' in described
    assert '<img alt="a chosen text" src="_images/diagram.png" />' in described
    assert figure_alt.describe(described, tmp_path) == (described, 0)  # idempotent
