"""Bring your own data: a folder of images plus a CSV file of captions and labels.

Real image + text data sets usually ship as image files and one table that
says, for each image, what its text is and which class it belongs to::

    my_data/
        captions.csv          image,caption,label,split
        images/0001.png       images/0001.png,a red apple on a plate,fruit,train
        images/0002.jpg       ...

:func:`load_folder` reads that layout into the arrays the rest of the package
uses: float32 images in [0, 1] at a chosen ``image_shape``, captions as int32
token ids from a Keras ``TextVectorization`` vocabulary, and integer labels
with the class names kept. Each split is a :class:`FolderSplit`, a
:class:`~mmtutorial.data.Split`, so ``mt.train.fit``, ``predict`` and
``evaluate`` take it as it is.

Real data are messy, so the loader checks every row and every image and never
drops anything silently. A missing or unreadable image, a row with too few
fields, an empty caption or label, or an unknown split value is reported with
the CSV file, the line number and the value. By default the loader stops with
a :class:`FolderDataError` that lists every bad row; with ``on_error="skip"``
it leaves the bad rows out and says so in one :class:`SkippedRowsWarning`.

:func:`write_folder` writes a :class:`~mmtutorial.data.Split` in the same
layout, and :func:`sample_folder` finds the small sample shipped with the
package (60 images of :class:`~mmtutorial.data.ShapeMaterialTask`).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import importlib.resources
import io
import os
import pathlib
import re
import types
import warnings
from typing import Mapping

import numpy as np

from ._common import caption_vectorizer
from .synthetic import Split

__all__ = [
    "SPLIT_NAMES",
    "FolderDataError",
    "SkippedRowsWarning",
    "RowProblem",
    "FolderSplit",
    "FolderDataset",
    "load_folder",
    "write_folder",
    "sample_folder",
]

#: The split names the loader produces, in order.
SPLIT_NAMES = ("train", "validation", "test")
# Spellings accepted in a CSV's split column (compared lower-case, stripped).
_SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "dev": "validation",
    "test": "test",
}
# What Keras's "lower_and_strip_punctuation" standardisation removes.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]\^_`{|}~\']')
_SHOW = 10  # problems spelled out in an error or warning message


class FolderDataError(ValueError):
    """Bad rows or files in a folder data set.

    Attributes:
        csv_path: the CSV file.
        problems: every :class:`RowProblem` found, in line order.
    """

    def __init__(self, message, csv_path=None, problems=()):
        super().__init__(message)
        self.csv_path = csv_path
        self.problems = tuple(problems)


class SkippedRowsWarning(UserWarning):
    """Rows left out by ``load_folder(..., on_error="skip")``."""


@dataclasses.dataclass(frozen=True)
class RowProblem:
    """One problem with one row of the CSV file.

    Attributes:
        csv_path: the CSV file.
        line: the line of the CSV file where the row starts (the header is line 1).
        column: the column at fault, or ``None`` for the row as a whole.
        value: the value at fault, as read.
        message: what is wrong, in words.
    """

    csv_path: str
    line: int
    column: str | None
    value: object
    message: str

    def __str__(self):
        return f"{self.csv_path}, line {self.line}: {self.message}"


@dataclasses.dataclass(frozen=True, repr=False)
class FolderSplit(Split):
    """One split read from a folder: a :class:`~mmtutorial.data.Split` plus where it came from.

    ``images``, ``captions``, ``tokens``, ``labels`` and ``features`` are as in
    :class:`~mmtutorial.data.Split`, so ``mt.train.fit(model, split)`` works.
    The hidden causes of the synthetic task (``shape``, ``material``,
    ``shown_shape``, ``stated_material``) are ``None``: real data do not come
    with them.

    Attributes:
        name: ``"train"``, ``"validation"`` or ``"test"``.
        files: the image path of each sample, as written in the CSV.
        lines: the CSV line number of each sample.
    """

    name: str = ""
    files: tuple = ()
    lines: tuple = ()

    def __repr__(self):
        return (
            f"FolderSplit({self.name!r}: {len(self)} samples, images "
            f"{tuple(self.images.shape)}, tokens {tuple(self.tokens.shape)})"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class FolderDataset:
    """A data set read by :func:`load_folder`.

    Index it by split name (``data["train"]``); every split is a
    :class:`FolderSplit`. The numbers a model needs are attributes, so
    ``mt.models.build_classifier(data.image_shape, data.vocab_size,
    data.sequence_length, data.num_classes)`` fits the data.

    Attributes:
        root: the data set folder; relative image paths start here.
        csv_path: the CSV file read.
        splits: split name -> :class:`FolderSplit`, for the splits that have rows.
        class_names: class names, indexed by label id.
        vocabulary: the caption vocabulary, without the padding (id 0) and
            out-of-vocabulary (id 1) tokens.
        sequence_length: captions are padded or cut to this many tokens.
        image_shape: ``(height, width, channels)`` of the images.
        skipped: the :class:`RowProblem` of every row left out (``on_error="skip"``).
        rows: number of data rows in the CSV file (kept and skipped).
    """

    root: str
    csv_path: str
    splits: Mapping
    class_names: tuple
    vocabulary: tuple
    sequence_length: int
    image_shape: tuple
    skipped: tuple = ()
    rows: int = 0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def vocab_size(self) -> int:
        """Vocabulary size including the padding id 0 and the out-of-vocabulary id 1."""
        return len(self.vocabulary) + 2

    def __getitem__(self, name) -> FolderSplit:
        if name not in self.splits:
            raise KeyError(
                f"the data set has no {name!r} rows; its splits are {list(self.splits)}"
            )
        return self.splits[name]

    def __contains__(self, name) -> bool:
        return name in self.splits

    def __repr__(self):
        sizes = ", ".join(f"{name} {len(split)}" for name, split in self.splits.items())
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return (
            f"FolderDataset({self.csv_path}: {self.rows} rows -> {sizes}{skipped}; "
            f"{self.num_classes} classes; vocabulary of {self.vocab_size} ids; "
            f"captions of {self.sequence_length} tokens; images {self.image_shape})"
        )

    def vectorizer(self):
        """A Keras ``TextVectorization`` layer with this data set's fixed vocabulary."""
        return caption_vectorizer(self.vocabulary, self.sequence_length)

    def tokenize(self, captions) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of strings."""
        captions = list(captions)
        bad = [c for c in captions if not isinstance(c, str)]
        if bad:
            raise ValueError(f"captions must be strings; received {bad[0]!r}")
        return _tokenize(self.vectorizer(), captions, self.sequence_length)

    def dataset(self, name="train", *, batch_size=32, shuffle=False, seed=0, model=None):
        """The split ``name`` as the checked, batched ``tf.data`` pipeline of
        :func:`mmtutorial.train.make_dataset`: ``(features, labels)`` batches."""
        from .. import train

        split = self[name]
        return train.make_dataset(
            split.features, split.labels, batch_size=batch_size, shuffle=shuffle, seed=seed, model=model
        )


# -- helpers ------------------------------------------------------------------
def _check_image_shape(image_shape):
    from ..encoders import check_image_shape

    shape = check_image_shape(image_shape)
    if shape[2] not in (1, 3):
        raise ValueError(
            "image files are decoded to 1 (grey) or 3 (RGB) channels, so image_shape must have "
            f"1 (grey) or 3 (RGB) channels; received {image_shape!r}"
        )
    return shape


def _check_names(name, values, reserved=()):
    if isinstance(values, str):
        raise ValueError(f"{name} must be a list of strings, not one string; received {values!r}")
    values = list(values)
    bad = [v for v in values if not isinstance(v, str) or not v.strip() or v in reserved]
    if bad:
        raise ValueError(f"{name} must hold non-empty strings; received {bad[0]!r}")
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"{name} must not repeat a name; {duplicates} occur more than once")
    return tuple(values)


def _is_int(value, minimum):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= minimum


def _check_fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1); received {value!r}")
    return float(value)


def _natural_key(name):
    """Sort whole numbers numerically ("2" before "10"), other names alphabetically."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _words(caption):
    return _PUNCTUATION.sub("", caption.lower()).split()


def _tokenize(vectorizer, captions, sequence_length):
    if not captions:
        return np.zeros((0, sequence_length), dtype="int32")
    return np.asarray(vectorizer(np.array(captions, dtype=object)), dtype="int32")


def _short(values, limit=8):
    values = list(values)
    return repr(values) if len(values) <= limit else repr(values[:limit])[:-1] + ", ...]"


def _read_image(path, image_shape):
    """Decode one image file; return ``(array, None)`` or ``(None, what is wrong)``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

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
    height, width, channels = image_shape
    try:
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
    except UnidentifiedImageError:
        return None, f"is not an image file Pillow can read (it starts with {data[:8]!r})"
    except Exception as error:  # Pillow reports damage as OSError, SyntaxError, ValueError ...
        detail = str(error) or type(error).__name__
        return None, f"is truncated or corrupt ({detail})"
    return (array[..., None] if channels == 1 else array), None


def _read_csv(csv_path, columns, delimiter, class_names):
    """Parse and check the CSV file: ``(rows, lines, problems)``.

    ``rows`` holds ``[line, image, caption, label, split]`` for every row whose
    image path is not empty, ``lines`` the first line of every data row, and
    ``problems`` a :class:`RowProblem` per fault found in the text.
    """
    where = str(csv_path)
    raw = csv_path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FolderDataError(
            f"{where}, line {line}: the file is not UTF-8 text (byte "
            f"{raw[error.start:error.start + 1]!r} at offset {error.start}); save it as UTF-8",
            where,
        ) from None

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems = []

    def problem(line, column, value, message):
        problems.append(RowProblem(where, line, column, value, message))

    # The header is the first non-blank row.
    header = None
    while header is None:
        try:
            row = next(reader)
        except StopIteration:
            raise FolderDataError(f"{where} is empty: it has no header row", where) from None
        except csv.Error as error:
            raise FolderDataError(
                f"{where}, line {reader.line_num}: malformed header ({error})", where
            ) from None
        if row:
            header, header_line = [name.strip() for name in row], reader.line_num
    for name, column in columns.items():
        if header.count(column) > 1:
            raise FolderDataError(
                f"{where}, line {header_line} (header): the column {column!r} occurs "
                f"{header.count(column)} times in {header}",
                where,
            )
        if column not in header:
            close = difflib.get_close_matches(column, header, n=1, cutoff=0.5)
            hint = f"; did you mean {name}={close[0]!r}?" if close else f"; pass {name}=... to name it"
            if name == "split_column":
                hint += " Pass split_column=None if the data set has no split column."
            raise FolderDataError(
                f"{where}, line {header_line} (header): no column {column!r}; the header has "
                f"{header}{hint}",
                where,
            )
    position = {column: header.index(column) for column in columns.values()}
    known_classes = set(class_names) if class_names is not None else None
    image_column, caption_column, label_column = (
        columns["image_column"], columns["caption_column"], columns["label_column"]
    )
    split_column = columns.get("split_column")

    # -- every row -------------------------------------------------------------------
    rows = []  # (line, image value, caption, label, split) of rows that pass the row checks
    lines = []  # the start line of every data row
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            end = reader.line_num
            span = f"lines {start}-{end}" if end > start else f"line {start}"
            lines.append(start)
            problem(start, None, None, f"malformed CSV ({error}) in {span}; check the quotes")
            continue
        if not row:
            continue  # a blank line holds no data
        lines.append(start)
        if len(row) > len(header) and not any(field.strip() for field in row[len(header):]):
            row = row[: len(header)]  # trailing empty fields, as some spreadsheets write them
        if not any(field.strip() for field in row):
            problem(start, None, row, "the row has no values (a blank row left by a spreadsheet?)")
            continue
        if len(row) != len(header):
            problem(
                start, None, row,
                f"expected {len(header)} fields ({', '.join(header)}) but found {len(row)}: {row!r}",
            )
            continue
        values = {column: row[position[column]] for column in columns.values()}
        for column, value in values.items():
            if not value.strip():
                problem(start, column, value, f"column {column!r} is empty (received {value!r})")
        caption = values[caption_column].strip()
        if caption and not _words(caption):
            problem(
                start, caption_column, values[caption_column],
                f"column {caption_column!r} has no words once lower-cased and stripped of "
                f"punctuation (received {values[caption_column]!r})",
            )
        label = values[label_column].strip()
        if label and known_classes is not None and label not in known_classes:
            problem(
                start, label_column, values[label_column],
                f"label {label!r} is not one of the class_names {_short(class_names)}",
            )
        split = None
        if split_column is not None:
            split_value = values[split_column]
            split = _SPLIT_ALIASES.get(split_value.strip().lower())
            if split_value.strip() and split is None:
                problem(
                    start, split_column, split_value,
                    f"unknown split {split_value!r} in column {split_column!r}; use train, "
                    "validation or test (also accepted: val, valid, dev)",
                )
        image_value = values[image_column].strip()
        if image_value:
            rows.append([start, image_value, caption, label, split])

    return rows, lines, problems


# -- the loader -----------------------------------------------------------------
def load_folder(
    root,
    csv_file="captions.csv",
    *,
    image_column="image",
    caption_column="caption",
    label_column="label",
    split_column="split",
    image_shape=(32, 32, 3),
    sequence_length=None,
    vocabulary=None,
    max_tokens=None,
    class_names=None,
    validation_fraction=None,
    test_fraction=None,
    seed=0,
    delimiter=",",
    on_error="raise",
) -> FolderDataset:
    """Read a folder of images and a CSV file of captions and labels.

    Each data row of the CSV file names an image file (relative to ``root``,
    or absolute), its caption and its label, and optionally its split. The
    result holds, per split, float32 images ``(n, *image_shape)`` in [0, 1],
    int32 token ids ``(n, sequence_length)`` and int32 labels ``(n,)``:

    * images are decoded with Pillow, turned upright (EXIF orientation),
      converted to RGB (or grey for 1 channel) and resized to ``image_shape``
      with bilinear filtering; pixel ``v`` in 0..255 becomes ``v / 255``;
    * captions are lower-cased, stripped of punctuation, split on white space
      and looked up in a vocabulary learnt from the **training** captions
      (most frequent words first) unless ``vocabulary`` is given; id 0 pads,
      id 1 stands for a word outside the vocabulary;
    * labels become ids into ``class_names``: the given list, or the sorted
      names found in the CSV file.

    Every row is checked. A row with the wrong number of fields, an empty
    field, a caption with no words, an unknown label or split, or an image
    file that is missing, empty, unreadable, truncated or corrupt is a
    :class:`RowProblem` naming the CSV file, the line and the value.

    Args:
        root: the data set folder.
        csv_file: the CSV file, relative to ``root`` or absolute.
        image_column, caption_column, label_column: the columns to read.
        split_column: the column with ``train``, ``validation`` (or ``val``,
            ``valid``, ``dev``) and ``test``; ``None`` if there is none, and
            the rows are then split at random (see ``validation_fraction``).
        image_shape: ``(height, width, channels)``, channels 1 or 3.
        sequence_length: tokens per caption; default: the longest training caption.
        vocabulary: a fixed list of words instead of learning one.
        max_tokens: keep at most this many ids (including 0 and 1) when learning.
        class_names: a fixed list of class names (label ``i`` is ``class_names[i]``).
        validation_fraction, test_fraction: with ``split_column=None``, the
            fractions of rows drawn at random for validation and test
            (default 0.1 each), reproducibly from ``seed``.
        seed: seeds that random split.
        delimiter: the CSV field separator (``"\\t"`` for TSV files).
        on_error: ``"raise"`` (default) stops with a :class:`FolderDataError`
            listing every bad row; ``"skip"`` leaves bad rows out and reports
            them in one :class:`SkippedRowsWarning` and in ``.skipped``.

    Returns:
        A :class:`FolderDataset`.

    Raises:
        FileNotFoundError: ``root`` or the CSV file does not exist.
        FolderDataError: (a ``ValueError``) an empty CSV file, a missing
            column, bad rows (unless skipped), or no rows left.
        ValueError: an invalid argument, named with the value received.

    Example:
        >>> data = load_folder(sample_folder())
        >>> data["train"].images.shape, data["train"].tokens.dtype, data.num_classes
        ((40, 32, 32, 3), dtype('int32'), 21)
    """
    # -- arguments ----------------------------------------------------------------
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; received {on_error!r}")
    image_shape = _check_image_shape(image_shape)
    if sequence_length is not None and not _is_int(sequence_length, 1):
        raise ValueError(
            f"sequence_length must be a positive integer or None; received {sequence_length!r}"
        )
    if max_tokens is not None and not _is_int(max_tokens, 3):
        raise ValueError(f"max_tokens must be an integer >= 3 or None; received {max_tokens!r}")
    if vocabulary is not None:
        vocabulary = _check_names("vocabulary", vocabulary, reserved=("", "[UNK]"))
        if max_tokens is not None:
            raise ValueError("pass either vocabulary or max_tokens, not both")
    if class_names is not None:
        class_names = tuple(name.strip() for name in _check_names("class_names", class_names))
    columns = {
        "image_column": image_column, "caption_column": caption_column, "label_column": label_column
    }
    if split_column is not None:
        columns["split_column"] = split_column
        fractions = {"validation_fraction": validation_fraction, "test_fraction": test_fraction}
        for name, value in fractions.items():
            if value is not None:
                raise ValueError(
                    f"{name} applies only to a CSV file without a split column; pass "
                    f"split_column=None to split the rows at random (received {name}={value!r})"
                )
    else:
        validation_fraction = _check_fraction(
            "validation_fraction", 0.1 if validation_fraction is None else validation_fraction
        )
        test_fraction = _check_fraction("test_fraction", 0.1 if test_fraction is None else test_fraction)
        if validation_fraction + test_fraction >= 1.0:
            raise ValueError(
                "validation_fraction + test_fraction must leave rows for training; received "
                f"{validation_fraction} + {test_fraction}"
            )
    for name, value in columns.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string; received {value!r}")
    if len(set(columns.values())) < len(columns):
        raise ValueError(f"the columns must differ from each other; received {columns}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character; received {delimiter!r}")

    # -- the files ------------------------------------------------------------------
    root = pathlib.Path(os.fspath(root)).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"the data set folder {str(root)!r} does not exist or is not a folder")
    csv_path = pathlib.Path(os.fspath(csv_file))
    if not csv_path.is_absolute():
        csv_path = root / csv_path
    where = str(csv_path)
    if not csv_path.is_file():
        entries = sorted(p.name for p in root.iterdir())
        raise FileNotFoundError(
            f"no CSV file {where!r}; the folder {str(root)!r} holds {_short(entries)}"
            + (" (pass csv_file=... to name it)" if entries else "")
        )
    rows, lines, problems = _read_csv(csv_path, columns, delimiter, class_names)

    def problem(line, column, value, message):
        problems.append(RowProblem(where, line, column, value, message))

    if not lines:
        raise FolderDataError(f"{where} has a header but no data rows", where)

    # Rows without a split column are split at random; the draw covers every data row
    # (bad ones too), so a row's split does not depend on which other rows are bad.
    if split_column is None:
        order = np.random.default_rng(seed).permutation(len(lines))
        n_validation = int(round(validation_fraction * len(lines)))
        n_test = int(round(test_fraction * len(lines)))
        assigned = {}
        for rank, index in enumerate(order):
            name = "test" if rank < n_test else "validation" if rank < n_test + n_validation else "train"
            assigned[lines[index]] = name
        for record in rows:
            record[4] = assigned[record[0]]

    # -- every image --------------------------------------------------------------
    images = {}
    for start, image_value, *_ in rows:
        path = pathlib.Path(image_value)
        if not path.is_absolute():
            path = root / path
        array, trouble = _read_image(path, image_shape)
        if trouble is None:
            images[start] = array
            continue
        message = f"image file {image_value!r} {trouble}"
        if trouble == "not found":
            message += f" (looked for {str(path)!r})"
            if "\\" in image_value and os.sep != "\\":
                message += "; write paths in the CSV file with '/', not '\\'"
        problem(start, image_column, image_value, message)

    # -- raise, or skip -----------------------------------------------------------
    problems.sort(key=lambda p: p.line)
    bad_lines = sorted({p.line for p in problems})
    if problems and on_error == "raise":
        if len(problems) == 1:
            message = str(problems[0])
        else:
            listed = "\n".join(f"  line {p.line}: {p.message}" for p in problems[:_SHOW])
            more = ""
            if len(problems) > _SHOW:
                more = f"\n  ... and {len(problems) - _SHOW} more (see error.problems)"
            message = (
                f"{where}: {len(problems)} problems in {len(bad_lines)} of {len(lines)} rows:\n"
                f"{listed}{more}"
            )
        raise FolderDataError(
            message + "\nFix the rows, or pass on_error='skip' to leave them out with a warning.",
            where,
            problems,
        )
    kept = [r for r in rows if r[0] not in set(bad_lines)]
    if not kept:
        raise FolderDataError(
            f"{where}: every one of the {len(lines)} rows has a problem, so no data is left; the first: "
            f"line {problems[0].line}: {problems[0].message}",
            where,
            problems,
        )
    if problems:
        first = problems[: _SHOW]
        reasons = "; ".join(f"line {p.line}: {p.message}" for p in first)
        more = f"; and {len(problems) - _SHOW} more problems" if len(problems) > _SHOW else ""
        numbers = ("line " if len(bad_lines) == 1 else "lines ") + ", ".join(map(str, bad_lines))
        warnings.warn(
            f"skipped {len(bad_lines)} of {len(lines)} rows of {where} ({numbers}): {reasons}{more}",
            SkippedRowsWarning,
            stacklevel=2,
        )

    # -- classes, vocabulary, arrays -------------------------------------------------
    if class_names is None:
        class_names = tuple(sorted({r[3] for r in kept}, key=_natural_key))
    label_ids = {name: index for index, name in enumerate(class_names)}
    by_split = {name: [r for r in kept if r[4] == name] for name in SPLIT_NAMES}
    train_captions = [r[2] for r in by_split["train"]]
    if vocabulary is None:
        if not train_captions:
            raise FolderDataError(
                f"{where}: no 'train' rows to learn the vocabulary from; pass vocabulary=[...] "
                "or mark rows as train",
                where,
                problems,
            )
        import keras

        learner = keras.layers.TextVectorization(
            max_tokens=max_tokens, standardize="lower_and_strip_punctuation", split="whitespace"
        )
        learner.adapt(np.array(train_captions, dtype=object))
        vocabulary = tuple(str(word) for word in learner.get_vocabulary()[2:])
    if sequence_length is None:
        longest = train_captions or [r[2] for r in kept]
        sequence_length = max(len(_words(c)) for c in longest)
    dataset = FolderDataset(
        root=str(root),
        csv_path=where,
        splits={},
        class_names=class_names,
        vocabulary=vocabulary,
        sequence_length=int(sequence_length),
        image_shape=image_shape,
        skipped=tuple(p for p in problems),
        rows=len(lines),
    )
    vectorizer = dataset.vectorizer()
    splits = {}
    for name, records in by_split.items():
        if not records:
            continue
        captions = tuple(r[2] for r in records)
        splits[name] = FolderSplit(
            images=np.stack([images[r[0]] for r in records]).astype("float32", copy=False),
            captions=captions,
            tokens=_tokenize(vectorizer, list(captions), dataset.sequence_length),
            labels=np.array([label_ids[r[3]] for r in records], dtype="int32"),
            shape=None,
            material=None,
            shown_shape=None,
            stated_material=None,
            name=name,
            files=tuple(r[1] for r in records),
            lines=tuple(r[0] for r in records),
        )
    return dataclasses.replace(dataset, splits=types.MappingProxyType(splits))


# -- writing and the shipped sample -------------------------------------------------
def write_folder(
    root, splits, class_names, *, csv_file="captions.csv", image_dir="images", overwrite=False
):
    """Write splits in the folder layout :func:`load_folder` reads: PNG files and a CSV file.

    Pixel values ``x`` in [0, 1] are stored as the 8-bit integers
    ``round(255 x)``, so reading them back changes each value by at most
    ``1 / 510``.

    Args:
        root: the folder to write into (created if needed).
        splits: a :class:`~mmtutorial.data.Split` (written without a split
            column) or a dict ``{"train": split, "validation": ..., "test": ...}``.
        class_names: names indexed by label id; the CSV stores names.
        csv_file: the CSV file name.
        image_dir: the sub-folder for the images.
        overwrite: replace an existing CSV file (and images of the same names).

    Returns:
        The path of the CSV file, a ``pathlib.Path``.
    """
    from PIL import Image

    if isinstance(splits, Split):
        named, with_split = {"train": splits}, False
    elif isinstance(splits, Mapping) and splits:
        named, with_split = dict(splits), True
        unknown = [name for name in named if name not in SPLIT_NAMES]
        if unknown:
            raise ValueError(f"split names must be among {list(SPLIT_NAMES)}; received {unknown}")
    else:
        raise ValueError(f"splits must be a Split or a non-empty dict of Splits; received {splits!r}")
    class_names = _check_names("class_names", class_names)
    for name, split in named.items():
        images = np.asarray(split.images)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(
                f"splits[{name!r}].images must have shape (n, height, width, 1 or 3); "
                f"received {images.shape}"
            )
        if images.size and (not np.isfinite(images).all() or images.min() < 0 or images.max() > 1):
            raise ValueError(f"splits[{name!r}].images must be finite values in [0, 1]")
        labels = np.asarray(split.labels)
        if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise ValueError(
                f"splits[{name!r}].labels must lie in [0, {len(class_names)}) to name a class; "
                f"received min {int(labels.min())} and max {int(labels.max())}"
            )
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
            pixels = np.rint(np.asarray(split.images) * 255.0).astype("uint8")
            for image, caption, label in zip(pixels, split.captions, np.asarray(split.labels)):
                relative = f"{image_dir}/{index:05d}.png"
                mode_image = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
                mode_image.save(root / relative, format="PNG", optimize=True)
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
        entry.name for entry in samples.iterdir() if entry.is_dir() and not entry.name.startswith("_")
    )
    if name not in available:
        raise ValueError(f"unknown sample {name!r}; the package ships {available}")
    return pathlib.Path(str(samples.joinpath(name)))
