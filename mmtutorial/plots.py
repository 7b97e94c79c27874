"""Plots: the figures the book draws, each returning a matplotlib ``Figure``.

Every function takes plain arrays or dicts (no models), so it is cheap to call
and easy to test, and returns the figure instead of showing it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "sample_grid",
    "learning_curves",
    "confusion_counts",
    "confusion_matrix",
    "accuracy_vs_ceiling",
]


class BookFigure(Figure):
    """A matplotlib ``Figure`` that shows itself as a PNG in Jupyter.

    The figures are made without pyplot, so no global figure list grows and no
    GUI backend is needed; ``_repr_png_`` lets IPython display a returned figure
    whatever matplotlib backend is active.
    """

    def _repr_png_(self):
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _figure(width, height):
    return BookFigure(figsize=(width, height), layout="constrained")


def sample_grid(
    images, captions, labels, class_names=None, *, n: int = 12, ncols: int = 4
) -> Figure:
    """A grid of ``n`` images, each titled with its label and its caption."""
    images = np.asarray(images)
    n = min(int(n), len(images))
    if n < 1:
        raise ValueError(f"sample_grid needs at least one image; received {len(images)}")
    if len(captions) < n or len(labels) < n:
        raise ValueError(
            f"sample_grid needs a caption and a label per image; received {len(images)} images, "
            f"{len(captions)} captions and {len(labels)} labels"
        )
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    fig = _figure(2.6 * ncols, 2.9 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        image = images[index]
        ax.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
        label = int(labels[index])
        name = class_names[label] if class_names is not None else str(label)
        ax.set_title(f"{name}\n\u201c{captions[index]}\u201d", fontsize=8, wrap=True)
    return fig


def _as_history(history):
    return getattr(history, "history", history)


def learning_curves(histories: dict, metric: str = "accuracy") -> Figure:
    """Training (dashed) and validation (solid) ``metric`` per epoch, one colour per model.

    Args:
        histories: model name -> ``keras.callbacks.History`` or its ``.history`` dict.
        metric: ``"accuracy"`` or ``"loss"`` (any key the histories hold).
    """
    if not histories:
        raise ValueError("learning_curves needs at least one history; received none")
    fig = _figure(6.5, 3.8)
    ax = fig.subplots()
    for index, (name, history) in enumerate(histories.items()):
        values = _as_history(history)
        if metric not in values:
            raise ValueError(f"history {name!r} has no metric {metric!r}; it has {sorted(values)}")
        colour = f"C{index}"
        epochs = np.arange(1, len(values[metric]) + 1)
        ax.plot(epochs, values[metric], "--", color=colour, alpha=0.7, label=f"{name} (train)")
        if f"val_{metric}" in values:
            ax.plot(
                epochs,
                values[f"val_{metric}"],
                "-o",
                color=colour,
                markersize=3,
                label=f"{name} (validation)",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig


def confusion_counts(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples with true class ``i`` predicted as ``j``."""
    y_true = np.asarray(y_true, dtype=int).ravel()
    y_pred = np.asarray(y_pred, dtype=int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length; received {y_true.shape[0]} and {y_pred.shape[0]}"
        )
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"{name} must lie in [0, {num_classes}); received min {values.min()} and max {values.max()}"
            )
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def confusion_matrix(y_true, y_pred, class_names, *, normalize: bool = True) -> Figure:
    """A heat map of :func:`confusion_counts`; rows are true classes.

    With ``normalize`` each row is divided by its total, so the diagonal is
    the per-class recall.
    """
    k = len(class_names)
    counts = confusion_counts(y_true, y_pred, k).astype(float)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        counts = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = max(4.0, 0.32 * k + 2.0)
    fig = _figure(size + 1.0, size)
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the row" if normalize else "count")
    return fig


def accuracy_vs_ceiling(accuracies: dict, ceilings: dict) -> Figure:
    """Bars of measured accuracy, each beside the analytic ceiling it should approach.

    Args:
        accuracies: model name -> measured accuracy.
        ceilings: model name -> best possible accuracy (same keys, or a subset).
    """
    if not accuracies:
        raise ValueError("accuracy_vs_ceiling needs at least one accuracy; received none")
    extra = sorted(set(ceilings) - set(accuracies))
    if extra:
        raise ValueError(f"ceilings names model(s) with no accuracy: {extra}")
    names = list(accuracies)
    x = np.arange(len(names))
    fig = _figure(1.6 * len(names) + 2.5, 3.8)
    ax = fig.subplots()
    ax.bar(x - 0.2, [accuracies[n] for n in names], width=0.4, label="measured", color="C0")
    ax.bar(
        x + 0.2,
        [ceilings.get(n, np.nan) for n in names],
        width=0.4,
        label="analytic ceiling",
        color="C7",
        alpha=0.6,
    )
    for xi, name in zip(x, names):
        ax.text(
            xi - 0.2, accuracies[name] + 0.01, f"{accuracies[name]:.3f}", ha="center", fontsize=8
        )
        if name in ceilings:
            ax.text(
                xi + 0.2, ceilings[name] + 0.01, f"{ceilings[name]:.3f}", ha="center", fontsize=8
            )
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    return fig


# -- segmentation: masks and per-class scores ------------------------------------------


def class_colours(num_classes: int) -> np.ndarray:
    """An RGB colour per class, float ``(num_classes, 3)``: black for class 0 (background),
    then distinct colours from matplotlib's ``tab20`` and ``tab20b`` maps."""
    from matplotlib import colormaps

    num_classes = int(num_classes)
    palette = [colormaps["tab20"](i)[:3] for i in range(20)]
    palette += [colormaps["tab20b"](i)[:3] for i in range(20)]
    colours = [(0.0, 0.0, 0.0)] + [palette[i % len(palette)] for i in range(num_classes - 1)]
    return np.array(colours, dtype=float)


def segmentation_panels(
    images, true_maps, predicted_maps=None, class_names=None, *, titles=None, n: int = 4
) -> Figure:
    """Image, ground truth and prediction side by side for ``n`` scenes, with a class legend.

    Each row is one scene: the picture, its true label map and (if given)
    the predicted one, coloured by class (background black). The legend lists
    only the classes that appear in the maps shown.

    Args:
        images: ``(n, height, width, channels)`` in [0, 1].
        true_maps: int ``(n, height, width)``.
        predicted_maps: int ``(n, height, width)`` or ``None``; a dict of
            name -> maps shows several predictions, one column each.
        class_names: a name per class (its length sets the number of classes).
        titles: an optional title per row (a caption or a phrase).
        n: how many scenes to show.
    """
    images = np.asarray(images)
    true_maps = np.asarray(true_maps)
    if isinstance(predicted_maps, dict):
        predictions = {name: np.asarray(maps) for name, maps in predicted_maps.items()}
    elif predicted_maps is None:
        predictions = {}
    else:
        predictions = {"prediction": np.asarray(predicted_maps)}
    n = min(int(n), len(images))
    if n < 1 or images.ndim != 4 or true_maps.shape[:1] != images.shape[:1]:
        raise ValueError(
            "segmentation_panels needs images (n, height, width, channels) and label maps "
            f"(n, height, width) with n >= 1; received shapes {images.shape} and {true_maps.shape}"
        )
    for name, maps in predictions.items():
        if maps.shape != true_maps.shape:
            raise ValueError(
                f"predicted maps {name!r} must have the true maps' shape {true_maps.shape}; "
                f"received {maps.shape}"
            )
    shown = [true_maps[:n]] + [maps[:n] for maps in predictions.values()]
    num_classes = (
        len(class_names) if class_names is not None else int(max(m.max() for m in shown)) + 1
    )
    colours = class_colours(max(num_classes, 2))
    columns = ["image", "truth"] + list(predictions)
    fig = _figure(1.9 * len(columns) + 2.2, 2.0 * n)
    axes = fig.subplots(n, len(columns), squeeze=False)
    for row in range(n):
        image = images[row]
        axes[row, 0].imshow(
            image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1
        )
        for column, maps in enumerate(shown, start=1):
            axes[row, column].imshow(colours[np.clip(maps[row], 0, len(colours) - 1)])
        for column, name in enumerate(columns):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
            if row == 0:
                axes[row, column].set_title(name, fontsize=9)
        if titles is not None:
            axes[row, 0].set_ylabel(
                str(titles[row]), fontsize=7, rotation=0, ha="right", va="center"
            )
    from matplotlib.patches import Patch

    present = sorted(set(np.unique(np.concatenate([m.ravel() for m in shown])).tolist()))
    names = class_names if class_names is not None else [str(c) for c in range(num_classes)]
    handles = [
        Patch(facecolor=colours[c], edgecolor="grey", label=names[c])
        for c in present
        if c < len(names)
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=7, frameon=False)
    return fig


def iou_bars(per_class: dict, class_names, *, ceilings: dict | None = None) -> Figure:
    """Per-class IoU as bars, one colour per model, with ceilings as markers.

    Args:
        per_class: model name -> IoU per class (NaN for absent classes, drawn as gaps).
        class_names: a name per class.
        ceilings: optional rule name -> IoU per class, drawn as horizontal ticks.
    """
    if not per_class:
        raise ValueError("iou_bars needs at least one model's per-class IoU; received none")
    k = len(class_names)
    for name, values in {**per_class, **(ceilings or {})}.items():
        if np.shape(values) != (k,):
            raise ValueError(
                f"the IoU of {name!r} must have one entry per class ({k}); received shape "
                f"{np.shape(values)}"
            )
    fig = _figure(max(6.0, 0.38 * k + 1.5), 3.8)
    ax = fig.subplots()
    x = np.arange(k)
    width = 0.8 / len(per_class)
    for index, (name, values) in enumerate(per_class.items()):
        offset = (index - (len(per_class) - 1) / 2) * width
        ax.bar(x + offset, np.asarray(values, float), width=width, label=name, color=f"C{index}")
    for index, (name, values) in enumerate((ceilings or {}).items()):
        ax.scatter(
            x,
            np.asarray(values, float),
            marker="_",
            s=120,
            color=f"C{index + len(per_class)}",
            label=f"{name} (ceiling)",
            zorder=3,
        )
    ax.set_xticks(x, class_names, rotation=70, ha="right", fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("IoU")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


__all__ += ["class_colours", "segmentation_panels", "iou_bars"]
