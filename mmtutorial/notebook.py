"""Notebook helpers: what a chapter shows besides figures.

The chapters used to re-type these in their first cell; here they live once,
tested, so every chapter shows code, errors and tables the same way:

* :func:`source` -- the code of a package function or class, as a Markdown
  code block, so the book shows the package instead of a copy that drifts;
* :func:`show_error` -- an exception or a warning as a reader should see it:
  its type and message, wrapped to the page; given a function, it also checks
  that the function fails;
* :func:`table` -- a Markdown table from a list of dicts, a list of rows with
  ``columns=``, or a mapping of column -> values, with numbers formatted once;
* :func:`glue` -- a computed number handed to the prose with MyST-NB's
  ``{glue:text}`` role, and a no-op where MyST-NB is not installed (Colab).

This is the last stage of the package: it may use every other module. IPython
is imported inside the functions, so the package imports without it.

>>> table([{"model": "image + text", "accuracy": 0.8532}]).data
'| model | accuracy |\\n|---|---|\\n| image + text | 0.853 |'
"""

from __future__ import annotations

import numbers
import textwrap
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from . import _checks
from .metrics import AccuracyWithError

__all__ = ["source", "show_error", "table", "glue"]


def source(obj):
    """The source code of a package function or class, ready to display in a notebook.

    Chapters show the package's code with this instead of pasting a copy, so
    the book and the package cannot disagree.

    Args:
        obj: a function, class or method (anything ``inspect.getsource`` reads).

    Returns:
        An ``IPython.display.Markdown`` code block; its ``.data`` is the text.

    Raises:
        ValueError: if Python has no source code for ``obj``.

    Example:
        >>> print(source(source).data.splitlines()[:2])
        ['```python', 'def source(obj):']
    """
    import inspect

    from IPython.display import Markdown

    try:
        code = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise ValueError(f"no source code is available for {obj!r}: {error}") from None
    return Markdown(f"```python\n{code.rstrip()}\n```")


# -- errors ---------------------------------------------------------------------------


def _error_text(error, sentences):
    if isinstance(error, warnings.WarningMessage):  # an item of catch_warnings(record=True)
        error = error.message
    message = str(error)
    if sentences is not None:
        parts = message.split(". ")
        if len(parts) > sentences:
            message = ". ".join(parts[:sentences]).rstrip(".") + "."
    if isinstance(error, str):
        return message
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def show_error(error, *, expected=Exception, sentences: int | None = None, width: int = 72) -> None:
    """Print an exception or a warning as the page should show it: ``Type: message``, wrapped.

    Each line of the message is wrapped to ``width`` characters on its own,
    and a wrapped line continues four spaces further in, so a message that
    lists several problems line by line keeps its layout. Words longer than
    the line (a path, say) are not broken.

    ``error`` is what went wrong: an exception, a warning (``warning.message``,
    or an item of ``warnings.catch_warnings(record=True)``), a plain string,
    or a function of no arguments that should fail. A function is called: if
    it raises ``expected`` the exception is shown; if it raises anything else,
    that propagates; if it returns, ``show_error`` raises ``AssertionError``,
    because the chapter claimed a failure that did not happen.

    Args:
        error: an exception, a warning, a string, or a callable that raises.
        expected: the exception class (or tuple of classes) the callable
            should raise.
        sentences: keep only the first ``sentences`` sentences of a long
            message (``None`` keeps all).
        width: the width of the page, in characters. The default fits the
            book's code column (77 characters at 1280 px) with room to spare,
            as the chapters' code does (book/ruff.toml).

    Returns:
        ``None``; the text is printed, so it appears as the cell's output.

    Example:
        >>> show_error(lambda: int("seven"), expected=ValueError)
        ValueError: invalid literal for int() with base 10: 'seven'
        >>> show_error(ValueError("units must be >= 1; received 0. Pass units=8 or more."), sentences=1)
        ValueError: units must be >= 1; received 0.
    """
    width = _checks.integer("width", width, minimum=20, owner="show_error")
    if sentences is not None:
        sentences = _checks.integer("sentences", sentences, minimum=1, owner="show_error")
    if callable(error) and not isinstance(error, (BaseException, type)):
        function = error
        try:
            function()
        except expected as caught:
            error = caught
        else:
            name = getattr(function, "__qualname__", repr(function))
            raise AssertionError(
                f"show_error: {name} was expected to raise {_names(expected)}, but it returned"
            )
    elif not isinstance(error, (BaseException, warnings.WarningMessage, str)):
        raise ValueError(
            "show_error expects an exception, a warning, a string or a function that raises; "
            f"received {type(error).__name__}"
        )
    for line in _error_text(error, sentences).splitlines():
        indent = " " * (len(line) - len(line.lstrip()))
        # paths and identifiers stay whole, even where that makes a line longer
        wrapped = textwrap.fill(
            line,
            width=width,
            subsequent_indent=indent + "    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        print(wrapped if line.strip() else "")


def _names(expected):
    classes = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(getattr(c, "__name__", repr(c)) for c in classes)


# -- tables ---------------------------------------------------------------------------


def _escape(text):
    # a pipe would end the cell and a newline the row
    return str(text).replace("|", "\\|").replace("\n", " ")


def _cell(value, spec, digits):
    if value is None:
        return ""
    if callable(spec):
        return _escape(spec(value))
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        return _escape(value)
    numeric = isinstance(value, AccuracyWithError) or (
        isinstance(value, numbers.Number) and not isinstance(value, bool)
    )
    if spec is not None and numeric:
        return _escape(format(value, spec))
    if _checks.is_integer(value):
        return str(int(value))
    if isinstance(value, AccuracyWithError) or isinstance(value, numbers.Real):
        return _escape(format(value, f".{digits}f"))
    return _escape(value)


def _rows_and_columns(rows, columns):
    """``rows`` as a list of dicts and the columns to show, in order."""
    if isinstance(rows, Mapping):  # column -> values, like a DataFrame
        scalars = [
            name
            for name, values in rows.items()
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__")
        ]
        if scalars:
            raise ValueError(
                f"table: a mapping must hold one sequence of values per column; columns {scalars} hold "
                f"single values (for one row, pass a list holding one dict)"
            )
        lengths = {str(name): len(values) for name, values in rows.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"table: every column needs the same number of values; received lengths {lengths}"
            )
        count = next(iter(lengths.values()), 0)
        names = list(rows)
        records = [{name: rows[name][i] for name in names} for i in range(count)]
    elif (isinstance(rows, Sequence) and not isinstance(rows, (str, bytes))) or isinstance(
        rows, np.ndarray
    ):
        rows = list(rows)
        if all(isinstance(row, Mapping) for row in rows):
            names = list(dict.fromkeys(key for row in rows for key in row))
            records = [dict(row) for row in rows]
        elif all(
            isinstance(row, (Sequence, np.ndarray)) and not isinstance(row, (str, bytes))
            for row in rows
        ):
            if columns is None:
                raise ValueError(
                    "table: rows given as sequences need columns=, the header of the table"
                )
            widths = sorted({len(row) for row in rows} - {len(columns)})
            if widths:
                raise ValueError(
                    f"table: every row needs one value per column ({len(columns)}); received rows of "
                    f"length {widths}"
                )
            names = list(columns)
            records = [dict(zip(names, row)) for row in rows]
        else:
            kinds = sorted({type(row).__name__ for row in rows})
            raise ValueError(f"table: rows must all be dicts or all be sequences; received {kinds}")
    else:
        raise ValueError(
            "table expects a list of dicts, a list of rows with columns=, or a mapping of column -> "
            f"values; received {type(rows).__name__}"
        )
    if columns is not None:
        columns = list(columns)
        unknown = [c for c in columns if c not in names]
        if unknown and records:  # with no rows, columns= is the header alone
            raise ValueError(f"table: columns {unknown} are not in the data; it has {names}")
        names = columns
    if not names:
        raise ValueError("table needs at least one column; received no rows and no columns")
    return records, names


def table(rows, *, columns=None, formats=None, digits: int = 3):
    """A Markdown table, for a notebook cell to display.

    ``rows`` is one of

    * a list of dicts, one per row (the columns are their keys, in the order
      they first appear; a missing key leaves its cell empty);
    * a mapping of column -> values, all of the same length (like a DataFrame);
    * a list of sequences, one per row, with the header given as ``columns``.

    Cells are formatted once, here: a float gets ``digits`` decimals, an
    integer is shown whole, an :class:`~mmtutorial.metrics.AccuracyWithError`
    shows as ``0.853 ± 0.011``, ``None`` leaves the cell empty, anything else
    shows as ``str(value)``. ``formats`` overrides that per column with a
    format spec (``".1%"``, ``"+.3f"``, ``","``), applied to the numbers of that
    column only, or with a function of the value returning the text.

    Args:
        rows: the data, in one of the three forms above.
        columns: the columns to show, in order (required for rows given as
            sequences, optional otherwise).
        formats: optional mapping of column -> format spec or function.
        digits: decimals for floats without a format (default 3).

    Returns:
        An ``IPython.display.Markdown``; its ``.data`` is the Markdown text.

    Raises:
        ValueError: for data of another kind, columns of unequal length, or
            ``columns``/``formats`` naming a column the data lacks.

    Example:
        >>> print(table({"model": ["a", "b"], "accuracy": [0.8512, 0.3]},
        ...             formats={"accuracy": ".1%"}).data)
        | model | accuracy |
        |---|---|
        | a | 85.1% |
        | b | 30.0% |
    """
    from IPython.display import Markdown

    digits = _checks.integer("digits", digits, minimum=0, owner="table")
    records, names = _rows_and_columns(rows, columns)
    formats = {} if formats is None else formats
    if not isinstance(formats, Mapping):
        raise ValueError(
            f"table: formats must map column names to format specs; received {formats!r}"
        )
    unknown = [name for name in formats if name not in names]
    if unknown:
        raise ValueError(
            f"table: formats names columns {unknown} that the table does not show; it shows {names}"
        )
    for name, spec in formats.items():
        if not (isinstance(spec, str) or callable(spec)):
            raise ValueError(
                f"table: the format of column {name!r} must be a format spec or a function; "
                f"received {spec!r}"
            )
    lines = ["| " + " | ".join(_escape(name) for name in names) + " |", "|" + "---|" * len(names)]
    for record in records:
        cells = [_cell(record.get(name), formats.get(name), digits) for name in names]
        lines.append("| " + " | ".join(cells) + " |")
    return Markdown("\n".join(lines))


# -- numbers for the prose ------------------------------------------------------------


def _plain(value):
    """``value`` as what MyST-NB can format: a Python number or a string."""
    if isinstance(value, AccuracyWithError):
        return format(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def glue(name: str, value) -> None:
    """Hand a computed number to the prose: ``{glue:text}`name:.3f``` in a Markdown cell shows it.

    The prose then cannot disagree with the notebook. NumPy numbers become
    Python numbers first (MyST-NB formats only what it can read back), and an
    :class:`~mmtutorial.metrics.AccuracyWithError` becomes its text
    ``"0.853 ± 0.011"`` (glue ``.value`` to format the number yourself).
    Nothing is displayed in the notebook. Where MyST-NB is not installed, or
    outside a Jupyter kernel, this does nothing: the value only matters to
    the book build.

    Args:
        name: the key the prose refers to, unique within the chapter.
        value: a number, a string, or an accuracy with its standard error.
    """
    if not isinstance(name, str) or not name or any(c in name for c in ": `"):
        raise ValueError(
            f"glue: name must be a non-empty string without ':', '`' or spaces; received {name!r}"
        )
    try:
        from IPython.core.interactiveshell import InteractiveShell
        from myst_nb import glue as myst_glue
    except ImportError:  # a hosted service without the book's tools: there is no prose to fill
        return
    if InteractiveShell.initialized():
        myst_glue(name, _plain(value), display=False)
