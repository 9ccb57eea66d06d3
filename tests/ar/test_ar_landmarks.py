"""Reading MediaPipe's landmark lists into arrays (the real mesh is covered in test_ar_engine)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

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
    points = _raw_points(listed)
    assert points.dtype == np.float64 and points.shape == (478, 3)
    np.testing.assert_array_equal(points, expected)


def test_other_layouts_are_read_message_by_message():
    expected = _points(5)
    landmarks = [FakeLandmark(*row) for row in expected]
    landmarks[2].visibility = 0.5  # a longer record: the fast path does not apply
    np.testing.assert_array_equal(_raw_points(FakeLandmarkList(landmarks)), expected)
    assert _raw_points(FakeLandmarkList([])).shape == (0, 3)


def test_points_are_mapped_to_pixel_centres():
    from ar.landmarks import _points_from

    raw = _points(478)
    points = _points_from(FakeLandmarkList([FakeLandmark(*row) for row in raw]), 320, 240)
    expected = np.column_stack((raw[:, 0] * 320 - 0.5, raw[:, 1] * 240 - 0.5, raw[:, 2] * 320))
    np.testing.assert_array_equal(points, expected)
