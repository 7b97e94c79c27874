"""Argument checks shared by every module of the package.

This is the leaf of the import graph: it imports nothing from ``mmtutorial``,
so every module, from :mod:`mmtutorial.data` to :mod:`mmtutorial.plots`, can
use it. Each check raises ``ValueError`` naming the argument and the value
received, and returns the value converted to a plain Python type.

The rules are the same everywhere:

* an integer is a Python ``int`` or a NumPy integer (``labels.max() + 1``
  works); a ``bool`` is not an integer, although Python says it is;
* a number is an integer or a float (Python or NumPy), never a ``bool``,
  never NaN;
* ``owner``, when given, starts the message (``"GatedFusion: units must be
  ..."``), so that a user sees which layer or task refused the value.

>>> integer("units", 3, minimum=1)
3
>>> import numpy as np
>>> integer("num_classes", np.int64(21), minimum=2)
21
>>> integer("units", True, minimum=1)
Traceback (most recent call last):
    ...
ValueError: units must be an integer >= 1; received True
>>> probability("p", 1.5, owner="ShapeMaterialTask")
Traceback (most recent call last):
    ...
ValueError: ShapeMaterialTask: p must be a number in [0, 1]; received 1.5
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "is_integer",
    "is_number",
    "integer",
    "number",
    "probability",
    "fraction",
    "positive",
    "boolean",
    "choice",
    "shape",
]


def _prefix(owner):
    return f"{owner}: " if owner else ""


def _interval(low, high, low_open=False, high_open=False) -> str:
    """`` in [low, high]``, `` >= low``, `` < high``, ...: the bounds as a message states them."""

    def text(bound):
        return str(bound) if is_integer(bound) else f"{bound:g}"

    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{text(low)}, {text(high)}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {text(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {text(high)}"
    return ""


def is_integer(value) -> bool:
    """True for ``int`` and NumPy integers, False for ``bool`` (and NumPy's ``bool_``)."""
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and type(value).__name__ != "bool_"
    )


def is_number(value) -> bool:
    """True for real, finite-or-infinite, non-NaN numbers that are not booleans."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):
        return False
    if not isinstance(value, numbers.Real):
        return False
    return not math.isnan(float(value))


def integer(name, value, *, minimum=None, maximum=None, owner=None) -> int:
    """``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``.

    Args:
        name: the argument's name, as the user typed it.
        value: what the user passed.
        minimum, maximum: inclusive bounds, or ``None`` for none.
        owner: optional class or function name that starts the message.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: naming ``name`` and the value received.
    """
    ok = (
        is_integer(value)
        and (minimum is None or value >= minimum)
        and (maximum is None or value <= maximum)
    )
    if not ok:
        bound = _interval(minimum, maximum)
        raise ValueError(f"{_prefix(owner)}{name} must be an integer{bound}; received {value!r}")
    return int(value)


def number(
    name, value, *, low=None, high=None, low_open=False, high_open=False, owner=None, what=None
) -> float:
    """``value`` as a ``float`` if it is a number in the interval from ``low`` to ``high``.

    ``low_open``/``high_open`` exclude the bound itself: ``low=0, low_open=True``
    asks for a positive number. ``what`` replaces the interval in the message
    (for example ``"a positive number"``).
    """
    ok = is_number(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        what = what or "a number" + _interval(low, high, low_open, high_open)
        raise ValueError(f"{_prefix(owner)}{name} must be {what}; received {value!r}")
    return float(value)


def probability(name, value, *, owner=None) -> float:
    """A number in [0, 1] (a probability, a reliability)."""
    return number(name, value, low=0, high=1, owner=owner)


def fraction(name, value, *, owner=None) -> float:
    """A number in [0, 1) (a dropout rate, a share held out)."""
    return number(name, value, low=0, high=1, high_open=True, owner=owner)


def positive(name, value, *, owner=None) -> float:
    """A number > 0 (a learning rate, a temperature)."""
    return number(name, value, low=0, low_open=True, owner=owner, what="a positive number")


def boolean(name, value, *, owner=None) -> bool:
    """``True`` or ``False`` (NumPy booleans too); 0 and 1 are refused."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    raise ValueError(f"{_prefix(owner)}{name} must be True or False; received {value!r}")


def choice(name, value, options, *, owner=None):
    """``value`` if it is one of ``options`` (compared with ``==``, strings stay strings)."""
    options = tuple(options)
    if isinstance(value, str) or not isinstance(value, (list, dict, set)):
        try:
            if value in options and not isinstance(value, bool):
                return value
        except TypeError:
            pass
    raise ValueError(f"{_prefix(owner)}{name} must be one of {list(options)}; received {value!r}")


def shape(name, value, rank, *, owner=None, describe=None) -> tuple:
    """``value`` as a tuple of ``rank`` positive ints (a list, tuple or NumPy shape).

    ``describe`` names the axes in the message, for example
    ``"(height, width, channels)"``.
    """
    try:
        dims = tuple(value)
    except TypeError:
        dims = None
    if (
        isinstance(value, (str, bytes))
        or dims is None
        or len(dims) != rank
        or not all(is_integer(d) and d > 0 for d in dims)
    ):
        axes = f"{describe} with " if describe else ""
        count = {1: "one", 2: "two", 3: "three", 4: "four"}.get(rank, str(rank))
        raise ValueError(
            f"{_prefix(owner)}{name} must be {axes}{count} positive integer{'s' if rank != 1 else ''}; "
            f"received {value!r}"
        )
    return tuple(int(d) for d in dims)


def two_shapes(input_shape, ranks, *, owner, expects):
    """``input_shape`` as two shape tuples of ``ranks`` with known last axes.

    What a layer that takes ``[a, b]`` (a feature map and its text, objects
    and a question) checks before it builds. Anything else raises a
    ``ValueError`` that starts with ``owner``, says what it ``expects`` (the
    layer's own names for its two inputs) and shows the shapes received.

    >>> two_shapes([(None, 4, 3), [None, 2]], (3, 2), owner="Pair", expects="[a, b]")
    [(None, 4, 3), (None, 2)]
    >>> two_shapes([(None, 4, None), (None, 2)], (3, 2), owner="Pair", expects="[a, b]")
    Traceback (most recent call last):
        ...
    ValueError: Pair expects [a, b], with known last axes; received shapes [(None, 4, None), (None, 2)]
    """
    pair = isinstance(input_shape, (list, tuple)) and all(
        isinstance(s, (list, tuple)) for s in input_shape
    )
    shapes = [tuple(s) for s in input_shape] if pair else None
    if (
        shapes is None
        or [len(s) for s in shapes] != list(ranks)
        or any(s[-1] is None for s in shapes)
    ):
        received = shapes if shapes is not None else input_shape
        raise ValueError(
            f"{owner} expects {expects}, with known last axes; received shapes {received}"
        )
    return shapes
