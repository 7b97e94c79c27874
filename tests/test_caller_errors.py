"""Errors name what the caller wrote, not a helper's own parameter or an internal of Keras.

Each case here once met a message about something the caller never wrote: an
``UnboundLocalError`` from inside Keras for a split of zero samples, or
``n must be a positive integer`` for ``splits(train=-5)``.
"""

import numpy as np
import pytest

import mmtutorial as mt


@pytest.fixture(scope="module")
def empty(small):
    return small.take(np.array([], dtype=int))


def test_predict_on_a_split_of_zero_samples_names_the_split(fused, empty):
    assert len(empty) == 0
    with pytest.raises(
        ValueError,
        match=r"predict: features holds no samples \(received a ShapeMaterialSplit with 0 samples\)",
    ):
        mt.train.predict(fused, empty)
    with pytest.raises(ValueError, match=r"predict: features holds no samples \(received a dict"):
        mt.train.predict(fused, empty.features)


def test_evaluate_on_a_split_of_zero_samples_names_the_split(fused, empty):
    with pytest.raises(ValueError, match=r"evaluate: split holds no samples"):
        mt.train.evaluate(fused, empty)


def test_embedding_zero_samples_names_the_argument():
    model = mt.models.build_dual_encoder(
        (16, 16, 3), vocab_size=10, sequence_length=4, image_filters=(4,), text_units=4
    )
    with pytest.raises(ValueError, match=r"embed_images: images holds no samples"):
        mt.train.embed_images(model, np.zeros((0, 16, 16, 3), "float32"))
    with pytest.raises(ValueError, match=r"embed_texts: tokens holds no samples"):
        mt.train.embed_texts(model, np.zeros((0, 4), "int32"))


@pytest.mark.parametrize("argument", ["train", "validation", "test"])
def test_splits_names_the_size_the_caller_wrote(task, argument):
    with pytest.raises(
        ValueError,
        match=rf"ShapeMaterialTask\.splits: {argument} must be a positive integer; received -5",
    ):
        task.splits(**{argument: -5})
    with pytest.raises(ValueError, match=rf"{argument} must be a positive integer; received 2\.5"):
        task.splits(**{argument: 2.5})


def test_generate_still_names_its_own_argument(task):
    with pytest.raises(ValueError, match=r"ShapeMaterialTask: n must be a positive integer"):
        task.generate(0)


@pytest.mark.parametrize("name", ["spatial_film", "pixel_word_attention"])
def test_a_classifier_refuses_a_spatial_fusion_by_name(task, name):
    """The spatial fusions share the registry, so a classifier names why it cannot use one."""
    with pytest.raises(
        ValueError, match=rf"fusion '{name}' conditions a feature map on text \(input kind 'map_"
    ):
        mt.models.build_classifier(
            task.image_shape, task.vocab_size, task.sequence_length, task.num_classes, fusion=name
        )
    encoders = {
        "image": mt.encoders.image_encoder(task.image_shape, filters=(4,)),
        "text": mt.encoders.text_encoder(task.vocab_size, task.sequence_length),
    }
    with pytest.raises(ValueError, match=r"so a classifier cannot use it \(build_segmenter does\)"):
        mt.models.assemble_classifier(encoders, task.num_classes, fusion=name)
