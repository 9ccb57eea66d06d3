from __future__ import annotations

import io

import pytest
from PIL import Image

from app.common.uploads import UploadError, sniff, store_upload, uploads_root


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


# --- short videos (opt-in with allow_video) ---------------------------------------------------


def iso_box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def mp4_bytes(brand: bytes = b"isom", media: int = 64) -> bytes:
    """A minimal ISO BMFF file: ftyp (major brand, version, compatible brands), moov, mdat."""
    ftyp = iso_box(b"ftyp", brand + (512).to_bytes(4, "big") + b"isomiso2avc1mp41")
    moov = iso_box(b"moov", iso_box(b"mvhd", bytes(100)))
    return ftyp + moov + iso_box(b"mdat", bytes(media))


def ebml_element(element_id: bytes, payload: bytes) -> bytes:
    assert len(payload) < 127
    return element_id + bytes([0x80 | len(payload)]) + payload


def webm_bytes(doctype: bytes = b"webm") -> bytes:
    """An EBML header naming its DocType, then the start of a Segment."""
    header = b"".join(
        [
            ebml_element(b"\x42\x86", b"\x01"),  # EBMLVersion
            ebml_element(b"\x42\xf7", b"\x01"),  # EBMLReadVersion
            ebml_element(b"\x42\xf2", b"\x04"),  # EBMLMaxIDLength
            ebml_element(b"\x42\xf3", b"\x08"),  # EBMLMaxSizeLength
            ebml_element(b"\x42\x82", doctype),  # DocType
            ebml_element(b"\x42\x87", b"\x04"),  # DocTypeVersion
            ebml_element(b"\x42\x85", b"\x02"),  # DocTypeReadVersion
        ]
    )
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + bytes(32)
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + segment


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (mp4_bytes(b"isom"), ("video/mp4", ".mp4")),
        (mp4_bytes(b"mp42"), ("video/mp4", ".mp4")),
        (mp4_bytes(b"M4V "), ("video/mp4", ".mp4")),
        (mp4_bytes(b"qt  "), ("video/quicktime", ".mov")),
        (webm_bytes(), ("video/webm", ".webm")),
    ],
)
def test_videos_are_recognised_by_content_when_allowed(app_ctx, data, expected):
    assert sniff(data, allow_video=True) == expected
    assert sniff(data, allow_pdf=True, allow_video=True) == expected
    # Without the opt-in a video is refused with the usual image message.
    with pytest.raises(UploadError, match=r"not an image we can read \(JPEG, PNG or WebP\)"):
        sniff(data)
    with pytest.raises(UploadError, match="not an image we can read"):
        sniff(data, allow_pdf=True)


@pytest.mark.parametrize(
    "data",
    [
        b"This is a text file somebody renamed to proof.mp4\n" * 4,
        mp4_bytes(b"heic"),  # an HEIF image, not a video
        mp4_bytes(b"M4A "),  # audio only
        mp4_bytes()[:12],  # truncated before the ftyp box ends
        (4096).to_bytes(4, "big") + mp4_bytes()[4:],  # ftyp box claims more bytes than exist
        webm_bytes(b"matroska"),  # Matroska, not WebM
        b"\x1a\x45\xdf\xa3" + bytes(40),  # EBML magic without a DocType
    ],
)
def test_files_that_only_look_like_videos_are_refused(app_ctx, data):
    with pytest.raises(UploadError, match="not an image or video we can read"):
        sniff(data, allow_video=True)


def test_images_and_pdf_still_pass_when_video_is_allowed(app_ctx):
    assert sniff(png(), allow_video=True) == ("image/png", ".png")
    assert sniff(b"%PDF-1.7\n...", allow_pdf=True, allow_video=True)[0] == "application/pdf"
    with pytest.raises(UploadError):
        sniff(b"%PDF-1.7\n...", allow_video=True)
    # Images keep their own 8 MB limit even where videos may be 50 MB.
    with pytest.raises(UploadError, match="over 8 MB"):
        sniff(b"\x89PNG" + b"0" * (8 * 1024 * 1024 + 1), allow_video=True)


def test_video_size_limit(app_ctx):
    from app.common.uploads import MAX_VIDEO_BYTES

    assert MAX_VIDEO_BYTES == 50 * 1024 * 1024
    header = mp4_bytes(media=0)
    just_fits = mp4_bytes(media=MAX_VIDEO_BYTES - len(header))
    assert len(just_fits) == MAX_VIDEO_BYTES
    assert sniff(just_fits, allow_video=True) == ("video/mp4", ".mp4")
    with pytest.raises(
        UploadError, match=r"^The video is over 50 MB; please send a shorter clip\."
    ):
        sniff(just_fits + b"\0", allow_video=True)


def test_stored_video_keeps_a_matching_extension(app_ctx):
    stored = store_upload(webm_bytes(), folder="designs", allow_video=True)
    assert stored.name.endswith(".webm") and stored.content_type == "video/webm"
    stored = store_upload(mp4_bytes(b"qt  "), folder="designs", allow_video=True)
    assert stored.name.endswith(".mov") and stored.content_type == "video/quicktime"
    with pytest.raises(UploadError):
        store_upload(mp4_bytes(), folder="designs")
