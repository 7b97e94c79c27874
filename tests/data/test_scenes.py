"""The scene-and-question task (mmtutorial.data.scenes) of the fusion chapter.

The generator follows its documented recipe draw for draw, so the chapter's
numbers stay those of the seeds it quotes; the posterior agrees with a
product of Gaussian densities written out here; the estimated ceilings agree
with fresh Monte Carlo samples and, where the noise is negligible, with a
brute-force count over every scene.
"""

import itertools

import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import scenes

from .helpers import close


def quadrant_names(task):
    """``QUADRANT_NAMES`` for four quadrants, else ``"place 0"``, ``"place 1"``, ..."""
    if task.quadrants == len(scenes.QUADRANT_NAMES):
        return scenes.QUADRANT_NAMES
    return tuple(f"place {k}" for k in range(task.quadrants))


@pytest.fixture(scope="module")
def task():
    return scenes.SceneQuestionTask()


@pytest.fixture(scope="module")
def chapter_test(task):
    return task.generate(2000, seed=3)  # the chapter's test split


def reference_scenes(n, seed, quadrants=4, shapes=7, noise=0.3):
    """The documented recipe, step by step: shapes, asked quadrant, score noise, question noise."""
    rng = np.random.default_rng(seed)
    scene_shapes = rng.integers(0, shapes, (n, quadrants))
    asked = rng.integers(0, quadrants, n)
    score_noise = rng.normal(size=(n, quadrants, shapes))
    question_noise = rng.normal(size=(n, quadrants))
    scores = np.zeros((n, quadrants, shapes))
    question = np.zeros((n, quadrants))
    for i in range(n):
        for k in range(quadrants):
            scores[i, k, scene_shapes[i, k]] = 1.0
        question[i, asked[i]] = 1.0
    scores += noise * score_noise
    question += noise * question_noise
    tokens = np.zeros((n, quadrants, shapes + quadrants))
    tokens[..., :shapes] = scores
    tokens[..., shapes:] = np.eye(quadrants)
    return {
        "answers": np.array([scene_shapes[i, asked[i]] for i in range(n)]),
        "vectors": {
            "scene": scores.reshape(n, -1).astype("float32"),
            "question": question.astype("float32"),
        },
        "tokens": {
            "scene": tokens.astype("float32"),
            "question": question[:, None, :].astype("float32"),
        },
        "scores": scores,
        "question": question,
    }


@pytest.mark.parametrize("n, seed", [(1500, 1), (500, 2), (37, 9)])
def test_generate_follows_the_documented_recipe_bit_for_bit(task, n, seed):
    expected = reference_scenes(n, seed)
    split = task.generate(n, seed=seed)
    np.testing.assert_array_equal(split.labels, expected["answers"])
    np.testing.assert_array_equal(split.scores, expected["scores"])
    np.testing.assert_array_equal(split.question, expected["question"])
    for layout in scenes.LAYOUTS:
        features = split.as_layout(layout).features
        assert list(features) == ["scene", "question"]
        for key, array in features.items():
            assert array.dtype == np.float32
            np.testing.assert_array_equal(array, expected[layout][key])


def test_the_chapter_ceiling_on_its_test_scenes_stays_what_it_was(task, chapter_test):
    """The fusion chapter's seeds (1500 / 500 / 2000 scenes from seeds 1, 2, 3) gave 0.9485 before the move."""
    accuracy = float(np.mean(task.posterior(chapter_test).argmax(axis=1) == chapter_test.labels))
    assert accuracy == 0.9485


def test_layouts_shapes_and_the_hidden_causes(task):
    split = task.generate(6, seed=0)
    assert isinstance(split, mt.data.Split) and isinstance(split, scenes.SceneQuestionSplit)
    assert split.layout == "vectors" and split.features["scene"].shape == (6, 28)
    tokens = split.as_layout("tokens")
    assert tokens.layout == "tokens" and tokens.features["scene"].shape == (6, 4, 11)
    assert tokens.features["question"].shape == (6, 1, 4)
    np.testing.assert_array_equal(
        tokens.as_layout("vectors").features["scene"], split.features["scene"]
    )
    np.testing.assert_array_equal(
        tokens.features["scene"][..., 7:], np.broadcast_to(np.eye(4), (6, 4, 4))
    )
    np.testing.assert_array_equal(split.labels, split.scene_shapes[np.arange(6), split.asked])
    assert task.input_specs("tokens") == {
        "scene": ((4, 11), "float32"),
        "question": ((1, 4), "float32"),
    }
    made_as_tokens = scenes.SceneQuestionTask(layout="tokens")
    assert made_as_tokens.input_specs() == task.input_specs("tokens")
    np.testing.assert_array_equal(
        made_as_tokens.generate(6, seed=0).features["scene"], tokens.features["scene"]
    )
    # wider than the book's 72-character column, so the inputs go on a second line
    assert repr(tokens) == (
        "SceneQuestionSplit(6 scenes, tokens;\n"
        "    scene (6, 4, 11) float32, question (6, 1, 4) float32)"
    )
    assert task.class_names == mt.data.SHAPES and quadrant_names(task)[0] == "top left"
    other = scenes.SceneQuestionTask(quadrants=3, shapes=9)
    assert other.class_names[-1] == "shape 8" and quadrant_names(other) == (
        "place 0",
        "place 1",
        "place 2",
    )
    assert other.generate(2, seed=0).as_layout("tokens").features["scene"].shape == (2, 3, 12)


def _gaussian(x, mean, noise):
    return np.exp(-((x - mean) ** 2) / (2 * noise**2)) / (noise * np.sqrt(2 * np.pi))


def test_posterior_matches_a_product_of_gaussian_densities(task):
    """p(c | s, q) ∝ sum_k p(q | asked = k) p(s_k | shape c) / sum_c' p(s_k | shape c'), densities written out."""
    split = task.generate(40, seed=4)
    noise = task.noise
    expected = np.zeros((40, 7))
    for i in range(40):
        named = np.array(
            [np.prod(_gaussian(split.question[i], np.eye(4)[k], noise)) for k in range(4)]
        )
        named /= named.sum()
        for k in range(4):
            likelihood = np.array(
                [np.prod(_gaussian(split.scores[i, k], np.eye(7)[c], noise)) for c in range(7)]
            )
            expected[i] += named[k] * likelihood / likelihood.sum()
    np.testing.assert_allclose(task.posterior(split), expected, rtol=1e-9, atol=1e-12)
    scene_only = np.zeros((40, 7))
    for i, k in itertools.product(range(40), range(4)):
        likelihood = np.array(
            [np.prod(_gaussian(split.scores[i, k], np.eye(7)[c], noise)) for c in range(7)]
        )
        scene_only[i] += likelihood / likelihood.sum() / 4
    np.testing.assert_allclose(
        task.posterior(split, use_question=False), scene_only, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(task.posterior(split.as_layout("tokens")).sum(axis=1), 1.0)


def test_ceilings_match_fresh_monte_carlo_samples(task):
    ceilings = task.ceilings()
    split = task.generate(20000, seed=11)
    both = np.mean(task.posterior(split).argmax(axis=1) == split.labels)
    scene = np.mean(task.posterior(split, use_question=False).argmax(axis=1) == split.labels)
    assert close(both, ceilings["bayes"]) and close(scene, ceilings["scene"]), (
        both,
        scene,
        ceilings,
    )
    assert ceilings["question"] == ceilings["chance"] == ceilings["majority"] == 1 / 7
    assert ceilings["scene"] + 0.3 < ceilings["bayes"] < 1.0
    # the question alone knows nothing about the answer: the shape asked for is uniform whatever it says
    counts = np.bincount(split.labels[split.asked == 0], minlength=7)
    assert counts.min() > 0.8 * counts.mean()


def test_with_negligible_noise_the_ceilings_are_a_count_over_every_scene():
    """σ = 0.05: the scores reveal every shape, so the question gives the answer, and the scene
    alone answers its most common shape, right with probability (how often it occurs) / 4."""
    quiet = scenes.SceneQuestionTask(noise=0.05)
    most_common = [
        max(np.bincount(scene, minlength=7)) for scene in itertools.product(range(7), repeat=4)
    ]
    exact_scene = float(np.mean(most_common)) / 4
    ceilings = quiet.ceilings()
    assert ceilings["bayes"] == pytest.approx(1.0, abs=1e-4)
    assert abs(ceilings["scene"] - exact_scene) < 4 * np.sqrt(
        exact_scene * (1 - exact_scene) / 200_000
    )


def test_ceilings_are_computed_once_per_task(task):
    assert task.ceilings() == task.ceilings() and task.bayes_accuracy == task.ceilings()["bayes"]
    assert "_estimated_ceilings" in vars(task)


def test_posterior_and_as_layout_name_their_mistakes(task):
    with pytest.raises(
        ValueError, match="split must be a SceneQuestionSplit; received ShapeMaterialSplit"
    ):
        task.posterior(mt.data.ShapeMaterialTask().generate(2, seed=0))
    with pytest.raises(
        ValueError, match="split holds scenes of 3 quadrants and 7 shapes; this task has 4 and 7"
    ):
        task.posterior(scenes.SceneQuestionTask(quadrants=3).generate(2, seed=0))
    with pytest.raises(ValueError, match="use_question must be True or False; received 1"):
        task.posterior(task.generate(2, seed=0), use_question=1)
    with pytest.raises(
        ValueError, match=r"layout must be one of \['vectors', 'tokens'\]; received 'token'"
    ):
        task.generate(2, seed=0).as_layout("token")


def test_a_token_fusion_model_trains_on_the_split_as_it_is(task):
    """The splits go straight into mt.train: fit, predict, evaluate."""
    import keras

    train = task.generate(64, seed=1).as_layout("tokens")
    mt.train.set_seed(0)
    encoders = {
        "scene": keras.Sequential([keras.Input((4, 11)), keras.layers.Identity()]),
        "question": keras.Sequential([keras.Input((1, 4)), keras.layers.Identity()]),
    }
    model = mt.models.assemble_classifier(
        encoders,
        task.num_classes,
        fusion="cross_attention",
        fusion_config={"units": 8, "num_heads": 2},
        hidden_units=8,
    )
    history = mt.train.fit(model, train, train, epochs=1, batch_size=32)
    assert set(history.history) >= {"loss", "val_loss"}
    assert mt.train.predict(model, train).shape == (64, 7)
    assert 0.0 <= mt.train.evaluate(model, train) <= 1.0
