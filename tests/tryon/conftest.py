from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from tests.tryon.helpers import astronaut, make_tryon_pieces


@pytest.fixture
def tryon_app(app: Flask, tmp_path: Path) -> Flask:
    """The app with try-on pieces; saved snapshots go to a temporary uploads folder."""
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    make_tryon_pieces(app)
    return app


@pytest.fixture
def tryon_client(tryon_app: Flask):
    return tryon_app.test_client()


HUGE_SIDE = 6300  # the audit's photo: 39.7 megapixels, just under the 40 MP limit


@pytest.fixture(scope="session")
def huge_face_jpeg() -> bytes:
    """The astronaut upscaled to 6300 x 6300 px (about 2 MB of JPEG), made once per run."""
    image = Image.fromarray(astronaut()).resize((HUGE_SIDE, HUGE_SIDE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
