"""Draw a piece so it belongs in the photo: the scene's light, perspective, occlusion, shadow.

``ar.composite`` stays the flat, fastest drawing (an affine warp and an alpha blend). ``render``
is the photo path: per face it estimates the light on the face, warps the PNG with a homography
from the head's pose, hides what the head hides and lays a soft contact shadow under the band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ar.composite import Overlay, prepare_overlay
from ar.light import NEUTRAL_LIGHT, LightEstimate, LightSettings, apply_light, estimate_light
from ar.measurement import FaceMeasurement
from ar.occlusion import OcclusionSettings, PersonMask, visibility
from ar.placement import CAMERA_DISTANCE_MM, Placement, band_frame, perspective_homography
from ar.shadow import ShadowSettings, contact_shadow, shadow_strength


@dataclass(frozen=True)
class RenderSettings:
    """Which realism steps run; None (or False) switches a step off."""

    light: LightSettings | None = LightSettings()
    perspective: bool = True
    camera_distance_mm: float = CAMERA_DISTANCE_MM
    occlusion: OcclusionSettings | None = OcclusionSettings()
    shadow: ShadowSettings | None = ShadowSettings()


def _inverse3(matrix: np.ndarray) -> np.ndarray:
    """Invert a 3x3 matrix by its adjugate, in plain floats (np.cross and LAPACK cost more)."""
    (a, b, c), (d, e, f), (g, h, i) = matrix.tolist()
    adjugate = np.array(
        [
            [e * i - f * h, c * h - b * i, b * f - c * e],
            [f * g - d * i, a * i - c * g, c * d - a * f],
            [d * h - e * g, b * g - a * h, a * e - b * d],
        ]
    )
    return adjugate / (a * adjugate[0, 0] + b * adjugate[1, 0] + c * adjugate[2, 0])


def _warp_box(
    homography: np.ndarray,
    overlay_size: tuple[int, int],
    frame_size: tuple[int, int],
    margin: int,
) -> tuple[int, int, int, int] | None:
    """Return the frame region the warped overlay (and its shadow) can touch, or None."""
    width, height = overlay_size
    corners = np.array(
        [
            [-0.5, -0.5, 1],
            [width - 0.5, -0.5, 1],
            [-0.5, height - 0.5, 1],
            [width - 0.5, height - 0.5, 1],
        ]
    )
    mapped = corners @ homography.T
    mapped = mapped[:, :2] / mapped[:, 2:]
    if not np.isfinite(mapped).all():
        return None
    frame_w, frame_h = frame_size
    x0 = max(math.floor(mapped[:, 0].min() + 0.5) - margin, 0)
    y0 = max(math.floor(mapped[:, 1].min() + 0.5) - margin, 0)
    x1 = min(math.ceil(mapped[:, 0].max() + 0.5) + margin, frame_w)
    y1 = min(math.ceil(mapped[:, 1].max() + 0.5) + margin, frame_h)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _homography(
    placement: Placement,
    face: FaceMeasurement | None,
    settings: RenderSettings,
    overlay_size: tuple[int, int],
) -> np.ndarray:
    affine = np.vstack((placement.affine, [0.0, 0.0, 1.0]))
    if not settings.perspective or face is None:
        return affine
    homography = perspective_homography(
        placement, face.rotation, camera_distance_mm=settings.camera_distance_mm
    )
    # A piece reaching behind the lens (absurd poses) falls back to the flat warp.
    width, height = overlay_size
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]])
    return homography if (corners @ homography[2] > 0.2).all() else affine


def _warp(overlay: Overlay, homography: np.ndarray, placement: Placement, box) -> np.ndarray:
    """Warp the pyramid level just above the on-screen size into the box, as float32."""
    x0, y0, x1, y1 = box
    (a, b), (c, d) = placement.affine[:, :2]
    shrink = math.sqrt(abs(a * d - b * c))
    level = 0
    if shrink > 0:
        level = min(max(math.floor(-math.log2(shrink)), 0), len(overlay.levels) - 1)
    factor = 2**level
    # cv2.pyrDown centres level pixel q on full-size pixel factor * q.
    to_box = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1.0]]) @ homography
    patch = cv2.warpPerspective(
        overlay.levels[level],
        to_box @ np.diag([factor, factor, 1.0]),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    return patch.astype(np.float32)


def _band_coordinates(
    placement: Placement, homography: np.ndarray, box
) -> tuple[np.ndarray, np.ndarray]:
    """Return mm along the band and mm up from it for every pixel of the box (float32)."""
    x0, y0, x1, y1 = box
    to_band = band_frame(placement.spec) @ _inverse3(homography)
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    m = to_band.astype(np.float32)
    w = m[2, 0] * xs + m[2, 1] * ys + m[2, 2]
    along = (m[0, 0] * xs + m[0, 1] * ys + m[0, 2]) / w
    up = (m[1, 0] * xs + m[1, 1] * ys + m[1, 2]) / w
    return along, up


def _inner(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]):
    """Return the slices that cut box inner out of an array covering box outer."""
    ox0, oy0 = outer[:2]
    x0, y0, x1, y1 = inner
    return slice(y0 - oy0, y1 - oy0), slice(x0 - ox0, x1 - ox0)


def _render_one(
    frame: np.ndarray,
    overlay: Overlay,
    placement: Placement,
    face: FaceMeasurement | None,
    light: LightEstimate,
    people: PersonMask | None,
    settings: RenderSettings,
) -> None:
    frame_size = (frame.shape[1], frame.shape[0])
    overlay_size = (overlay.width, overlay.height)
    homography = _homography(placement, face, settings, overlay_size)
    # The piece is warped, lit and hidden only over its own box; the wider box around it (the
    # shadow's reach) only ever gets the shadow.
    piece_box = _warp_box(homography, overlay_size, frame_size, 0)
    if piece_box is None:
        return
    shadow = settings.shadow if face is not None else None
    box = piece_box
    if shadow:
        px_per_mm = 1.0 / face.mm_per_px
        box = _warp_box(homography, overlay_size, frame_size, shadow.margin_px(px_per_mm))
    inner = _inner(box, piece_box)
    patch = _warp(overlay, homography, placement, piece_box)
    if settings.light is not None:
        apply_light(patch, light, settings.light)
    occlusion = settings.occlusion if face is not None else None
    person = people.region(*box) if people is not None else None
    if occlusion or shadow:
        along, up = _band_coordinates(placement, homography, box)
    if occlusion:
        half = placement.spec.width_mm / 2
        seen = visibility(
            along[inner],
            half,
            face,
            placement.spec.kind,
            None if person is None else person[inner],
            piece_box,
            occlusion,
        )
        patch *= seen[:, :, None]
    x0, y0, x1, y1 = box
    region = frame[y0:y1, x0:x1]
    base = region.astype(np.float32)
    alpha = patch[:, :, 3] * np.float32(1.0 / 255.0)
    if shadow:
        caster = np.zeros(base.shape[:2], np.float32)
        caster[inner] = alpha
        down = face.rotation[:2, 1] / max(math.hypot(*face.rotation[:2, 1]), 1e-6)
        cast = contact_shadow(caster, up, (float(down[0]), float(down[1])), px_per_mm, shadow)
        cast *= shadow_strength(light, shadow)
        if person is not None:
            cast *= person  # it falls on hair and forehead, never on the background
        base *= 1.0 - cast[:, :, None]
    under = base[inner]
    under *= (1.0 - alpha)[:, :, None]
    under += patch[:, :, :3]
    base += 0.5
    region[...] = np.clip(base, 0, 255).astype(np.uint8)


def render(
    frame_rgb: np.ndarray,
    overlay: np.ndarray | Overlay,
    placements: Sequence[Placement],
    faces: Sequence[FaceMeasurement],
    *,
    people: PersonMask | None = None,
    settings: RenderSettings | None = None,
    inplace: bool = False,
) -> np.ndarray:
    """Draw the piece at each placement with the scene's light, perspective, occlusion, shadow.

    faces are the measurements the placements were made from (placement.face_index); people is
    the person segmentation (ar.occlusion.segment_people), without which only the head model
    hides the band and the shadow may fall on the background too.
    """
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
        raise ValueError(
            f"frame must be an HxWx3 uint8 RGB array, got {frame_rgb.shape} {frame_rgb.dtype}"
        )
    settings = settings or RenderSettings()
    prepared = overlay if isinstance(overlay, Overlay) else prepare_overlay(overlay)
    chosen = [faces[p.face_index] if 0 <= p.face_index < len(faces) else None for p in placements]
    # Every light is read from the untouched photo, before any piece is drawn on it; the
    # shadow follows the light even when the piece's colours are left alone.
    wants_light = settings.light is not None or settings.shadow is not None
    lights = [
        estimate_light(frame_rgb, face.landmarks, settings.light)
        if wants_light and face is not None
        else NEUTRAL_LIGHT
        for face in chosen
    ]
    out = frame_rgb if inplace else frame_rgb.copy()
    for placement, face, light in zip(placements, chosen, lights, strict=True):
        _render_one(out, prepared, placement, face, light, people, settings)
    return out
