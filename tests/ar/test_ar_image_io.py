"""Decoding untrusted uploads and normalising arrays."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

import ar


def _encode(rgb: np.ndarray, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims another size (what a decompression bomb looks like)."""
    data = bytearray(_encode(np.zeros((32, 32, 3), np.uint8), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def test_decodes_png_and_jpeg_to_rgb(astronaut):
    png = ar.decode_image(_encode(astronaut, "PNG"))
    jpeg = ar.decode_image(_encode(astronaut, "JPEG", quality=95))
    assert png.dtype == np.uint8 and png.shape == (512, 512, 3)
    np.testing.assert_array_equal(png, astronaut)
    assert np.abs(jpeg.astype(int) - astronaut).mean() < 3


def test_decodes_grey_palette_and_rgba_to_rgb(astronaut):
    grey = Image.fromarray(astronaut).convert("L")
    for image in (grey, grey.convert("P"), Image.fromarray(astronaut).convert("RGBA")):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        assert ar.decode_image(buffer.getvalue()).shape == (512, 512, 3)


def test_applies_exif_orientation(astronaut):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the viewer must turn it 90 degrees clockwise
    data = _encode(astronaut[:, :300], "JPEG", exif=exif.tobytes())
    assert ar.decode_image(data).shape == (300, 512, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"GIF89a but not really" * 3, "image"),
        (b"just some text, no image here", "not an image"),
    ],
)
def test_rejects_non_images(data, message):
    with pytest.raises(ar.InvalidImage, match=message):
        ar.decode_image(data)


def test_rejects_truncated_jpeg(astronaut):
    data = _encode(astronaut, "JPEG", quality=90)
    with pytest.raises(ar.InvalidImage, match="truncated or corrupt"):
        ar.decode_image(data[: len(data) // 2])


def test_rejects_one_pixel_image():
    with pytest.raises(ar.InvalidImage, match="too small: 1x1"):
        ar.decode_image(_encode(np.zeros((1, 1, 3), np.uint8), "PNG"))


def test_rejects_huge_image_from_its_header_alone():
    with pytest.raises(ar.InvalidImage, match="too large"):
        ar.decode_image(_png_claiming_size(40_000, 40_000))
    # Between Pillow's warning and error thresholds: still refused, never decoded.
    with pytest.raises(ar.InvalidImage, match="too large"):
        ar.decode_image(_png_claiming_size(10_000, 10_000))


def test_rejects_more_pixels_than_the_caller_allows(astronaut):
    data = _encode(astronaut, "PNG")
    with pytest.raises(ar.InvalidImage, match="512x512 pixels exceeds the limit of 100000"):
        ar.decode_image(data, max_pixels=100_000)
    assert ar.decode_image(data, max_pixels=512 * 512).shape == (512, 512, 3)


def test_load_image_reports_missing_file(tmp_path):
    with pytest.raises(ar.InvalidImage, match="cannot read"):
        ar.load_image(tmp_path / "missing.jpg")


def test_overlay_keeps_alpha(crown_rgba):
    overlay = ar.decode_overlay(_encode(crown_rgba, "PNG"))
    np.testing.assert_array_equal(overlay, crown_rgba)
    opaque = ar.decode_overlay(_encode(crown_rgba[:, :, :3], "PNG"))
    assert (opaque[:, :, 3] == 255).all()


def test_to_rgb_accepts_grey_bgr_rgba_and_float(astronaut):
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(ar.to_rgb(bgr, "bgr"), astronaut)
    np.testing.assert_array_equal(ar.to_rgb(rgba), astronaut)
    np.testing.assert_array_equal(ar.to_rgb(rgba[:, :, [2, 1, 0, 3]], "bgr"), astronaut)
    np.testing.assert_array_equal(ar.to_rgb(astronaut.astype(np.float32) / 255), astronaut)
    grey = ar.to_rgb(astronaut[:, :, 0])
    assert grey.shape == (512, 512, 3) and (grey[:, :, 0] == grey[:, :, 2]).all()
    assert ar.to_rgb(astronaut[:, :, :1]).shape == (512, 512, 3)
    assert ar.to_rgb(astronaut) is astronaut  # RGB uint8 input is used as is, not copied


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((64, 64, 2), np.uint8), "shape"),
        (np.zeros((64,), np.uint8), "shape"),
        (np.zeros((1, 1, 3), np.uint8), "too small"),
        (np.zeros((64, 64, 3), np.int64), "pixel type"),
        ([[0, 1], [2, 3]], "numpy array"),
    ],
)
def test_to_rgb_rejects_bad_arrays(array, message):
    with pytest.raises(ar.InvalidImage, match=message):
        ar.to_rgb(array)


def test_encode_round_trips(astronaut):
    np.testing.assert_array_equal(ar.decode_image(ar.encode_image(astronaut, "png")), astronaut)
    jpeg = ar.decode_image(ar.encode_image(astronaut, "jpeg", quality=95))
    assert np.abs(jpeg.astype(int) - astronaut).mean() < 3


@pytest.mark.parametrize(
    ("image_format", "options"), [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"quality": 95})]
)
def test_decode_frame_matches_decode_image(astronaut, image_format, options):
    data = _encode(astronaut, image_format, **options)
    frame = ar.decode_frame(data)
    assert frame.dtype == np.uint8 and frame.shape == (512, 512, 3)
    assert np.abs(frame.astype(int) - ar.decode_image(data)).mean() < 1


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_decode_frame_rejects_cut_off_frames(astronaut, image_format):
    data = _encode(astronaut, image_format)
    with pytest.raises(ar.InvalidImage, match="truncated"):
        ar.decode_frame(data[: len(data) // 2])


@pytest.mark.parametrize(
    "data", [b"", b"not a picture", _encode(np.zeros((8, 8, 3), np.uint8), "PNG")]
)
def test_decode_frame_rejects_non_images_and_tiny_ones(data):
    with pytest.raises(ar.InvalidImage):
        ar.decode_frame(data)


# --- jpeg_size: a live frame's size from its header -------------------------------------------


def _sof_offset(jpeg: bytes) -> int:
    """Where the (first) start-of-frame segment of a Pillow-made JPEG begins."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        if marker in jpeg:
            return jpeg.index(marker)
    raise AssertionError("no frame header")


@pytest.mark.parametrize(
    ("size", "options"),
    [((320, 240), {}), ((33, 700), {}), ((640, 480), {"progressive": True}), ((48, 48), {})],
)
def test_jpeg_size_reads_what_pillow_reads(size, options):
    rgb = np.random.default_rng(1).integers(0, 255, (size[1], size[0], 3), np.uint8)
    jpeg = _encode(rgb, "JPEG", quality=80, **options)
    assert ar.jpeg_size(jpeg) == Image.open(io.BytesIO(jpeg)).size == size


def test_jpeg_size_declines_anything_not_plainly_one_jpeg():
    jpeg = _encode(np.zeros((240, 320, 3), np.uint8), "JPEG")
    sof = _sof_offset(jpeg)
    length = int.from_bytes(jpeg[sof + 2 : sof + 4], "big")
    second_frame = (
        jpeg[: sof + 2 + length] + jpeg[sof : sof + 2 + length] + jpeg[sof + 2 + length :]
    )
    zero_height = bytearray(jpeg)
    zero_height[sof + 5 : sof + 7] = b"\0\0"
    mpo = jpeg[:2] + b"\xff\xe2\x00\x08MPF\x00\x00\x00" + jpeg[2:]
    for data in (
        b"",
        _encode(np.zeros((240, 320, 3), np.uint8), "PNG"),
        jpeg[:sof],  # cut off before the frame header
        jpeg[: sof + 6],  # cut off inside it
        second_frame,  # libjpeg refuses these; Pillow reports the last
        bytes(zero_height),  # the height comes later, in a DNL segment
        mpo,  # a multi-picture file, which check_image refuses by name
        b"\xff\xd8" + b"\x00" * 64,  # no marker where one must be
    ):
        assert ar.jpeg_size(data) is None, data[:16]
