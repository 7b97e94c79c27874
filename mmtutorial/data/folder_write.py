"""Writing a data set in the folder layout :func:`~mmtutorial.data.load_folder` reads, and the shipped sample.

:func:`write_folder` turns splits into PNG files and one CSV file, so that any
task's data can be read back the way a reader's own folder is;
:func:`sample_folder` is the small folder shipped inside the package.
"""

from __future__ import annotations

import csv
import importlib.resources
import os
import pathlib
from collections.abc import Mapping

import numpy as np
from PIL import Image

from .base import Split
from .folder_csv import SPLIT_NAMES, check_names

__all__ = ["write_folder", "sample_folder"]


def _check_writable(name, split, class_names):
    """``split`` holds images that PNG files can store, captions and labels naming a class."""
    if (
        not isinstance(split, Split)
        or "image" not in split.features
        or not hasattr(split, "captions")
    ):
        raise ValueError(
            f"splits[{name!r}] must be a Split with an 'image' input and captions (such as "
            f"ShapeMaterialTask's or load_folder's); received {type(split).__name__}"
        )
    images = split.features["image"]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"splits[{name!r}].images must have shape (n, height, width, 1 or 3); received {images.shape}"
        )
    if images.size and (not np.isfinite(images).all() or images.min() < 0 or images.max() > 1):
        raise ValueError(f"splits[{name!r}].images must be finite values in [0, 1]")
    labels = split.labels
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(
            f"splits[{name!r}].labels must lie in [0, {len(class_names)}) to name a class; "
            f"received min {int(labels.min())} and max {int(labels.max())}"
        )


def write_folder(
    root, splits, class_names, *, csv_file="captions.csv", image_dir="images", overwrite=False
):
    """Write splits in the folder layout :func:`load_folder` reads: PNG files and a CSV file.

    Pixel values ``x`` in [0, 1] are stored as the 8-bit integers
    ``round(255 x)``, so reading them back changes each value by at most
    ``1 / 510``.

    Args:
        root: the folder to write into (created if needed).
        splits: a :class:`~mmtutorial.data.Split` with an ``"image"`` input
            and ``captions`` (written without a split column), or a dict
            ``{"train": split, "validation": ..., "test": ...}`` of them.
        class_names: names indexed by label id; the CSV stores names.
        csv_file: the CSV file name.
        image_dir: the sub-folder for the images.
        overwrite: replace an existing CSV file (and images of the same names).

    Returns:
        The path of the CSV file, a ``pathlib.Path``.
    """
    if isinstance(splits, Split):
        named, with_split = {"train": splits}, False
    elif isinstance(splits, Mapping) and splits:
        named, with_split = dict(splits), True
        unknown = [name for name in named if name not in SPLIT_NAMES]
        if unknown:
            raise ValueError(f"split names must be among {list(SPLIT_NAMES)}; received {unknown}")
    else:
        raise ValueError(
            f"splits must be a Split or a non-empty dict of Splits; received {type(splits).__name__}"
        )
    class_names = check_names("class_names", class_names)
    for name, split in named.items():
        _check_writable(name, split, class_names)
    root = pathlib.Path(os.fspath(root))
    csv_path = root / csv_file
    if csv_path.exists() and not overwrite:
        raise FileExistsError(f"{str(csv_path)!r} exists; pass overwrite=True to replace it")
    (root / image_dir).mkdir(parents=True, exist_ok=True)
    header = ["image", "caption", "label"] + (["split"] if with_split else [])
    index = 0
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for name, split in named.items():
            pixels = np.rint(split.features["image"] * 255.0).astype("uint8")
            for image, caption, label in zip(pixels, split.captions, split.labels):
                relative = f"{image_dir}/{index:05d}.png"
                Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
                    root / relative, format="PNG", optimize=True
                )
                row = [relative, caption, class_names[int(label)]]
                writer.writerow(row + [name] if with_split else row)
                index += 1
    return csv_path


def sample_folder(name: str = "shapes") -> pathlib.Path:
    """The folder of a small data set shipped inside the package, ready for :func:`load_folder`.

    ``"shapes"`` holds 60 PNG images (32x32) of
    :class:`~mmtutorial.data.ShapeMaterialTask` with a ``captions.csv`` file
    (columns ``image``, ``caption``, ``label``, ``split``): 40 training, 10
    validation and 10 test rows, every one of the 21 classes among the
    training rows. ``tools/make_sample.py`` in the repository made it.

    Example:
        >>> (sample_folder() / "captions.csv").is_file()
        True
    """
    samples = importlib.resources.files(__package__).joinpath("samples")
    available = sorted(
        entry.name
        for entry in samples.iterdir()
        if entry.is_dir() and not entry.name.startswith("_")
    )
    if name not in available:
        raise ValueError(f"unknown sample {name!r}; the package ships {available}")
    return pathlib.Path(str(samples.joinpath(name)))
