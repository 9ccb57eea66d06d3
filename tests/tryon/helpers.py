"""Pictures and pieces for try-on tests: real faces from scikit-image, synthetic crown artwork."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
from flask import Flask
from PIL import Image, ImageDraw

# Colours no photograph here contains, so a pixel test can tell the piece from the face.
MAGENTA = (255, 0, 255)
GREEN = (0, 230, 0)
OVERLAY_SIZE = (600, 300)
SPEC = {"kind": "crown", "width_mm": 160, "band_left": [20, 285], "band_right": [580, 285]}


def overlay_png(colour: tuple[int, int, int]) -> bytes:
    """A flat crown: a band along the bottom with five points, on transparency."""
    width, height = OVERLAY_SIZE
    image = Image.new("RGBA", OVERLAY_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 240, 580, 290], fill=(*colour, 255))
    for i in range(5):
        x = 20 + i * 140
        draw.polygon(
            [(max(x - 50, 20), 245), (x, 60), (min(x + 50, 580), 245)], fill=(*colour, 255)
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def add_overlay(app: Flask, slug: str, metal_code: str, colour: tuple[int, int, int]) -> None:
    """Write the synthetic PNG under MEDIA_ROOT/products and record it as the piece's Overlay."""
    from app.catalog.models import Metal, Overlay, Product
    from app.extensions import db

    relative = f"{slug}/overlay-{metal_code}.png"
    path = Path(app.config["MEDIA_ROOT"]) / "products" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(overlay_png(colour))
    with app.app_context():
        product = db.session.execute(db.select(Product).filter_by(slug=slug)).scalar_one()
        metal = db.session.execute(db.select(Metal).filter_by(code=metal_code)).scalar_one()
        db.session.add(Overlay(product_id=product.id, metal_id=metal.id, path=relative, spec=SPEC))
        db.session.commit()


@cache
def real_overlay() -> tuple[bytes, dict]:
    """The catalog's own drawing of a gold crown (slow: drawn once per test run)."""
    from app.demo import artwork

    design = artwork.PieceDesign(
        kind="crown", metal="yellow-gold", style="fleur", stone_colour="ruby",
        stone_count=12, width_mm=160, seed=7,
    )  # fmt: skip
    image, spec = artwork.render_overlay(design)
    return artwork.png_bytes(image), spec


def add_real_overlay(app: Flask, slug: str, metal_code: str = "yellow-gold") -> dict:
    """Give a product the catalog's real crown artwork; return its spec."""
    from app.catalog.models import Metal, Overlay, Product
    from app.extensions import db

    png, spec = real_overlay()
    relative = f"{slug}/overlay-{metal_code}.png"
    path = Path(app.config["MEDIA_ROOT"]) / "products" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    with app.app_context():
        product = db.session.execute(db.select(Product).filter_by(slug=slug)).scalar_one()
        metal = db.session.execute(db.select(Metal).filter_by(code=metal_code)).scalar_one()
        db.session.add(Overlay(product_id=product.id, metal_id=metal.id, path=relative, spec=spec))
        db.session.commit()
    return spec


def make_tryon_pieces(app: Flask) -> None:
    """Two crowns with try-on art (gold = magenta, silver = green) and one without any."""
    from tests.factories import make_product

    with app.app_context():
        make_product("test-crown", metals=("yellow-gold", "silver"))
        make_product("other-crown", metals=("silver",))
        make_product("bare-crown")
    add_overlay(app, "test-crown", "yellow-gold", MAGENTA)
    add_overlay(app, "test-crown", "silver", GREEN)
    add_overlay(app, "other-crown", "silver", GREEN)


def encode(rgb: np.ndarray, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


@cache
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@cache
def coffee() -> np.ndarray:
    from skimage import data

    return data.coffee()


def resized(rgb: np.ndarray, width: int) -> np.ndarray:
    height = round(rgb.shape[0] * width / rgb.shape[1])
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS))


@cache
def astronaut_jpeg(width: int = 512) -> bytes:
    return encode(resized(astronaut(), width), quality=90)


@cache
def coffee_jpeg(width: int = 600) -> bytes:
    return encode(resized(coffee(), width), quality=90)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but carries almost no data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
