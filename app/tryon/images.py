"""Decode a photo no larger than the try-on needs, so a 36 MP upload costs megabytes, not hundreds.

JPEGs are decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (Pillow's ``draft``), so the full
image never exists in memory; other formats are decoded whole (their header was checked against
the pixel limit first) and reduced straight away. Nothing here knows about Flask.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# The longest side of the picture the piece is composited on (and sent back). MediaPipe already
# finds landmarks on a copy of at most 1280 px (ar.EngineSettings.max_side), so more pixels would
# not place the piece any better; 2048 px is still sharp full-screen on a 2x phone or laptop, and
# one RGB copy of it is 12 MB instead of 119 MB for a 6300 x 6300 photo.
MAX_WORKING_SIDE = 2048

# Image.Transpose for each EXIF orientation, as ImageOps.exif_transpose applies them.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112


class UndecodableImage(ValueError):
    """The bytes passed the header checks but their pixels cannot be decoded."""


def working_size(size: tuple[int, int], max_side: int = MAX_WORKING_SIDE) -> tuple[int, int]:
    """Return ``size`` scaled down (never up) so that its longest side is at most ``max_side``."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    return max(1, round(width * max_side / longest)), max(1, round(height * max_side / longest))


def open_bounded(data: bytes, max_side: int = MAX_WORKING_SIDE) -> Image.Image:
    """Decode checked image bytes to an upright RGB picture at most ``max_side`` px on a side.

    Call only after the header has been checked (type and pixel count): this decodes.

    Raises:
        UndecodableImage: truncated or corrupt pixel data.
    """
    try:
        image = Image.open(io.BytesIO(data))
        orientation = image.getexif().get(_EXIF_ORIENTATION)
        if image.format == "JPEG":
            # Asks libjpeg for the smallest 1/2^n scale still at least this size.
            image.draft("RGB", _ceil_size(image.size, max_side))
        image.load()
        image = _reduced(image, max_side)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UndecodableImage(f"truncated or corrupt image data: {exc}") from None
    transpose = _ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    # Phone photos store their rotation in EXIF; faces must be upright in pixel space.
    return image.transpose(transpose) if transpose is not None else image


def decode_bounded(data: bytes, max_side: int = MAX_WORKING_SIDE) -> np.ndarray:
    """Decode checked image bytes to an RGB uint8 array at most ``max_side`` px on a side."""
    return np.asarray(open_bounded(data, max_side), dtype=np.uint8)


def _ceil_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    # draft() keeps both sides at least as large as asked; asking for the working size (rounded
    # up, same aspect) lets it pick the deepest scale that still leaves enough pixels.
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    return -(-width * max_side // longest), -(-height * max_side // longest)


def _reduced(image: Image.Image, max_side: int) -> Image.Image:
    if image.mode not in ("RGB", "L"):
        # Palette, alpha and CMYK pictures resample badly (or not at all) in their own mode.
        image = image.convert("RGB")
    size = working_size(image.size, max_side)
    if size != image.size:
        # reduce() by a whole factor first, then Lanczos: quick and sharp.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image if image.mode == "RGB" else image.convert("RGB")
