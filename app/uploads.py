"""Safe storage for uploaded files: type checked by content, size and pixel limits, random names.

Files live under instance/uploads (never the static folder) and are served only by views that
first check who may see them (see :func:`send_upload`).
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, send_file
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF_MAGIC = b"%PDF-"


class UploadError(ValueError):
    """The upload was refused; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class StoredUpload:
    name: str  # random file name inside the uploads folder, safe to keep in the database
    content_type: str
    size: int


def uploads_root() -> Path:
    root = Path(
        current_app.config.get("UPLOADS_ROOT") or Path(current_app.instance_path) / "uploads"
    )
    root.mkdir(parents=True, exist_ok=True)
    return root


def sniff(data: bytes, *, allow_pdf: bool = False) -> tuple[str, str]:
    """Return (content type, extension) judged from the bytes themselves; UploadError if refused."""
    if not data:
        raise UploadError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"The file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if allow_pdf and data.startswith(PDF_MAGIC):
        return "application/pdf", ".pdf"
    try:
        with warnings.catch_warnings():
            # Treat Pillow's bomb warning (over MAX_IMAGE_PIXELS) as the refusal it should be.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            fmt = image.format
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise UploadError("The image is over 40 megapixels.")
            image.verify()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError("The image is over 40 megapixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise UploadError("The file is not an image we can read (JPEG, PNG or WebP).") from exc
    if fmt not in IMAGE_FORMATS:
        raise UploadError("Only JPEG, PNG or WebP images are accepted.")
    return IMAGE_FORMATS[fmt]


def store_upload(data: bytes, *, folder: str, allow_pdf: bool = False) -> StoredUpload:
    """Check and store an upload under a random name in uploads/<folder>/."""
    content_type, extension = sniff(data, allow_pdf=allow_pdf)
    if not folder.isidentifier():
        raise ValueError(f"Bad upload folder {folder!r}")
    directory = uploads_root() / folder
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{folder}/{secrets.token_urlsafe(18)}{extension}"
    (uploads_root() / name).write_bytes(data)
    return StoredUpload(name=name, content_type=content_type, size=len(data))


def send_upload(name: str, *, download_name: str | None = None):
    """Send a stored upload; call only after checking the viewer may see it."""
    root = uploads_root().resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        from flask import abort

        abort(404)
    response = send_file(path, download_name=download_name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
