"""Warp a piece's PNG onto a frame and alpha-blend it, touching only the piece's box."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ar.placement import Placement

# Pyramid levels stop once the smaller side would drop below this.
_MIN_LEVEL_SIDE = 8


@dataclass(frozen=True, eq=False)
class Overlay:
    """A piece's RGBA image, premultiplied and pre-shrunk for fast, alias-free warping."""

    width: int
    height: int
    # Level k is the premultiplied RGBA image shrunk by 2**k (level 0 is full size).
    levels: tuple[np.ndarray, ...] = field(repr=False)


def prepare_overlay(rgba: np.ndarray) -> Overlay:
    """Premultiply an RGBA uint8 image by its alpha and build its half-size pyramid."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(
            f"overlay must be an HxWx4 uint8 RGBA array, got {rgba.shape} {rgba.dtype}"
        )
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    # Premultiplied colour interpolates without dark fringes where transparent pixels are black.
    premultiplied = rgba.copy()
    premultiplied[:, :, :3] = (rgba[:, :, :3] * alpha + 127) // 255
    levels = [premultiplied]
    while min(levels[-1].shape[:2]) >= 2 * _MIN_LEVEL_SIDE:
        levels.append(cv2.pyrDown(levels[-1]))
    height, width = rgba.shape[:2]
    return Overlay(width=width, height=height, levels=tuple(levels))


def overlay_box(
    placement: Placement, overlay_size: tuple[int, int], frame_size: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Return the frame region (x0, y0, x1, y1) the warped overlay can touch, or None if none."""
    width, height = overlay_size
    corners = np.array(
        [
            [-0.5, -0.5, 1.0],
            [width - 0.5, -0.5, 1.0],
            [-0.5, height - 0.5, 1.0],
            [width - 0.5, height - 0.5, 1.0],
        ]
    )
    mapped = corners @ placement.affine.T
    if not np.isfinite(mapped).all():
        return None
    frame_w, frame_h = frame_size
    # Pixel centres within half a pixel of the outline can receive some coverage.
    x0 = max(math.floor(mapped[:, 0].min() + 0.5), 0)
    y0 = max(math.floor(mapped[:, 1].min() + 0.5), 0)
    x1 = min(math.ceil(mapped[:, 0].max() + 0.5), frame_w)
    y1 = min(math.ceil(mapped[:, 1].max() + 0.5), frame_h)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _blend_one(frame: np.ndarray, overlay: Overlay, placement: Placement) -> None:
    frame_h, frame_w = frame.shape[:2]
    box = overlay_box(placement, (overlay.width, overlay.height), (frame_w, frame_h))
    if box is None:
        return
    x0, y0, x1, y1 = box
    affine = placement.affine
    # Pick the pyramid level whose resolution is just above the on-screen size.
    shrink = math.sqrt(abs(np.linalg.det(affine[:, :2])))
    level = 0
    if shrink > 0:
        level = min(max(math.floor(-math.log2(shrink)), 0), len(overlay.levels) - 1)
    factor = 2**level
    linear = affine[:, :2] * factor
    # cv2.pyrDown centres level pixel q on full-size pixel factor * q.
    offset = affine[:, 2] - (x0, y0)
    patch = cv2.warpAffine(
        overlay.levels[level],
        np.column_stack((linear, offset)),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    region = frame[y0:y1, x0:x1]
    inverse_alpha = 255 - patch[:, :, 3:4].astype(np.uint16)
    # Integer "over" with premultiplied colour: exact where alpha is 0 (frame) or 255 (piece).
    blended = patch[:, :, :3] + (region * inverse_alpha + 127) // 255
    np.minimum(blended, 255, out=blended)
    region[...] = blended


def composite(
    frame_rgb: np.ndarray,
    overlay_rgba: np.ndarray | Overlay,
    placements: Sequence[Placement],
    *,
    inplace: bool = False,
) -> np.ndarray:
    """Draw the piece at each placement over an RGB uint8 frame; parts off the frame are clipped.

    Returns a new image unless ``inplace`` is true; pixels outside each piece's box are never
    written. Pass a prepared Overlay to skip premultiplying the PNG on every frame.
    """
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
        raise ValueError(
            f"frame must be an HxWx3 uint8 RGB array, got {frame_rgb.shape} {frame_rgb.dtype}"
        )
    overlay = overlay_rgba if isinstance(overlay_rgba, Overlay) else prepare_overlay(overlay_rgba)
    out = frame_rgb if inplace else frame_rgb.copy()
    for placement in placements:
        _blend_one(out, overlay, placement)
    return out
