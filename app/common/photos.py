"""Photos people upload, re-encoded without their metadata (GPS, camera, owner) before storing."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from app.common.uploads import UploadError

MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; larger is refused, never decoded


def without_metadata(data: bytes) -> bytes:
    """The photo upright and re-encoded (JPEG, or PNG when it has transparency), no EXIF."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UploadError("That photo is too large; send one under 40 megapixels.")
            image = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            has_alpha = image.mode in ("RGBA", "LA") or (
                image.mode == "P" and "transparency" in image.info
            )
            if has_alpha:
                image.convert("RGBA").save(out, format="PNG", optimize=True)
            else:
                image.convert("RGB").save(out, format="JPEG", quality=88)
            return out.getvalue()
    except (OSError, Image.DecompressionBombError) as exc:
        raise UploadError("That file is not a photo we can read.") from exc
