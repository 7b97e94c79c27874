"""The camera + range-scan task (mmtutorial.data.driving) and a model of its two sensors.

Shapes and determinism, the ceilings against brute-force enumeration and
Monte Carlo, what each sensor sees by night and in spray, the 1-D signal
encoder the range scan is read with (against NumPy), and a safe ``.keras``
round trip of a camera + range model.
"""

import itertools
import os

import keras
import numpy as np
import pytest

import mmtutorial as mt
from mmtutorial.data import driving

from .helpers import N_MC, close, enumerate_ceiling


@pytest.fixture(scope="module")
def drive():
    return driving.DrivingSceneTask()


def test_the_label_is_the_light_and_the_lane(drive):
    split = drive.generate(50, seed=1)
    np.testing.assert_array_equal(split.labels, split.light * 3 + split.lane)
    assert drive.class_names[0] == "red / left" and len(drive.class_names) == 9
    assert (drive.camera_shape, drive.range_shape) == ((32, 32, 3), (64, 1))


# -- ceilings: brute force and Monte Carlo -----------------------------------------------------------


@pytest.mark.parametrize("a, b", [(0.5, 0.3), (0.2, 0.6), (1.0, 1.0)])
def test_driving_ceilings_match_brute_force_enumeration(a, b):
    task = driving.DrivingSceneTask(night_rate=a, spray_rate=b)
    # label (light, lane) x camera reveals (light, lane or nothing) x scan reveals (lane or nothing)
    joint = np.zeros((3, 3, 3, 4, 4))
    for light, lane in itertools.product(range(3), range(3)):
        for night, spray in itertools.product((0, 1), (0, 1)):
            weight = (a if night else 1 - a) * (b if spray else 1 - b) / 9
            joint[light, lane, light, 3 if night else lane, 3 if spray else lane] += weight
    joint = joint.reshape(9, 3, 4, 4)
    assert task.bayes_accuracy == pytest.approx(enumerate_ceiling(joint, (1, 2, 3)))
    assert task.camera_only_accuracy == pytest.approx(enumerate_ceiling(joint, (1, 2)))
    assert task.range_only_accuracy == pytest.approx(enumerate_ceiling(joint, (3,)))


def test_driving_condition_ceilings_average_to_the_overall_ones(drive):
    a, b = drive.night_rate, drive.spray_rate
    table = drive.condition_ceilings()
    for model, overall in (
        ("camera + range", drive.bayes_accuracy),
        ("camera only", drive.camera_only_accuracy),
        ("range only", drive.range_only_accuracy),
    ):
        mean = sum(
            (a if night else 1 - a) * (b if spray else 1 - b) * table[(night, spray)][model]
            for night, spray in table
        )
        assert mean == pytest.approx(overall)


def test_driving_ceilings_match_monte_carlo(drive):
    split = drive.generate(N_MC, seed=4)
    lane_known = ~(split.night & split.spray)
    bayes = np.mean(np.where(lane_known, True, split.lane == 1))
    camera = np.mean(np.where(~split.night, True, split.lane == 1))
    ranged = np.mean(np.where(~split.spray, True, split.lane == 1) & (split.light == 0))
    assert close(bayes, drive.bayes_accuracy)
    assert close(camera, drive.camera_only_accuracy)
    assert close(ranged, drive.range_only_accuracy)


# -- what each sensor carries ------------------------------------------------------------------------


def test_night_camera_and_sprayed_scan_do_not_depend_on_the_lane(drive):
    n = 6
    light, distance = np.arange(n) % 3, np.full(n, 10.0)
    night, spray = np.array([True, True, True, False, False, False]), np.array([True, False] * 3)
    views = {}
    for lane in range(3):
        lateral = np.full(n, (lane - 1) * drive.lane_width)
        views[lane] = (
            drive._camera(light, lateral, distance, night, np.random.default_rng(0)),
            drive._scan(lateral, distance, spray, np.random.default_rng(0)),
        )
    for lane in (1, 2):
        np.testing.assert_array_equal(views[0][0][night], views[lane][0][night])
        np.testing.assert_array_equal(views[0][1][spray], views[lane][1][spray])
        assert not np.array_equal(views[0][0][~night], views[lane][0][~night])
        assert not np.array_equal(views[0][1][~spray], views[lane][1][~spray])


def test_clear_scan_points_lie_on_the_obstacle_or_a_wall(drive):
    """Each beam's return, placed in the plane, is on the box's front face, a side wall, or at max range."""
    split = drive.generate(200, seed=9)
    clear = ~split.spray
    r = split.ranges[clear, :, 0] * drive.max_range
    x, y = r * np.sin(drive.angles), r * np.cos(drive.angles)
    lateral = (split.lane[clear] - 1) * drive.lane_width
    d = split.distance[clear][:, None]
    on_box = (np.abs(y - d) < 1.0) & (np.abs(x - lateral[:, None]) < 0.9 + 0.3 + 0.5)
    on_wall = np.abs(np.abs(x) - drive.wall_offset) < 1.0
    far = r > drive.max_range - 1.5
    assert (on_box | on_wall | far).mean() > 0.999
    assert on_box.any(axis=1).all()  # every clear scan sees the obstacle


def test_lit_lamp_glows_by_day_and_by_night(drive):
    split = drive.generate(300, seed=10)
    colour = np.array([[1.0, 0.12, 0.1], [1.0, 0.8, 0.1], [0.15, 1.0, 0.35]])
    top = split.camera[:, :12, 22:, :]  # the traffic light's corner
    for i in range(len(split)):
        distance = np.linalg.norm(top[i] - colour[split.light[i]], axis=-1)
        assert distance.min() < 0.15, (i, split.night[i])


# -- the 1-D signal encoder that reads the range scan ------------------------------------------------


@pytest.fixture(scope="module")
def driving_model(drive):
    mt.train.set_seed(0)
    encoders_by_key = {
        "camera": mt.encoders.image_encoder(
            drive.camera_shape, filters=(4, 4), name="camera_encoder"
        ),
        "range": mt.encoders.signal_encoder(
            drive.range_shape, filters=(4, 4), name="range_encoder"
        ),
    }
    return mt.models.assemble_classifier(encoders_by_key, drive.num_classes, hidden_units=8)


def test_assembled_camera_and_range_model_fits_and_round_trips_in_safe_mode(
    drive, driving_model, tmp_path
):
    split = drive.generate(64, seed=15)
    mt.train.fit(driving_model, (split.features, split.labels), epochs=1, batch_size=32)
    path = os.path.join(tmp_path, "driving.keras")
    driving_model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        mt.train.predict(restored, split.features), mt.train.predict(driving_model, split.features)
    )


def test_fit_names_a_range_scan_of_the_wrong_shape(drive, driving_model):
    split = drive.generate(8, seed=16)
    bad = dict(split.features, range=split.ranges[:, :, 0])
    with pytest.raises(
        ValueError,
        match=r"features\['range'\] must have shape \(batch, 64, 1\); received shape \(8, 64\)",
    ):
        mt.train.fit(driving_model, (bad, split.labels), epochs=1)
