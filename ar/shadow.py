"""A soft contact shadow where a piece's band meets the hair or forehead."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ar.light import LightEstimate


@dataclass(frozen=True)
class ShadowSettings:
    """Shape and depth of the shadow, in millimetres on the head."""

    # Darkening right under the band in a well-lit scene (0..1).
    opacity: float = 0.6
    # Only the piece's lowest part, where it rests on the head, casts the contact shadow.
    band_zone_mm: float = 14.0
    # Light from above: the shadow falls this far below the band...
    offset_mm: float = 3.5
    # ...with this much blur (Gaussian sigma).
    blur_mm: float = 3.0

    def margin_px(self, px_per_mm: float) -> int:
        """Return how far the shadow can reach beyond the piece, in pixels."""
        return int(np.ceil((self.offset_mm + 3.0 * self.blur_mm) * px_per_mm)) + 1


def shadow_strength(light: LightEstimate, settings: ShadowSettings) -> float:
    """Scale the shadow with the light: dim, flat light casts a fainter one."""
    return settings.opacity * float(np.clip(light.exposure, 0.2, 1.0))


def contact_shadow(
    alpha: np.ndarray,
    up_mm: np.ndarray,
    down: tuple[float, float],
    px_per_mm: float,
    settings: ShadowSettings,
) -> np.ndarray:
    """Return the shadow (0..1) cast over a patch by the piece's alpha (0..1) there.

    up_mm: each pixel's height above the band's base line on the piece, in mm; down: the unit
    image direction of the head's top-to-chin axis.
    """
    zone = settings.band_zone_mm
    # The band's base and a little of the piece below it, fading out towards the zone's top.
    weight = np.clip((zone - up_mm) / (0.3 * zone), 0.0, 1.0) * (up_mm > -zone)
    caster = alpha * weight.astype(np.float32)
    height, width = caster.shape
    sigma = max(settings.blur_mm * px_per_mm, 0.5)
    # A blur this wide loses nothing at half or quarter resolution, and costs far less there.
    step = 4 if sigma >= 12 else 2 if sigma >= 4 else 1
    if step > 1:
        small = (max(1, width // step), max(1, height // step))
        caster = cv2.resize(caster, small, interpolation=cv2.INTER_AREA)
    shift = settings.offset_mm * px_per_mm / step
    moved = cv2.warpAffine(
        caster,
        np.array([[1.0, 0.0, down[0] * shift], [0.0, 1.0, down[1] * shift]]),
        (caster.shape[1], caster.shape[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    shadow = cv2.GaussianBlur(moved, (0, 0), sigma / step)
    if step > 1:
        shadow = cv2.resize(shadow, (width, height), interpolation=cv2.INTER_LINEAR)
    return shadow
