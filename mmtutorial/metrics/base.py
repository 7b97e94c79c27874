"""What the metrics of several tasks share: the check that an array holds only 0s and 1s."""

from __future__ import annotations

import numpy as np

__all__ = ["zeros_and_ones", "check_finite"]


def zeros_and_ones(name, array):
    """``array`` as booleans if it holds only 0s and 1s (or booleans), else a ``ValueError`` naming ``name``.

    Example:
        >>> zeros_and_ones("labels", np.array([1, 0]))
        array([ True, False])
    """
    array = np.asarray(array)
    if array.size and not np.isin(array, (0, 1)).all():
        odd = array[~np.isin(array, (0, 1))].ravel()[0].item()
        raise ValueError(
            f"{name} must hold only 0s and 1s (or booleans); received the value {odd!r}; "
            "threshold probabilities first, e.g. probabilities > 0.5"
        )
    return array.astype(bool)


def check_finite(what, array):
    """A ``ValueError`` that starts with ``what`` (``"predictions contain"``) if ``array`` holds NaN or infinity.

    Example:
        >>> check_finite("scores contain", np.array([1.0, np.nan]))
        Traceback (most recent call last):
            ...
        ValueError: scores contain 1 NaN or infinite value(s)
    """
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise ValueError(f"{what} {bad} NaN or infinite value(s)")
