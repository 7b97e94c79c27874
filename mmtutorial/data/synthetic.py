"""The book's image + caption task, under its old address: it lives in :mod:`mmtutorial.data.shape_material`."""

from __future__ import annotations

from . import shape_material as _home
from .shape_material import *  # noqa: F403  (every public name, as __all__ lists them)

__all__ = list(_home.__all__)
