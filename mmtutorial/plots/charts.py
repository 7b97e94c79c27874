"""Charts of results: sample grids, learning curves, confusion matrices, accuracy bars."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .base import _figure

__all__ = [
    "sample_grid",
    "learning_curves",
    "confusion_counts",
    "confusion_matrix",
    "accuracy_vs_ceiling",
    "robustness_panels",
]


def _wrapped(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width, break_long_words=True)) or text


def sample_grid(
    images, captions, labels, class_names=None, *, n: int = 12, ncols: int = 4
) -> Figure:
    """A grid of ``n`` images, each titled with its label and its caption.

    Titles are wrapped to the width of their column (a long caption takes more
    lines, never its neighbour's space), and each row is as tall as its longest
    title needs.
    """
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
    width = 2.4  # inches per column; 8-point text fits about 5.5 characters per centimetre
    chars = int(width * 2.54 * 5.5 * 8 / 7.5) - 4
    titles = []
    for index in range(n):
        label = int(labels[index])
        name = class_names[label] if class_names is not None else str(label)
        caption = _wrapped(f"\u201c{captions[index]}\u201d", chars)
        titles.append(f"{_wrapped(name, chars)}\n{caption}")
    lines = [
        max(titles[i].count("\n") + 1 for i in range(r * ncols, min(n, (r + 1) * ncols)))
        for r in range(nrows)
    ]
    line_height = 7.5 * 1.3 / 72  # inches
    heights = [width + line_height * k + 0.1 for k in lines]
    fig = _figure(width * ncols, sum(heights))
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw={"height_ratios": heights})
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        image = images[index]
        ax.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(titles[index], fontsize=7.5)
    fig.alt_text = f"A grid of {n} sample images, each titled with its class and caption: " + (
        "; ".join(title.replace("\n", " ") for title in titles) + "."
    )
    return fig


def _as_history(history):
    return getattr(history, "history", history)


def _spread(values, gap: float) -> list:
    """``values`` moved apart, as little as possible, so that neighbours are ``gap`` apart."""
    order = np.argsort(values)
    placed = np.asarray(values, float)[order].copy()
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    placed -= max(0.0, (placed[-1] - np.max(values)) / 2) if len(placed) > 1 else 0.0
    for k in range(1, len(placed)):  # the shift down must not undo a gap
        placed[k] = max(placed[k], placed[k - 1] + gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out.tolist()


def learning_curves(histories: dict, metric: str = "accuracy") -> Figure:
    """Training (dashed) and validation (solid) ``metric`` per epoch, one colour per model.

    Each model's name is written at the end of its line, in its colour (the
    legend only says which style is which), so lines can be told apart without
    matching colours to a list.

    Args:
        histories: model name -> ``keras.callbacks.History`` or its ``.history`` dict.
        metric: ``"accuracy"`` or ``"loss"`` (any key the histories hold).
    """
    if not histories:
        raise ValueError("learning_curves needs at least one history; received none")
    fig = _figure(6.5, 3.8)
    ax = fig.subplots()
    ends = {}
    for index, (name, history) in enumerate(histories.items()):
        values = _as_history(history)
        if metric not in values:
            raise ValueError(f"history {name!r} has no metric {metric!r}; it has {sorted(values)}")
        colour = f"C{index}"
        epochs = np.arange(1, len(values[metric]) + 1)
        ax.plot(epochs, values[metric], "--", color=colour, alpha=0.7, label="train")
        last = values[metric]
        if f"val_{metric}" in values:
            last = values[f"val_{metric}"]
            ax.plot(epochs, last, "-o", color=colour, markersize=3, label="validation")
        ends[name] = (len(last), float(last[-1]), colour)
    low, high = ax.get_ylim()
    placed = _spread([y for _, y, _ in ends.values()], 0.06 * (high - low))
    for (name, (x, _, colour)), y in zip(ends.items(), placed):
        ax.annotate(
            str(name),
            (x, y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=colour,
        )
    ax.set_xlim(0.8, max(x for x, _, _ in ends.values()) + 0.2)
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)

    styles = [Line2D([], [], ls="--", color="0.4", label="train")]
    if any(f"val_{metric}" in _as_history(h) for h in histories.values()):
        styles.append(Line2D([], [], ls="-", marker="o", ms=3, color="0.4", label="validation"))
    ax.legend(handles=styles, fontsize=7, loc="best")
    fig.alt_text = (
        f"Learning curves: {metric} per epoch of {len(ends)} models, training dashed and "
        "validation solid. At the last epoch: "
        + "; ".join(f"{name} {y:.3f}" for name, (_, y, _) in ends.items())
        + "."
    )
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


def _tick(condition: str) -> str:
    """``"caption p=0.25"`` -> ``"p=0.25"``: a panel's row already names what is damaged."""
    return condition.split(" ", 1)[1] if " " in condition else condition


def robustness_panels(table: dict, rows: dict, *, title=None, reference=None) -> Figure:
    """Small multiples of accuracy under growing damage: one panel per model and kind of damage.

    Each column is a model, each row a kind of damage (its conditions left to
    right, from clean to worst); the dashed line is that row's ceiling, and
    ``reference`` draws another table in grey behind each line, so ten models
    never share one crowded plot.

    Args:
        table: model name -> {condition: accuracy}.
        rows: row title -> ``(conditions in order, ceiling)``; a tick drops a
            condition's first word ("caption p=0.25" is shown as "p=0.25").
        title: the figure's title.
        reference: an optional second table with the same models and conditions.
    """
    if not table:
        raise ValueError("robustness_panels needs at least one model's results; received none")
    if not rows:
        raise ValueError("robustness_panels needs at least one row of conditions; received none")
    for name, results in {**table, **(reference or {})}.items():
        missing = [c for steps, _ in rows.values() for c in steps if c not in results]
        if missing:
            raise ValueError(
                f"rows name condition(s) {missing} that the results of {name!r} lack; "
                f"they have {list(results)}"
            )
    if reference is not None and set(table) - set(reference):
        raise ValueError(
            f"reference lacks the model(s) {sorted(set(table) - set(reference))} of table"
        )
    fig = _figure(1.2 * len(table) + 0.8, 2.3 * len(rows) + (0.3 if title else 0))
    axes = fig.subplots(len(rows), len(table), squeeze=False, sharey=True)
    for r, (row_title, (steps, ceiling)) in enumerate(rows.items()):
        for column, (name, results) in enumerate(table.items()):
            ax = axes[r, column]
            if reference is not None:
                ax.plot([reference[name][c] for c in steps], color="0.7", marker=".")
            ax.plot([results[c] for c in steps], color="C0", marker="o", markersize=4)
            ax.axhline(ceiling, color="black", ls="--", lw=0.8)
            ax.set_xticks(range(len(steps)), [_tick(c) for c in steps], rotation=60, fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.set_ylim(0, 0.9 if max(results.values()) < 0.9 else 1.0)
            if r == 0:
                ax.set_title(str(name).replace("_", " "), fontsize=8)
        axes[r, 0].set_ylabel(f"{row_title}\ntest accuracy", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.alt_text = f"{title + '. ' if title else ''}Small multiples of test accuracy as damage " + (
        "grows, one column per model and one row per kind of damage, a dashed line at the "
        "ceiling of the modality left. "
        + " ".join(
            f"{row_title}, from clean to worst: "
            + "; ".join(
                f"{name} {results[steps[0]]:.2f} to {results[steps[-1]]:.2f}"
                for name, results in table.items()
            )
            + "."
            for row_title, (steps, _) in rows.items()
        )
    )
    return fig
