"""Turn one face's landmarks into pose, scale and head size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ar.headsize import CircumferenceEstimate, estimate_circumference
from ar.pose import estimate_pose
from ar.scale import estimate_scale, head_width_px

ConfidenceLevel = Literal["high", "medium", "low"]

# MediaPipe's face mesh with refined eyes and irises.
LANDMARK_COUNT = 478

# Confidence scores map to levels at these thresholds (see confidence_level).
HIGH_CONFIDENCE = 0.75
MEDIUM_CONFIDENCE = 0.45


def confidence_level(score: float) -> ConfidenceLevel:
    """Name a 0..1 confidence score."""
    if score >= HIGH_CONFIDENCE:
        return "high"
    if score >= MEDIUM_CONFIDENCE:
        return "medium"
    return "low"


@dataclass(frozen=True)
class FaceMeasurement:
    """Pose, scale and head size of one face, in the measured image's pixels."""

    bbox: tuple[int, int, int, int]  # x, y, width, height, clipped to the image
    roll_deg: float
    yaw_deg: float
    pitch_deg: float
    mm_per_px: float
    scale_source: Literal["iris", "ipd"]
    head_width_mm: float
    head_circumference_mm: float
    # The 80 % interval around it (see ar.headsize): wider with eye spacing or a turned head.
    head_circumference_range_mm: tuple[float, float]
    # How far the size estimate can be trusted (0..1) and the main reason it is not higher.
    confidence: float
    confidence_reason: str
    landmarks: np.ndarray = field(compare=False, repr=False)
    rotation: np.ndarray = field(compare=False, repr=False)
    # The estimate's spread, for combining frames (ar.headsize.combine_estimates).
    circumference: CircumferenceEstimate | None = field(default=None, compare=False, repr=False)

    @property
    def confidence_level(self) -> ConfidenceLevel:
        """Return the confidence as "high", "medium" or "low"."""
        return confidence_level(self.confidence)

    def to_json(self) -> dict[str, Any]:
        """Return the command line's per-face JSON fields."""
        return {
            "bbox": list(self.bbox),
            "roll_deg": round(self.roll_deg, 2),
            "yaw_deg": round(self.yaw_deg, 2),
            "pitch_deg": round(self.pitch_deg, 2),
            "mm_per_px": round(self.mm_per_px, 4),
            "scale_source": self.scale_source,
            "head_width_mm": round(self.head_width_mm, 1),
            "head_circumference_mm": round(self.head_circumference_mm, 1),
            "head_circumference_range_mm": [
                round(self.head_circumference_range_mm[0], 1),
                round(self.head_circumference_range_mm[1], 1),
            ],
        }


def _bbox(points: np.ndarray, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = image_size
    x0 = min(max(math.floor(points[:, 0].min()), 0), width)
    y0 = min(max(math.floor(points[:, 1].min()), 0), height)
    x1 = min(max(math.ceil(points[:, 0].max()) + 1, 0), width)
    y1 = min(max(math.ceil(points[:, 1].max()) + 1, 0), height)
    return x0, y0, x1 - x0, y1 - y0


def _confidence(
    iris_px: float, scale_source: str, scale_reason: str, yaw: float, pitch: float, fit: float
) -> tuple[float, str]:
    """Score the size estimate by its weakest link."""
    limits: list[tuple[float, str]] = [(1.0, "frontal face measured by the iris")]
    if scale_source != "iris":
        limits.append((0.3, f"scale from {scale_reason}"))
    # Landmark noise is a fraction of a pixel; on a small iris that is several percent of scale.
    if iris_px < 6.0:
        limits.append((0.3, f"face is small in the frame (iris {iris_px:.1f} px)"))
    elif iris_px < 9.0:
        limits.append((0.6, f"face is fairly small in the frame (iris {iris_px:.1f} px)"))
    turn = max(abs(yaw), abs(pitch))
    if turn > 25.0:
        limits.append((0.3, f"head turned {turn:.0f} degrees from the camera"))
    elif turn > 12.0:
        limits.append((0.6, f"head turned {turn:.0f} degrees from the camera"))
    if fit > 0.15:
        limits.append((0.3, "landmarks fit a face poorly"))
    return min(limits, key=lambda item: item[0])


def measure_face(points: np.ndarray, image_size: tuple[int, int]) -> FaceMeasurement:
    """Measure one face from its (478, 3) landmarks; image_size is (width, height)."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (LANDMARK_COUNT, 3):
        raise ValueError(f"expected ({LANDMARK_COUNT}, 3) landmarks, got {points.shape}")
    pose = estimate_pose(points)
    scale = estimate_scale(points, pose)
    width_px = head_width_px(points, pose)
    width_mm = width_px * scale.mm_per_px
    circumference = estimate_circumference(
        width_mm,
        scale_source=scale.source,
        scale_px=scale.iris_px if scale.source == "iris" else scale.ipd_px,
        breadth_px=max(width_px, 1e-6),
        turn_deg=max(abs(pose.yaw_deg), abs(pose.pitch_deg)),
    )
    score, reason = _confidence(
        scale.iris_px, scale.source, scale.reason, pose.yaw_deg, pose.pitch_deg, pose.fit_error
    )
    return FaceMeasurement(
        bbox=_bbox(points, image_size),
        roll_deg=pose.roll_deg,
        yaw_deg=pose.yaw_deg,
        pitch_deg=pose.pitch_deg,
        mm_per_px=scale.mm_per_px,
        scale_source=scale.source,
        head_width_mm=width_mm,
        head_circumference_mm=circumference.mm,
        head_circumference_range_mm=circumference.range_mm,
        confidence=score,
        confidence_reason=reason,
        landmarks=points,
        rotation=pose.rotation,
        circumference=circumference,
    )


def faces_json(
    measurements: Sequence[FaceMeasurement], placements: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Return the command line's JSON document: measure fields, plus band ends when placed."""
    faces = [m.to_json() for m in measurements]
    for placement in placements or ():
        face = faces[placement.face_index]
        face["band_left"] = [round(v, 2) for v in placement.band_left]
        face["band_right"] = [round(v, 2) for v in placement.band_right]
    return {"faces": faces}
