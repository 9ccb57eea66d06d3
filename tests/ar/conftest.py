"""Shared fixtures for the try-on engine: real photographs, synthetic pieces, engines built once."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw

import ar

GOLD = (212, 175, 55)
RUBY = (200, 20, 40)


def _read_only(array: np.ndarray) -> np.ndarray:
    # Shared session images must not be changed by one test behind another's back.
    array.flags.writeable = False
    return array


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real 512x512 RGB photograph with one frontal face."""
    return _read_only(skimage.data.astronaut())


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """A real photograph with no face."""
    return _read_only(skimage.data.coffee())


@pytest.fixture(scope="session")
def frame_640(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut as a 640x480 webcam-sized frame."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = cv2.resize(astronaut, (480, 480), interpolation=cv2.INTER_AREA)
    return _read_only(frame)


@pytest.fixture(scope="session")
def small_face_frame(astronaut: np.ndarray) -> np.ndarray:
    """A 640x480 frame in which the astronaut's face is only about 60 px wide."""
    frame = np.full((480, 640, 3), 96, np.uint8)
    # The face spans about 0.18 of the photo's width, so 330 px of photo gives a ~60 px face.
    frame[100:430, 250:580] = cv2.resize(astronaut, (330, 330), interpolation=cv2.INTER_AREA)
    return _read_only(frame)


def _crown_rgba() -> np.ndarray:
    image = Image.new("RGBA", (400, 260), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for i in range(5):
        x = 20 + i * 90
        draw.polygon([(x, 200), (x + 45, 30), (x + 90, 200)], fill=(*GOLD, 255))
        draw.ellipse([x + 35, 20, x + 55, 40], fill=(*RUBY, 255))
    draw.rectangle([20, 195, 379, 239], fill=(*GOLD, 255))
    # A semi-transparent veil strip checks blending, not just copying.
    draw.rectangle([60, 175, 339, 194], fill=(255, 255, 255, 128))
    return np.asarray(image).copy()


@pytest.fixture(scope="session")
def crown_rgba() -> np.ndarray:
    """A synthetic gold crown, 400x260 RGBA, transparent around it."""
    return _read_only(_crown_rgba())


@pytest.fixture(scope="session")
def crown_spec() -> ar.PieceSpec:
    """The synthetic crown's spec: the band's base runs along row 239."""
    return ar.PieceSpec.from_dict(
        {"kind": "crown", "width_mm": 150, "band_left": [20, 239], "band_right": [379, 239]}
    )


@pytest.fixture(scope="session")
def tiara_spec() -> ar.PieceSpec:
    """The same artwork seated as a tiara."""
    return ar.PieceSpec.from_dict(
        {"kind": "tiara", "width_mm": 130, "band_left": [20, 239], "band_right": [379, 239]}
    )


@pytest.fixture(scope="session")
def still_engine() -> Iterator[ar.TryOnEngine]:
    """One still-mode engine for the whole session (MediaPipe graphs are costly to build)."""
    with ar.create_engine("still") as engine:
        yield engine


@pytest.fixture(scope="session")
def _video_engine() -> Iterator[ar.TryOnEngine]:
    with ar.create_engine("video") as engine:
        yield engine


@pytest.fixture
def video_engine(_video_engine: ar.TryOnEngine) -> ar.TryOnEngine:
    """The session's video-mode engine with its tracking state cleared."""
    _video_engine.reset()
    return _video_engine


def rotation_for(roll: float, yaw: float, pitch: float) -> np.ndarray:
    """Rotation with ar.pose's sign conventions: roll, then yaw, then pitch applied first."""
    r, y, p = np.radians([roll, yaw, pitch])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    # Positive yaw sends the face's left (x) axis away from the camera (+z).
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    # Positive pitch brings the chin (+y end of the face) towards the camera (-z).
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    return rz @ ry @ rx


@pytest.fixture(scope="session")
def synthetic_face():
    """Build (478, 3) landmarks of the canonical face, posed and scaled as asked."""
    from ar.pose import CANONICAL_FACE_MM

    model = dict(CANONICAL_FACE_MM)
    eyes = {
        468: (np.add(model[33], model[133])) / 2,
        473: (np.add(model[263], model[362])) / 2,
    }

    def make(
        *,
        roll: float = 0.0,
        yaw: float = 0.0,
        pitch: float = 0.0,
        px_per_mm: float = 0.7,
        centre: tuple[float, float] = (320.0, 240.0),
        iris_mm: tuple[float, float] = (11.7, 11.7),
    ) -> np.ndarray:
        points_mm = np.zeros((478, 3))
        for index, xyz in model.items():
            points_mm[index] = xyz
        for (centre_index, eye), diameter in zip(eyes.items(), iris_mm, strict=True):
            radius = diameter / 2
            points_mm[centre_index] = eye
            # Iris edge points in MediaPipe's order: right, top, left, bottom of the image.
            for k, offset in enumerate(((radius, 0), (0, -radius), (-radius, 0), (0, radius))):
                points_mm[centre_index + 1 + k] = eye + (*offset, 0.0)
        used = list(model) + [i for c in eyes for i in range(c, c + 5)]
        unused = np.setdiff1d(np.arange(478), used)
        points_mm[unused] = points_mm[used].mean(axis=0)  # keep them inside the face's box
        posed = points_mm @ rotation_for(roll, yaw, pitch).T * px_per_mm
        posed[:, :2] += centre
        return posed

    return make
