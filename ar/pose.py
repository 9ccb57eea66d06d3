"""Estimate head pose from face-mesh landmarks by rigid alignment with a canonical face.

Sign conventions (image coordinates: x right, y down, z away from the camera):

* ``roll_deg``: angle of the face's left-right axis in the image plane, measured from the image's
  x axis towards its y axis. Positive means the face is turned clockwise on screen (the subject's
  head tilts towards their left shoulder). Rotating the image counter-clockwise by t degrees
  changes roll by -t.
* ``yaw_deg``: elevation of the face's left-right axis out of the image plane. Positive means the
  subject has turned towards their own left, so the nose points to the image's right (in an
  unmirrored photo).
* ``pitch_deg``: elevation of the face's top-to-chin axis out of the image plane. Positive means
  the chin is raised (looking up).

All three are zero for an upright face looking straight into the camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Upper-face landmarks of MediaPipe's canonical face model (mediapipe/modules/face_geometry/data/
# canonical_face_model.obj, Apache-2.0), converted from cm to mm and to image axes: x towards the
# subject's left, y down, z away from the camera. Lips, jaw and brows are left out because they
# move with expression and would tilt the fit.
CANONICAL_FACE_MM: dict[int, tuple[float, float, float]] = {
    1: (0.0, 11.3, -74.8),
    2: (0.0, 20.9, -60.6),
    4: (0.0, 4.6, -75.9),
    5: (0.0, -3.7, -72.4),
    6: (0.0, -24.7, -57.9),
    8: (0.0, -40.2, -52.8),
    9: (0.0, -48.9, -53.9),
    10: (0.0, -82.6, -44.8),
    33: (-44.5, -26.6, -31.7),
    54: (-62.8, -66.2, -14.3),
    67: (-35.2, -80.1, -37.3),
    93: (-75.4, 10.5, 24.3),
    98: (-14.1, 17.1, -52.4),
    103: (-51.3, -74.9, -26.6),
    109: (-18.9, -82.4, -42.7),
    127: (-77.4, -23.6, 20.1),
    132: (-72.7, 28.9, 22.5),
    133: (-18.6, -25.9, -37.6),
    151: (0.0, -65.5, -50.3),
    168: (0.0, -32.7, -52.4),
    195: (0.0, -10.6, -67.7),
    197: (0.0, -17.3, -63.2),
    234: (-76.6, -6.7, 24.4),
    263: (44.5, -26.6, -31.7),
    284: (62.8, -66.2, -14.3),
    297: (35.2, -80.1, -37.3),
    323: (75.4, 10.5, 24.3),
    327: (14.1, 17.1, -52.4),
    332: (51.3, -74.9, -26.6),
    338: (18.9, -82.4, -42.7),
    356: (77.4, -23.6, 20.1),
    361: (72.7, 28.9, 22.5),
    362: (18.6, -25.9, -37.6),
    454: (76.6, -6.7, 24.4),
}
_INDICES = np.array(list(CANONICAL_FACE_MM), dtype=np.intp)
_MODEL = np.array(list(CANONICAL_FACE_MM.values()), dtype=np.float64)
_MODEL_CENTRED = _MODEL - _MODEL.mean(axis=0)
_MODEL_VARIANCE = float((_MODEL_CENTRED**2).sum() / len(_MODEL))


@dataclass(frozen=True)
class HeadPose:
    """Head orientation; see the module docstring for signs."""

    roll_deg: float
    yaw_deg: float
    pitch_deg: float
    # Columns are the face's left-right (towards the subject's left), top-to-chin and
    # front-to-back axes, as unit vectors in image coordinates.
    rotation: np.ndarray = field(compare=False, repr=False)
    # Residual of the rigid fit relative to the face's size; large values mean odd landmarks.
    fit_error: float = 0.0

    @property
    def across(self) -> np.ndarray:
        """Return the face's left-right axis projected into the image (length <= 1)."""
        return self.rotation[:2, 0]

    @property
    def up(self) -> np.ndarray:
        """Return the face's chin-to-top axis projected into the image (length <= 1)."""
        return -self.rotation[:2, 1]


def _det3(m: list[list[float]]) -> float:
    # A 3x3 determinant in plain floats: np.linalg.det's call costs more than the arithmetic.
    return (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )


def _clip_unit(value: float) -> float:
    return min(max(value, -1.0), 1.0)


def estimate_pose(points: np.ndarray) -> HeadPose:
    """Fit the canonical face to (478, 3) landmarks with a similarity transform (Umeyama)."""
    # Runs on every live frame: small arrays, so numpy's per-call cost dominates and the steps
    # below avoid the costlier calls (mean, det, clip) for the same values.
    observed = np.asarray(points, dtype=np.float64)[_INDICES]
    count = len(_MODEL)
    observed_centred = observed - observed.sum(axis=0) / count
    covariance = observed_centred.T @ _MODEL_CENTRED / count
    u, singular, vt = np.linalg.svd(covariance)
    # Force a proper rotation: a mirror-image fit would swap the face's left and right.
    d = np.ones(3)
    d[2] = math.copysign(1.0, _det3(u.tolist()) * _det3(vt.tolist()))
    rotation = (u * d) @ vt
    scale = float((singular * d).sum() / _MODEL_VARIANCE)
    residual = observed_centred - scale * _MODEL_CENTRED @ rotation.T
    size = scale * math.sqrt(_MODEL_VARIANCE)
    rms = math.sqrt(float((residual * residual).sum()) / count)
    fit_error = rms / size if size > 0 else math.inf
    r = rotation.tolist()
    roll = math.degrees(math.atan2(r[1][0], r[0][0]))
    yaw = math.degrees(math.asin(_clip_unit(r[2][0])))
    pitch = math.degrees(math.asin(_clip_unit(-r[2][1])))
    return HeadPose(roll, yaw, pitch, rotation, fit_error)
