"""Checks and clean-up of an artisan's pictures: a transparent PNG signature, a portrait.

Both are decoded and re-encoded by Pillow before they are stored, so no text chunk, EXIF or
other metadata of the uploaded file survives.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from app.common.photos import without_metadata
from app.common.uploads import UploadError, sniff

MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_SIGNATURE_SIZE = (1600, 800)  # pixels, width by height: a signature, not a poster
MAX_PORTRAIT_BYTES = 8 * 1024 * 1024
PORTRAIT_SIDE = 1200  # the longest side a portrait is kept at


def clean_signature(data: bytes) -> bytes:
    """The signature as a fresh RGBA PNG; UploadError unless it is a transparent PNG."""
    if len(data) > MAX_SIGNATURE_BYTES:
        raise UploadError("The signature is over 1 MB; a transparent PNG of it is far smaller.")
    content_type, _ = sniff(data)
    if content_type != "image/png":
        raise UploadError("The signature must be a PNG with a transparent background.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width > MAX_SIGNATURE_SIZE[0] or image.height > MAX_SIGNATURE_SIZE[1]:
                raise UploadError(
                    f"The signature is {image.width}×{image.height} pixels; "
                    f"it may be at most {MAX_SIGNATURE_SIZE[0]}×{MAX_SIGNATURE_SIZE[1]}."
                )
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            if not has_alpha:
                raise UploadError(
                    "The signature has no transparent background (no alpha channel): "
                    "export it as a PNG with transparency."
                )
            rgba = image.convert("RGBA")
    except UploadError:
        raise
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise UploadError("The signature is not a PNG we can read.") from exc
    low, high = rgba.getchannel("A").getextrema()
    if low == 255:
        raise UploadError("The signature has an alpha channel but nothing in it is transparent.")
    if high == 0:
        raise UploadError("The signature is fully transparent: there is nothing to see.")
    out = io.BytesIO()
    # A new image carries none of the upload's text chunks, ICC profile or other metadata.
    Image.frombytes("RGBA", rgba.size, rgba.tobytes()).save(out, format="PNG", optimize=True)
    return out.getvalue()


def clean_portrait(data: bytes) -> bytes:
    """The portrait upright, at most PORTRAIT_SIDE pixels, re-encoded without metadata."""
    if len(data) > MAX_PORTRAIT_BYTES:
        raise UploadError("The portrait is over 8 MB.")
    content_type, _ = sniff(data)
    if content_type not in ("image/jpeg", "image/png"):
        raise UploadError("The portrait must be a JPEG or PNG photo.")
    cleaned = without_metadata(data)
    with Image.open(io.BytesIO(cleaned)) as image:
        if max(image.size) <= PORTRAIT_SIDE:
            return cleaned
        image = ImageOps.contain(image, (PORTRAIT_SIDE, PORTRAIT_SIDE))
        out = io.BytesIO()
        if image.mode == "RGBA":
            image.save(out, format="PNG", optimize=True)
        else:
            image.convert("RGB").save(out, format="JPEG", quality=88)
        return out.getvalue()
