"""Reading MediaPipe's landmark lists into arrays (the real mesh is covered in test_ar_engine)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pytest

from ar.landmarks import _raw_points


@dataclass
class FakeLandmark:
    x: float
    y: float
    z: float
    visibility: float | None = None


class FakeLandmarkList:
    """Serialises as protobuf does: field 1 repeated, x/y/z (and visibility if set) float32."""

    def __init__(self, landmark: list[FakeLandmark]) -> None:
        self.landmark = landmark

    def SerializeToString(self) -> bytes:  # noqa: N802 (protobuf's name)
        out = b""
        for p in self.landmark:
            body = struct.pack("<BfBfBf", 0x0D, p.x, 0x15, p.y, 0x1D, p.z)
            if p.visibility is not None:
                body += struct.pack("<Bf", 0x25, p.visibility)
            out += bytes([0x0A, len(body)]) + body
        return out


def _points(count: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.uniform(-1, 1, (count, 3)).astype(np.float32).astype(np.float64)


def test_reads_the_serialised_list_exactly():
    expected = _points(478)
    listed = FakeLandmarkList([FakeLandmark(*row) for row in expected])
    points = _raw_points(listed.SerializeToString())
    assert points.dtype == np.float64 and points.shape == (478, 3)
    np.testing.assert_array_equal(points, expected)


def test_other_layouts_are_read_message_by_message():
    expected = _points(5)
    landmarks = [FakeLandmark(*row) for row in expected]
    landmarks[2].visibility = 0.5  # a longer record: the fast path does not apply
    data = FakeLandmarkList(landmarks).SerializeToString()
    np.testing.assert_array_equal(_raw_points(data), expected)
    assert _raw_points(FakeLandmarkList([]).SerializeToString()).shape == (0, 3)


def test_points_are_mapped_to_pixel_centres():
    from ar.landmarks import _points_from

    raw = _points(478)
    listed = FakeLandmarkList([FakeLandmark(*row) for row in raw])
    points = _points_from(listed.SerializeToString(), 320, 240)
    expected = np.column_stack((raw[:, 0] * 320 - 0.5, raw[:, 1] * 240 - 0.5, raw[:, 2] * 320))
    np.testing.assert_array_equal(points, expected)


def _frames() -> list[np.ndarray]:
    """A face turning a little over a few 320 px frames, then a frame with nobody in it."""
    import cv2
    from skimage import data

    face = cv2.resize(data.astronaut(), (320, 320), interpolation=cv2.INTER_AREA)
    frames = []
    for angle in (0, 3, 6, 3):
        matrix = cv2.getRotationMatrix2D((160, 160), angle, 1.0)
        frames.append(cv2.warpAffine(face, matrix, (320, 320), borderMode=cv2.BORDER_REPLICATE))
    frames.append(cv2.resize(data.coffee(), (320, 213), interpolation=cv2.INTER_AREA))
    return frames


@pytest.mark.parametrize("still", [True, False])
def test_the_mesh_runner_answers_exactly_as_mediapipes_process(still):
    # Two graphs side by side, one read through process(), one through _run_mesh: the same
    # landmark lists, byte for byte, frame after frame (in video mode each tracks as it goes).
    from mediapipe.python.solutions import face_mesh

    from ar.landmarks import _run_mesh

    options = {"static_image_mode": still, "max_num_faces": 1, "refine_landmarks": True}
    with face_mesh.FaceMesh(**options) as public, face_mesh.FaceMesh(**options) as lean:
        for frame in _frames():
            expected = [
                f.SerializeToString() for f in public.process(frame).multi_face_landmarks or ()
            ]
            assert _run_mesh(lean, frame) == expected
        assert len(expected) == 0 and len(_run_mesh(lean, _frames()[0])) == 1


def test_the_mesh_runner_falls_back_to_process_without_mediapipes_internals():
    from mediapipe.python.solutions import face_mesh

    from ar.landmarks import _run_mesh

    class Public:
        """Only MediaPipe's public face: process()."""

        def __init__(self, mesh) -> None:
            self.process = mesh.process

    frame = _frames()[0]
    with face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        (expected,) = [f.SerializeToString() for f in mesh.process(frame).multi_face_landmarks]
        assert _run_mesh(Public(mesh), frame) == [expected]
        with pytest.raises(ValueError, match="three channel"):
            _run_mesh(mesh, frame[:, :, 0])
