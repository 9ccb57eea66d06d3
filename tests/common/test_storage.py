"""One storage interface: the same behaviour on local disk and in an S3 bucket (moto's server)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from flask import Flask
from flask import request as flask_request
from PIL import Image

from app import create_app
from app.common.storage import (
    BadKey,
    LocalStorage,
    ObjectMissing,
    StorageError,
    media_storage,
    uploads_storage,
)
from app.common.transactions import atomic
from app.common.uploads import store_upload

VIDEO = b"\x00\x00\x00\x18ftypmp42" + os.urandom(200_000)
BAD_KEYS = ["", "/etc/passwd", "../secret", "a/../b", "a//b", ".hidden", "a/.b", "a\\b", "é.png"]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(params=["local", "s3"])
def storage_app(request: pytest.FixtureRequest, app: Flask) -> Flask:
    """The app on local disk, then on S3; /_files/<key> serves an upload as a view would."""
    if request.param == "s3":
        app.config.update(request.getfixturevalue("s3_settings"))

    def serve_file(key: str):
        args = flask_request.args
        return uploads_storage().serve(
            key, download_name=args.get("name"), private="public" not in args
        )

    app.add_url_rule("/_files/<path:key>", view_func=serve_file)
    return app


@pytest.fixture
def storage_client(storage_app: Flask):
    return storage_app.test_client()


def test_put_read_exists_version_delete(storage_app: Flask):
    with storage_app.app_context():
        storage = uploads_storage()
        assert not storage.exists("tests/a.png")
        storage.put("tests/a.png", b"first", content_type="image/png")
        assert storage.exists("tests/a.png")
        assert storage.read("tests/a.png") == b"first"
        first = storage.version("tests/a.png")
        storage.put("tests/a.png", b"second version", content_type="image/png")
        assert storage.read("tests/a.png") == b"second version"
        assert storage.version("tests/a.png") != first
        storage.delete("tests/a.png")
        assert not storage.exists("tests/a.png")
        storage.delete("tests/a.png")  # deleting what is gone is fine
        with pytest.raises(ObjectMissing):
            storage.read("tests/a.png")
        with pytest.raises(ObjectMissing):
            storage.version("tests/a.png")


def test_uploads_and_media_are_separate_areas(storage_app: Flask):
    with storage_app.app_context():
        uploads, media = uploads_storage(), media_storage()
        assert uploads is uploads_storage()  # built once per app
        assert uploads.location != media.location
        media.put("crown/catalog-silver.png", b"art", content_type="image/png")
        assert not uploads.exists("crown/catalog-silver.png")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_are_not_plain_relative_names_are_refused(storage_app: Flask, key: str):
    with storage_app.app_context():
        storage = uploads_storage()
        with pytest.raises(BadKey):
            storage.put(key, b"x", content_type="image/png")
        for operation in (storage.read, storage.exists, storage.delete, storage.version):
            with pytest.raises(BadKey):
                operation(key)


def test_serving_a_private_video_with_ranges(storage_app: Flask, storage_client):
    with storage_app.app_context():
        uploads_storage().put("designs/clip.mp4", VIDEO, content_type="video/mp4")
    url = "/_files/designs/clip.mp4"

    with storage_client.get(url + "?name=proof.mp4") as full:
        assert full.status_code == 200
        assert full.mimetype == "video/mp4"
        assert full.data == VIDEO
        assert full.headers["Accept-Ranges"] == "bytes"
        assert full.headers["X-Content-Type-Options"] == "nosniff"
        assert full.headers["Cache-Control"] == "private, no-store"
        assert full.headers["Content-Disposition"] == "inline; filename=proof.mp4"
        etag = full.headers["ETag"]

    with storage_client.get(url, headers={"Range": "bytes=1000-1999"}) as part:
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(VIDEO)}"
        assert part.data == VIDEO[1000:2000]
    with storage_client.get(url, headers={"Range": "bytes=-10"}) as tail:
        assert tail.status_code == 206
        assert tail.data == VIDEO[-10:]
    with storage_client.get(url, headers={"Range": f"bytes={len(VIDEO)}-"}) as beyond:
        assert beyond.status_code == 416
    with storage_client.get(url, headers={"If-None-Match": etag}) as unchanged:
        assert unchanged.status_code == 304
        assert unchanged.data == b""
    with storage_client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'}) as stale:
        assert stale.status_code == 200  # the file changed since: the whole of it
        assert stale.data == VIDEO


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("t/a.jpg", "image/jpeg"),
        ("t/a.png", "image/png"),
        ("t/a.webp", "image/webp"),
        ("t/a.pdf", "application/pdf"),
        ("t/a.mov", "video/quicktime"),
        ("t/a.webm", "video/webm"),
        ("t/a.json", "application/json"),
        ("t/a.html", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_stored_extension(
    storage_app: Flask, storage_client, key: str, content_type: str
):
    with storage_app.app_context():
        uploads_storage().put(key, b"<b>hi</b>", content_type=content_type)
    with storage_client.get(f"/_files/{key}") as response:
        assert response.status_code == 200
        assert response.mimetype == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_missing_or_refused_keys_are_404(storage_client):
    assert storage_client.get("/_files/tryon/nothing.jpg").status_code == 404
    assert storage_client.get("/_files/tryon/.hidden").status_code == 404
    assert storage_client.get("/_files/tryon/%2e%2e/%2e%2e/secret").status_code == 404


def test_public_files_may_be_cached(storage_app: Flask, storage_client):
    with storage_app.app_context():
        uploads_storage().put("t/art.png", png_bytes(), content_type="image/png")
    with storage_client.get("/_files/t/art.png?public=1") as response:
        assert response.status_code == 200
        assert response.cache_control.public
        assert response.cache_control.max_age == 86400


def test_product_media_is_served_from_the_media_storage(storage_app: Flask, storage_client):
    with storage_app.app_context():
        media_storage().put("crown/catalog-silver.png", png_bytes(), content_type="image/png")
    with storage_client.get("/media/products/crown/catalog-silver.png") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.data == png_bytes()
        assert response.cache_control.max_age == 86400
    assert storage_client.get("/media/products/crown/nothing.png").status_code == 404
    assert storage_client.get("/media/products/crown/%2e%2e/x.png").status_code == 404


def test_a_rolled_back_upload_leaves_no_file(storage_app: Flask):
    with storage_app.app_context():
        storage = uploads_storage()
        with pytest.raises(RuntimeError), atomic():
            dropped = store_upload(png_bytes(), folder="tests")
            assert storage.exists(dropped.name)
            raise RuntimeError("the insert failed")
        assert not storage.exists(dropped.name)

        with atomic():
            kept = store_upload(png_bytes(), folder="tests")
            with pytest.raises(RuntimeError), atomic():
                undone = store_upload(png_bytes(), folder="tests")
                raise RuntimeError("the savepoint failed")
            assert not storage.exists(undone.name)
        assert storage.exists(kept.name)
        assert storage.read(kept.name) == png_bytes()


def test_s3_objects_keep_their_content_type_under_the_prefix(app: Flask, s3_settings):
    app.config.update(s3_settings)
    with app.app_context():
        storage = uploads_storage()
        storage.put("designs/proof.pdf", b"%PDF-1.4", content_type="application/pdf")
        head = storage.client.head_object(  # type: ignore[attr-defined]
            Bucket=s3_settings["S3_BUCKET"], Key="diadem/uploads/designs/proof.pdf"
        )
    assert head["ContentType"] == "application/pdf"
    assert storage.location == f"s3://{s3_settings['S3_BUCKET']}/diadem/uploads/"


def test_check_says_whether_the_storage_can_be_reached(storage_app: Flask):
    with storage_app.app_context():
        storage_app.extensions["diadem.storage"].check()  # what /readyz calls


def test_check_fails_on_a_missing_bucket(app: Flask, s3_settings):
    app.config.update(s3_settings, S3_BUCKET="diadem-no-such-bucket")
    with app.app_context(), pytest.raises(StorageError):
        app.extensions["diadem.storage"].check()


def test_s3_settings_as_environment_variables(s3_settings, tmp_path: Path, monkeypatch):
    from app.config import from_environment
    from tests.s3 import as_environment

    for name, value in as_environment(s3_settings).items():
        monkeypatch.setenv(name, value)
    config = from_environment(str(tmp_path))
    assert {name: config[name] for name in s3_settings} == s3_settings


def test_local_storage_keeps_todays_layout(app: Flask):
    with app.app_context():
        stored = store_upload(png_bytes(), folder="repairs")
        media_storage().put("crown/overlay-silver.png", b"art", content_type="image/png")
    assert (Path(app.config["UPLOADS_ROOT"]) / stored.name).read_bytes() == png_bytes()
    media = Path(app.config["MEDIA_ROOT"]) / "products" / "crown" / "overlay-silver.png"
    assert media.read_bytes() == b"art"
    assert [p.name for p in media.parent.iterdir()] == ["overlay-silver.png"]  # no leftovers


def test_local_storage_outside_an_app(tmp_path: Path):
    storage = LocalStorage(tmp_path)
    storage.put("a/b.json", b"{}", content_type="application/json")
    assert (tmp_path / "a" / "b.json").read_bytes() == b"{}"
    assert storage.location == tmp_path.resolve().as_uri()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"STORAGE": "ftp"}, "DIADEM_STORAGE must be one of local, s3"),
        ({"STORAGE": "s3", "S3_BUCKET": None}, "DIADEM_STORAGE=s3 needs DIADEM_S3_BUCKET"),
    ],
)
def test_bad_storage_settings_stop_the_app_at_start(tmp_path: Path, settings, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"TESTING": True, "SECRET_KEY": "x", **settings})
