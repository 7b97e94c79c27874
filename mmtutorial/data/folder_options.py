"""The arguments of :func:`~mmtutorial.data.load_folder`, checked once into one options record."""

from __future__ import annotations

import dataclasses

from .. import _checks
from .folder_csv import check_names
from .folder_images import check_image_shape


@dataclasses.dataclass(frozen=True)
class _Options:
    """The checked arguments of :func:`load_folder`."""

    columns: dict
    image_shape: tuple
    sequence_length: int | None
    vocabulary: tuple | None
    max_tokens: int | None
    class_names: tuple | None
    validation_fraction: float | None
    test_fraction: float | None
    seed: int
    delimiter: str
    on_error: str

    @property
    def random_split(self) -> bool:
        return "split_column" not in self.columns


def _optional_integer(name, value, minimum):
    if value is None:
        return None
    if not (_checks.is_integer(value) and value >= minimum):
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what} or None; received {value!r}")
    return int(value)


def _check_fractions(split_column, validation_fraction, test_fraction):
    """The random split's fractions: only without a split column, 0.1 each by default."""
    if split_column is not None:
        for name, value in (
            ("validation_fraction", validation_fraction),
            ("test_fraction", test_fraction),
        ):
            if value is not None:
                raise ValueError(
                    f"{name} applies only to a CSV file without a split column; pass "
                    f"split_column=None to split the rows at random (received {name}={value!r})"
                )
        return None, None
    validation = _checks.fraction(
        "validation_fraction", 0.1 if validation_fraction is None else validation_fraction
    )
    test = _checks.fraction("test_fraction", 0.1 if test_fraction is None else test_fraction)
    if validation + test >= 1.0:
        raise ValueError(
            f"validation_fraction + test_fraction must leave rows for training; received {validation} + {test}"
        )
    return validation, test


def _check_columns(image_column, caption_column, label_column, split_column) -> dict:
    columns = {
        "image_column": image_column,
        "caption_column": caption_column,
        "label_column": label_column,
    }
    if split_column is not None:
        columns["split_column"] = split_column
    for name, value in columns.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string; received {value!r}")
    if len(set(columns.values())) < len(columns):
        raise ValueError(f"the columns must differ from each other; received {columns}")
    return columns


def check_options(
    *,
    image_column,
    caption_column,
    label_column,
    split_column,
    image_shape,
    sequence_length,
    vocabulary,
    max_tokens,
    class_names,
    validation_fraction,
    test_fraction,
    seed,
    delimiter,
    on_error,
) -> _Options:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; received {on_error!r}")
    image_shape = check_image_shape(image_shape)
    sequence_length = _optional_integer("sequence_length", sequence_length, 1)
    max_tokens = _optional_integer("max_tokens", max_tokens, 3)
    if vocabulary is not None:
        vocabulary = check_names("vocabulary", vocabulary, reserved=("", "[UNK]"))
        if max_tokens is not None:
            raise ValueError("pass either vocabulary or max_tokens, not both")
    if class_names is not None:
        class_names = tuple(name.strip() for name in check_names("class_names", class_names))
    validation_fraction, test_fraction = _check_fractions(
        split_column, validation_fraction, test_fraction
    )
    columns = _check_columns(image_column, caption_column, label_column, split_column)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character; received {delimiter!r}")
    return _Options(
        columns=columns,
        image_shape=image_shape,
        sequence_length=sequence_length,
        vocabulary=vocabulary,
        max_tokens=max_tokens,
        class_names=class_names,
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=_checks.integer("seed", seed, minimum=0),
        delimiter=delimiter,
        on_error=on_error,
    )
