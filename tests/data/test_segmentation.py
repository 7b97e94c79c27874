"""SceneSegmentationTask: label maps that follow from the hidden causes, and ceilings that hold.

The ceilings are derived on paper in the task's docstring; here they are
checked by Monte Carlo: the three rules (Bayes, image only, text only) are
applied to freshly drawn scenes and scored with mt.metrics, and the text-only
rule's premise (background is the most probable class at every pixel, whatever
the caption) is checked from measured coverage probabilities.
"""

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import segmentation as sg

M = len(sg.SEGMENTATION_MATERIALS)


@pytest.fixture(scope="module")
def task():
    return sg.SceneSegmentationTask()


@pytest.fixture(scope="module")
def split(task):
    return task.generate(40, seed=3)


@pytest.fixture(scope="module")
def large(task):
    return task.generate(3000, seed=11)


def test_shapes_dtypes_and_class_count(task, split):
    assert task.num_classes == 21 == len(task.class_names)
    assert task.class_names[0] == "background" and task.class_names[1] == "wood disk"
    assert split.images.shape == (40, 32, 32, 1) and split.images.dtype == np.float32
    assert split.tokens.shape == (40, task.sequence_length) and split.tokens.dtype == np.int32
    assert split.labels.shape == (40, 32, 32) and split.labels.dtype == np.int32
    assert 0.0 <= split.images.min() and split.images.max() <= 1.0
    assert split.labels.min() >= 0 and split.labels.max() < 21
    assert isinstance(split, mt.data.SegmentationSplit) and isinstance(split, mt.data.Split)
    assert task.input_specs() == {"image": ((32, 32, 1), "float32"), "text": ((10,), "int32")}


def test_labels_follow_from_shape_and_true_material_of_the_object_at_each_pixel(split):
    for i in range(len(split)):
        for y in range(32):
            for x in range(32):
                slot = split.objects[i, y, x]
                if slot < 0:
                    expected = 0
                else:
                    expected = 1 + split.shapes[i, slot] * M + split.materials[i, slot]
                assert split.labels[i, y, x] == expected


def test_objects_keep_to_their_cells_and_have_distinct_shapes(split):
    for i in range(len(split)):
        count = split.counts[i]
        assert 2 <= count <= 3
        assert (split.cells[i, count:] == -1).all() and (split.shapes[i, count:] == -1).all()
        assert len(set(split.shapes[i, :count])) == count
        assert len(set(split.cells[i, :count])) == count
        for slot in range(count):
            ys, xs = np.nonzero(split.objects[i] == slot)
            assert ys.size > 10, "every object is drawn"
            row, column = divmod(int(split.cells[i, slot]), 2)
            assert (ys // 16 == row).all() and (xs // 16 == column).all()


def test_the_caption_names_each_object_once_with_its_stated_material(split):
    for i, caption in enumerate(split.captions):
        count = split.counts[i]
        for slot in range(count):
            shape = sg.SEGMENTATION_SHAPES[split.shapes[i, slot]]
            material = sg.SEGMENTATION_MATERIALS[split.stated_materials[i, slot]]
            assert f"{material} {shape}" in caption
        words = caption.split()
        assert sum(w in sg.SEGMENTATION_SHAPES for w in words) == count
        assert not {"left", "right", "top", "bottom"} & set(words), "no place in the caption"


def test_the_image_shows_objects_brighter_than_background_and_no_material(split):
    image = split.images[..., 0]
    inside, outside = image[split.objects >= 0], image[split.objects < 0]
    assert inside.mean() > outside.mean() + 0.3
    # The grey level does not depend on the material: compare the means of two materials.
    level = np.array(
        [
            image[i][split.objects[i] == s].mean()
            for i in range(len(split))
            for s in range(split.counts[i])
        ]
    )
    material = np.array(
        [split.materials[i, s] for i in range(len(split)) for s in range(split.counts[i])]
    )
    assert abs(level[material == 0].mean() - level[material == 1].mean()) < 0.1


def test_generation_is_deterministic_and_seeds_differ(task):
    a, b, c = task.generate(20, seed=1), task.generate(20, seed=1), task.generate(20, seed=2)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.captions == b.captions and a.captions != c.captions
    splits = task.splits(train=10, validation=5, test=5, seed=0)
    assert [len(s) for s in splits.values()] == [10, 5, 5]


def test_take_cuts_label_maps_and_causes_alike(split):
    part = split.take([3, 0])
    np.testing.assert_array_equal(part.labels, split.labels[[3, 0]])
    np.testing.assert_array_equal(part.objects, split.objects[[3, 0]])
    assert part.captions == (split.captions[3], split.captions[0])


def test_caption_reliability_one_states_every_true_material(task):
    exact = sg.SceneSegmentationTask(caption_reliability=1.0).generate(50, seed=0)
    present = exact.cells >= 0
    np.testing.assert_array_equal(exact.stated_materials[present], exact.materials[present])


def test_label_maps_are_checked_where_a_split_is_made():
    with pytest.raises(ValueError, match=r"labels must be integer label maps"):
        sg.SegmentationSplit({"image": np.zeros((2, 4, 4, 1))}, np.zeros(2, "int32"))
    with pytest.raises(ValueError, match=r"must hold one entry per label map \(2\)"):
        sg.SegmentationSplit({"image": np.zeros((3, 4, 4, 1))}, np.zeros((2, 4, 4), "int32"))
    with pytest.raises(ValueError, match=r"class ids in \[0, 21\); received min 21 and max 21"):
        sg.check_label_maps(np.full((1, 2, 2), 21), num_classes=21)
    with pytest.raises(ValueError, match=r"label maps of shape \(batch, 4, 4\)"):
        sg.check_label_maps(np.zeros((1, 2, 2), "int32"), shape=(4, 4))


# -- the ceilings, by Monte Carlo ---------------------------------------------------------


def test_foreground_fraction_matches_fresh_scenes(task, large):
    measured = float(np.mean(large.labels > 0))
    # The share varies by about 0.05 per scene: 3000 scenes give a standard error near 0.001.
    assert measured == pytest.approx(task.foreground_fraction, abs=0.005)
    assert task.ceilings()["majority"] == pytest.approx(1 - task.foreground_fraction)


@pytest.mark.parametrize("rule", ["bayes", "image", "text"])
def test_each_rule_reaches_its_derived_pixel_accuracy_and_iou(task, large, rule):
    predicted = task.ceiling_predictions(large, rule, seed=5)
    accuracy = mt.metrics.pixel_accuracy(large.labels, predicted, num_classes=21)
    f = float(np.mean(large.labels > 0))
    a = task.material_accuracy
    derived_accuracy = {"bayes": 1 - f * (1 - a), "image": 1 - f * (1 - 1 / M), "text": 1 - f}[rule]
    assert accuracy == pytest.approx(derived_accuracy, abs=0.004)
    assert task.ceilings()[rule] == pytest.approx(derived_accuracy, abs=0.005)
    iou = mt.metrics.per_class_iou(large.labels, predicted, num_classes=21)
    expected = task.iou_ceilings()[rule]
    assert iou[0] == pytest.approx(expected[0], abs=0.005)
    # 20 object classes, about 100 objects each: the IoU of one class varies by a few hundredths.
    np.testing.assert_allclose(iou[1:], expected[1:], atol=0.08)
    assert float(np.mean(iou[1:])) == pytest.approx(float(np.mean(expected[1:])), abs=0.015)


def test_the_bayes_rule_beats_both_single_modality_rules(task):
    ceilings, iou = task.ceilings(), task.mean_iou_ceilings()
    assert ceilings["bayes"] > ceilings["image"] > ceilings["text"] > ceilings["chance"]
    assert iou["bayes"] > iou["image"] > iou["text"]


def test_no_image_only_split_of_materials_beats_the_uniform_one():
    # IoU of a class given a share w of its shape's pixels at random: w / (1 + (M - 1) w).
    def total(shares):
        shares = np.asarray(shares, float)
        return float(np.sum(shares / (1 + (M - 1) * shares)))

    best = total([1 / M] * M)
    assert best == pytest.approx(M / (2 * M - 1))
    rng = np.random.default_rng(0)
    for shares in rng.dirichlet(np.ones(M), size=2000):
        assert total(shares) <= best + 1e-12


def test_background_is_the_most_probable_class_at_every_pixel_for_any_caption(task):
    """The text-only rule's premise, from coverage probabilities measured on 8,000 objects per shape.

    Given a caption naming the shapes S, each object lies in a uniformly
    random cell and objects never overlap, so at pixel x
    p(background) = 1 - sum_{s in S} g_s(x) and p(class (s, stated m)) = a g_s(x),
    with g_s(x) the chance that an object of shape s covers x. An object must
    lie in x's cell to cover it, so g_s(x) <= 1/4, and with at most 3 objects
    p(background) >= 1/4 > a/4 >= a g_s(x) whenever a < 1. The worst caption
    names the max_objects shapes with the largest g at x.
    """
    rng = np.random.default_rng(0)
    n, size = 8000, task.image_size
    coverage = []
    for shape in range(len(sg.SEGMENTATION_SHAPES)):
        cells, cy, cx, radius = sg.place_in_cells(np.ones(n, int), 1, size, rng)
        masks = sg.render_shapes(np.full(n, shape), cy[:, 0], cx[:, 0], radius[:, 0], size)
        coverage.append(masks.mean(axis=0))
    g = np.sort(np.stack(coverage), axis=0)[::-1]  # per pixel, the shapes from most to least likely
    standard_error = np.sqrt(0.25 * 0.75 / n)
    assert g.max() <= 0.25 + 3 * standard_error
    worst = g[: task.max_objects]
    margin = (1 - worst.sum(axis=0)) - task.material_accuracy * worst[0]
    assert margin.min() > -4 * 3 * standard_error  # the sum of three estimates, each within 3 SE
    assert task.max_objects <= 3 and 1 - 3 / 4 > task.material_accuracy / 4
