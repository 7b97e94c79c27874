"""Model diagrams drawn from the model itself: its layers as boxes, its connections as arrows.

A diagram drawn by hand drifts from the code it describes; this one is read
from the built Keras model's graph each time the chapter runs. The graph is
walked back from the model's outputs, so a layer shared with another model
(an encoder reused by a second model) shows only the connections of this one.
Boxes are laid out left to right by depth (the longest path from an input), and
each is labelled with the layer's name and output shape (batch axis left
out). The same graph writes the figure's alt text, so the words and the
picture say the same thing. Needs only matplotlib: no graphviz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import BookFigure, _figure

__all__ = ["model_graph", "model_diagram", "model_diagrams"]


@dataclass
class Box:
    """One box of a diagram: a layer, or a chain of layers drawn as one."""

    layers: list
    kind: str
    shape: tuple
    sources: list = field(default_factory=list)  # names of the boxes feeding this one
    depth: int = 0


@dataclass
class ModelGraph:
    """A model's top-level layers and connections, as :func:`model_diagram` draws them.

    ``layers`` maps each layer name to ``(class name, output shape)`` and
    ``edges`` lists ``(source layer, target layer)`` pairs, both in the order
    data flows; ``inputs`` and ``outputs`` name the model's input and output layers.
    """

    name: str
    layers: dict
    edges: list
    inputs: list
    outputs: list


def _shape(tensor) -> tuple:
    shape = tuple(tensor.shape)
    return shape[1:] if shape and shape[0] is None else shape


def model_graph(model) -> ModelGraph:
    """The top-level layers and connections of a functional (or built Sequential) Keras model."""
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(
            f"model must be a built Keras model; received {type(model).__name__}: {model!r:.60}"
        )
    if isinstance(model, keras.Sequential):
        if getattr(model, "_functional", None) is None:
            raise ValueError(
                f"model {model.name!r} is a Sequential model without an Input; "
                "build it with keras.Input first"
            )
        model = model._functional
    outputs = getattr(model, "outputs", None)
    if not outputs:
        raise ValueError(
            f"model {model.name!r} ({type(model).__name__}) has no graph of layers to draw "
            "(a subclassed model); model_diagram needs a functional model"
        )
    layers, edges, seen, stack = {}, set(), set(), list(outputs)
    while stack:  # walk back from the outputs over this model's own nodes
        tensor = stack.pop()
        operation, node_index, _ = tensor._keras_history
        if (id(operation), node_index) in seen:
            continue
        seen.add((id(operation), node_index))
        node = operation._inbound_nodes[node_index]
        layers[operation.name] = (type(operation).__name__, _shape(node.outputs[0]))
        for source in node.input_tensors:
            edges.add((source._keras_history[0].name, operation.name))
            stack.append(source)
    # keras.ops calls in the graph (a padding mask) are operations, not layers: draw them too
    order = [op.name for op in getattr(model, "operations", model.layers) if op.name in layers]
    position = {name: index for index, name in enumerate(order)}
    return ModelGraph(
        name=model.name,
        layers={name: layers[name] for name in order},
        edges=sorted(edges, key=lambda e: (position[e[1]], position[e[0]])),
        inputs=[t._keras_history[0].name for t in model.inputs],
        outputs=[t._keras_history[0].name for t in outputs],
    )


def _boxes(graph: ModelGraph, collapse: int) -> dict:
    """Boxes keyed by the name of their first layer; chains longer than ``collapse`` become one."""
    sources = {name: [] for name in graph.layers}
    targets = {name: [] for name in graph.layers}
    for source, target in graph.edges:
        sources[target].append(source)
        targets[source].append(target)
    chain_of = {}  # layer -> first layer of its chain
    for name in graph.layers:
        (before,) = sources[name] if len(sources[name]) == 1 else (None,)
        joins = (
            before is not None
            and len(targets[before]) == 1
            and before not in graph.inputs
            and before not in graph.outputs
        )
        chain_of[name] = chain_of[before] if joins else name
    chains = {}
    for name, first in chain_of.items():
        chains.setdefault(first, []).append(name)
    groups = []
    for members in chains.values():
        groups += [members] if len(members) > collapse else [[m] for m in members]
    box_of = {member: group[0] for group in groups for member in group}
    boxes = {}
    for group in groups:
        kind, shape = graph.layers[group[-1]]
        feeding = [box_of[s] for s in sources[group[0]]]
        boxes[group[0]] = Box(group, kind, shape, list(dict.fromkeys(feeding)))
    for box in boxes.values():  # layers are in topological order, so sources come first
        box.depth = 1 + max((boxes[s].depth for s in box.sources), default=-1)
    return boxes


def _name(box: Box) -> str:
    return box.layers[0] if len(box.layers) == 1 else f"{box.layers[0]} … {box.layers[-1]}"


def _label(box: Box, size: str = "text") -> str:
    dims = " x ".join("?" if d is None else str(d) for d in box.shape) or "scalar"
    name = _name(box)
    if len(box.layers) == 1:
        return f"{name}\n{dims}" if size == "text" else f"{name} ({dims})"
    if size == "text":
        return f"{box.layers[0]} …\n… {box.layers[-1]}\n{len(box.layers)} layers, {dims}"
    return f"{name} (a chain of {len(box.layers)} layers, output {dims})"


def _alt_text(graph: ModelGraph, boxes: dict) -> str:
    def names(items):
        items = list(items)
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    shown = {name: _label(box, "alt") for name, box in boxes.items()}
    box_of = {layer: key for key, box in boxes.items() for layer in box.layers}
    steps = [
        f"{names(_name(boxes[s]) for s in b.sources)} "
        f"{'feeds' if len(b.sources) == 1 else 'feed'} {shown[n]}"
        for n, b in sorted(boxes.items(), key=lambda item: item[1].depth)
        if b.sources
    ]
    return (
        f"Diagram of the model {graph.name}, read left to right: {len(graph.layers)} layers "
        f"in {len(boxes)} boxes. Inputs: {names(shown[box_of[n]] for n in graph.inputs)}. "
        + "; ".join(steps)
        + f". Output: {names(shown[box_of[n]] for n in graph.outputs)}."
    )


STEP = 1.35  # distance between the centres of neighbouring boxes, in box widths of 1.0


def _layout(boxes: dict) -> dict:
    """``(depth, offset)`` of each box: columns by depth, each ordered by where its sources sit."""
    columns = {}
    for name, box in boxes.items():
        columns.setdefault(box.depth, []).append(name)
    place = {}
    for depth in sorted(columns):
        names = sorted(
            columns[depth],
            key=lambda n: (
                sum(place[s][1] for s in boxes[n].sources) / max(len(boxes[n].sources), 1)
            ),
        )
        for row, name in enumerate(names):
            place[name] = (depth, row - (len(names) - 1) / 2)
    return place


def _draw(ax, boxes: dict, fontsize: float, across: bool) -> None:
    """Boxes and arrows on ``ax``: left to right when ``across``, else top to bottom."""
    from matplotlib.patches import FancyBboxPatch

    place = _layout(boxes)

    def centre(name):
        depth, offset = place[name]
        return (depth * STEP, -offset * 0.9) if across else (offset * STEP, -depth * 0.9)

    for name, box in boxes.items():
        x, y = centre(name)
        colour = "#dbe9f6" if not box.sources else "#fde9c9" if len(box.layers) > 1 else "#eeeeee"
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.5, y - 0.3),
                1.0,
                0.6,
                boxstyle="round,pad=0.02",
                fc=colour,
                ec="#555555",
                zorder=2,
            )
        )
        label = _label(box)
        longest = max(len(line) for line in label.splitlines())
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            zorder=3,
            fontsize=min(fontsize, fontsize * 17 / max(longest, 1)),
        )
        for source in box.sources:
            sx, sy = centre(source)
            span = box.depth - boxes[source].depth
            start, end = (
                ((sx + 0.5, sy), (x - 0.5, y)) if across else ((sx, sy - 0.3), (x, y + 0.3))
            )
            ax.annotate(
                "",
                xy=end,
                xytext=start,
                zorder=1,
                arrowprops={
                    "arrowstyle": "->",
                    "color": "#333333",
                    "lw": 1.0,
                    "shrinkA": 1,
                    "shrinkB": 1,
                    # an arrow that skips a column bends round the boxes between
                    "connectionstyle": f"arc3,rad={_bend(span, sx >= x, across)}",
                },
            )
    xs, ys = zip(*(centre(name) for name in boxes))
    bend = (
        0.9
        if any(box.depth - boxes[s].depth > 1 for box in boxes.values() for s in box.sources)
        else 0.0
    )
    ax.set_xlim(min(xs) - 0.6 - (0 if across else bend), max(xs) + 0.6 + (0 if across else bend))
    ax.set_ylim(min(ys) - 0.4 - (bend if across else 0), max(ys) + 0.4)
    ax.set_aspect("equal")
    ax.axis("off")


def _bend(span: int, from_right: bool, across: bool) -> float:
    """The curvature of an arrow that skips ``span - 1`` boxes: enough to pass beside them."""
    if span <= 1:
        return 0.0
    rad = min(0.9, 1.6 / (span * (STEP if across else 0.9)))
    return rad if from_right != across else -rad


def _extent(boxes: dict, across: bool) -> tuple:
    """Width and height of the drawing, in inches, at 1.3 inches per box."""
    place = _layout(boxes)
    depths = 1 + max(d for d, _ in place.values())
    offsets = max(sum(1 for d, _ in place.values() if d == k) for k in range(depths))
    long, wide = (depths - 1) * STEP + 1.2, (offsets - 1) * 0.9 + 0.8
    skips = any(b.depth - boxes[s].depth > 1 for b in boxes.values() for s in b.sources)
    if across:
        wide += 0.9 if skips else 0.0
    else:
        long, wide = (offsets - 1) * STEP + 1.2 + (1.8 if skips else 0.0), (depths - 1) * 0.9 + 0.8
    return 1.3 * long, 1.3 * wide


def _check_collapse(collapse):
    if isinstance(collapse, bool) or not isinstance(collapse, int) or collapse < 2:
        raise ValueError(f"collapse must be an integer of at least 2; received {collapse!r}")


def model_diagram(model, *, collapse: int = 4, fontsize: float = 8) -> BookFigure:
    """The model's top-level layers as boxes and their connections as arrows, with alt text.

    Each box shows a layer's name and output shape; a chain of more than
    ``collapse`` layers, one after another with no branch (four convolutions,
    each normalised and rectified), is drawn as one box naming its first and
    last layer. The returned figure's ``alt_text`` describes the same graph in
    words.

    Args:
        model: a functional Keras model (or a Sequential one built with an Input).
        collapse: the longest chain drawn layer by layer (at least 2).
        fontsize: the size of the boxes' labels.

    Returns:
        A :class:`~mmtutorial.plots.BookFigure` with ``alt_text`` set.

    Example:
        >>> import mmtutorial as mt
        >>> model = mt.models.build_classifier((28, 28, 1), 20, 8, 10)
        >>> fig = mt.plots.model_diagram(model)
        >>> fig.alt_text.startswith("Diagram of the model")
        True
    """
    _check_collapse(collapse)
    graph = model_graph(model)
    boxes = _boxes(graph, collapse)
    across = max(box.depth for box in boxes.values()) < 7
    width, height = _extent(boxes, across)
    fig = _figure(max(4.0, width), max(1.2, height))
    _draw(fig.subplots(), boxes, fontsize, across)
    fig.alt_text = _alt_text(graph, boxes).replace(
        "read left to right", "read left to right" if across else "read top to bottom"
    )
    return fig


def model_diagrams(models: dict, *, ncols: int = 2, collapse: int = 4) -> BookFigure:
    """Small multiples: one :func:`model_diagram` panel per model, titled by its key.

    Args:
        models: title -> functional Keras model.
        ncols: panels per row.
        collapse: as in :func:`model_diagram`.

    Returns:
        A :class:`~mmtutorial.plots.BookFigure` whose ``alt_text`` joins the
        panels' descriptions, each after its title.
    """
    if not isinstance(models, dict) or not models:
        raise ValueError(
            f"models must be a non-empty dict of title -> Keras model; received {models!r:.80}"
        )
    _check_collapse(collapse)
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer; received {ncols!r}")
    drawn = {}
    for title, model in models.items():
        graph = model_graph(model)
        drawn[title] = (graph, _boxes(graph, collapse))
    ncols = min(ncols, len(drawn))
    nrows = -(-len(drawn) // ncols)
    sizes = [_extent(boxes, True) for _, boxes in drawn.values()]
    width, height = max(w for w, _ in sizes), max(h for _, h in sizes)
    fig = _figure(0.8 * width * ncols, (0.8 * height + 0.3) * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, (_, boxes)) in zip(axes, drawn.items()):
        _draw(ax, boxes, 6.5, across=True)
        ax.set_title(str(title), fontsize=9)
    for ax in axes[len(drawn) :]:
        ax.axis("off")
    fig.alt_text = " ".join(
        f"Panel {title}: {_alt_text(graph, boxes)}" for title, (graph, boxes) in drawn.items()
    )
    return fig
