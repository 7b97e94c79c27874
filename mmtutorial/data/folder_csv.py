"""Folder data sets, stage 1: read the CSV file and check every row.

:func:`read_csv` turns the table of a folder data set (one row per image: its
file, caption, label and optionally split) into :class:`CsvRow` records and a
:class:`RowProblem` for every fault it finds in the text: a row with the wrong
number of fields, an empty field, a caption with no words, an unknown label or
split, broken quoting. A fault of the file as a whole (not UTF-8, no header, a
missing column) is a :class:`FolderDataError` at once. Nothing here opens an
image; :mod:`mmtutorial.data.folder_images` does that, and
:mod:`mmtutorial.data.folder` puts the stages together.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import re

__all__ = [
    "SPLIT_NAMES",
    "FolderDataError",
    "SkippedRowsWarning",
    "RowProblem",
    "CsvRow",
    "CsvTable",
    "read_csv",
    "words",
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


@dataclasses.dataclass(frozen=True)
class CsvRow:
    """One data row that passed the row checks (its image is not read yet).

    Attributes:
        line: the CSV line where the row starts.
        image: the image path as written (stripped).
        caption: the caption (stripped).
        label: the class name (stripped).
        split: ``"train"``, ``"validation"``, ``"test"``, or ``None`` before a random split.
    """

    line: int
    image: str
    caption: str
    label: str
    split: str | None


@dataclasses.dataclass
class CsvTable:
    """What :func:`read_csv` found.

    Attributes:
        rows: the :class:`CsvRow` of every row with an image path.
        lines: the start line of every data row, good or bad.
        problems: a :class:`RowProblem` per fault found in the text.
    """

    rows: list
    lines: list
    problems: list


def words(caption: str) -> list:
    """The words of a caption as the vectorizer sees them: lower-cased, punctuation stripped."""
    return _PUNCTUATION.sub("", caption.lower()).split()


def short(values, limit=8) -> str:
    """``repr`` of a list, cut after ``limit`` items."""
    values = list(values)
    return repr(values) if len(values) <= limit else repr(values[:limit])[:-1] + ", ...]"


# -- the file and its header ------------------------------------------------------------
def _decode(csv_path) -> str:
    where = str(csv_path)
    raw = csv_path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FolderDataError(
            f"{where}, line {line}: the file is not UTF-8 text (byte "
            f"{raw[error.start : error.start + 1]!r} at offset {error.start}); save it as UTF-8",
            where,
        ) from None


def _read_header(reader, where):
    """The first non-blank row, stripped, and its line number."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            raise FolderDataError(f"{where} is empty: it has no header row", where) from None
        except csv.Error as error:
            raise FolderDataError(
                f"{where}, line {reader.line_num}: malformed header ({error})", where
            ) from None
        if row:
            return [name.strip() for name in row], reader.line_num


def _check_header(header, header_line, columns, where):
    """Every column named in ``columns`` (argument name -> column) occurs exactly once."""
    for name, column in columns.items():
        if header.count(column) > 1:
            raise FolderDataError(
                f"{where}, line {header_line} (header): the column {column!r} occurs "
                f"{header.count(column)} times in {header}",
                where,
            )
        if column not in header:
            close = difflib.get_close_matches(column, header, n=1, cutoff=0.5)
            hint = (
                f"; did you mean {name}={close[0]!r}?" if close else f"; pass {name}=... to name it"
            )
            if name == "split_column":
                hint += " Pass split_column=None if the data set has no split column."
            raise FolderDataError(
                f"{where}, line {header_line} (header): no column {column!r}; the header has {header}{hint}",
                where,
            )


# -- one row ------------------------------------------------------------------------------
class _RowChecker:
    """Checks the rows of one CSV file against its header and the loader's settings."""

    def __init__(self, where, header, columns, class_names):
        self.where = where
        self.header = header
        self.position = {column: header.index(column) for column in columns.values()}
        self.image_column = columns["image_column"]
        self.caption_column = columns["caption_column"]
        self.label_column = columns["label_column"]
        self.split_column = columns.get("split_column")
        self.class_names = class_names
        self.known_classes = set(class_names) if class_names is not None else None
        self.problems = []

    def problem(self, line, column, value, message):
        self.problems.append(RowProblem(self.where, line, column, value, message))

    def check(self, start, row):
        """The :class:`CsvRow` of a non-blank row, or ``None`` if it has no image path or
        the wrong number of fields; every fault becomes a problem."""
        width = len(self.header)
        if len(row) > width and not any(field.strip() for field in row[width:]):
            row = row[:width]  # trailing empty fields, as some spreadsheets write them
        if not any(field.strip() for field in row):
            self.problem(
                start, None, row, "the row has no values (a blank row left by a spreadsheet?)"
            )
            return None
        if len(row) != width:
            self.problem(
                start,
                None,
                row,
                f"expected {width} fields ({', '.join(self.header)}) but found {len(row)}: {row!r}",
            )
            return None
        values = {column: row[index] for column, index in self.position.items()}
        for column, value in values.items():
            if not value.strip():
                self.problem(
                    start, column, value, f"column {column!r} is empty (received {value!r})"
                )
        caption = self._caption(start, values[self.caption_column])
        label = self._label(start, values[self.label_column])
        split = (
            self._split(start, values[self.split_column]) if self.split_column is not None else None
        )
        image = values[self.image_column].strip()
        return CsvRow(start, image, caption, label, split) if image else None

    def _caption(self, start, value):
        caption = value.strip()
        if caption and not words(caption):
            self.problem(
                start,
                self.caption_column,
                value,
                f"column {self.caption_column!r} has no words once lower-cased and stripped of "
                f"punctuation (received {value!r})",
            )
        return caption

    def _label(self, start, value):
        label = value.strip()
        if label and self.known_classes is not None and label not in self.known_classes:
            self.problem(
                start,
                self.label_column,
                value,
                f"label {label!r} is not one of the class_names {short(self.class_names)}",
            )
        return label

    def _split(self, start, value):
        split = _SPLIT_ALIASES.get(value.strip().lower())
        if value.strip() and split is None:
            self.problem(
                start,
                self.split_column,
                value,
                f"unknown split {value!r} in column {self.split_column!r}; use train, "
                "validation or test (also accepted: val, valid, dev)",
            )
        return split


# -- the whole table ------------------------------------------------------------------------
def read_csv(csv_path, columns, delimiter, class_names) -> CsvTable:
    """Parse and check the CSV file at ``csv_path`` (a ``pathlib.Path``).

    Args:
        csv_path: the CSV file.
        columns: argument name -> column name, for ``image_column``,
            ``caption_column``, ``label_column`` and optionally ``split_column``.
        delimiter: the field separator.
        class_names: the allowed labels, or ``None`` for any.

    Returns:
        A :class:`CsvTable`.

    Raises:
        FolderDataError: the file is not UTF-8, has no header, or lacks a column.
    """
    where = str(csv_path)
    reader = csv.reader(
        io.StringIO(_decode(csv_path), newline=""), delimiter=delimiter, strict=True
    )
    header, header_line = _read_header(reader, where)
    _check_header(header, header_line, columns, where)
    checker = _RowChecker(where, header, columns, class_names)
    rows, lines = [], []
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
            checker.problem(
                start, None, None, f"malformed CSV ({error}) in {span}; check the quotes"
            )
            continue
        if not row:
            continue  # a blank line holds no data
        lines.append(start)
        record = checker.check(start, row)
        if record is not None:
            rows.append(record)
    return CsvTable(rows=rows, lines=lines, problems=checker.problems)


def check_names(name, values, reserved=()):
    """``values`` as a tuple of distinct non-empty strings (none of them ``reserved``)."""
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
