"""ReferringSegmentationTask: every phrase names exactly one object, and the mask is that object.

The check is a brute-force reading of each phrase against the scene's hidden
causes: find every object the words fit, and there must be one, the target.
"""

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import referring as rf

COLOURS = list(rf.REFERRING_COLOURS)


@pytest.fixture(scope="module")
def task():
    return rf.ReferringSegmentationTask()


@pytest.fixture(scope="module")
def split(task):
    return task.generate(300, seed=4)


def matches(phrase, shapes, colours, cells):
    """Slots of the objects ``phrase`` fits, read word by word (independent of the generator)."""
    words = phrase.split()
    assert words[0] == "the"
    count = len(shapes)

    def kind(colour, shape):
        return [
            i
            for i in range(count)
            if colours[i] == COLOURS.index(colour) and shapes[i] == rf.REFERRING_SHAPES.index(shape)
        ]

    if len(words) == 3:
        return kind(words[1], words[2])
    shape = rf.REFERRING_SHAPES.index(words[1])
    relation = " ".join(words[2:-3])
    assert relation in rf.RELATIONS and words[-3] == "the"
    anchors = kind(words[-2], words[-1])
    assert len(anchors) == 1, "the anchor is unique"
    (ar, ac) = divmod(int(cells[anchors[0]]), 2)
    found = []
    for i in range(count):
        if shapes[i] != shape or i == anchors[0]:
            continue
        r, c = divmod(int(cells[i]), 2)
        ok = {
            "left of": r == ar and c < ac,
            "right of": r == ar and c > ac,
            "above": c == ac and r < ar,
            "below": c == ac and r > ar,
        }[relation]
        if ok:
            found.append(i)
    return found


def test_shapes_and_classes(task, split):
    assert task.num_classes == 2 and task.class_names == ("background", "named object")
    assert split.images.shape == (300, 32, 32, 3) and split.labels.shape == (300, 32, 32)
    assert split.tokens.shape == (300, 8) and set(np.unique(split.labels)) == {0, 1}
    assert isinstance(split, mt.data.SegmentationSplit)


def test_every_phrase_names_exactly_its_target(split):
    for i, phrase in enumerate(split.phrases):
        count = split.counts[i]
        found = matches(
            phrase, split.shapes[i, :count], split.colours[i, :count], split.cells[i, :count]
        )
        assert found == [split.target[i]], (phrase, found, split.target[i])


def test_the_mask_is_the_target_object(split):
    for i in range(len(split)):
        np.testing.assert_array_equal(split.labels[i] == 1, split.objects[i] == split.target[i])
        assert split.labels[i].sum() > 10


def test_both_kinds_of_phrase_occur_and_relations_are_often_needed(split):
    relational = split.relation >= 0
    assert 0.2 < relational.mean() < 0.6
    np.testing.assert_array_equal(split.anchor >= 0, relational)
    needed = [
        list(split.shapes[i, : split.counts[i]]).count(split.shapes[i, split.target[i]]) > 1
        for i in np.flatnonzero(relational)
    ]
    assert np.mean(needed) > 0.3, "many relational phrases pick one of two objects of a shape"


def test_relational_share_zero_names_colour_and_shape_only(task):
    plain = rf.ReferringSegmentationTask(relational_share=0.0).generate(50, seed=1)
    assert all(len(p.split()) == 3 for p in plain.phrases)


def test_deterministic(task):
    a, b = task.generate(20, seed=9), task.generate(20, seed=9)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.phrases == b.phrases


def test_random_object_baseline(task, split):
    assert task.random_object_iou(split) == pytest.approx(np.mean(1 / split.counts))
    assert task.ceilings()["bayes"] == 1.0
