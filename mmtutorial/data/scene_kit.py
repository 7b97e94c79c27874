"""The scene kit: shapes drawn on a 2 x 2 grid of cells, and painted, for every scene task.

The segmentation scenes (:mod:`~mmtutorial.data.segmentation`), the
referring scenes (:mod:`~mmtutorial.data.referring`) and the captioned
scenes (:mod:`~mmtutorial.data.captioning`) draw their pictures with the
same few functions, vectorised with NumPy over the scenes:

* :func:`place_in_cells` -- where each object goes: a distinct cell per
  object, a jittered centre and a radius;
* :func:`render_shapes` and :func:`object_maps` -- the shapes' pixels, and
  which object covers each pixel;
* :func:`paint_objects` -- coloured objects on a dark, noisy background
  (the segmentation scenes paint their own grey pictures);
* :func:`grid_image_size` and :func:`pixel_noise` -- the checks of the
  settings every scene task shares.
"""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = [
    "SHAPES",
    "COLOURS",
    "render_shapes",
    "place_in_cells",
    "object_maps",
    "paint_objects",
    "grid_image_size",
    "pixel_noise",
]

#: The scenes' shapes, in the order of the segmentation scenes' class ids (:func:`render_shapes`
#: also draws the shape-material task's ``"diamond"`` and ``"bar"``).
SHAPES = ("disk", "square", "triangle", "ring", "plus")
#: Colour name -> RGB, for the scenes of coloured objects.
COLOURS = {
    "red": (0.90, 0.20, 0.15),
    "green": (0.20, 0.75, 0.25),
    "blue": (0.20, 0.35, 0.95),
    "yellow": (0.95, 0.85, 0.15),
}


def render_shapes(shape_ids, cy, cx, radius, size, names=SHAPES, *, thickness=0.32) -> np.ndarray:
    """Boolean masks ``(k, size, size)`` of ``k`` shapes, vectorised over the shapes.

    Args:
        shape_ids: int ``(k,)``, indices into ``names``.
        cy, cx: float ``(k,)``, the centres in pixels.
        radius: float ``(k,)``, the shapes' half-widths in pixels.
        size: the picture's height and width.
        names: the shape names ``shape_ids`` index (``"disk"``, ``"square"``,
            ``"triangle"``, ``"ring"``, ``"plus"``, and the shape-material
            task's ``"diamond"`` and ``"bar"``).
        thickness: the half-width of a plus's arms and of a bar, as a share
            of the radius.
    """
    grid = np.arange(size, dtype="float32")
    dy = grid[None, :, None] - np.asarray(cy, "float32")[:, None, None]
    dx = grid[None, None, :] - np.asarray(cx, "float32")[:, None, None]
    r = np.asarray(radius, "float32")[:, None, None]
    ady, adx = np.abs(dy), np.abs(dx)
    dist = np.sqrt(dx**2 + dy**2)
    masks = np.zeros(dx.shape[:1] + (size, size), dtype=bool)
    shape_ids = np.asarray(shape_ids)
    for index, name in enumerate(names):
        rows = shape_ids == index
        if not rows.any():
            continue
        a, b, d, rr, y = adx[rows], ady[rows], dist[rows], r[rows], dy[rows]
        if name == "disk":
            m = d <= rr
        elif name == "square":
            m = np.maximum(a, b) <= 0.8 * rr
        elif name == "triangle":
            m = (y >= -rr) & (y <= 0.8 * rr) & (a <= (y + rr) / 1.8)
        elif name == "ring":
            m = (d <= rr) & (d >= 0.55 * rr)
        elif name == "plus":
            t = thickness * rr
            m = ((a <= t) & (b <= rr)) | ((b <= t) & (a <= rr))
        elif name == "diamond":
            m = a + b <= rr
        elif name == "bar":
            m = (b <= thickness * rr) & (a <= rr)
        else:  # pragma: no cover - the names are the module's own
            raise ValueError(f"unknown shape {name!r}")
        masks[rows] = m
    return masks


def place_in_cells(counts, max_objects, size, rng, *, radius_range=(0.36, 0.45), jitter=0.05):
    """Cells, centres and radii of the objects of ``n`` scenes on a 2 x 2 grid.

    Each scene's objects get distinct cells (0 top left, 1 top right, 2 bottom
    left, 3 bottom right); with the default radii and jitter an object stays
    inside its cell, so objects never touch. Slots past a scene's count hold
    cell -1.

    Returns:
        ``(cells, cy, cx, radius)``, each ``(n, max_objects)``.
    """
    n = counts.shape[0]
    cells = np.argsort(rng.random((n, 4)), axis=1)[:, :max_objects]
    cells = np.where(np.arange(max_objects)[None, :] < counts[:, None], cells, -1)
    cell = size / 2.0
    row, column = np.maximum(cells, 0) // 2, np.maximum(cells, 0) % 2
    cy = (row + 0.5) * cell - 0.5 + rng.uniform(-jitter, jitter, cells.shape) * cell
    cx = (column + 0.5) * cell - 0.5 + rng.uniform(-jitter, jitter, cells.shape) * cell
    radius = rng.uniform(*radius_range, cells.shape) * cell
    return cells, cy, cx, radius


def object_maps(shape_ids, cells, cy, cx, radius, size, names=SHAPES) -> np.ndarray:
    """int8 ``(n, size, size)``: the index of the object at each pixel, -1 for background."""
    n, k = cells.shape
    present = cells >= 0
    masks = np.zeros((n, k, size, size), dtype=bool)
    masks[present] = render_shapes(
        shape_ids[present], cy[present], cx[present], radius[present], size, names
    )
    index = np.full((n, size, size), -1, dtype="int8")
    for slot in range(k):  # objects never overlap, so the order does not matter
        index[masks[:, slot]] = slot
    return index


def grid_image_size(value, *, owner) -> int:
    """``value`` as an ``int`` if it is an even side of at least 16 pixels (a 2 x 2 grid of cells)."""
    size = _checks.integer("image_size", value, minimum=16, owner=owner)
    if size % 2:
        raise ValueError(
            f"{owner}: image_size must be even (the scene is a 2 x 2 grid of cells); "
            f"received {size}"
        )
    return size


def pixel_noise(value, *, owner) -> float:
    """The standard deviation of the pixel noise, a number in [0, 0.1]."""
    return _checks.number("noise", value, low=0, high=0.1, owner=owner)


def paint_objects(objects, colours, noise, rng) -> np.ndarray:
    """Pictures ``(n, size, size, 3)`` in [0, 1]: each object in its colour, on a dark background.

    Args:
        objects: int ``(n, size, size)``, the slot of the object at each pixel
            (-1 on background), as :func:`object_maps` gives.
        colours: int ``(n, slots)``, indices into :data:`COLOURS` (-1 for no object).
        noise: the standard deviation of the Gaussian pixel noise.
        rng: the NumPy generator: a little colour noise per object, a grey
            level per background, then the pixel noise, in that order.
    """
    n, size = objects.shape[0], objects.shape[1]
    palette = np.array(list(COLOURS.values()), dtype="float32")
    rgb = palette[np.maximum(colours, 0)] + 0.04 * rng.standard_normal(colours.shape + (3,))
    background = rng.uniform(0.0, 0.2, (n, 1, 1, 1))
    pixel = rgb[np.arange(n)[:, None, None], np.maximum(objects, 0)]
    images = np.where((objects >= 0)[..., None], pixel, background)
    images = images + noise * rng.standard_normal((n, size, size, 3))
    return np.clip(images, 0.0, 1.0).astype("float32")
