"""Driving-style sensor fusion: a camera image plus a range scan.

A toy version of the perception problem of a car: what does the traffic light
show, and in which lane is the obstacle ahead? Two sensors see the scene:

* a **camera** (a 32 x 32 RGB image in perspective) sees the traffic light's
  colour and, by day, the obstacle; at night an unlit obstacle is invisible,
  while the light still glows;
* a **range sensor** (64 distances across the field of view, like one ring of
  a lidar) sees the obstacle by day and by night, but no colour; in heavy spray
  it is blinded and returns only clutter near the car.

The label is the pair (light, lane): 3 x 3 = 9 classes. Night and spray are
independent and each destroys its sensor's information completely, which
gives exact ceilings: the camera alone fails on the lane at night, the range
sensor alone never sees the light, and the fused model fails only at night in
spray.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import _checks
from .base import Split, Task

__all__ = ["LIGHTS", "LANES", "DrivingSplit", "DrivingSceneTask"]

LIGHTS = ("red", "yellow", "green")
LANES = ("left", "centre", "right")

_LAMP_COLOURS = np.array([[1.0, 0.12, 0.1], [1.0, 0.8, 0.1], [0.15, 1.0, 0.35]], dtype="float32")
_CAR_COLOURS = np.array(
    [[0.85, 0.1, 0.1], [0.1, 0.2, 0.8], [0.95, 0.95, 0.95], [0.1, 0.1, 0.1], [0.9, 0.75, 0.1]],
    dtype="float32",
)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class DrivingSplit(Split):
    """One split of :class:`DrivingSceneTask`: both sensors' readings, labels and the hidden causes.

    ``features`` is ``{"camera": camera, "range": ranges}``; ``labels`` is
    ``light * 3 + lane``.

    Attributes:
        light, lane: the true light state and obstacle lane.
        distance: the obstacle's distance ahead, in metres.
        night: the camera cannot see the obstacle.
        spray: the range sensor is blinded.
    """

    light: np.ndarray
    lane: np.ndarray
    distance: np.ndarray
    night: np.ndarray
    spray: np.ndarray

    @property
    def camera(self) -> np.ndarray:
        """float32 ``(n, 32, 32, 3)`` in [0, 1]."""
        return self.features["camera"]

    @property
    def ranges(self) -> np.ndarray:
        """float32 ``(n, beams, 1)``, distance / ``max_range`` in [0, 1]."""
        return self.features["range"]


@dataclasses.dataclass(frozen=True)
class DrivingSceneTask(Task):
    """Name the traffic light and the obstacle's lane from a camera and a range scan.

    Label ``y = light * 3 + lane`` (9 classes). With night rate ``a`` and
    spray rate ``b`` (independent), the best possible accuracies are

    * both sensors: ``1 - a * b * 2 / 3`` (only night *and* spray hide the lane)
    * camera only: ``(1 - a) + a / 3`` (the lane is a guess at night)
    * range only: ``((1 - b) + b / 3) / 3`` (the light is always a guess)

    Args:
        night_rate: probability ``a`` that the scene is at night.
        spray_rate: probability ``b`` that the range sensor is blinded.
        beams: number of range readings across the field of view (>= 16).

    Example:
        >>> task = DrivingSceneTask()
        >>> split = task.generate(4, seed=0)
        >>> split.features["camera"].shape, split.features["range"].shape
        ((4, 32, 32, 3), (4, 64, 1))
    """

    night_rate: float = 0.5
    spray_rate: float = 0.3
    beams: int = 64

    image_size = 32
    field_of_view_deg = 80.0
    max_range = 40.0
    lane_width = 3.0
    wall_offset = 7.0

    split_sizes = (3000, 500, 1500)

    def __post_init__(self):
        owner = type(self).__name__
        self._store(
            **self._probabilities("night_rate", "spray_rate"),
            beams=_checks.integer("beams", self.beams, minimum=16, owner=owner),
        )

    # -- what the task is ---------------------------------------------------
    @property
    def class_names(self) -> tuple:
        """Names such as ``"red / left"``, indexed by label."""
        return tuple(f"{light} / {lane}" for light in LIGHTS for lane in LANES)

    @property
    def camera_shape(self) -> tuple:
        return (self.image_size, self.image_size, 3)

    @property
    def range_shape(self) -> tuple:
        return (self.beams, 1)

    def input_specs(self) -> dict:
        """``{"camera": ((32, 32, 3), "float32"), "range": ((beams, 1), "float32")}``."""
        return {"camera": (self.camera_shape, "float32"), "range": (self.range_shape, "float32")}

    @property
    def angles(self) -> np.ndarray:
        """Beam directions in radians, left (negative) to right."""
        half = np.deg2rad(self.field_of_view_deg) / 2
        return np.linspace(-half, half, self.beams)

    # -- analytic ceilings --------------------------------------------------
    def ceilings(self) -> dict:
        """``{"bayes", "camera", "range", "chance", "majority"}`` accuracies (see the class docstring).

        >>> {k: round(v, 3) for k, v in DrivingSceneTask().ceilings().items()}
        {'bayes': 0.9, 'camera': 0.667, 'range': 0.267, 'chance': 0.111, 'majority': 0.111}
        """
        return self._with_baselines(
            bayes=self.bayes_accuracy,
            camera=self.camera_only_accuracy,
            range=self.range_only_accuracy,
        )

    @property
    def bayes_accuracy(self) -> float:
        return 1.0 - self.night_rate * self.spray_rate * (1.0 - 1.0 / len(LANES))

    @property
    def camera_only_accuracy(self) -> float:
        return (1.0 - self.night_rate) + self.night_rate / len(LANES)

    @property
    def range_only_accuracy(self) -> float:
        return ((1.0 - self.spray_rate) + self.spray_rate / len(LANES)) / len(LIGHTS)

    def condition_ceilings(self) -> dict:
        """Best accuracy of each model in each condition: ``(night, spray) -> {model: accuracy}``."""
        guess_lane, guess_light = 1.0 / len(LANES), 1.0 / len(LIGHTS)
        out = {}
        for night in (False, True):
            for spray in (False, True):
                out[(night, spray)] = {
                    "camera + range": guess_lane if (night and spray) else 1.0,
                    "camera only": guess_lane if night else 1.0,
                    "range only": guess_light * (guess_lane if spray else 1.0),
                }
        return out

    # -- generation ---------------------------------------------------------
    def generate(self, n: int, seed: int = 0) -> DrivingSplit:
        """Draw ``n`` scenes; the same ``seed`` gives the same scenes."""
        n, rng = self._generator(n, seed)
        light = rng.integers(0, len(LIGHTS), n)
        lane = rng.integers(0, len(LANES), n)
        night = rng.random(n) < self.night_rate
        spray = rng.random(n) < self.spray_rate
        distance = rng.uniform(7.0, 15.0, n)
        lateral = (lane - 1) * self.lane_width + rng.uniform(-0.3, 0.3, n)
        camera = self._camera(light, lateral, distance, night, rng)
        ranges = self._scan(lateral, distance, spray, rng)
        return DrivingSplit(
            features={"camera": camera, "range": ranges},
            labels=(light * len(LANES) + lane).astype("int32"),
            light=light.astype("int32"),
            lane=lane.astype("int32"),
            distance=distance.astype("float32"),
            night=night,
            spray=spray,
        )

    # -- the sensors ----------------------------------------------------------
    def _scan(self, lateral, distance, spray, rng) -> np.ndarray:
        """Distances along each beam to the side walls or the obstacle (a 1.8 m wide box),
        with 0.2 m noise and 2% dropouts; blinded scans hold only near clutter."""
        n = lateral.shape[0]
        theta = self.angles[None, :]
        walls = np.minimum(
            self.wall_offset / np.maximum(np.abs(np.sin(theta)), 1e-9), self.max_range
        )
        walls = np.broadcast_to(walls, (n, self.beams))
        hits = np.abs(distance[:, None] * np.tan(theta) - lateral[:, None]) <= 0.9
        clear = np.where(hits, distance[:, None] / np.cos(theta), walls)
        clear = clear + 0.2 * rng.standard_normal((n, self.beams))
        clear = np.where(rng.random((n, self.beams)) < 0.02, self.max_range, clear)
        clutter = np.where(
            rng.random((n, self.beams)) < 0.7,
            rng.uniform(0.5, 5.0, (n, self.beams)),
            self.max_range,
        )
        scan = np.where(spray[:, None], clutter, clear)
        return (np.clip(scan, 0.0, self.max_range) / self.max_range)[..., None].astype("float32")

    def _camera(self, light, lateral, distance, night, rng) -> np.ndarray:
        """A pinhole camera 1.5 m above the road (focal length 32 px, horizon on row 12)."""
        n, size = light.shape[0], self.image_size
        horizon, focal, height = 12, 32.0, 1.5
        rows = np.arange(size, dtype="float32")[:, None]
        cols = np.arange(size, dtype="float32")[None, :]
        depth = focal * height / np.maximum(rows - horizon, 0.5)  # ground depth seen on each row
        lateral_at = (cols - size / 2 + 0.5) * depth / focal  # ground lateral position per pixel
        road = (rows > horizon) & (np.abs(lateral_at) <= 1.5 * self.lane_width)
        half_pixel = 0.5 * depth / focal  # lane lines and road edges: one pixel wide
        marks = (rows > horizon) & (
            (np.abs(np.abs(lateral_at) - 0.5 * self.lane_width) <= half_pixel)
            | (np.abs(np.abs(lateral_at) - 1.5 * self.lane_width) <= half_pixel)
        )
        sky = np.broadcast_to(rows <= horizon, (size, size))

        day = ~night[:, None, None, None]
        brightness = np.where(day, 1.0, 0.08)
        image = np.where(sky[None, ..., None], [0.55, 0.75, 0.95], [0.25, 0.5, 0.2]).astype(
            "float32"
        )
        image = np.where(road[None, ..., None], np.float32(0.42), image)
        image = np.where(marks[None, ..., None], np.float32(0.9), image)
        image = image * brightness

        # The obstacle: a box 1.8 m wide and 1.5 m tall, drawn by day only.
        left = size / 2 + focal * (lateral - 0.9) / distance
        right = size / 2 + focal * (lateral + 0.9) / distance
        bottom = horizon + focal * height / distance
        top = bottom - focal * 1.5 / distance
        box = (
            (cols[None] >= left[:, None, None])
            & (cols[None] < right[:, None, None])
            & (rows[None] >= top[:, None, None])
            & (rows[None] < bottom[:, None, None])
            & day[..., 0]
        )
        car = _CAR_COLOURS[rng.integers(0, len(_CAR_COLOURS), n)][:, None, None, :]
        image = np.where(box[..., None], car, image)

        # The traffic light: a dark housing with three lamps, the lit one glowing day and night.
        x0 = rng.integers(24, 28, n)[:, None, None]
        y0 = rng.integers(1, 3, n)[:, None, None]
        housing = (
            (cols[None] >= x0) & (cols[None] < x0 + 3) & (rows[None] >= y0) & (rows[None] < y0 + 9)
        )
        image = np.where(housing[..., None], np.float32(0.1) * brightness, image)
        for lamp in range(len(LIGHTS)):
            spot = (
                (cols[None] == x0 + 1)
                & (rows[None] >= y0 + 1 + 3 * lamp)
                & (rows[None] < y0 + 3 + 3 * lamp)
            )
            lit = (light == lamp)[:, None, None, None]
            colour = np.where(lit, _LAMP_COLOURS[lamp], 0.25 * _LAMP_COLOURS[lamp] * brightness)
            image = np.where(spot[..., None], colour, image)

        image = image + 0.03 * rng.standard_normal(image.shape)
        return np.clip(image, 0.0, 1.0).astype("float32")
