"""Convert pixels to millimetres at the face, and estimate head width and circumference."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ar.headsize import IRIS_DIAMETER, REGRESSION, TYPICAL_IPD
from ar.pose import HeadPose

# Horizontal visible iris diameter; nearly constant across adults (MediaPipe Iris uses 11.7 mm).
IRIS_DIAMETER_MM = IRIS_DIAMETER.mean
# Adult mean interpupillary distance (ANSUR II, men and women pooled; see ar.headsize): the
# fallback varies more between people (about +-6 %).
TYPICAL_IPD_MM = TYPICAL_IPD.mean

# Landmark indices of MediaPipe's refined mesh.
_IRIS_A = (468, 469, 471)  # centre, then the two horizontal edge points
_IRIS_B = (473, 474, 476)
_HEAD_SIDES = (234, 454)

# Landmark noise is about a quarter of a pixel: on a smaller iris that is over 5 % of its width,
# no better than assuming a typical eye spacing, which stays stable at low resolution.
MIN_IRIS_PX = 5.0
MAX_IRIS_DISAGREEMENT = 1.25
MAX_IRIS_YAW_DEG = 35.0
# Physiological range of iris diameter over interpupillary distance (10.7-12.7 mm over 54-74 mm);
# outside it the iris points are wrong (closed eyes, glasses glare, occlusion).
IRIS_TO_IPD_RANGE = (0.14, 0.24)


@dataclass(frozen=True)
class ScaleEstimate:
    """Millimetres per pixel at the face and how it was obtained."""

    mm_per_px: float
    source: Literal["iris", "ipd"]
    # Iris diameter and interpupillary distance in pixels, corrected for foreshortening.
    iris_px: float
    ipd_px: float
    reason: str


def _foreshortening(pose: HeadPose) -> float:
    # A length along the face's left-right axis shows at this fraction of its true size.
    return max(math.hypot(*pose.across.tolist()), 0.2)


# The iris points, read out of the (478, 3) array in one step: on every live frame the per-call
# cost of numpy's norm on 2-vectors is most of this function's time.
_IRIS_POINTS = np.array((*_IRIS_A, *_IRIS_B), dtype=np.intp)


def estimate_scale(points: np.ndarray, pose: HeadPose) -> ScaleEstimate:
    """Measure mm/px from both irises, falling back to a typical eye spacing when unreliable."""
    shrink = _foreshortening(pose)
    centre_a, right_a, left_a, centre_b, right_b, left_b = points[_IRIS_POINTS, :2].tolist()
    iris = [
        math.dist(right_a, left_a) / shrink,
        math.dist(right_b, left_b) / shrink,
    ]
    ipd_px = math.dist(centre_a, centre_b) / shrink
    iris_px = (iris[0] + iris[1]) / 2
    if min(iris) < MIN_IRIS_PX:
        problem = f"irises too small to measure ({min(iris):.1f} px)"
    elif max(iris) / min(iris) > MAX_IRIS_DISAGREEMENT:
        problem = "the two irises disagree"
    elif abs(pose.yaw_deg) > MAX_IRIS_YAW_DEG:
        problem = "head turned too far for the irises"
    elif ipd_px <= 0 or not IRIS_TO_IPD_RANGE[0] <= iris_px / ipd_px <= IRIS_TO_IPD_RANGE[1]:
        problem = "iris size implausible for the eye spacing"
    else:
        return ScaleEstimate(IRIS_DIAMETER_MM / iris_px, "iris", iris_px, ipd_px, "iris diameter")
    if ipd_px <= 0:
        raise ValueError("degenerate landmarks: both eyes at the same point")
    return ScaleEstimate(
        TYPICAL_IPD_MM / ipd_px, "ipd", iris_px, ipd_px, f"typical eye spacing: {problem}"
    )


def head_width_px(points: np.ndarray, pose: HeadPose) -> float:
    """Return the temple-to-temple width along the face's own left-right axis, in pixels."""
    right, left = _HEAD_SIDES
    # Using depth too keeps the width true when the head is turned.
    return abs(float((points[left] - points[right]) @ pose.rotation[:, 0]))


def head_circumference_mm(head_width_mm: float) -> float:
    """Estimate the tape circumference from the width at the temples (ar.headsize's regression).

    The interval around it comes from ar.headsize.estimate_circumference.
    """
    return REGRESSION.intercept + REGRESSION.slope * head_width_mm
