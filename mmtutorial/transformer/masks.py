"""The shapes and padding masks every transformer layer checks the same way."""

from __future__ import annotations

from keras import ops

__all__ = ["check_mask", "check_rebuilt", "sequence_shape"]


def sequence_shape(owner, argument, shape):
    """``shape`` as a tuple if it is ``(batch, length, features)`` with known features."""
    shape = tuple(shape)
    if len(shape) != 3 or shape[-1] is None:
        raise ValueError(
            f"{owner} expects {argument} of shape (batch, length, features) with known features; "
            f"received shape {shape}"
        )
    return shape


def check_mask(mask, tokens, argument, *, owner, like=None):
    """``mask`` as a boolean ``(batch, length)`` tensor that fits ``tokens``, or ``None``.

    A padding mask is True at real tokens. ``argument`` and ``owner`` name it
    in the error, and ``like`` (for example ``"input 1"``) says what it must
    fit.

    Raises:
        ValueError: if the mask is not ``(batch, length)`` of ``tokens``.
    """
    if mask is None:
        return None
    mask = ops.convert_to_tensor(mask)
    expected = tuple(tokens.shape[:2])
    if len(mask.shape) != 2 or any(
        e is not None and r is not None and e != r for e, r in zip(expected, mask.shape)
    ):
        fits = f" like {like}" if like else ""
        raise ValueError(
            f"{owner}: {argument} must have shape (batch, length) = {expected}{fits}; "
            f"received shape {tuple(mask.shape)}"
        )
    return ops.cast(mask, "bool")


def check_rebuilt(layer, built, now, built_for, shape):
    """A ``ValueError`` if ``layer``, built for ``built``, now receives inputs that give ``now``.

    ``built_for`` says what it was built for ("tokens of width 8"), ``shape``
    what it received; ``built`` is ``None`` before the layer is built.
    """
    if built is not None and now != built:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} was built for {built_for}; received shape {shape}"
        )
