"""Estimate a scene's light from the face and adapt a piece's colours to it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Rec. 709 luma weights, applied to sRGB values as photo editors do.
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

# The face's outline in MediaPipe's face mesh (FACEMESH_FACE_OVAL, in order around the face).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip

# The face is read from a copy no wider than this: a light estimate needs no detail.
_SAMPLE_SIDE = 64


@dataclass(frozen=True)
class LightSettings:
    """How strongly the piece follows the light measured on the face."""

    # Bright-side (90th percentile) luma of a face in a well-exposed portrait, 0..1. Skin tones
    # differ, so the bright side is used (it depends more on the light than on the skin) and
    # the response is softened by exposure_power.
    reference_luminance: float = 0.78
    exposure_power: float = 0.8
    min_exposure: float = 0.3
    max_exposure: float = 1.15
    # Chromaticity (r, g, b summing to 1) of skin mid-tones under neutral light; a face bluer or
    # warmer than this reveals the light's colour cast.
    skin_chromaticity: tuple[float, float, float] = (0.43, 0.32, 0.25)
    cast_power: float = 0.5
    max_cast: float = 0.12
    # Metal's highlights mirror the light source: when the scene is darker they keep this
    # fraction of the brightness the exposure would take from them.
    highlight_keep: float = 0.5


@dataclass(frozen=True)
class LightEstimate:
    """The scene's light as seen on one face, ready to apply to a piece."""

    exposure: float  # brightness multiplier for the piece
    white: tuple[float, float, float]  # per-channel multipliers; their luma is 1
    luminance: float  # the face's bright-side luma, 0..1


NEUTRAL_LIGHT = LightEstimate(exposure=1.0, white=(1.0, 1.0, 1.0), luminance=0.78)


def face_pixels(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Return the face's pixels (N x 3 float32, 0..255) from a reduced copy of its box."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    outline = np.asarray(landmarks, dtype=np.float64)[list(FACE_OVAL), :2]
    height, width = rgb.shape[:2]
    x0, y0 = np.floor(outline.min(axis=0)).astype(int)
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.empty((0, 3), np.float32)
    # Every step-th pixel: averages over thousands of samples need no smoothing first.
    step = max(1, -(-max(x1 - x0, y1 - y0) // _SAMPLE_SIDE))
    crop = rgb[y0:y1:step, x0:x1:step]
    mask = np.zeros(crop.shape[:2], np.uint8)
    polygon = np.round((outline - (x0, y0)) / step)
    cv2.fillPoly(mask, [polygon.astype(np.int32)], 1)
    return crop[mask.astype(bool)].astype(np.float32)


def estimate_light(
    rgb: np.ndarray, landmarks: np.ndarray, settings: LightSettings | None = None
) -> LightEstimate:
    """Measure the light on a face: its exposure (bright side) and colour cast (mid-tones)."""
    settings = settings or LightSettings()
    pixels = face_pixels(rgb, landmarks)
    if len(pixels) < 16:
        return NEUTRAL_LIGHT
    luma = pixels @ LUMA / 255.0
    low, bright, high = np.percentile(luma, (20, 90, 97))
    ratio = max(float(bright), 1e-3) / settings.reference_luminance
    exposure = float(
        np.clip(ratio**settings.exposure_power, settings.min_exposure, settings.max_exposure)
    )
    # Mid-tones: not eyes, brows and nostrils (darkest), nor shine on the skin (brightest).
    mids = pixels[(luma >= low) & (luma <= high)]
    mean = mids.mean(axis=0) if len(mids) else pixels.mean(axis=0)
    chroma = mean / max(float(mean.sum()), 1e-6)
    cast = (chroma / np.array(settings.skin_chromaticity)) ** settings.cast_power
    cast = np.clip(cast / float(cast @ LUMA), 1 - settings.max_cast, 1 + settings.max_cast)
    white = cast / float(cast @ LUMA)
    return LightEstimate(
        exposure=exposure,
        white=(float(white[0]), float(white[1]), float(white[2])),
        luminance=float(bright),
    )


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def apply_light(
    patch: np.ndarray, light: LightEstimate, settings: LightSettings | None = None
) -> None:
    """Relight a premultiplied float32 RGBA patch (0..255) in place.

    Mid-tones follow the exposure and the cast; the piece's highlights keep part of their
    brightness when the scene is darker and roll off instead of clipping when it is brighter.
    """
    settings = settings or LightSettings()
    # Whole RGBA pixels at a time (alpha's factor is 1): contiguous arithmetic is much faster
    # than on the colour channels' strided view.
    white = np.array((*light.white, 1.0), dtype=np.float32)
    if light.exposure < 1.0:
        alpha = patch[:, :, 3]
        # Luma of the unpremultiplied colour, 0..1 (0 where the patch is empty).
        luma = patch[:, :, :3] @ LUMA
        luma /= np.maximum(alpha, 1.0)
        boost = np.float32(settings.highlight_keep * (1.0 - light.exposure))
        gain = np.float32(light.exposure) + boost * _smoothstep(0.65, 1.0, luma)
        patch *= gain[:, :, None]
        patch[:, :, 3] = alpha / gain  # alpha is left as it was
        patch *= white
    else:
        white[:3] *= light.exposure
        patch *= white
    top = light.exposure * float(white[:3].max())
    if top > 1.0:
        _shoulder(patch, top)


def _shoulder(patch: np.ndarray, top: float, knee: float = 0.9) -> None:
    """Compress premultiplied colour from knee up to top (times alpha) into knee..1, smoothly."""
    # f(e) = e / (1 + e / m) leaves the slope 1 at the knee and sends top to exactly 1.
    span, room = top - knee, 1.0 - knee
    m = span * room / (span - room)
    # Channel by channel: a max over the strided colour axis is ten times slower.
    brightest = np.maximum(np.maximum(patch[:, :, 0], patch[:, :, 1]), patch[:, :, 2])
    hot = brightest > knee * patch[:, :, 3]
    if not hot.any():
        return
    pixels = patch[hot]
    scale = np.maximum(pixels[:, 3:4], 1e-3)
    excess = np.maximum(pixels[:, :3] - knee * scale, 0.0)
    pixels[:, :3] -= excess
    pixels[:, :3] += excess / (1.0 + excess / (m * scale))
    patch[hot] = pixels
