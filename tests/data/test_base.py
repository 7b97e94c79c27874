"""The data contract (mmtutorial.data.base), checked the same way on every task.

Every task says what its inputs look like (``input_specs``), what accuracies it
knows (``ceilings``), and draws deterministic, independent splits that
``mt.train`` takes as they are. Arguments are checked alike everywhere: NumPy
integers are integers, booleans are not numbers.
"""

import dataclasses

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import referring, segmentation, words
from mmtutorial.data.base import Split, Task

# Every task class of mt.data whose labels are class ids (the segmentation, referring, captioning
# and Sort-of-CLEVR tasks are reached through their modules).
TASKS = (
    mt.data.ShapeMaterialTask,
    mt.data.SpokenWordTask,
    mt.data.DrivingSceneTask,
    mt.data.ScanReportTask,
    mt.data.SceneQuestionTask,
)
IDS = [t.__name__ for t in TASKS]


@pytest.fixture(scope="module", params=TASKS, ids=IDS)
def task(request):
    return request.param()


@pytest.fixture(scope="module")
def drawn(task):
    return task.generate(24, seed=3)


def test_every_task_of_the_package_is_in_the_registry():
    tasks = {
        value
        for value in vars(mt.data).values()
        if isinstance(value, type) and issubclass(value, Task)
    }
    assert tasks - {Task} == set(TASKS)


# -- the contract, on every task ---------------------------------------------------
def test_a_split_is_a_split_of_the_announced_size(task, drawn):
    assert isinstance(task, mt.data.Task) and isinstance(task, mt.data.DataSource)
    assert isinstance(drawn, mt.data.Split) and len(drawn) == 24
    assert drawn.labels.shape == (24,) and drawn.labels.dtype == np.int32
    assert 0 <= drawn.labels.min() and drawn.labels.max() < task.num_classes
    assert task.num_classes == len(task.class_names) >= 2


def test_input_specs_match_the_generated_features(task, drawn):
    specs = task.input_specs()
    assert list(specs) == list(drawn.features)
    for key, (shape, dtype) in specs.items():
        array = drawn.features[key]
        assert isinstance(shape, tuple) and all(isinstance(d, int) for d in shape), (key, shape)
        assert array.shape == (len(drawn), *shape), key
        assert array.dtype == np.dtype(dtype), key


def test_ceilings_are_accuracies_with_the_documented_keys(task):
    ceilings = task.ceilings()
    assert list(ceilings)[0] == "bayes" and list(ceilings)[-2:] == ["chance", "majority"]
    assert set(task.input_specs()) <= set(ceilings)
    for name, value in ceilings.items():
        assert isinstance(value, float) and 0.0 <= value <= 1.0, (name, value)
    assert ceilings["chance"] == pytest.approx(1 / task.num_classes) == task.chance_accuracy
    assert ceilings["majority"] >= ceilings["chance"]
    alone = [ceilings[key] for key in task.input_specs()]
    assert ceilings["bayes"] >= max(alone) and min(alone) >= ceilings["chance"] - 1e-12


def test_the_old_ceiling_names_agree_with_ceilings(task):
    ceilings = task.ceilings()
    assert task.bayes_accuracy == ceilings["bayes"]
    assert (
        task.chance_accuracy == ceilings["chance"]
        and task.majority_accuracy == ceilings["majority"]
    )


# What four tasks add to the contract: the split class and the exact input specs. (Their
# ceilings, rounded, are stated by the doctests of their ``ceilings`` methods and checked against
# enumeration in the task's own tests.)
# The inputs every split names: split.images and split.tokens.
BASE = ["images", "tokens"]
OWN_FIELDS = {
    mt.data.ShapeMaterialTask: (
        mt.data.ShapeMaterialSplit,
        {"image": ((32, 32, 3), "float32"), "text": ((12,), "int32")},
    ),
    mt.data.SpokenWordTask: (
        mt.data.SpokenWordSplit,
        {"audio": ((32, 32, 1), "float32"), "text": ((8,), "int32")},
    ),
    mt.data.DrivingSceneTask: (
        mt.data.DrivingSplit,
        {"camera": ((32, 32, 3), "float32"), "range": ((64, 1), "float32")},
    ),
    mt.data.ScanReportTask: (
        mt.data.ScanReportSplit,
        {"scan": ((32, 32, 1), "float32"), "text": ((10,), "int32")},
    ),
}


@pytest.mark.parametrize("factory", list(OWN_FIELDS), ids=lambda t: t.__name__)
def test_a_split_is_the_base_split_with_its_own_fields(factory):
    split_class, specs = OWN_FIELDS[factory]
    task = factory()
    split = task.generate(50, seed=1)
    assert isinstance(split, Split) and isinstance(split, split_class) and len(split) == 50
    assert task.input_specs() == specs
    # Each input is also a named attribute of the split (split.scans, split.tokens, ...).
    names = [n for n, v in vars(split_class).items() if isinstance(v, property)]
    for key, (_, dtype) in specs.items():
        assert any(getattr(split, n, None) is split.features[key] for n in names + BASE), key
        if dtype == "float32":
            assert 0.0 <= split.features[key].min() and split.features[key].max() <= 1.0, key
    ceilings = task.ceilings()
    assert list(ceilings) == ["bayes", *specs, "chance", "majority"]
    assert ceilings["bayes"] == task.bayes_accuracy
    only = sorted(getattr(task, n) for n in dir(factory) if n.endswith("_only_accuracy"))
    assert sorted(ceilings[key] for key in specs) == only


def _rows(split):
    """Every sample's inputs as bytes, one string per sample."""
    flat = [np.ascontiguousarray(a).reshape(len(split), -1) for a in split.features.values()]
    return [b"".join(f[i].tobytes() for f in flat) for i in range(len(split))]


def test_splits_are_deterministic_and_disjoint(task):
    splits = task.splits(train=20, validation=10, test=15, seed=0)
    again = task.splits(train=20, validation=10, test=15, seed=0)
    other = task.splits(train=20, validation=10, test=15, seed=1)
    assert list(splits) == ["train", "validation", "test"]
    assert [len(s) for s in splits.values()] == [20, 10, 15]
    for name in splits:
        for key in splits[name].features:
            np.testing.assert_array_equal(splits[name].features[key], again[name].features[key])
        np.testing.assert_array_equal(splits[name].labels, again[name].labels)
    rows = {name: set(_rows(split)) for name, split in splits.items()}
    assert not rows["train"] & rows["validation"] and not rows["train"] & rows["test"]
    assert not rows["validation"] & rows["test"]
    assert rows["train"] != set(_rows(other["train"]))


def test_same_seed_same_data_other_seed_other_data(task):
    a, b, c = task.generate(30, seed=5), task.generate(30, seed=5), task.generate(30, seed=6)
    for key in a.features:
        np.testing.assert_array_equal(a.features[key], b.features[key])
    np.testing.assert_array_equal(a.labels, b.labels)
    assert any(not np.array_equal(a.features[k], c.features[k]) for k in a.features)


def test_take_cuts_every_per_sample_field_alike(task, drawn):
    index = np.array([5, 0, 23, 5])
    part = drawn.take(index)
    assert type(part) is type(drawn) and len(part) == 4
    np.testing.assert_array_equal(part.labels, drawn.labels[index])
    for field in dataclasses.fields(drawn):
        whole, cut = getattr(drawn, field.name), getattr(part, field.name)
        if field.name == "features":
            for key in whole:
                np.testing.assert_array_equal(cut[key], whole[key][index])
        elif isinstance(whole, np.ndarray):
            np.testing.assert_array_equal(cut, whole[index])
        elif isinstance(whole, tuple):
            assert cut == tuple(whole[i] for i in index)
        else:
            assert cut == whole
    mask = drawn.labels == drawn.labels[0]
    np.testing.assert_array_equal(drawn.take(mask).labels, drawn.labels[mask])
    assert len(drawn.take(slice(0, 10, 3))) == 4 and len(drawn.take([])) == 0


def _probe_model(task):
    """The smallest classifier with one input per modality of ``task.input_specs()``."""
    inputs, parts = {}, []
    for key, (shape, dtype) in task.input_specs().items():
        inputs[key] = keras.Input(shape, dtype=dtype, name=key)
        x = inputs[key]
        if "int" in dtype:
            x = keras.layers.Embedding(task.vocab_size, 2)(x)
        parts.append(keras.layers.Flatten()(x))
    outputs = keras.layers.Dense(task.num_classes, activation="softmax")(
        keras.layers.Concatenate()(parts)
    )
    return keras.Model(inputs, outputs)


def test_train_predicts_and_evaluates_every_tasks_split(task, drawn):
    model = _probe_model(task)
    probabilities = mt.train.predict(model, drawn)
    assert probabilities.shape == (len(drawn), task.num_classes)
    np.testing.assert_allclose(
        probabilities, model.predict(drawn.features, verbose=0), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(
        mt.train.predict(model, (drawn.features, drawn.labels)), probabilities
    )
    np.testing.assert_array_equal(mt.train.predict(model, drawn.features), probabilities)
    expected = np.mean(probabilities.argmax(axis=1) == drawn.labels)
    assert mt.train.evaluate(model, drawn) == pytest.approx(expected)


# -- bad settings are named, on every task -------------------------------------------
# Each task's settings that it refuses, with what the message must say.
BAD_SETTINGS = {
    mt.data.ShapeMaterialTask: [
        ({"image_size": 10}, "image_size must be an integer >= 24; received 10"),
        (
            {"image_reliability": 1.5},
            "image_reliability must be a number in \\[0, 1\\]; received 1.5",
        ),
        ({"caption_reliability": "high"}, "caption_reliability"),
        ({"sequence_length": 3}, "sequence_length must be an integer >= 9"),
    ],
    mt.data.SpokenWordTask: [
        (
            {"audio_reliability": 1.5},
            r"audio_reliability must be a number in \[0, 1\]; received 1.5",
        ),
        ({"sample_rate": 2000}, "sample_rate must be an integer >= 4000"),
        (
            {"sequence_length": 3},
            r"sequence_length must be an integer >= 7 \(the longest request\)",
        ),
    ],
    mt.data.DrivingSceneTask: [
        ({"spray_rate": -0.1}, r"spray_rate must be a number in \[0, 1\]"),
        ({"beams": 8}, "beams must be an integer >= 16; received 8"),
    ],
    mt.data.ScanReportTask: [
        ({"prevalence": (0.5, 0.5)}, "prevalence must be 4 non-negative numbers summing to 1"),
        ({"prevalence": (0.5, 0.5, -0.5, 0.5)}, r"received \(0.5, 0.5, -0.5, 0.5\)"),
        ({"prevalence": "0.25"}, "prevalence must be 4 non-negative numbers"),
        ({"report_reliability": "high"}, "report_reliability must be a number"),
        ({"sequence_length": 4}, r"sequence_length must be an integer >= 10"),
    ],
    mt.data.SceneQuestionTask: [
        ({"quadrants": 1}, "SceneQuestionTask: quadrants must be an integer >= 2; received 1"),
        ({"shapes": 2.0}, "shapes must be an integer >= 2; received 2.0"),
        ({"noise": 0}, "noise must be a positive number; received 0"),
        ({"noise": float("nan")}, "noise must be a positive number; received nan"),
        ({"layout": "pixels"}, r"layout must be one of \['vectors', 'tokens'\]; received 'pixels'"),
    ],
    segmentation.SceneSegmentationTask: [
        ({"image_size": 31}, "image_size must be even"),
        ({"image_size": 8}, r"image_size must be an integer >= 16; received 8"),
        ({"caption_reliability": 1.5}, r"caption_reliability must be a number in \[0, 1\]"),
        ({"noise": 0.3}, r"noise must be a number in \[0, 0.1\]; received 0.3"),
        ({"max_objects": 4}, r"max_objects must be an integer in \[1, 3\]"),
        ({"min_objects": 3, "max_objects": 2}, r"min_objects must be an integer in \[1, 2\]"),
        (
            {"sequence_length": 4},
            r"sequence_length must be an integer >= 9 \(the longest caption\)",
        ),
    ],
    referring.ReferringSegmentationTask: [
        ({"image_size": 33}, "image_size must be even"),
        ({"relational_share": -0.1}, r"relational_share must be a number in \[0, 1\]"),
        ({"sequence_length": 5}, r"sequence_length must be an integer >= 7 \(the longest phrase\)"),
    ],
}


@pytest.mark.parametrize(
    "factory, kwargs, match",
    [
        (factory, kwargs, match)
        for factory, cases in BAD_SETTINGS.items()
        for kwargs, match in cases
    ],
)
def test_tasks_name_the_bad_setting(factory, kwargs, match):
    with pytest.raises(ValueError, match=match) as caught:
        factory(**kwargs)
    assert str(caught.value).startswith(f"{factory.__name__}: ")


# -- arguments: booleans refused, NumPy integers accepted ------------------------------
@pytest.mark.parametrize(
    "factory, name, value",
    [
        (mt.data.ShapeMaterialTask, "image_size", True),
        (mt.data.ShapeMaterialTask, "image_reliability", True),
        (mt.data.ShapeMaterialTask, "caption_reliability", False),
        (mt.data.ShapeMaterialTask, "sequence_length", True),
        (mt.data.SpokenWordTask, "audio_reliability", True),
        (mt.data.SpokenWordTask, "request_reliability", np.True_),
        (mt.data.SpokenWordTask, "sample_rate", True),
        (mt.data.DrivingSceneTask, "night_rate", True),
        (mt.data.DrivingSceneTask, "spray_rate", False),
        (mt.data.DrivingSceneTask, "beams", True),
        (mt.data.ScanReportTask, "scan_reliability", True),
        (mt.data.ScanReportTask, "report_reliability", False),
        (mt.data.ScanReportTask, "sequence_length", True),
        (mt.data.ScanReportTask, "prevalence", (True, False, False, False)),
        (mt.data.SceneQuestionTask, "quadrants", True),
        (mt.data.SceneQuestionTask, "shapes", True),
        (mt.data.SceneQuestionTask, "noise", True),
    ],
)
def test_tasks_refuse_booleans(factory, name, value):
    with pytest.raises(ValueError, match=name) as caught:
        factory(**{name: value})
    assert f"received {value!r}" in str(caught.value)
    assert factory.__name__ in str(caught.value)


@pytest.mark.parametrize(
    "factory, name, value",
    [
        (mt.data.ShapeMaterialTask, "image_size", np.int64(28)),
        (mt.data.ShapeMaterialTask, "sequence_length", np.int32(14)),
        (mt.data.ShapeMaterialTask, "image_reliability", np.float32(0.5)),
        (mt.data.SpokenWordTask, "sample_rate", np.int64(4000)),
        (mt.data.SpokenWordTask, "sequence_length", np.uint8(9)),
        (mt.data.DrivingSceneTask, "beams", np.int16(32)),
        (mt.data.DrivingSceneTask, "night_rate", np.float64(0.25)),
        (mt.data.ScanReportTask, "sequence_length", np.int64(12)),
        (mt.data.ScanReportTask, "prevalence", np.array([0.25, 0.25, 0.25, 0.25])),
        (mt.data.SceneQuestionTask, "quadrants", np.int64(3)),
        (mt.data.SceneQuestionTask, "shapes", np.int8(5)),
    ],
)
def test_tasks_accept_numpy_numbers_and_store_plain_python_ones(factory, name, value):
    task = factory(**{name: value})
    stored = getattr(task, name)
    if isinstance(value, np.ndarray):
        assert stored == tuple(float(v) for v in value)
    else:
        assert stored == value and type(stored) in (int, float), type(stored)
    hash(task)  # a task is a frozen, hashable value
    assert len(task.generate(np.int64(3), seed=np.int64(1))) == 3


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3", None])
def test_generate_rejects_bad_counts(task, n):
    with pytest.raises(ValueError, match=r"n must be a positive integer; received") as caught:
        task.generate(n)
    assert repr(n) in str(caught.value)


@pytest.mark.parametrize("seed", [-1, True, 1.5])
def test_generate_and_splits_reject_bad_seeds(task, seed):
    with pytest.raises(ValueError, match=rf"seed must be an integer >= 0; received {seed!r}"):
        task.generate(2, seed=seed)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        task.splits(2, 2, 2, seed=seed)


# -- the base classes themselves ----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Counting(Task):
    """A toy task: feature = label = a running count, so a split shows its seed and size."""

    split_sizes = (4, 3, 2)

    @property
    def class_names(self):
        return ("even", "odd")

    def input_specs(self):
        return {"x": ((1,), "float32")}

    def ceilings(self):
        return self._with_baselines(bayes=1.0, x=1.0)

    def generate(self, n, seed=0):
        n, rng = self._generator(n, seed)
        x = rng.random((n, 1)).astype("float32")
        return Split({"x": x}, (x[:, 0] > 0.5).astype("int32"))


def test_splits_default_sizes_and_seeds_are_independent_of_the_other_sizes():
    task = Counting()
    default = task.splits(seed=4)
    assert [len(s) for s in default.values()] == [4, 3, 2]
    bigger = task.splits(validation=30, seed=4)
    np.testing.assert_array_equal(bigger["train"].features["x"], default["train"].features["x"])
    np.testing.assert_array_equal(bigger["test"].features["x"], default["test"].features["x"])
    np.testing.assert_array_equal(
        bigger["validation"].features["x"][:3], default["validation"].features["x"]
    )
    assert task.ceilings() == {"bayes": 1.0, "x": 1.0, "chance": 0.5, "majority": 0.5}


def test_a_task_without_its_methods_cannot_be_made():
    class Incomplete(Task):
        class_names = ("a", "b")

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def test_a_split_checks_that_inputs_and_labels_agree():
    images = np.zeros((3, 2, 2, 1), "float32")
    with pytest.raises(
        ValueError,
        match=r"Split: features\['text'\] must hold one entry per label \(3\); received shape \(2, 4\)",
    ):
        Split({"image": images, "text": np.zeros((2, 4), "int32")}, [0, 1, 0])
    with pytest.raises(ValueError, match="features must be a non-empty dict .* received list"):
        Split([images], [0, 1, 0])
    with pytest.raises(ValueError, match=r"labels must be a 1-D array .* received shape \(3, 2\)"):
        Split({"image": images}, np.zeros((3, 2)))
    split = Split({"image": images}, [0, 1, 0])
    assert repr(split) == "Split(3 samples; image (3, 2, 2, 1) float32)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.labels = None


@pytest.mark.parametrize(
    "indices, match",
    [
        (
            np.array([True, False]),
            r"boolean mask must have one entry per sample, shape \(3,\); received shape \(2,\)",
        ),
        (np.array([0.5]), "indices must be a 1-D array of integers"),
        (np.array([[0]]), "indices must be a 1-D array of integers"),
        ([0, 3], r"indices must lie in \[-3, 3\) .* received min 0 and max 3"),
    ],
)
def test_take_names_bad_indices(indices, match):
    split = Split({"x": np.arange(3.0)}, [0, 1, 0])
    with pytest.raises(ValueError, match=match):
        split.take(indices)


def test_tokenize_rejects_non_strings():
    with pytest.raises(ValueError, match="texts must be strings; received 3"):
        words.tokenize(["a", 3], ("a",), 4)


def test_the_data_package_imports_nothing_above_it():
    """Only mmtutorial._checks and its own modules; imports inside functions count too."""
    import ast
    import pathlib

    folder = pathlib.Path(mt.data.__file__).parent
    upward = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:  # from .. import x
                names = [node.module] if node.module else [alias.name for alias in node.names]
                upward += [(path.name, name) for name in names if name != "_checks"]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                if (node.module or "").split(".")[0] == "mmtutorial":
                    upward.append((path.name, node.module))
            elif isinstance(node, ast.Import):
                upward += [
                    (path.name, a.name) for a in node.names if a.name.split(".")[0] == "mmtutorial"
                ]
    assert upward == []
