"""Segmentation figures: label maps beside their pictures, and per-class IoU."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .base import _figure

__all__ = ["class_colours", "segmentation_panels", "iou_bars"]


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
