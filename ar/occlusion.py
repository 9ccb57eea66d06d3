"""Hide what the head hides: the far end of a turned band, and a tiara's ends in the hair.

Two models work together. The head model (from the mesh's pose) bends the piece's band around
an elliptical head and hides the part whose surface faces away from the camera. MediaPipe's
selfie segmentation says where the person's hair is (the person less the face's skin), so a
tiara's ends are tucked into the hair only where there is hair. The middle of the band, the
piece's front, is never hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ar.light import FACE_OVAL
from ar.measurement import FaceMeasurement

# Segmentation runs on a copy of the heads' box no larger than this a side (the model's own
# input size).
SEGMENT_SIDE = 256


@dataclass(frozen=True)
class OcclusionSettings:
    """How the band wraps the head and how softly it disappears."""

    # Front-to-back radius of the head over its half width (heads are longer than wide).
    head_depth_ratio: float = 1.25
    # The band stands proud of the head, so it stays visible slightly past the silhouette: it is
    # hidden once its surface normal points this far (cosine) away from the camera.
    silhouette_margin: float = 0.08
    # Width of the soft edge, in the same cosine units.
    softness: float = 0.15
    # The band's middle (this fraction of its half width each side) is never hidden.
    front_fraction: float = 0.5
    # A tiara's ends, beyond this fraction of its half width, tuck into the hair...
    tuck_from: float = 0.78
    tuck_to: float = 0.98
    # ...and are hidden this much where the segmentation finds hair.
    tuck_opacity: float = 0.85


@dataclass(frozen=True, eq=False)
class PersonMask:
    """Where the people are: the segmentation of one box of the frame (x0, y0, x1, y1)."""

    box: tuple[int, int, int, int]
    mask: np.ndarray = field(repr=False)  # float32, 0..1, the box's size

    def region(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Return the mask over a frame region; 0 (no person) outside the segmented box."""
        out = np.zeros((y1 - y0, x1 - x0), np.float32)
        bx0, by0, bx1, by1 = self.box
        ix0, iy0, ix1, iy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
        if ix0 < ix1 and iy0 < iy1:
            out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = self.mask[
                iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0
            ]
        return out


def people_box(
    faces: Sequence[FaceMeasurement], frame_size: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Return the frame box holding every head with its hair and piece, or None if no face."""
    if not faces:
        return None
    width, height = frame_size
    boxes = np.array([face.bbox for face in faces], dtype=np.float64)
    x, y, w, h = boxes.T
    # A crown reaches about a face height above the brows; hair spreads sideways.
    x0, y0 = int(max((x - 0.9 * w).min(), 0)), int(max((y - 1.3 * h).min(), 0))
    x1, y1 = int(min((x + 1.9 * w).max(), width)), int(min((y + 1.4 * h).max(), height))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def _shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an image down to size (w, h) without aliasing, at a fraction of INTER_AREA's cost."""
    # INTER_AREA at a fractional scale costs ten times more than at exactly one half (a 2x2
    # mean); halving first leaves a bilinear step of less than 2x, which drops no detail.
    while rgb.shape[1] >= 2 * size[0] and rgb.shape[0] >= 2 * size[1]:
        rgb = cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)


def segment_people(
    segment: Callable[[np.ndarray], np.ndarray],
    rgb: np.ndarray,
    faces: Sequence[FaceMeasurement],
) -> PersonMask | None:
    """Segment only the part of the frame around the heads (finer hair, same cost)."""
    box = people_box(faces, (rgb.shape[1], rgb.shape[0]))
    if box is None:
        return None
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    # The model sees 256x256 whatever it is given: hand it a small copy, scale its answer back.
    scale = min(1.0, SEGMENT_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        small = segment(_shrink(crop, size))
        # A little blur turns the model's stair-stepped edge into a soft one.
        small = cv2.GaussianBlur(small, (0, 0), 1.0)
        mask = cv2.resize(small, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
    else:
        mask = cv2.GaussianBlur(segment(crop), (0, 0), 1.5)
    return PersonMask(box, mask)


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def behind_head(
    along: np.ndarray, half_width_mm: float, rotation: np.ndarray, settings: OcclusionSettings
) -> np.ndarray:
    """Return how hidden (0..1) each band point is behind the head, from mm along the band."""
    s = np.clip(along / half_width_mm, -1.0, 1.0)
    # The band wraps an ellipse: at angle t from the front, its point is (sin t, -k cos t) with
    # normal (sin t, -cos t / k); only the normal's depth after the head's turn matters.
    k = settings.head_depth_ratio
    cos_t = np.sqrt(1.0 - s * s)
    normal_x, normal_z = s, -cos_t / k
    norm = np.sqrt(normal_x * normal_x + normal_z * normal_z)
    depth = (rotation[2, 0] * normal_x + rotation[2, 2] * normal_z) / norm
    margin, soft = settings.silhouette_margin, settings.softness
    hidden = _smoothstep(margin - soft / 2, margin + soft / 2, depth)
    return hidden * front_guard(s, settings)


def front_guard(s: np.ndarray, settings: OcclusionSettings) -> np.ndarray:
    """Return 0 on the band's front (its middle) rising to 1 towards its ends."""
    front = settings.front_fraction
    return _smoothstep(front, front + 0.1, np.abs(s))


def face_mask(face: FaceMeasurement, box: tuple[int, int, int, int]) -> np.ndarray:
    """Return a soft 0..1 mask of the face's skin (inside its outline) over a frame box."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    outline = face.landmarks[list(FACE_OVAL), :2] - (x0, y0)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1.0)
    return cv2.GaussianBlur(mask, (0, 0), 2.0)


def visibility(
    along: np.ndarray,
    half_width_mm: float,
    face: FaceMeasurement,
    kind: str,
    people: np.ndarray | None,
    box: tuple[int, int, int, int],
    settings: OcclusionSettings,
) -> np.ndarray:
    """Return how visible (0..1) each pixel of a piece's patch is once the head hides its part.

    along: mm along the band for each patch pixel; people: the person mask over the patch box
    (None when no segmentation is available: the head model alone decides).
    """
    # The head model alone decides what is behind the head: a flat piece on a turned head can
    # reach past the silhouette, where the segmentation sees sky but the band is round the back.
    hidden = behind_head(along, half_width_mm, face.rotation, settings)
    if people is not None and kind == "tiara":
        s = np.abs(along / half_width_mm)
        hair = people * (1.0 - face_mask(face, box))
        tuck = settings.tuck_opacity * _smoothstep(settings.tuck_from, settings.tuck_to, s)
        np.maximum(hidden, tuck * hair * front_guard(s, settings), out=hidden)
    return 1.0 - hidden
