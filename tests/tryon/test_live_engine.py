"""Live frames run at MediaPipe's own speed: the face mesh alone finds the one person at the
camera, and the slower full-range small-face detector runs only on frames where it found
nobody. Photos still search for every face, small ones included."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from app.tryon import engines, services
from ar import landmarks
from tests.tryon.helpers import astronaut, astronaut_jpeg, coffee, encode


class CountingDetectors:
    """Stands in for MediaPipe's face_detection module and counts the detector's runs."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.runs = 0

    def FaceDetection(self, **options: Any) -> Any:  # noqa: N802 (MediaPipe's name)
        detector = self.real.FaceDetection(**options)
        process = detector.process

        def counted(image: np.ndarray) -> Any:
            self.runs += 1
            return process(image)

        detector.process = counted
        return detector


@pytest.fixture
def detectors(monkeypatch: pytest.MonkeyPatch) -> CountingDetectors:
    counting = CountingDetectors(landmarks.face_detection)
    monkeypatch.setattr(landmarks, "face_detection", counting)
    # Fresh engines, built with the counting detector.
    monkeypatch.setattr(engines, "_live_engine", engines._ProcessEngine(1))
    monkeypatch.setattr(engines, "_photo_engine", engines._ProcessEngine(4))
    return counting


def _small_face_frame() -> bytes:
    """A 640x480 frame whose face (about 60 px) is too small for the mesh's own detector."""
    frame = np.full((480, 640, 3), 96, np.uint8)
    frame[100:430, 250:580] = cv2.resize(astronaut(), (330, 330), interpolation=cv2.INTER_AREA)
    return encode(frame)


def test_a_live_frame_with_one_face_does_not_run_the_small_face_detector(tryon_app, detectors):
    with tryon_app.app_context():
        for _ in range(3):
            result = services.locate_piece(
                frame=astronaut_jpeg(320), slug="test-crown", metal_code=None
            )
            assert len(result.faces) == 1 and len(result.placements) == 1
    assert detectors.runs == 0


def test_the_detector_searches_live_frames_where_the_mesh_found_nobody(tryon_app, detectors):
    with tryon_app.app_context():
        nobody = services.locate_piece(
            frame=encode(cv2.resize(coffee(), (320, 213))), slug="test-crown", metal_code=None
        )
        assert nobody.faces == () and detectors.runs == 1
        small = services.locate_piece(frame=_small_face_frame(), slug="test-crown", metal_code=None)
    assert len(small.faces) == 1 and detectors.runs == 2


def test_photos_still_search_for_every_face(tryon_app, detectors):
    with tryon_app.app_context():
        result = services.try_on_photo(photo=astronaut_jpeg(), slug="test-crown", metal_code=None)
    assert len(result.faces) == 1
    assert detectors.runs == 1  # one face found, up to four wanted: the small-face search ran
    assert services.get_engine().settings.max_faces == 4
    assert engines.get_live_engine().settings.max_faces == 1
