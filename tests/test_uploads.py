from __future__ import annotations

import io

import pytest
from PIL import Image

from app.uploads import UploadError, sniff, store_upload, uploads_root


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 150, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_type_is_judged_by_content_not_name(app_ctx):
    assert sniff(png()) == ("image/png", ".png")
    with pytest.raises(UploadError, match="not an image"):
        sniff(b"<?php echo 'hi'; ?>")
    with pytest.raises(UploadError, match="empty"):
        sniff(b"")
    assert sniff(b"%PDF-1.7\n...", allow_pdf=True)[0] == "application/pdf"
    with pytest.raises(UploadError):
        sniff(b"%PDF-1.7\n...")


def test_truncated_image_is_refused(app_ctx):
    with pytest.raises(UploadError, match="not an image"):
        sniff(png()[:60])


def test_pixel_and_size_limits(app_ctx):
    # A PNG header claiming 8000×6000 (48 MP) is refused before the pixels are decoded.
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, "PNG")
    with pytest.raises(UploadError, match="40 megapixels"):
        sniff(buffer.getvalue())
    with pytest.raises(UploadError, match="over 8 MB"):
        sniff(b"\x89PNG" + b"0" * (8 * 1024 * 1024 + 1))


def test_stored_under_a_random_name_outside_static(app_ctx):
    first = store_upload(png(), folder="snapshots")
    second = store_upload(png(), folder="snapshots")
    assert first.name != second.name and first.name.endswith(".png")
    path = uploads_root() / first.name
    assert path.read_bytes() == png()
    assert "static" not in str(path)
