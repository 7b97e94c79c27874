"""Retrieval metrics: where each query's match ranks, and recall@k."""

from __future__ import annotations

import numpy as np

from .. import _checks
from .base import check_finite

__all__ = ["match_ranks", "recall_at_k"]


def _check_similarity(similarity, relevant):
    scores = np.asarray(similarity)
    if scores.ndim != 2 or 0 in scores.shape or not np.issubdtype(scores.dtype, np.number):
        raise ValueError(
            "similarity must be a non-empty 2-D array of scores (queries, items); "
            f"received shape {scores.shape} and dtype {scores.dtype}"
        )
    check_finite("similarity contains", scores)
    if relevant is None:
        if scores.shape[0] > scores.shape[1]:
            raise ValueError(
                "with relevant=None, query i's match is item i, so there must be at least as many "
                f"items as queries; received similarity of shape {scores.shape}"
            )
        relevant = np.eye(*scores.shape, dtype=bool)
    relevant = np.asarray(relevant)
    if relevant.shape != scores.shape or relevant.dtype != bool:
        raise ValueError(
            f"relevant must be a boolean array of the similarity's shape {scores.shape}; "
            f"received shape {relevant.shape} and dtype {relevant.dtype}"
        )
    if not relevant.any(axis=1).all():
        raise ValueError(
            f"every query needs at least one relevant item; query {int(np.argmin(relevant.any(axis=1)))} has none"
        )
    return scores, relevant


def match_ranks(similarity, relevant=None) -> np.ndarray:
    """The rank (0 = first) of each query's best relevant item.

    Row ``i`` of ``similarity`` scores query ``i`` against every item. The
    rank is the number of irrelevant items that score at least as high as
    the best relevant one, so ties count against the query.

    Args:
        similarity: ``(queries, items)`` scores, higher = more similar.
        relevant: optional boolean ``(queries, items)`` array of the items
            that count as a match; by default query ``i``'s only match is
            item ``i``.

    Returns:
        int array ``(queries,)``.

    Example:
        >>> match_ranks([[0.9, 0.1], [0.8, 0.3]]).tolist()
        [0, 1]
    """
    scores, relevant = _check_similarity(similarity, relevant)
    best = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)
    return ((scores >= best) & ~relevant).sum(axis=1)


def recall_at_k(similarity, k: int, relevant=None) -> float:
    """Recall@k: the fraction of queries whose match is among the ``k`` best-scored items.

    Row ``i`` of ``similarity`` scores query ``i`` against every item, and
    query ``i``'s match is item ``i`` (or, with ``relevant``, any item marked
    there). Ties count against the query. A random ranking of ``N`` items
    scores ``k / N`` on average.

    Args:
        similarity: ``(queries, items)`` scores, e.g. ``text_embeddings @ image_embeddings.T``.
        k: how many of the top items to look at, ``1 <= k <= items``.
        relevant: optional boolean ``(queries, items)`` array of matches.

    Returns:
        A float in [0, 1].

    Example:
        >>> recall_at_k([[0.9, 0.1], [0.8, 0.3]], k=1), recall_at_k([[0.9, 0.1], [0.8, 0.3]], k=2)
        (0.5, 1.0)
    """
    scores, relevant = _check_similarity(similarity, relevant)
    items = scores.shape[1]
    if not _checks.is_integer(k) or not 1 <= k <= items:
        raise ValueError(
            f"k must be an integer in [1, {items}] (the number of items); received {k!r}"
        )
    return float(np.mean(match_ranks(scores, relevant) < k))
