"""Decode, normalise and encode images at the edges of the try-on pipeline."""

from __future__ import annotations

import io
import os
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 32
"""Smallest width or height accepted: below this no face can be measured."""

ChannelOrder = Literal["rgb", "bgr"]


class InvalidImage(ValueError):
    """The bytes or array given are not an image the engine can use."""


def _pixel_limit(max_pixels: int | None) -> int | None:
    # Pillow's own decompression-bomb limit stays in force; a caller may only lower it.
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if max_pixels is None:
        return pillow_limit
    if max_pixels <= 0:
        raise ValueError("max_pixels must be positive")
    return max_pixels if pillow_limit is None else min(max_pixels, pillow_limit)


def _open_checked(data: bytes, max_pixels: int | None) -> Image.Image:
    """Open lazily and check the header's size before any pixel is decoded."""
    if not data:
        raise InvalidImage("empty image data")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InvalidImage("not an image (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning only arrives as an exception when warnings are errors (as under pytest).
        raise InvalidImage(f"image is too large: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"unreadable image header: {exc}") from None
    width, height = image.size
    limit = _pixel_limit(max_pixels)
    if limit is not None and width * height > limit:
        raise InvalidImage(
            f"image is too large: {width}x{height} pixels exceeds the limit of {limit}"
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise InvalidImage(
            f"image is too small: {width}x{height} pixels (at least {MIN_SIDE}x{MIN_SIDE} needed)"
        )
    return image


def _load_pixels(image: Image.Image) -> Image.Image:
    try:
        image.load()
        # Phone photos store their rotation in EXIF; faces must be upright in pixel space.
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"truncated or corrupt image data: {exc}") from None


def decode_image(data: bytes, *, max_pixels: int | None = None) -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, WebP...) to an RGB uint8 array of shape HxWx3.

    Raises:
        InvalidImage: empty, not an image, truncated or corrupt, smaller than 32 px on a side,
            or more than ``max_pixels`` (default: Pillow's decompression-bomb limit) pixels.
    """
    image = _load_pixels(_open_checked(data, max_pixels))
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()


def _complete(data: bytes) -> bool:
    """Whether JPEG, PNG or WebP bytes reach their format's end (OpenCV decodes a cut-off JPEG)."""
    if data[:3] == b"\xff\xd8\xff":
        return b"\xff\xd9" in data[-64:]  # the end-of-image marker, perhaps with padding after
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" in data[-64:]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return False


# Start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic): the
# segment that holds the image's height and width. C4, C8 and CC are other segments.
_JPEG_SOF = frozenset(
    (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
)
# Markers without a length: restart markers, TEM, and fill before a marker.
_JPEG_STANDALONE = frozenset((0x01, *range(0xD0, 0xD8)))


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Return a JPEG's (width, height) from its one start-of-frame segment, else None.

    For checking a live frame before it is decoded, without Pillow's open (a tenth of a
    millisecond a frame). None whenever the header is not plainly one image: not a JPEG, cut
    off before the scan, no frame segment or two, a zero side, a multi-picture file. The caller
    then checks the bytes the thorough way.
    """
    if data[:2] != b"\xff\xd8":
        return None
    size = None
    position, end = 2, len(data)
    while position + 4 <= end:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in (0xD8, 0xD9):  # a second start of image, or the end before any scan
            return None
        if marker == 0xDA:  # start of scan: the header is over
            return size
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2 or position + 2 + length > end:
            return None
        if marker == 0xE2 and data[position + 4 : position + 8] == b"MPF\x00":
            return None  # a multi-picture file (MPO): not a plain JPEG
        if marker in _JPEG_SOF:
            if size is not None or length < 8:
                return None  # libjpeg refuses a second frame header; let the caller say so
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            if not width or not height:
                return None  # height 0: given later by a DNL marker
            size = (width, height)
        position += 2 + length
    return None


def decode_frame(data: bytes) -> np.ndarray:
    """Decode a small JPEG, PNG or WebP frame straight to RGB uint8 with OpenCV, in one buffer.

    For live frames whose size and format the caller has already checked from the header
    (Pillow's decode, EXIF transpose and array copy cost twice as much). OpenCV applies the
    EXIF orientation itself.

    Raises:
        InvalidImage: not one of those formats, cut off, or undecodable.
    """
    if not _complete(data):
        raise InvalidImage("truncated or unsupported image data")
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if rgb is None:
        raise InvalidImage("corrupt image data")
    height, width = rgb.shape[:2]
    if width < MIN_SIDE or height < MIN_SIDE:
        raise InvalidImage(
            f"image is too small: {width}x{height} pixels (at least {MIN_SIDE}x{MIN_SIDE} needed)"
        )
    return rgb


def decode_overlay(data: bytes, *, max_pixels: int | None = None) -> np.ndarray:
    """Decode a piece's transparent PNG to an RGBA uint8 array of shape HxWx4."""
    image = _load_pixels(_open_checked(data, max_pixels))
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    return np.asarray(image, dtype=np.uint8).copy()


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InvalidImage(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None


def load_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> np.ndarray:
    """Read and decode an image file to RGB uint8; unreadable files raise InvalidImage."""
    return decode_image(_read(path), max_pixels=max_pixels)


def load_overlay(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> np.ndarray:
    """Read and decode a piece's PNG to RGBA uint8; unreadable files raise InvalidImage."""
    return decode_overlay(_read(path), max_pixels=max_pixels)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        # Floating images follow the scikit-image convention of values in [0, 1].
        return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    raise InvalidImage(f"unsupported pixel type {array.dtype}; expected uint8")


def to_rgb(image: np.ndarray, channel_order: ChannelOrder = "rgb") -> np.ndarray:
    """Return a C-contiguous RGB uint8 view or copy of a grey, RGB, BGR, RGBA or BGRA array."""
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"expected a numpy array, got {type(image).__name__}")
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', not {channel_order!r}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InvalidImage(f"expected an HxW, HxWx3 or HxWx4 image, got shape {image.shape}")
    height, width = image.shape[:2]
    if height < MIN_SIDE or width < MIN_SIDE:
        raise InvalidImage(
            f"image is too small: {width}x{height} pixels (at least {MIN_SIDE}x{MIN_SIDE} needed)"
        )
    image = np.ascontiguousarray(_to_uint8(image))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        code = cv2.COLOR_RGBA2RGB if channel_order == "rgb" else cv2.COLOR_BGRA2RGB
        return cv2.cvtColor(image, code)
    if channel_order == "bgr":
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def encode_image(
    rgb: np.ndarray, image_format: Literal["png", "jpeg"] = "png", *, quality: int = 90
) -> bytes:
    """Encode an RGB uint8 image as PNG or JPEG bytes."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if image_format == "png":
        # Level 1: try-on output is sent once; speed matters more than a few percent of size.
        ok, buffer = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    elif image_format == "jpeg":
        ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    else:
        raise ValueError(f"image_format must be 'png' or 'jpeg', not {image_format!r}")
    if not ok:
        raise ValueError("encoding failed")
    return buffer.tobytes()
