"""SceneCaptionTask: the caption is the picture's, the ids follow one convention, the check is exact."""

from __future__ import annotations

import numpy as np
import pytest

from mmtutorial.data.captioning import (
    CAPTION_RELATIONS,
    END_ID,
    FIRST_WORD_ID,
    PAD_ID,
    START_ID,
    CaptionSplit,
    SceneCaptionTask,
)
from mmtutorial.data.referring import REFERRING_COLOURS, REFERRING_SHAPES

TASK = SceneCaptionTask()


@pytest.fixture(scope="module")
def split():
    return TASK.generate(200, seed=11)


def test_the_special_ids_come_before_the_words():
    assert (PAD_ID, START_ID, END_ID, FIRST_WORD_ID) == (0, 1, 2, 3)
    assert TASK.vocab_size == FIRST_WORD_ID + len(TASK.vocabulary)
    assert TASK.encode(["a red disk"]).tolist() == [
        [FIRST_WORD_ID, FIRST_WORD_ID + 1, FIRST_WORD_ID + 5, END_ID] + [PAD_ID] * 5
    ]


def test_inputs_are_the_targets_shifted_right_behind_the_start_id(split):
    for inputs, targets, caption in zip(split.tokens, split.labels, split.captions):
        n = len(caption.split())
        assert inputs[0] == START_ID
        assert inputs[1 : n + 1].tolist() == targets[:n].tolist()
        assert targets[n] == END_ID
        assert set(inputs[n + 1 :].tolist()) <= {PAD_ID} and set(targets[n + 1 :].tolist()) <= {
            PAD_ID
        }
    assert TASK.decode(split.labels) == list(split.captions)


def test_each_caption_names_what_the_picture_shows(split):
    colours = list(REFERRING_COLOURS)
    palette = np.array(list(REFERRING_COLOURS.values()))
    size = TASK.image_size // 2
    for i, caption in enumerate(split.captions):
        words = caption.split()
        count = int(split.counts[i])
        assert len(words) == (
            3 if count == 1 else 6 + len(CAPTION_RELATIONS[split.relation[i]].split())
        )
        for slot in range(count):
            named_colour = words[1] if slot == 0 else words[-2]
            named_shape = words[2] if slot == 0 else words[-1]
            assert named_shape == REFERRING_SHAPES[split.shapes[i, slot]]
            # The brightest pixels of the object's cell have the named colour.
            row, column = divmod(int(split.cells[i, slot]), 2)
            cell = split.images[
                i, row * size : (row + 1) * size, column * size : (column + 1) * size
            ]
            pixels = cell.reshape(-1, 3)
            bright = pixels[pixels.max(axis=1) > 0.5]
            nearest = np.argmin(((bright.mean(axis=0) - palette) ** 2).sum(axis=1))
            assert colours[nearest] == named_colour
        if count == 2:
            first, second = (divmod(int(c), 2) for c in split.cells[i])
            assert first < second  # reading order
            expected = "left of" if first[0] == second[0] else "above"
            assert CAPTION_RELATIONS[split.relation[i]] == expected
    assert 0.4 < np.mean(split.counts == 2) < 0.6


def test_the_same_seed_gives_the_same_scenes():
    a, b = TASK.generate(5, seed=2), TASK.generate(5, seed=2)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    assert isinstance(a.take([1, 3]), CaptionSplit) and a.take([1, 3]).labels.shape == (2, 9)


def test_attribute_accuracy_counts_each_attribute_exactly():
    split = TASK.generate(2, seed=0)
    scenes = [TASK.describe(split.shapes[i], split.colours[i], split.relation[i]) for i in range(2)]
    assert scenes == list(split.captions)
    assert TASK.attribute_accuracy(split, split.captions) == {
        "count": 1.0,
        "colour": 1.0,
        "shape": 1.0,
        "relation": 1.0,
        "all": 1.0,
    }
    # Build a scene pair by hand: one object, then two, with known truth.
    truth = CaptionSplit(
        features={"image": np.zeros((2, 1)), "tokens": np.zeros((2, 9), "int32")},
        labels=np.zeros((2, 9), "int32"),
        captions=("a red disk", "a red disk left of a blue ring"),
        shapes=np.array([[0, -1], [0, 3]], "int32"),
        colours=np.array([[0, -1], [0, 2]], "int32"),
        cells=np.array([[0, -1], [0, 1]], "int32"),
        counts=np.array([1, 2], "int32"),
        relation=np.array([-1, 0], "int32"),
    )
    # Scene 0: right count, wrong colour, right shape. Scene 1: right colours, one shape wrong,
    # the relation wrong. Three objects in all.
    scores = TASK.attribute_accuracy(truth, ["a green disk", "a red square above a blue ring"])
    assert scores == {"count": 1.0, "colour": 2 / 3, "shape": 2 / 3, "relation": 0.0, "all": 0.0}
    # A caption that does not parse names nothing; a wrong count still scores the first object.
    scores = TASK.attribute_accuracy(truth, ["red red red", "a red disk"])
    assert scores == {"count": 0.0, "colour": 1 / 3, "shape": 1 / 3, "relation": 0.0, "all": 0.0}


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: SceneCaptionTask(sequence_length=8),
            r"sequence_length must be an integer >= 9 \(the longest caption, 8 words, and its end id\); received 8",
        ),
        (lambda: SceneCaptionTask(image_size=17), "image_size must be even"),
        (
            lambda: SceneCaptionTask(two_objects=1.5),
            r"two_objects must be a number in \[0, 1\]; received 1.5",
        ),
        (lambda: TASK.encode(["a red cube"]), r"unknown word\(s\) \['cube'\]"),
        (
            lambda: TASK.decode(np.zeros(3, "int32")),
            r"ids must be an integer array \(n, length\); received shape \(3,\)",
        ),
        (
            lambda: TASK.attribute_accuracy(TASK.generate(2), ["a red disk"]),
            r"one caption per scene \(2\); received 1",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
