"""The scene-question task, under its old address: it lives in :mod:`mmtutorial.data.scene_questions`."""

from __future__ import annotations

from . import scene_questions as _home
from .scene_questions import *  # noqa: F403  (every public name, as __all__ lists them)

__all__ = list(_home.__all__)
