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

The loader works in stages, one module each: the CSV file and its rows
(:mod:`mmtutorial.data.folder_csv`), the image files
(:mod:`mmtutorial.data.folder_images`), and here the assembly into splits.

:func:`write_folder` writes image + caption splits in the same layout, and
:func:`sample_folder` finds the small sample shipped with the package (60
images of :class:`~mmtutorial.data.ShapeMaterialTask`).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import types
import warnings
from collections.abc import Mapping

import numpy as np

from . import words as word_lists
from .base import DataSource, Split
from .folder_csv import (
    SPLIT_NAMES,
    FolderDataError,
    RowProblem,
    SkippedRowsWarning,
    read_csv,
    short,
    words,
)
from .folder_images import read_images
from .folder_options import check_options

# Writing a folder and the shipped sample live in folder_write; reachable from here too.
from .folder_write import sample_folder, write_folder

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

_SHOW = 10  # problems spelled out in an error or warning message


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class FolderSplit(Split):
    """One split read from a folder: a :class:`~mmtutorial.data.Split` plus where it came from.

    ``features`` is ``{"image": images, "text": tokens}``, so
    ``mt.train.fit(model, split)`` works. Real data come without hidden causes,
    so a folder split has only what the files hold.

    Attributes:
        captions: the captions as read (stripped).
        name: ``"train"``, ``"validation"`` or ``"test"``.
        files: the image path of each sample, as written in the CSV.
        lines: the CSV line number of each sample.
    """

    captions: tuple
    name: str = ""
    files: tuple = ()
    lines: tuple = ()

    def _repr_head(self) -> str:
        return f"{self.name!r}: {len(self)} samples"


@dataclasses.dataclass(frozen=True, repr=False)
class FolderDataset(word_lists.FixedVocabulary, DataSource):
    """A data set read by :func:`load_folder`.

    Index it by split name (``data["train"]``); every split is a
    :class:`FolderSplit`. The numbers a model needs are attributes, so
    ``mt.models.build_classifier(data.image_shape, data.vocab_size,
    data.sequence_length, data.num_classes)`` fits the data, and
    ``mt.train.make_dataset(data["train"].features, data["train"].labels)``
    is its ``tf.data`` pipeline.

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

    def input_specs(self) -> dict:
        """``{"image": (image_shape, "float32"), "text": ((sequence_length,), "int32")}``."""
        return {
            "image": (tuple(self.image_shape), "float32"),
            "text": ((self.sequence_length,), "int32"),
        }

    def ceilings(self) -> dict:
        """``{"chance": 1 / num_classes}``: real data come with no ceiling known on paper."""
        return {"chance": self.chance_accuracy}

    def __getitem__(self, name) -> FolderSplit:
        if name not in self.splits:
            raise KeyError(f"the data set has no {name!r} rows; its splits are {list(self.splits)}")
        return self.splits[name]

    def __contains__(self, name) -> bool:
        return name in self.splits

    def __repr__(self):
        sizes = ", ".join(f"{name} {len(split)}" for name, split in self.splits.items())
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        # one fact per line, so the summary fits the book's code column
        return (
            f"FolderDataset({self.csv_path}:\n"
            f"    {self.rows} rows -> {sizes}{skipped};\n"
            f"    {self.num_classes} classes; vocabulary of {self.vocab_size} ids;\n"
            f"    captions of {self.sequence_length} tokens; images {self.image_shape})"
        )

    def vectorizer(self):
        """A Keras ``TextVectorization`` layer with this data set's fixed vocabulary."""
        return word_lists.caption_vectorizer(self.vocabulary, self.sequence_length)

    def tokenize(self, captions) -> np.ndarray:
        """Token ids (int32, ``(n, sequence_length)``) for a list of strings."""
        return word_lists.tokenize(captions, self.vocabulary, self.sequence_length, name="captions")

    @property
    def dataset(self):
        """Removed: the data package does not depend on :mod:`mmtutorial.train`."""
        raise AttributeError(
            "FolderDataset.dataset(name, ...) was removed, so that mmtutorial.data needs nothing "
            "from mmtutorial.train; use mt.train.make_dataset(data[name].features, data[name].labels, "
            "batch_size=..., shuffle=..., seed=..., model=...) instead"
        )


# -- the loader's stages ------------------------------------------------------------------
def _locate(root, csv_file) -> tuple:
    """The data set folder and the CSV file, both checked to exist."""
    root = pathlib.Path(os.fspath(root)).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"the data set folder {str(root)!r} does not exist or is not a folder"
        )
    csv_path = pathlib.Path(os.fspath(csv_file))
    if not csv_path.is_absolute():
        csv_path = root / csv_path
    if not csv_path.is_file():
        entries = sorted(p.name for p in root.iterdir())
        raise FileNotFoundError(
            f"no CSV file {str(csv_path)!r}; the folder {str(root)!r} holds {short(entries)}"
            + (" (pass csv_file=... to name it)" if entries else "")
        )
    return root, csv_path


def _split_at_random(rows, lines, options) -> list:
    """Give every row a random split. The draw covers every data row (bad ones too), so a
    row's split does not depend on which other rows are bad."""
    order = np.random.default_rng(options.seed).permutation(len(lines))
    n_validation = int(round(options.validation_fraction * len(lines)))
    n_test = int(round(options.test_fraction * len(lines)))
    assigned = {}
    for rank, index in enumerate(order):
        assigned[lines[index]] = (
            "test" if rank < n_test else "validation" if rank < n_test + n_validation else "train"
        )
    return [dataclasses.replace(row, split=assigned[row.line]) for row in rows]


def _raise_or_skip(problems, rows, lines, on_error, where) -> list:
    """The rows without problems; or a :class:`FolderDataError` listing every problem."""
    bad_lines = sorted({p.line for p in problems})
    if problems and on_error == "raise":
        if len(problems) == 1:
            message = str(problems[0])
        else:
            listed = "\n".join(f"  line {p.line}: {p.message}" for p in problems[:_SHOW])
            more = (
                f"\n  ... and {len(problems) - _SHOW} more (see error.problems)"
                if len(problems) > _SHOW
                else ""
            )
            message = f"{where}: {len(problems)} problems in {len(bad_lines)} of {len(lines)} rows:\n{listed}{more}"
        raise FolderDataError(
            message + "\nFix the rows, or pass on_error='skip' to leave them out with a warning.",
            where,
            problems,
        )
    kept = [row for row in rows if row.line not in set(bad_lines)]
    if not kept:
        raise FolderDataError(
            f"{where}: every one of the {len(lines)} rows has a problem, so no data is left; the first: "
            f"line {problems[0].line}: {problems[0].message}",
            where,
            problems,
        )
    if problems:
        reasons = "; ".join(f"line {p.line}: {p.message}" for p in problems[:_SHOW])
        more = f"; and {len(problems) - _SHOW} more problems" if len(problems) > _SHOW else ""
        numbers = ("line " if len(bad_lines) == 1 else "lines ") + ", ".join(map(str, bad_lines))
        warnings.warn(
            f"skipped {len(bad_lines)} of {len(lines)} rows of {where} ({numbers}): {reasons}{more}",
            SkippedRowsWarning,
            stacklevel=3,  # the caller of load_folder
        )
    return kept


def _learn_vocabulary(captions, max_tokens) -> tuple:
    """The words of ``captions``, most frequent first, as Keras's ``TextVectorization`` ranks them."""
    import keras

    learner = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize="lower_and_strip_punctuation", split="whitespace"
    )
    learner.adapt(np.array(captions, dtype=object))
    return tuple(str(word) for word in learner.get_vocabulary()[2:])


def _assemble(root, where, kept, images, problems, n_rows, options) -> FolderDataset:
    """Class ids, the vocabulary and the arrays of every split."""
    class_names = options.class_names
    if class_names is None:
        class_names = tuple(sorted({row.label for row in kept}, key=_natural_key))
    label_ids = {name: index for index, name in enumerate(class_names)}
    by_split = {name: [row for row in kept if row.split == name] for name in SPLIT_NAMES}
    train_captions = [row.caption for row in by_split["train"]]
    vocabulary = options.vocabulary
    if vocabulary is None:
        if not train_captions:
            raise FolderDataError(
                f"{where}: no 'train' rows to learn the vocabulary from; pass vocabulary=[...] "
                "or mark rows as train",
                where,
                problems,
            )
        vocabulary = _learn_vocabulary(train_captions, options.max_tokens)
    sequence_length = options.sequence_length
    if sequence_length is None:
        longest = train_captions or [row.caption for row in kept]
        sequence_length = max(len(words(c)) for c in longest)
    vectorizer = word_lists.caption_vectorizer(vocabulary, sequence_length)
    splits = {
        name: _folder_split(name, records, images, label_ids, vectorizer)
        for name, records in by_split.items()
        if records
    }
    return FolderDataset(
        root=str(root),
        csv_path=where,
        splits=types.MappingProxyType(splits),
        class_names=class_names,
        vocabulary=vocabulary,
        sequence_length=int(sequence_length),
        image_shape=options.image_shape,
        skipped=tuple(problems),
        rows=n_rows,
    )


def _folder_split(name, records, images, label_ids, vectorizer) -> FolderSplit:
    """The arrays of one split's rows: stacked images, token ids, label ids."""
    captions = tuple(row.caption for row in records)
    return FolderSplit(
        features={
            "image": np.stack([images[row.line] for row in records]).astype("float32", copy=False),
            "text": np.asarray(vectorizer(np.array(captions, dtype=object)), dtype="int32"),
        },
        labels=np.array([label_ids[row.label] for row in records], dtype="int32"),
        captions=captions,
        name=name,
        files=tuple(row.image for row in records),
        lines=tuple(row.line for row in records),
    )


def _natural_key(name):
    """Sort whole numbers numerically ("2" before "10"), other names alphabetically."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


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

    Longer than 80 lines because of this documentation: the code is 49 lines.

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
    options = check_options(
        image_column=image_column,
        caption_column=caption_column,
        label_column=label_column,
        split_column=split_column,
        image_shape=image_shape,
        sequence_length=sequence_length,
        vocabulary=vocabulary,
        max_tokens=max_tokens,
        class_names=class_names,
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=seed,
        delimiter=delimiter,
        on_error=on_error,
    )
    root, csv_path = _locate(root, csv_file)
    where = str(csv_path)
    table = read_csv(csv_path, options.columns, options.delimiter, options.class_names)
    if not table.lines:
        raise FolderDataError(f"{where} has a header but no data rows", where)
    rows = (
        _split_at_random(table.rows, table.lines, options) if options.random_split else table.rows
    )
    images, image_problems = read_images(
        rows, root, options.image_shape, image_column=options.columns["image_column"], where=where
    )
    problems = sorted(table.problems + image_problems, key=lambda p: p.line)
    kept = _raise_or_skip(problems, rows, table.lines, options.on_error, where)
    return _assemble(root, where, kept, images, problems, len(table.lines), options)
