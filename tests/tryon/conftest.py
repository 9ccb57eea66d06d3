from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.tryon.helpers import make_tryon_pieces


@pytest.fixture
def tryon_app(app: Flask, tmp_path: Path) -> Flask:
    """The app with try-on pieces; saved snapshots go to a temporary uploads folder."""
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    make_tryon_pieces(app)
    return app


@pytest.fixture
def tryon_client(tryon_app: Flask):
    return tryon_app.test_client()
