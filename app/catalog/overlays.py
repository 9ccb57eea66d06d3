"""Try-on overlays: staff upload a piece's transparent PNG per metal, then calibrate its band.

An overlay is a front view of the piece on transparency. Uploading one (new, or replacing the
last) leaves it uncalibrated (``calibrated_at`` NULL), so buyers are not offered it
(catalog.services.get_product and tryon.services look only at calibrated ones) until staff have
dragged the band's two ends onto the picture and entered its real width; see
:func:`calibrate_overlay`. The checks that a calibration makes are also run, without saving, for
the preview (:func:`proposed_calibration`).

Files live in the media storage beside the demo's artwork (``<slug>/overlay-<metal>.png``), as
``<slug>/overlay-<metal>-<random>.png``: a new name for every upload, so a rolled-back
replacement leaves the old picture intact, and browsers, which may keep public artwork for a
day, never pair a cached old picture with a new calibration. The old file goes once the
replacement has committed; the new one is deleted if it rolls back.

Callers own the transaction (``with atomic():``); nothing here commits.
"""

from __future__ import annotations

import io
import logging
import math
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from PIL import Image, UnidentifiedImageError
from sqlalchemy import null, select

import ar
from app.catalog.models import Metal, Overlay, Product
from app.common.caching import catalogue_changed
from app.common.locks import lock_names, lock_row
from app.common.storage import media_storage
from app.common.transactions import on_commit, on_rollback
from app.common.uploads import UploadError, sniff
from app.domain.clock import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

MAX_OVERLAY_BYTES = 8 * 1024 * 1024
# Smaller than this there is too little picture to place a band on precisely.
MIN_OVERLAY_WIDTH = 200
MIN_OVERLAY_HEIGHT = 60
# The piece never covers more than about 2000 px of a full-size photo (tryon's working side is
# 2048 px), and each overlay a process has prepared stays in memory (RGBA and its pyramid).
MAX_OVERLAY_SIDE = 3000
MAX_OVERLAY_PIXELS = 4_000_000
# Alpha from which a pixel counts as part of the piece.
OPAQUE_ALPHA = 128
# A cut-out has its background removed: at least this share of its pixels see-through ...
MIN_TRANSPARENT_SHARE = 0.05
# ... and at least this share of them showing the piece.
MIN_OPAQUE_SHARE = 0.005

# Real band widths, in millimetres: from a child's coronet to a generous crown.
MIN_WIDTH_MM = 80.0
MAX_WIDTH_MM = 220.0
DEFAULT_WIDTH_MM = {"crown": 160.0, "tiara": 140.0}
# The band of a front view is near level and runs along most of the piece.
MAX_BAND_SLOPE_DEG = 15.0
MIN_BAND_SHARE_OF_PIECE = 0.5
# Share of the band's line that must lie on the piece (within BAND_REACH of it, up or down).
MIN_BAND_ON_PIECE = 0.8
BAND_REACH_SHARE = 0.01  # of the picture's height, at least 2 px
MAX_BAND_SAMPLES = 4000


class OverlayError(Exception):
    """Base of this module's errors; the message is for the staff member."""


class ProductNotFound(OverlayError):
    pass


class MetalNotOffered(OverlayError):
    """The product is not made in that metal."""


class OverlayNotFound(OverlayError):
    """No overlay uploaded for the product in that metal."""


class OverlayRejected(OverlayError):
    """The uploaded file cannot be an overlay; the message says why."""


class CalibrationRejected(OverlayError):
    """The band or width cannot be right; ``field`` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OverlayReplaced(CalibrationRejected):
    """The picture changed since the page was loaded: the band was drawn on another one."""


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetalOverlay:
    """One metal of a product and its overlay, if any."""

    metal: Metal
    offered: bool
    overlay: Overlay | None

    @property
    def calibrated(self) -> bool:
        return self.overlay is not None and self.overlay.calibrated_at is not None


@dataclass(frozen=True)
class OverlayBoard:
    product: Product
    metals: tuple[MetalOverlay, ...]


def get_board(*, product_id: int) -> OverlayBoard:
    """The product with each metal it is offered in (and any other metal it has an overlay for)."""
    product = _product(product_id)
    overlays = {o.metal_id: o for o in product.overlays}
    rows = [MetalOverlay(m, True, overlays.pop(m.id, None)) for m in product.metals]
    rows += [
        MetalOverlay(o.metal, False, o)
        for o in sorted(overlays.values(), key=lambda o: o.metal.position)
    ]
    return OverlayBoard(product, tuple(rows))


def _product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise ProductNotFound("No such product.")
    return product


def _metal(product: Product, metal_code: str, *, offered_only: bool) -> Metal:
    metal = next((m for m in product.metals if m.code == metal_code), None)
    if metal is None and not offered_only:
        metal = next((o.metal for o in product.overlays if o.metal.code == metal_code), None)
    if metal is None:
        raise MetalNotOffered(f"{product.name} is not offered in {metal_code[:32]!r}.")
    return metal


def _overlay(product: Product, metal: Metal) -> Overlay | None:
    return db.session.execute(
        select(Overlay).where(Overlay.product_id == product.id, Overlay.metal_id == metal.id)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class OverlayForCalibration:
    product: Product
    metal: Metal
    overlay: Overlay
    width: int
    height: int


def get_for_calibration(*, product_id: int, metal_code: str) -> OverlayForCalibration:
    """The overlay of the product in a metal, with its picture's size."""
    product = _product(product_id)
    metal = _metal(product, metal_code, offered_only=False)
    overlay = _overlay(product, metal)
    if overlay is None:
        raise OverlayNotFound(f"No overlay uploaded yet for {product.name} in {metal.name}.")
    alpha = _alpha(overlay.path)
    return OverlayForCalibration(product, metal, overlay, alpha.shape[1], alpha.shape[0])


# --- uploading ------------------------------------------------------------------------------


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def check_overlay_png(data: bytes) -> np.ndarray:
    """Return the upload as an RGBA array if it can be a try-on overlay; OverlayRejected if not.

    Type by content, then size from the header, then pixels: nothing big is decoded first.
    """
    if not data:
        raise OverlayRejected("No file arrived; choose a PNG to upload.")
    if len(data) > MAX_OVERLAY_BYTES:
        raise OverlayRejected(
            f"That file is over {MAX_OVERLAY_BYTES // (1024 * 1024)} MB; an overlay is a PNG of "
            "at most 3000 pixels a side, usually well under 2 MB."
        )
    try:
        content_type, _ = sniff(data)
    except UploadError as exc:
        raise OverlayRejected(
            f"{exc} An overlay must be a PNG with a transparent background."
        ) from exc
    if content_type != "image/png":
        kind = content_type.split("/")[1].upper().replace("JPEG", "JPEG photo")
        raise OverlayRejected(
            f"That file is a {kind}, not a PNG (whatever its name says). An overlay must be a "
            "PNG with a transparent background."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            header = Image.open(io.BytesIO(data))
        with header:
            width, height = header.size
            has_alpha = _has_alpha(header)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise OverlayRejected("That PNG cannot be read; export it again.") from exc
    if width < MIN_OVERLAY_WIDTH or height < MIN_OVERLAY_HEIGHT:
        raise OverlayRejected(
            f"That picture is only {width}×{height} pixels: too small to place the band "
            f"precisely. Export it at least {MIN_OVERLAY_WIDTH}×{MIN_OVERLAY_HEIGHT} (about "
            "900 pixels wide is ideal)."
        )
    if max(width, height) > MAX_OVERLAY_SIDE or width * height > MAX_OVERLAY_PIXELS:
        raise OverlayRejected(
            f"That picture is {width}×{height} pixels; an overlay may be at most "
            f"{MAX_OVERLAY_SIDE} pixels a side and {MAX_OVERLAY_PIXELS // 1_000_000} megapixels "
            "(about 900 pixels wide is ideal)."
        )
    if not has_alpha:
        raise OverlayRejected(
            "That PNG has no transparency (no alpha channel): export the piece on a transparent "
            "background, not on white or black."
        )
    try:
        rgba = ar.decode_overlay(data, max_pixels=MAX_OVERLAY_PIXELS)
    except ar.InvalidImage as exc:
        raise OverlayRejected("That PNG is damaged or incomplete; export it again.") from exc
    alpha = rgba[:, :, 3]
    see_through = float(np.count_nonzero(alpha < OPAQUE_ALPHA)) / alpha.size
    if see_through < MIN_TRANSPARENT_SHARE:
        raise OverlayRejected(
            "That PNG is opaque (almost) everywhere: its background was not removed. Export the "
            "piece alone on a transparent background."
        )
    if 1.0 - see_through < MIN_OPAQUE_SHARE:
        raise OverlayRejected(
            "That PNG is transparent (almost) everywhere: there is no piece to see in it."
        )
    return rgba


def _png(rgba: np.ndarray) -> bytes:
    # Re-encoded from the decoded pixels: what browsers show staff and what ar composites are
    # the same pixels (no EXIF rotation, 16-bit or palette surprises), without foreign chunks.
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def suggest_band(alpha: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Guess the band's ends: the lowest row, in the piece's lower half, about as wide as it gets.

    A front view's band is widest at its bottom rim's two corners, below which the rim curves
    away. Only a starting point for staff to drag: the demo's crowns come out within ten pixels.
    """
    opaque = alpha >= OPAQUE_ALPHA
    rows = np.flatnonzero(opaque.any(axis=1))
    cols = np.flatnonzero(opaque.any(axis=0))
    if rows.size == 0:
        height, width = alpha.shape
        return (0.0, height - 1.0), (width - 1.0, height - 1.0)
    top, bottom = int(rows[0]), int(rows[-1])
    counts = opaque.sum(axis=1)
    lower = np.arange(alpha.shape[0]) >= (top + bottom) / 2
    wide = np.flatnonzero(lower & (counts >= 0.97 * counts[lower].max()))
    row = int(wide[-1]) if wide.size else bottom
    xs = np.flatnonzero(opaque[row])
    left, right = (int(xs[0]), int(xs[-1])) if xs.size >= 2 else (int(cols[0]), int(cols[-1]))
    if right - left < 2:
        left, right = int(cols[0]), int(cols[-1])
    return (float(left), float(row)), (float(max(right, left + 2)), float(row))


def _default_width_mm(product: Product, metal: Metal) -> float:
    # The same piece in another metal has the same band: start from its calibrated width.
    for other in product.overlays:
        if other.metal_id != metal.id and other.calibrated_at is not None:
            width = other.spec.get("width_mm") if isinstance(other.spec, dict) else None
            if isinstance(width, int | float) and MIN_WIDTH_MM <= width <= MAX_WIDTH_MM:
                return float(width)
    return DEFAULT_WIDTH_MM.get(product.kind, 150.0)


def upload_overlay(*, product_id: int, metal_code: str, data: bytes, by_user_id: int) -> Overlay:
    """Store a new overlay for the product in a metal, replacing any, uncalibrated until staff
    calibrate it (so buyers lose the try-on in that metal until then).

    Raises:
        ProductNotFound, MetalNotOffered: no such product, or not offered in that metal.
        OverlayRejected: the file cannot be an overlay (see check_overlay_png).
    """
    product = _product(product_id)
    metal = _metal(product, metal_code, offered_only=True)
    rgba = check_overlay_png(data)
    png = _png(rgba)
    # Two uploads for the same piece and metal at once: one waits, then replaces the other's.
    lock_names(f"overlay:{product.id}:{metal.id}")
    overlay = _overlay(product, metal)
    band_left, band_right = suggest_band(rgba[:, :, 3])
    spec = ar.PieceSpec(product.kind, _default_width_mm(product, metal), band_left, band_right)
    key = f"{product.slug}/overlay-{metal.code}-{secrets.token_hex(8)}.png"
    media = media_storage()
    media.put(key, png, content_type="image/png")
    on_rollback(lambda: media.delete(key))
    if overlay is None:
        # null(): a plain None on insert would let the column's default (now) fill it in.
        overlay = Overlay(product_id=product.id, metal_id=metal.id, path=key, calibrated_at=null())
        db.session.add(overlay)
    else:
        old_key = overlay.path
        if old_key != key:
            on_commit(lambda: media.delete(old_key))
        overlay.path = key
        overlay.calibrated_at = None
    overlay.spec = spec.to_dict()
    overlay.calibrated_by_id = None
    db.session.flush()
    catalogue_changed()
    log.info(
        "overlay %s for %s in %s uploaded by user %s (%dx%d)",
        key,
        product.slug,
        metal.code,
        by_user_id,
        rgba.shape[1],
        rgba.shape[0],
    )
    return overlay


# --- calibrating ----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _alpha_of(location: str, key: str, version: str) -> np.ndarray:
    alpha = ar.decode_overlay(media_storage().read(key), max_pixels=MAX_OVERLAY_PIXELS)[:, :, 3]
    alpha.setflags(write=False)
    return alpha


def _alpha(key: str) -> np.ndarray:
    """The stored overlay's alpha channel (cached per file version)."""
    media = media_storage()
    try:
        return _alpha_of(media.location, key, media.version(key))
    except (OSError, ar.InvalidImage) as exc:
        log.error("overlay %s%s unreadable: %s", media.location, key, exc)
        raise OverlayNotFound(
            "The overlay's picture cannot be read just now; upload it again."
        ) from None


def band_on_piece(
    alpha: np.ndarray, band_left: tuple[float, float], band_right: tuple[float, float]
) -> float:
    """Return the share of the band's line that lies on the piece (alpha >= OPAQUE_ALPHA).

    Each point along the line counts if the piece is within a small reach above or below it,
    since the band's base line is its bottom edge and a hand-dragged handle is never exact.
    """
    height, width = alpha.shape
    length = math.dist(band_left, band_right)
    count = int(min(MAX_BAND_SAMPLES, max(2, math.ceil(length) + 1)))
    xs = np.clip(np.rint(np.linspace(band_left[0], band_right[0], count)), 0, width - 1)
    ys = np.clip(np.rint(np.linspace(band_left[1], band_right[1], count)), 0, height - 1)
    reach = max(2, round(height * BAND_REACH_SHARE))
    rows = np.clip(
        ys.astype(np.intp)[None, :] + np.arange(-reach, reach + 1)[:, None], 0, height - 1
    )
    nearest = alpha[rows, xs.astype(np.intp)[None, :]].max(axis=0)
    return float(np.count_nonzero(nearest >= OPAQUE_ALPHA)) / count


def check_calibration(
    *,
    alpha: np.ndarray,
    kind: str,
    band_left: tuple[float, float],
    band_right: tuple[float, float],
    width_mm: float,
) -> ar.PieceSpec:
    """Return the spec if the band and width fit this overlay; CalibrationRejected if not."""
    height, width = alpha.shape
    if not isinstance(width_mm, int | float) or not math.isfinite(width_mm):
        raise CalibrationRejected("Enter the band's width in millimetres.", field="width_mm")
    if not MIN_WIDTH_MM <= width_mm <= MAX_WIDTH_MM:
        raise CalibrationRejected(
            f"A band of {width_mm:g} mm cannot be right: measure the band from end to end "
            f"({MIN_WIDTH_MM:g} to {MAX_WIDTH_MM:g} mm).",
            field="width_mm",
        )
    for name, label, (x, y) in (
        ("band_left", "left", band_left),
        ("band_right", "right", band_right),
    ):
        if not (math.isfinite(x) and math.isfinite(y)) or not (
            0 <= x <= width - 1 and 0 <= y <= height - 1
        ):
            raise CalibrationRejected(
                f"The band's {label} end ({x:g}, {y:g}) lies outside the {width}×{height} "
                f"picture: x runs 0 to {width - 1}, y 0 to {height - 1}.",
                field=name,
            )
    if band_right[0] <= band_left[0]:
        raise CalibrationRejected(
            "The band's left end must lie to the left of its right end; the two are swapped.",
            field="band_left",
        )
    try:
        spec = ar.PieceSpec.from_dict(
            {
                "kind": kind,
                "width_mm": float(width_mm),
                "band_left": [float(v) for v in band_left],
                "band_right": [float(v) for v in band_right],
            }
        )
    except ar.InvalidSpec as exc:
        raise CalibrationRejected(f"That calibration cannot be used: {exc}.") from None
    dx = band_right[0] - band_left[0]
    dy = band_right[1] - band_left[1]
    slope = abs(math.degrees(math.atan2(dy, dx)))
    if slope > MAX_BAND_SLOPE_DEG:
        raise CalibrationRejected(
            f"The band slopes by {slope:.0f}°; in a front view it is level (at most "
            f"{MAX_BAND_SLOPE_DEG:g}°). Put each handle on an end of the band.",
            field="band_right",
        )
    cols = np.flatnonzero((alpha >= OPAQUE_ALPHA).any(axis=0))
    piece_width = int(cols[-1] - cols[0] + 1) if cols.size else width
    if spec.band_length < MIN_BAND_SHARE_OF_PIECE * piece_width:
        raise CalibrationRejected(
            f"The band is {spec.band_length:.0f} pixels long but the piece is {piece_width} "
            "pixels wide: put the handles on the two ends of the band.",
            field="band_right",
        )
    on_piece = band_on_piece(alpha, spec.band_left, spec.band_right)
    if on_piece < MIN_BAND_ON_PIECE:
        raise CalibrationRejected(
            f"The band line crosses empty, see-through picture for {1 - on_piece:.0%} of its "
            "length: put both handles on the bottom edge of the band itself.",
            field="band_left",
        )
    return spec


@dataclass(frozen=True)
class ProposedCalibration:
    product: Product
    metal: Metal
    overlay: Overlay
    spec: ar.PieceSpec


def proposed_calibration(
    *,
    product_id: int,
    metal_code: str,
    band_left: tuple[float, float],
    band_right: tuple[float, float],
    width_mm: float,
    version: str | None = None,
) -> ProposedCalibration:
    """Check a calibration without saving it (for the preview); see calibrate_overlay."""
    product = _product(product_id)
    metal = _metal(product, metal_code, offered_only=False)
    overlay = _overlay(product, metal)
    if overlay is None:
        raise OverlayNotFound(f"No overlay uploaded yet for {product.name} in {metal.name}.")
    return ProposedCalibration(
        product,
        metal,
        overlay,
        _checked(overlay, product, band_left, band_right, width_mm, version),
    )


def _checked(
    overlay: Overlay,
    product: Product,
    band_left: tuple[float, float],
    band_right: tuple[float, float],
    width_mm: float,
    version: str | None,
) -> ar.PieceSpec:
    if version is not None and version != overlay.path:
        raise OverlayReplaced(
            "The overlay's picture was replaced while this page was open; the band was placed "
            "on the old one. Check the new picture and place the band again."
        )
    return check_calibration(
        alpha=_alpha(overlay.path),
        kind=product.kind,
        band_left=band_left,
        band_right=band_right,
        width_mm=width_mm,
    )


def calibrate_overlay(
    *,
    product_id: int,
    metal_code: str,
    band_left: tuple[float, float],
    band_right: tuple[float, float],
    width_mm: float,
    version: str,
    by_user_id: int,
    now: datetime | None = None,
) -> Overlay:
    """Save the band's ends (in the picture's pixels) and real width: buyers can try it on.

    ``version`` is the overlay's stored picture the staff member calibrated on (its key): if it
    was replaced meanwhile, the calibration is refused rather than applied to another picture.

    Raises:
        ProductNotFound, MetalNotOffered, OverlayNotFound: nothing to calibrate.
        CalibrationRejected: the band or width cannot be right (OverlayReplaced: see above).
    """
    product = _product(product_id)
    metal = _metal(product, metal_code, offered_only=False)
    found = _overlay(product, metal)
    overlay = lock_row(Overlay, found.id) if found is not None else None
    if overlay is None:
        raise OverlayNotFound(f"No overlay uploaded yet for {product.name} in {metal.name}.")
    spec = _checked(overlay, product, band_left, band_right, width_mm, version)
    overlay.spec = spec.to_dict()
    overlay.calibrated_at = now or utcnow()
    overlay.calibrated_by_id = by_user_id
    db.session.flush()
    catalogue_changed()
    return overlay
