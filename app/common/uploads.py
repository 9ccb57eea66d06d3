"""Safe storage for uploaded files: type checked by content, size and pixel limits, random names.

Files go to the app's uploads storage (app.common.storage: instance/uploads, never the static
folder, or a bucket) and are served only by views that first check who may see them (see
:func:`send_upload`). A file stored inside ``atomic()`` is deleted again if that rolls back.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app
from PIL import Image, UnidentifiedImageError

from app.common.storage import local_uploads_root, uploads_storage
from app.common.transactions import in_atomic, on_rollback

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF_MAGIC = b"%PDF-"

# Short videos (hand-finish proofs), accepted only where the caller opts in with allow_video.
MAX_VIDEO_BYTES = 50 * 1024 * 1024
MP4 = ("video/mp4", ".mp4")
# Major brands of the ISO base media file format (bytes 8..12, after the size and "ftyp") that
# are video files. Image (heic, avif, mif1) and audio-only (M4A ) brands are deliberately absent.
ISO_VIDEO_BRANDS = {
    b"isom": MP4,
    b"iso2": MP4,
    b"iso4": MP4,
    b"iso5": MP4,
    b"iso6": MP4,
    b"mp41": MP4,
    b"mp42": MP4,
    b"avc1": MP4,
    b"M4V ": MP4,
    b"qt  ": ("video/quicktime", ".mov"),
}
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
EBML_DOCTYPE_ID = b"\x42\x82"


class UploadError(ValueError):
    """The upload was refused; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class StoredUpload:
    name: str  # random storage key (<folder>/<random><ext>), safe to keep in the database
    content_type: str
    size: int


def uploads_root() -> Path:
    """The local uploads folder (where DIADEM_STORAGE=local keeps them)."""
    root = local_uploads_root(current_app)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _ebml_vint(data: bytes, at: int) -> tuple[int, int] | None:
    """Read an EBML variable-length size at ``at``: (value, bytes used), or None if malformed."""
    if at >= len(data) or data[at] == 0:
        return None
    first = data[at]
    length = 8 - first.bit_length() + 1
    if at + length > len(data):
        return None
    value = first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    return value, length


def _sniff_video(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) when the bytes start like an MP4/QuickTime or WebM video."""
    if len(data) >= 16 and data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[0:4], "big")
        brand = data[8:12]
        if 16 <= box_size <= len(data) and brand in ISO_VIDEO_BRANDS:
            return ISO_VIDEO_BRANDS[brand]
        return None
    if data.startswith(EBML_MAGIC):
        # The EBML header's DocType element says which Matroska flavour this is.
        header_size = _ebml_vint(data, len(EBML_MAGIC))
        if header_size is None:
            return None
        start = len(EBML_MAGIC) + header_size[1]
        header = data[start : start + min(header_size[0], 64)]
        at = header.find(EBML_DOCTYPE_ID)
        if at < 0:
            return None
        size = _ebml_vint(header, at + len(EBML_DOCTYPE_ID))
        if size is None:
            return None
        value_at = at + len(EBML_DOCTYPE_ID) + size[1]
        if header[value_at : value_at + size[0]] == b"webm":
            return "video/webm", ".webm"
    return None


def sniff(data: bytes, *, allow_pdf: bool = False, allow_video: bool = False) -> tuple[str, str]:
    """Return (content type, extension) judged from the bytes themselves; UploadError if refused.

    With ``allow_video``, MP4, QuickTime and WebM videos up to MAX_VIDEO_BYTES are accepted too.
    """
    if not data:
        raise UploadError("The file is empty.")
    if allow_video:
        video = _sniff_video(data)
        if video is not None:
            if len(data) > MAX_VIDEO_BYTES:
                raise UploadError(
                    f"The video is over {MAX_VIDEO_BYTES // (1024 * 1024)} MB; "
                    "please send a shorter clip."
                )
            return video
    if len(data) > MAX_UPLOAD_BYTES:
        if allow_video:
            raise UploadError(
                f"The file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB (images up to "
                f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB; MP4, MOV or WebM videos up to "
                f"{MAX_VIDEO_BYTES // (1024 * 1024)} MB)."
            )
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
        if allow_video:
            raise UploadError(
                "The file is not an image or video we can read "
                "(JPEG, PNG, WebP, or MP4, MOV or WebM video)."
            ) from exc
        raise UploadError("The file is not an image we can read (JPEG, PNG or WebP).") from exc
    if fmt not in IMAGE_FORMATS:
        raise UploadError("Only JPEG, PNG or WebP images are accepted.")
    return IMAGE_FORMATS[fmt]


def store_upload(
    data: bytes, *, folder: str, allow_pdf: bool = False, allow_video: bool = False
) -> StoredUpload:
    """Check and store an upload under a random name in <folder>/.

    Inside ``atomic()`` the file is deleted again if the transaction (or the savepoint it was
    stored in) rolls back, so a refused insert leaves no orphan behind.
    """
    content_type, extension = sniff(data, allow_pdf=allow_pdf, allow_video=allow_video)
    if not folder.isidentifier():
        raise ValueError(f"Bad upload folder {folder!r}")
    name = f"{folder}/{secrets.token_urlsafe(18)}{extension}"
    storage = uploads_storage()
    storage.put(name, data, content_type=content_type)
    if in_atomic():
        on_rollback(lambda: storage.delete(name))
    return StoredUpload(name=name, content_type=content_type, size=len(data))


def remove_upload(name: str) -> None:
    """Delete a stored upload (a missing one is fine); call it on_commit of the row's removal."""
    uploads_storage().delete(name)


def send_upload(name: str, *, download_name: str | None = None) -> Response:
    """Send a stored upload; call only after checking the viewer may see it.

    Range and conditional requests are answered (206, 304), which <video> needs to seek; the
    content type comes from the extension chosen by sniff().
    """
    return uploads_storage().serve(name, download_name=download_name, private=True)
