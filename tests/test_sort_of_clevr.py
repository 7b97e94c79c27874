"""Sort-of-CLEVR: the generator follows the data contract, repeats for a seed, answers every
question exactly (checked against a brute-force reading of the state description and of the
picture), and names every bad argument."""

import numpy as np
import pytest

from mmtutorial.data import Split, sort_of_clevr
from mmtutorial.data.sort_of_clevr import (
    CLEVR_ANSWERS,
    CLEVR_RGB,
    QUESTION_TYPES,
    SortOfClevrSplit,
    SortOfClevrTask,
    encode_questions,
)


@pytest.fixture(scope="module")
def task():
    return SortOfClevrTask()


@pytest.fixture(scope="module")
def split(task):
    return task.generate(400, seed=3)


def test_the_split_follows_the_data_contract(task, split):
    assert isinstance(split, Split) and isinstance(split, SortOfClevrSplit)
    specs = task.input_specs()
    assert sorted(split.features) == sorted(specs)
    for key, (shape, dtype) in specs.items():
        assert split.features[key].shape == (400,) + tuple(shape)
        assert split.features[key].dtype == dtype
    assert task.num_classes == len(CLEVR_ANSWERS) == 10
    assert split.labels.min() >= 0 and split.labels.max() < 10
    part = split.take([5, 1])
    np.testing.assert_array_equal(part.centres, split.centres[[5, 1]])
    np.testing.assert_array_equal(part.features["image"], split.features["image"][[5, 1]])
    assert set(task.ceilings()) == {"bayes", "question", "chance", "majority"}


def test_the_same_seed_gives_the_same_split_and_another_seed_another(task, split):
    again = task.generate(400, seed=3)
    for key in split.features:
        np.testing.assert_array_equal(again.features[key], split.features[key])
    np.testing.assert_array_equal(again.labels, split.labels)
    other = task.generate(400, seed=4)
    assert not np.array_equal(other.centres, split.centres)


def test_without_images_everything_else_is_identical(task, split):
    lean = task.generate(400, seed=3, images=False)
    assert "image" not in lean.features
    np.testing.assert_array_equal(lean.features["state"], split.features["state"])
    np.testing.assert_array_equal(lean.labels, split.labels)


def test_questions_per_scene_ask_several_questions_of_one_scene(task):
    many = task.generate(45, seed=3, questions_per_scene=20)  # scenes of 20, 20 and 5 questions
    scene_of = np.arange(45) // 20
    for key in ("image", "state"):
        first = many.features[key][[0, 20, 40]]
        np.testing.assert_array_equal(many.features[key], first[scene_of])
    assert not np.array_equal(many.centres[0], many.centres[20])
    # the questions are drawn one by one, and answered on their own scene
    assert len(np.unique(many.question_types[:20])) > 1
    np.testing.assert_array_equal(
        many.labels,
        sort_of_clevr.answers_from_scene(
            many.shapes, many.centres, many.colours, many.question_types
        ),
    )
    lean = task.generate(45, seed=3, questions_per_scene=20, images=False)
    np.testing.assert_array_equal(lean.features["state"], many.features["state"])
    with pytest.raises(
        ValueError, match=r"questions_per_scene must be an integer >= 1; received 0"
    ):
        task.generate(3, questions_per_scene=0)


def _brute_force_answer(state_rows, colour, question_type, size=75):
    """The answer read off one scene's state description, one object at a time."""
    objects = {}
    for row in state_rows:
        x, y = (row[8] + 1) * size / 2, (row[9] + 1) * size / 2
        objects[int(np.argmax(row[:6]))] = (int(np.argmax(row[6:8])), x, y)
    shape, x, y = objects[colour]
    name = QUESTION_TYPES[question_type]
    if name == "shape":
        return ("square", "circle")[shape]
    if name == "horizontal":
        return "yes" if x < size / 2 else "no"
    if name == "vertical":
        return "yes" if y < size / 2 else "no"
    if name == "count":
        return str(sum(other[0] == shape for other in objects.values()))
    distances = {}
    for other, (_, ox, oy) in objects.items():
        if other != colour:
            distances[other] = float(np.hypot(ox - x, oy - y))
    pick = min if name == "closest" else max
    target = pick(distances, key=distances.get)
    return ("square", "circle")[objects[target][0]]


def test_every_answer_matches_a_brute_force_reading_of_the_state(split):
    for i in range(len(split)):
        expected = _brute_force_answer(
            split.features["state"][i], int(split.colours[i]), int(split.question_types[i])
        )
        assert CLEVR_ANSWERS[split.labels[i]] == expected, i


def test_the_picture_shows_each_object_in_its_colour_and_shape(task, split):
    images = split.features["image"]
    for i in range(0, len(split), 37):
        for colour in range(6):
            x, y = split.centres[i, colour]
            is_colour = (images[i] == CLEVR_RGB[colour]).all(axis=-1)
            rows, columns = np.nonzero(is_colour)
            assert np.all(np.abs(columns + 0.5 - x) <= 5) and np.all(np.abs(rows + 0.5 - y) <= 5)
            # a square fills its 10 x 10 box (about 100 pixels), a circle about pi * 25
            expected = 100 if split.shapes[i, colour] == 0 else np.pi * 25
            assert abs(is_colour.sum() - expected) < 0.15 * expected, (i, colour)
    background = (images == 255).all(axis=-1).mean()
    assert 0.85 < background < 0.95  # six objects cover about 9% of the picture


def test_no_two_objects_are_closer_than_min_distance(task, split):
    gaps = np.linalg.norm(split.centres[:, :, None] - split.centres[:, None, :], axis=-1)
    gaps[:, np.arange(6), np.arange(6)] = np.inf
    assert gaps.min() >= task.min_distance - 1e-4


def test_the_question_vectors_name_colour_kind_and_type(split):
    q = split.features["question"]
    assert set(np.unique(q)) <= {0.0, 1.0} and (q.sum(axis=1) == 3).all()
    np.testing.assert_array_equal(q[:, :6].argmax(axis=1), split.colours)
    np.testing.assert_array_equal(q[:, 6:8].argmax(axis=1), split.relational.astype(int))
    np.testing.assert_array_equal(q[:, 8:].argmax(axis=1), split.question_types % 3)


def test_the_answer_frequencies_match_the_derived_baselines(task):
    big = task.generate(20000, seed=11, images=False)
    counts = np.bincount(big.labels, minlength=10) / len(big)
    assert abs(counts.max() - task.majority_accuracy) < 0.015
    assert abs(big.relational.mean() - task.relational_share) < 0.015
    # from the question alone: answer the commonest answer of each question type
    best = 0
    for t in range(6):
        keep = big.question_types == t
        best += np.bincount(big.labels[keep], minlength=10).max()
    assert abs(best / len(big) - task.ceilings()["question"]) < 0.015


def ambiguous(split, pixels=1.0):
    """Boolean ``(n,)``: closest/furthest questions whose top two distances differ by < ``pixels``.

    On those the picture barely shows which object is meant; the answer is
    still exact, from the centres.
    """
    rows = np.arange(len(split))
    own = split.centres[rows, split.colours]
    distance = np.linalg.norm(split.centres - own[:, None, :], axis=-1)
    others = np.sort(np.where(np.eye(6, dtype=bool)[split.colours], np.nan, distance), axis=1)
    nearest_gap = others[:, 1] - others[:, 0]  # NaN (the object itself) sorts last
    furthest_gap = others[:, 4] - others[:, 3]
    gap = np.where(split.question_types == 3, nearest_gap, furthest_gap)
    return np.isin(split.question_types, (3, 4)) & (gap < pixels)


def test_close_calls_between_distances_are_few(split):
    flags = ambiguous(split)
    assert flags.dtype == bool and flags.shape == (len(split),)
    assert not flags[~np.isin(split.question_types, (3, 4))].any()
    assert flags.mean() < 0.1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_size": 20}, r"image_size must be an integer >= 40 .*received 20"),
        ({"image_size": 75.0}, r"image_size must be an integer >= 16; received 75\.0"),
        ({"object_size": 1}, r"object_size must be an integer >= 2; received 1"),
        ({"min_distance": 5}, r"min_distance must be a number in \[14\.14, 25\.00\].*received 5"),
        (
            {"relational_share": 1.5},
            r"relational_share must be a number in \[0, 1\]; received 1\.5",
        ),
    ],
)
def test_bad_task_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SortOfClevrTask(**kwargs)


def test_bad_generate_arguments_are_named(task):
    with pytest.raises(
        ValueError, match=r"SortOfClevrTask: n must be a positive integer; received 0"
    ):
        task.generate(0)
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0; received -1"):
        task.generate(3, seed=-1)
    with pytest.raises(ValueError, match=r"images must be True or False; received 1"):
        task.generate(3, images=1)
    with pytest.raises(ValueError, match=r"colours must be ids in \[0, 6\); received \[7\]"):
        encode_questions([7], [0])
    with pytest.raises(ValueError, match=r"received shapes \(2,\) and \(1,\)"):
        encode_questions([0, 1], [0])


def test_generation_is_vectorised_enough_for_thousands_of_scenes(task):
    # Not a timing assertion: it checks the chunked renderer gives the same pictures
    # whatever the chunk boundaries (a split larger than one chunk of 512 scenes).
    big = task.generate(1100, seed=5)
    again = task.render(big.shapes[1000:], big.centres[1000:])
    np.testing.assert_array_equal(again, big.features["image"][1000:])


def test_the_module_lists_its_public_names():
    for name in sort_of_clevr.__all__:
        assert hasattr(sort_of_clevr, name), name
