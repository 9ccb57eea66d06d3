"""Saved on server A, served by server B: two apps share one database and one S3 bucket."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.common.storage import media_storage, uploads_storage
from app.extensions import db
from app.tryon import services as tryon
from tests.helpers import csrf_token, login, make_user
from tests.tryon.helpers import astronaut_jpeg, make_tryon_pieces
from tests.tryon.test_views import page_token, snapshot


def local_files(app: Flask) -> list[Path]:
    """Files under the server's local uploads and media folders (where local storage puts them)."""
    roots = [Path(app.instance_path) / "uploads", Path(app.config["MEDIA_ROOT"])]
    return [path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def servers(
    database_url: str, tmp_path: Path, s3_settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, Flask]]:
    """Two app servers, each with its own instance folder, sharing the database and the bucket."""

    def server(name: str) -> Flask:
        monkeypatch.setenv("DIADEM_INSTANCE_PATH", str(tmp_path / name))
        monkeypatch.delenv("DIADEM_MEDIA_ROOT", raising=False)
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret-key",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "PROVENANCE_KEY_PATH": str(tmp_path / "provenance.pem"),
                "RATELIMIT_STORAGE_URI": "memory://",
                "PAGE_CACHE_SECONDS": 0,
                "SERVER_NAME": "diadem.test",
                "PUBLIC_BASE_URL": "http://diadem.test",
                **s3_settings,
            }
        )

    a, b = server("a"), server("b")
    assert a.instance_path != b.instance_path
    with a.app_context():
        db.drop_all()
        db.create_all()
    # The try-on pieces' artwork is drawn on A's disk, moved into the bucket and removed
    # locally, so compositing on either server has to read it from the bucket.
    make_tryon_pieces(a)
    products = Path(a.config["MEDIA_ROOT"]) / "products"
    with a.app_context():
        for path in products.rglob("*.png"):
            key = path.relative_to(products).as_posix()
            media_storage().put(key, path.read_bytes(), content_type="image/png")
    shutil.rmtree(a.config["MEDIA_ROOT"])
    yield a, b
    for app in (a, b):
        with app.app_context():
            db.session.remove()
            if app is a:
                db.drop_all()
            db.engine.dispose()


def test_a_snapshot_saved_on_one_server_is_served_by_another(servers):
    a, b = servers
    buyer_id = make_user(a)
    make_user(a, email="someone@example.com")
    on_a = a.test_client()
    login(on_a)
    response = snapshot(on_a, astronaut_jpeg(), token=page_token(on_a), save="y", metal="silver")
    assert response.status_code == 200
    image_url = response.get_json()["snapshot"]["image_url"]

    on_b = b.test_client()
    login(on_b)
    with on_b.get(image_url) as image:
        assert image.status_code == 200
        assert image.mimetype == "image/jpeg"
        assert image.headers["Cache-Control"] == "private, no-store"
        served = image.data
    with a.app_context():
        (name,) = [saved.image_name for saved in tryon.list_snapshots(user_id=buyer_id)]
        assert uploads_storage().read(name) == served
    with on_b.get("/media/products/test-crown/overlay-silver.png") as overlay:
        assert overlay.status_code == 200  # the public artwork, from the bucket too

    # The permission checks still come first on B.
    assert b.test_client().get(image_url).status_code == 302
    other = b.test_client()
    login(other, email="someone@example.com")
    assert other.get(image_url).status_code == 404

    # Deleted through B, the picture is gone for A as well.
    token = csrf_token(on_b, "/tryon/snapshots")
    deleted = on_b.post(image_url.removesuffix("/image") + "/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert on_a.get(image_url).status_code == 404
    with b.app_context():
        assert not uploads_storage().exists(name)
    assert local_files(a) == [] and local_files(b) == []
