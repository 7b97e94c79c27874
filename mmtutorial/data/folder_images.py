"""Folder data sets, stage 2: decode every image file named by the CSV file.

:func:`read_image` decodes one file with Pillow into float32 values in [0, 1]
at the requested ``(height, width, channels)``, or says in words why it cannot
(missing, empty, not an image, truncated or corrupt). :func:`read_images` does
that for every row of :func:`mmtutorial.data.folder_csv.read_csv` and turns
each failure into a :class:`~mmtutorial.data.folder_csv.RowProblem`.
"""

from __future__ import annotations

import io
import os
import pathlib

import numpy as np

from .. import _checks
from .folder_csv import RowProblem

__all__ = ["check_image_shape", "read_image", "read_images"]


def check_image_shape(image_shape) -> tuple:
    """``image_shape`` as ``(height, width, channels)`` ints, channels 1 (grey) or 3 (RGB)."""
    shape = _checks.shape("image_shape", image_shape, 3, describe="(height, width, channels)")
    if shape[2] not in (1, 3):
        raise ValueError(
            "image files are decoded to 1 (grey) or 3 (RGB) channels, so image_shape must have "
            f"1 (grey) or 3 (RGB) channels; received {image_shape!r}"
        )
    return shape


def _decode(data, image_shape) -> np.ndarray:
    """Pillow's decoding of the bytes ``data``, upright, converted and resized, in [0, 1]."""
    from PIL import Image, ImageOps

    height, width, channels = image_shape
    with Image.open(io.BytesIO(data)) as image:
        image.verify()  # checks the file's structure, e.g. a PNG's chunk checksums
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG":
            image.draft("RGB", (width, height))  # let the decoder shrink big photos
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("P", "PA", "LA", "RGBA"):
            image = image.convert("RGBA")
        image = image.convert("RGB" if channels == 3 else "L")
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype="float32") / 255.0
    return array[..., None] if channels == 1 else array


def read_image(path: pathlib.Path, image_shape) -> tuple:
    """Decode one image file: ``(array, None)``, or ``(None, what is wrong)`` in words.

    The array is float32 ``image_shape`` with values ``v / 255``.
    """
    from PIL import UnidentifiedImageError

    if not path.exists():
        return None, "not found"
    if not path.is_file():
        return None, "is not a file"
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, f"cannot be read ({error.strerror or error})"
    if not data:
        return None, "is empty (0 bytes)"
    try:
        return _decode(data, image_shape), None
    except UnidentifiedImageError:
        return None, f"is not an image file Pillow can read (it starts with {data[:8]!r})"
    except Exception as error:  # Pillow reports damage as OSError, SyntaxError, ValueError ...
        detail = str(error) or type(error).__name__
        return None, f"is truncated or corrupt ({detail})"


def read_images(rows, root: pathlib.Path, image_shape, *, image_column: str, where: str) -> tuple:
    """Decode the image of every row; paths are relative to ``root`` unless absolute.

    Returns:
        ``(images, problems)``: CSV line -> array for every image read, and a
        :class:`~mmtutorial.data.folder_csv.RowProblem` for every one that was not.
    """
    images, problems = {}, []
    for row in rows:
        path = pathlib.Path(row.image)
        if not path.is_absolute():
            path = root / path
        array, trouble = read_image(path, image_shape)
        if trouble is None:
            images[row.line] = array
            continue
        message = f"image file {row.image!r} {trouble}"
        if trouble == "not found":
            message += f" (looked for {str(path)!r})"
            if "\\" in row.image and os.sep != "\\":
                message += "; write paths in the CSV file with '/', not '\\'"
        problems.append(RowProblem(where, row.line, image_column, row.image, message))
    return images, problems
