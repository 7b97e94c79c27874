"""Metrics of generated text: exact match, token accuracy and corpus BLEU-4."""

from __future__ import annotations

import numpy as np
import sacrebleu

from .. import _checks

__all__ = ["exact_match", "token_accuracy", "bleu"]


def _captions(name, value) -> list:
    """``value`` as a list of strings, or a ``ValueError`` naming ``name``."""
    if isinstance(value, str):
        raise ValueError(f"{name} must be a list of strings, one per sample; received one string")
    texts = list(value)
    bad = [t for t in texts if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{name} must be strings, one per sample; received {bad[0]!r}")
    return texts


def _caption_pair(references, hypotheses):
    references = _captions("references", references)
    hypotheses = _captions("hypotheses", hypotheses)
    if len(references) != len(hypotheses) or not references:
        raise ValueError(
            "references and hypotheses must hold the same number of captions, at least one; "
            f"received {len(references)} and {len(hypotheses)}"
        )
    return references, hypotheses


def exact_match(references, hypotheses) -> float:
    """The share of generated captions that equal their reference, word for word.

    Words are compared after splitting on whitespace, so spacing does not
    count; anything else does (one wrong or missing word makes a miss).

    Args:
        references: the true captions, one string per sample.
        hypotheses: the generated captions, in the same order.

    Returns:
        A float in [0, 1].

    Example:
        >>> exact_match(["a red disk", "a blue ring"], ["a red disk", "a blue  disk"])
        0.5
    """
    references, hypotheses = _caption_pair(references, hypotheses)
    return float(np.mean([r.split() == h.split() for r, h in zip(references, hypotheses)]))


def token_accuracy(targets, predictions, padding_id: int = 0) -> float:
    """The share of real (non-padding) target positions whose id is predicted right.

    ``accuracy = sum_{t: target_t != pad} [prediction_t == target_t] / #{t: target_t != pad}``
    over every sample. Padding positions of the targets never count, so a
    short caption weighs what its words weigh.

    Args:
        targets: int ``(samples, length)`` target ids, ``padding_id`` after the end.
        predictions: int ``(samples, length')`` predicted ids (generated ids:
            cut, or padded with ``padding_id``, to ``length``), or scores
            ``(samples, length, vocab)`` of which the highest wins (teacher-forced
            logits).
        padding_id: the id that marks padding.

    Returns:
        A float in [0, 1].

    Example:
        >>> token_accuracy([[3, 4, 2, 0], [5, 2, 0, 0]], [[3, 5, 2, 2], [5, 2, 7, 7]])
        0.8
    """
    padding_id = _checks.integer("padding_id", padding_id)
    truth = np.asarray(targets)
    if truth.ndim != 2 or not np.issubdtype(truth.dtype, np.integer):
        raise ValueError(
            f"targets must be integer ids of shape (samples, length); received shape {truth.shape} "
            f"and dtype {truth.dtype}"
        )
    guess = np.asarray(predictions)
    if guess.ndim == 3 and np.issubdtype(guess.dtype, np.number):
        guess = np.argmax(guess, axis=-1)
    if guess.ndim != 2 or not np.issubdtype(guess.dtype, np.integer) or len(guess) != len(truth):
        raise ValueError(
            f"predictions must be ids (samples, length) or scores (samples, length, vocab) for the "
            f"{len(truth)} samples of targets; received shape {guess.shape} and dtype {guess.dtype}"
        )
    length = truth.shape[1]
    guess = guess[:, :length]
    if guess.shape[1] < length:
        fill = np.full((len(guess), length - guess.shape[1]), padding_id, dtype=guess.dtype)
        guess = np.concatenate([guess, fill], axis=1)
    real = truth != padding_id
    if not real.any():
        raise ValueError("targets hold only padding; need at least one real position")
    return float(np.mean(guess[real] == truth[real]))


def bleu(references, hypotheses, *, smooth_method: str = "exp") -> float:
    """Corpus BLEU-4 of generated captions against one reference each, by sacrebleu.

    BLEU (Papineni et al., 2002) multiplies the geometric mean of the
    modified n-gram precisions ``p_1 ... p_4`` (each hypothesis n-gram
    counted at most as often as its reference holds it, summed over the
    corpus) by a brevity penalty ``BP = min(1, exp(1 - r / c))``, with ``c``
    the hypotheses' and ``r`` the references' total length in words:

        ``BLEU = BP * exp((log p_1 + log p_2 + log p_3 + log p_4) / 4)``

    The computation is ``sacrebleu.corpus_bleu`` (Post, 2018) with its
    standard ``13a`` tokenizer, so the number compares with published ones.
    A precision of 0 (a corpus of three-word captions has no 4-gram) would
    make BLEU 0; ``smooth_method`` (sacrebleu's, default ``"exp"``) decides
    what happens then.

    Args:
        references: the true captions, one string per sample.
        hypotheses: the generated captions, in the same order.
        smooth_method: ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.

    Returns:
        BLEU on sacrebleu's scale, 0 to 100.

    Example:
        >>> round(bleu(["a red disk left of a blue ring"], ["a red disk left of a blue ring"]), 1)
        100.0
    """
    references, hypotheses = _caption_pair(references, hypotheses)
    smooth_method = _checks.choice(
        "smooth_method", smooth_method, ("exp", "floor", "add-k", "none")
    )
    return float(sacrebleu.corpus_bleu(hypotheses, [references], smooth_method=smooth_method).score)
