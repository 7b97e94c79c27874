"""Relational reasoning, under its old address: it lives in :mod:`mmtutorial.models.relational`.

The builders (:func:`build_cnn_mlp`, :func:`build_cnn_relation_network`,
:func:`build_film_cnn`, :func:`build_state_mlp`,
:func:`build_state_relation_network`, :data:`BUILDERS`) are in
:mod:`mmtutorial.models.relational`, the layers (:class:`RelationNetwork`,
:class:`CellObjects`) in :mod:`mmtutorial.models.relational_layers`;
``mt.relational.*`` keeps working for chapters and readers.
"""

from __future__ import annotations

from .models import relational as _home
from .models.relational import *  # noqa: F403  (every public name, as __all__ lists them)

__all__ = list(_home.__all__)
