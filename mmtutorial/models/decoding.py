"""Writing captions with a captioner: greedy decoding and beam search.

Both work on any model of :func:`~mmtutorial.models.build_captioner`'s form
(nested ``"image_encoder"`` and ``"decoder"``), the prefix captioner
included. Every step is a ``keras.ops`` call on the whole batch.
"""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks
from ..data.captioning import END_ID, PAD_ID, START_ID

__all__ = ["greedy_decode", "beam_search"]


def _captioner_parts(model, images, max_length, owner):
    """``(decoder, image tokens, max_length)`` for decoding ``images`` with ``model``, checked."""

    names = {layer.name for layer in getattr(model, "layers", ())}
    if not isinstance(model, keras.Model) or not {"image_encoder", "decoder"} <= names:
        raise ValueError(
            f"{owner} expects a model from build_captioner (with the nested models "
            f"'image_encoder' and 'decoder'); received {model!r}"
        )
    encoder, decoder = model.get_layer("image_encoder"), model.get_layer("decoder")
    if len(decoder.inputs) != 2:
        raise ValueError(
            f"{owner} expects a captioner whose decoder reads image tokens; received a decoder "
            f"with {len(decoder.inputs)} input(s)"
        )
    expected = tuple(encoder.inputs[0].shape[1:])
    images = ops.convert_to_tensor(images, dtype="float32")
    if tuple(images.shape[1:]) != expected or len(images.shape) != 4:
        raise ValueError(
            f"{owner}: images must have shape (batch, *{expected}); received shape "
            f"{tuple(images.shape)}"
        )
    length = decoder.inputs[0].shape[1]
    max_length = _checks.integer("max_length", max_length, minimum=1, maximum=length, owner=owner)
    return decoder, encoder(images, training=False), max_length


def _allowed_next(vocab_size):
    """Boolean ``(vocab_size,)``: the ids a decoder may write (neither padding nor start)."""

    ids = ops.arange(vocab_size)
    return ops.logical_and(ops.not_equal(ids, PAD_ID), ops.not_equal(ids, START_ID))


def _next_log_probabilities(decoder, written, context, step):
    """``log p(next id | image, ids so far)`` at position ``step``, ``(rows, vocab_size)``.

    ``written`` holds the decoder's input ids, :data:`START_ID` then the ids
    written so far, padding after ``step``; the causal mask makes position
    ``step`` see only what is written. The softmax is over the whole
    vocabulary, so the scores are the model's own log-probabilities.
    """

    logits = decoder([written, context], training=False)[:, step, :]
    return ops.log_softmax(ops.cast(logits, "float32"), axis=-1)


def _start_inputs(rows, length):

    first = ops.full((rows, 1), START_ID, dtype="int32")
    return ops.concatenate([first, ops.full((rows, length - 1), PAD_ID, dtype="int32")], axis=1)


def greedy_decode(model, images, max_length: int):
    """Write one caption per image, taking the most probable next id at every step.

    At step ``t`` the decoder reads :data:`~mmtutorial.data.captioning.START_ID`
    and the ids written so far and writes ``argmax_w log p(w | image, ids)``
    over every id but padding and start. A caption stops at
    :data:`~mmtutorial.data.captioning.END_ID` (which is kept), or after
    ``max_length`` ids; padding fills the rest. Every operation is a
    ``keras.ops`` call on the whole batch, and ties go to the lowest id, so
    the result is deterministic.

    Args:
        model: a captioner from :func:`build_captioner`.
        images: float32 ``(batch, *image_shape)``.
        max_length: the most ids to write, end id included (1 to the
            model's ``sequence_length``).

    Returns:
        int32 NumPy ``(batch, max_length)``: the written ids, for
        :meth:`~mmtutorial.data.captioning.SceneCaptionTask.decode`.

    Example:
        >>> import numpy as np
        >>> from mmtutorial.models import build_captioner
        >>> model = build_captioner((16, 16, 3), vocab_size=6, sequence_length=4, units=8,
        ...                         layers=1, num_heads=2, image_filters=(4,))
        >>> greedy_decode(model, np.zeros((2, 16, 16, 3), "float32"), max_length=3).shape
        (2, 3)
    """

    decoder, context, max_length = _captioner_parts(model, images, max_length, "greedy_decode")
    rows, length = ops.shape(context)[0], decoder.inputs[0].shape[1]
    allowed = _allowed_next(decoder.output_shape[-1])[None, :]
    written = _start_inputs(rows, length)
    done = ops.zeros((rows,), dtype="bool")
    ids = []
    for step in range(max_length):
        scores = _next_log_probabilities(decoder, written, context, step)
        scores = ops.where(allowed, scores, float("-inf"))
        token = ops.where(done, PAD_ID, ops.cast(ops.argmax(scores, axis=-1), "int32"))
        ids.append(token)
        done = ops.logical_or(done, ops.equal(token, END_ID))
        if step + 1 < length:
            written = ops.slice_update(written, (0, step + 1), token[:, None])
    return ops.convert_to_numpy(ops.stack(ids, axis=1)).astype("int32")


def beam_search(model, images, beam_width: int, max_length: int, *, return_all: bool = False):
    """Write the caption of each image with beam search over total log-probability.

    Each image keeps ``beam_width`` partial captions (hypotheses). At every
    step each live hypothesis is extended by every id but padding and start,
    scored by the sum of the model's log-probabilities of its ids, and the
    ``beam_width`` best extensions over all hypotheses survive. A hypothesis
    that wrote :data:`~mmtutorial.data.captioning.END_ID` is finished: it is
    carried on unchanged (padding, at no cost) and competes with the live
    ones. After ``max_length`` steps the best hypothesis wins.

    Length: scores are *not* normalised by length. Every extra id costs a
    negative log-probability, so of two captions the model finds equally
    likely word by word, the shorter wins; on the book's scenes the number
    of words follows from the picture, so this is what we want. Ties go to
    the hypothesis found first, so the result is deterministic. With
    ``beam_width=1`` this is :func:`greedy_decode`; with a beam as wide as
    the number of possible sequences it is an exhaustive search.

    Longer than 80 lines because of this documentation: the code is 40 lines.

    Args:
        model: a captioner from :func:`build_captioner`.
        images: float32 ``(batch, *image_shape)``.
        beam_width: hypotheses kept per image (>= 1).
        max_length: the most ids to write, end id included (1 to the
            model's ``sequence_length``).
        return_all: also return every surviving hypothesis and its score.

    Returns:
        int32 NumPy ``(batch, max_length)``: the best hypothesis per image,
        ids as :func:`greedy_decode` returns them. With ``return_all=True``,
        ``(ids, scores)``: int32 ``(batch, beam_width, max_length)`` and
        float32 ``(batch, beam_width)``, best first; a slot that no real
        hypothesis fills (a beam wider than the sequences there are) scores
        ``-inf``.

    Example:
        >>> import numpy as np
        >>> from mmtutorial.models import build_captioner
        >>> model = build_captioner((16, 16, 3), vocab_size=6, sequence_length=4, units=8,
        ...                         layers=1, num_heads=2, image_filters=(4,))
        >>> images = np.zeros((2, 16, 16, 3), "float32")
        >>> bool((beam_search(model, images, 1, 3) == greedy_decode(model, images, 3)).all())
        True
    """

    owner = "beam_search"
    beam_width = _checks.integer("beam_width", beam_width, minimum=1, owner=owner)
    _checks.boolean("return_all", return_all, owner=owner)
    decoder, context, max_length = _captioner_parts(model, images, max_length, owner)
    batch, length = ops.shape(context)[0], decoder.inputs[0].shape[1]
    vocab_size = decoder.output_shape[-1]
    rows = batch * beam_width
    context = ops.repeat(context, beam_width, axis=0)  # row b * beam_width + k: beam k of image b
    allowed = _allowed_next(vocab_size)[None, :]
    # A finished hypothesis goes on with padding only, which costs nothing.
    finished = ops.where(ops.equal(ops.arange(vocab_size), PAD_ID), 0.0, float("-inf"))[None, :]
    written = _start_inputs(rows, length)
    ids = ops.zeros((rows, max_length), dtype="int32")
    done = ops.zeros((rows,), dtype="bool")
    # Only the first beam is alive at the start, so that no hypothesis is counted twice.
    first = ops.where(ops.equal(ops.arange(beam_width), 0), 0.0, float("-inf"))
    scores = ops.tile(first[None, :], (batch, 1))
    base = ops.repeat(ops.arange(batch, dtype="int32") * beam_width, beam_width)
    for step in range(max_length):
        step_scores = _next_log_probabilities(decoder, written, context, step)
        step_scores = ops.where(allowed, step_scores, float("-inf"))
        step_scores = ops.where(done[:, None], finished, step_scores)
        candidates = ops.reshape(scores, (rows, 1)) + step_scores
        scores, best = ops.top_k(
            ops.reshape(candidates, (batch, beam_width * vocab_size)), beam_width
        )
        best = ops.reshape(ops.cast(best, "int32"), (rows,))
        parent = base + best // vocab_size
        token = best % vocab_size
        written, ids, done = (ops.take(x, parent, axis=0) for x in (written, ids, done))
        ids = ops.slice_update(ids, (0, step), token[:, None])
        done = ops.logical_or(done, ops.equal(token, END_ID))
        if step + 1 < length:
            written = ops.slice_update(written, (0, step + 1), token[:, None])
    ids = ops.convert_to_numpy(ops.reshape(ids, (batch, beam_width, max_length))).astype("int32")
    if return_all:
        return ids, ops.convert_to_numpy(scores).astype("float32")
    return ids[:, 0]
