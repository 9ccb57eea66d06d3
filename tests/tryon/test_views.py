from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.tryon import services
from tests.helpers import csrf_token, login, make_user
from tests.tryon.helpers import (
    astronaut,
    astronaut_jpeg,
    coffee_jpeg,
    encode,
    png_header_only,
    resized,
)

EIGHT_MB = 8 * 1024 * 1024
POSE = "/tryon/api/pose"
SNAPSHOT = "/tryon/api/snapshot"
PAGE = "/tryon/test-crown"


def pose(client, frame: bytes | None, product: str | None = "test-crown", **fields):
    data = dict(fields)
    if frame is not None:
        data["frame"] = (io.BytesIO(frame), "frame.jpg")
    if product is not None:
        data["product"] = product
    return client.post(POSE, data=data, content_type="multipart/form-data")


def multipart(fields: dict) -> dict:
    """Encode a form in memory (the test client spools big bodies to unclosed temporary files)."""
    boundary, body = encode_multipart(
        {
            name: FileStorage(io.BytesIO(value), filename="photo.jpg", content_type="image/jpeg")
            if isinstance(value, bytes)
            else value
            for name, value in fields.items()
        }
    )
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def snapshot(client, image: bytes, *, token: str | None, **fields):
    headers = {"X-CSRFToken": token} if token else {}
    form = multipart({"image": image, "product": "test-crown", **fields})
    return client.post(SNAPSHOT, headers=headers, **form)


def page_token(client) -> str:
    return csrf_token(client, PAGE)


def page_data(response) -> dict:
    match = re.search(r"data-tryon='([^']*)'", response.get_data(as_text=True))
    assert match
    return json.loads(html.unescape(match.group(1)))


def uploads(app) -> list[Path]:
    root = Path(app.config["UPLOADS_ROOT"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- pages -----------------------------------------------------------------------------------


def test_page_offers_live_photo_and_size_advice(tryon_client):
    response = tryon_client.get(PAGE + "?metal=silver")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert (
        "Your camera frames and photos are processed in memory only to place the piece and are "
        "never stored, unless you choose to save a snapshot to your account." in body
    )
    assert 'id="tryon-canvas"' in body and 'id="tryon-photo-form"' in body
    assert 'href="/fit-guide"' in body
    assert 'href="/shop/test-crown?size=M&amp;metal=silver"' in body
    assert 'name="csrf-token"' in body
    # No inline scripts (the CSP forbids them): every <script> has a src.
    assert re.findall(r"<script(?![^>]*\bsrc=)", body) == []
    data = page_data(response)
    assert data["current"] == {"product": "test-crown", "metal": "silver"}
    assert data["limits"] == {
        "max_photo_bytes": EIGHT_MB,
        "frame_width": 320,
        "frames_per_second": 15,
    }
    crown = next(p for p in data["pieces"] if p["slug"] == "test-crown")
    assert [m["code"] for m in crown["metals"]] == ["yellow-gold", "silver"]
    assert crown["metals"][1]["overlay_url"] == "/media/products/test-crown/overlay-silver.png"
    assert crown["metals"][1]["spec"]["band_left"] == [20, 285]
    overlay = tryon_client.get(crown["metals"][1]["overlay_url"])
    assert overlay.status_code == 200
    overlay.close()
    assert {p["slug"] for p in data["pieces"]} == {"test-crown", "other-crown"}


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/tryon/no-such-crown", 404, "No piece called"),
        ("/tryon/bare-crown", 404, "Bare Crown has no try-on picture yet."),
        ("/tryon/test-crown?metal=platinum", 400, "can be tried on in 18k yellow gold"),
    ],
)
def test_page_errors(tryon_client, path, status, message):
    response = tryon_client.get(path)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_piece_picker_without_javascript(tryon_client):
    response = tryon_client.get("/tryon/?piece=test-crown&metal=silver")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tryon/test-crown?metal=silver")
    response = tryon_client.get("/tryon/?piece=other-crown&metal=yellow-gold")
    assert response.headers["Location"].endswith("/tryon/other-crown?metal=silver")
    assert tryon_client.get("/tryon/?piece=nope").status_code == 404


def test_product_page_links_to_the_try_on(tryon_client):
    body = tryon_client.get("/shop/test-crown?metal=silver").get_data(as_text=True)
    assert 'href="/tryon/test-crown?metal=silver"' in body
    assert "Try it on" in body
    assert "Try it on" not in tryon_client.get("/shop/bare-crown").get_data(as_text=True)


def test_account_page_links_to_snapshots(tryon_app, tryon_client):
    make_user(tryon_app)
    login(tryon_client)
    body = tryon_client.get("/account").get_data(as_text=True)
    assert 'href="/tryon/snapshots"' in body


# --- live pose -------------------------------------------------------------------------------


def test_pose_returns_the_placement_in_the_frames_pixels(tryon_client):
    response = pose(tryon_client, astronaut_jpeg(320), metal="silver")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    document = response.get_json()
    assert document["frame"] == {"width": 320, "height": 320}
    assert document["piece"] == {"product": "test-crown", "metal": "silver"}
    (face,) = document["faces"]
    for key in ("bbox", "roll_deg", "yaw_deg", "pitch_deg", "mm_per_px", "scale_source"):
        assert key in face
    for key in ("head_width_mm", "head_circumference_mm", "band_left", "band_right", "up"):
        assert key in face
    x, y, w, h = face["bbox"]
    assert x >= 0 and x + w <= 320 and y >= 0 and y + h <= 320
    assert face["band_left"][1] < y + h / 2 and face["band_right"][1] < y + h / 2
    assert document["size_advice"]["size"] in {"S", "M", "L"}


def test_pose_scales_with_the_frame(tryon_client):
    small = pose(tryon_client, astronaut_jpeg(160)).get_json()["faces"][0]
    large = pose(tryon_client, astronaut_jpeg(320)).get_json()["faces"][0]
    width = lambda f: np.hypot(*np.subtract(f["band_right"], f["band_left"]))  # noqa: E731
    assert width(large) / width(small) == pytest.approx(2.0, rel=0.1)


def test_pose_without_a_face_is_calm(tryon_client):
    response = pose(tryon_client, coffee_jpeg(320))
    assert response.status_code == 200
    assert response.get_json()["faces"] == []
    assert response.get_json()["size_advice"] is None


@pytest.mark.parametrize(
    ("frame", "fields", "status", "message"),
    [
        (b"not a picture", {}, 415, "not a picture we can read"),
        (astronaut_jpeg(320)[:3000], {}, 400, "damaged or incomplete"),
        (encode(np.zeros((400, 700, 3), np.uint8)), {}, 400, "at most 640 pixels"),
        (png_header_only(9000, 9000), {}, 400, "at most 640 pixels"),
        (b"", {}, 400, "No picture arrived"),
        (None, {}, 400, "No frame arrived."),
        (astronaut_jpeg(320), {"product": None}, 400, "Say which piece"),
        (astronaut_jpeg(320), {"product": "nope"}, 404, "No piece called 'nope'"),
        (astronaut_jpeg(320), {"metal": "platinum"}, 400, "not 'platinum'"),
    ],
)
def test_pose_errors(tryon_client, frame, fields, status, message):
    product = fields.pop("product", "test-crown")
    response = pose(tryon_client, frame, product=product, **fields)
    assert response.status_code == status
    assert message in response.get_json()["error"]


def pose_body(client, frame: bytes, content_type: str = "image/jpeg", **query):
    """The page's request: the frame as the body, the piece in the query string."""
    query.setdefault("product", "test-crown")
    query = {k: v for k, v in query.items() if v is not None}
    return client.post(POSE, query_string=query, data=frame, content_type=content_type)


def test_pose_takes_the_frame_as_the_body(tryon_client):
    frame = astronaut_jpeg(320)
    response = pose_body(tryon_client, frame, metal="silver")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    document = response.get_json()
    assert document == pose(tryon_client, frame, metal="silver").get_json()
    assert document["piece"] == {"product": "test-crown", "metal": "silver"}
    assert len(document["faces"]) == 1
    webp = encode(resized(astronaut(), 320), "WEBP")
    assert len(pose_body(tryon_client, webp, "image/webp").get_json()["faces"]) == 1


@pytest.mark.parametrize(
    ("frame", "content_type", "query", "status", "message"),
    [
        (b"not a picture", "image/jpeg", {}, 415, "not a picture we can read"),
        (astronaut_jpeg(320)[:3000], "image/jpeg", {}, 400, "damaged or incomplete"),
        (encode(np.zeros((400, 700, 3), np.uint8)), "image/jpeg", {}, 400, "at most 640 pixels"),
        (png_header_only(9000, 9000), "image/png", {}, 400, "at most 640 pixels"),
        (b"", "image/jpeg", {}, 400, "No picture arrived"),
        (b"\xff" * (260 * 1024), "image/jpeg", {}, 413, "under 256 KB"),
        (astronaut_jpeg(320), "image/jpeg", {"product": None}, 400, "Say which piece"),
        (astronaut_jpeg(320), "image/jpeg", {"product": "x" * 81}, 400, "80 characters"),
        (astronaut_jpeg(320), "image/jpeg", {"product": "nope"}, 404, "No piece called 'nope'"),
        (astronaut_jpeg(320), "image/jpeg", {"metal": "platinum"}, 400, "not 'platinum'"),
        (astronaut_jpeg(320), "image/jpeg", {"metal": "m" * 33}, 400, "32 characters"),
        (astronaut_jpeg(320), "image/gif", {}, 415, "image/jpeg or image/webp"),
        (b'{"frame": 1}', "application/json", {}, 415, "image/jpeg or image/webp"),
    ],
)
def test_pose_body_errors(tryon_client, frame, content_type, query, status, message):
    response = pose_body(tryon_client, frame, content_type, **query)
    assert response.status_code == status
    assert message in response.get_json()["error"]


def test_pose_body_is_refused_from_the_header(tryon_client):
    class Unreadable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

    response = tryon_client.post(
        POSE,
        query_string={"product": "test-crown"},
        environ_overrides={
            "wsgi.input": Unreadable(),
            "CONTENT_LENGTH": str(300 * 1024),
            "CONTENT_TYPE": "image/jpeg",
        },
    )
    assert response.status_code == 413
    assert response.get_json() == {"error": "Live frames must be under 256 KB."}


def test_pose_refuses_big_bodies_from_the_header(tryon_client):
    class Unreadable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

    response = tryon_client.post(
        POSE,
        environ_overrides={
            "wsgi.input": Unreadable(),
            "CONTENT_LENGTH": str(300 * 1024),
            "CONTENT_TYPE": "multipart/form-data; boundary=x",
        },
    )
    assert response.status_code == 413
    assert response.get_json() == {"error": "Live frames must be under 256 KB."}


@pytest.mark.parametrize("size_kb", [260, 300])  # caught by the service / by the body limit
def test_pose_refuses_big_frames(tryon_client, size_kb):
    response = pose(tryon_client, b"\xff" * (size_kb * 1024))
    assert response.status_code == 413
    assert response.get_json()["error"] == "Live frames must be under 256 KB."


def test_pose_is_rate_limited_per_client(tryon_app, tryon_client):
    tryon_app.config["TRYON_POSE_RATE_LIMIT"] = "3 per minute"
    statuses = [pose(tryon_client, b"x").status_code for _ in range(4)]
    assert statuses == [415, 415, 415, 429]
    response = pose(tryon_client, astronaut_jpeg(320))
    assert response.status_code == 429
    assert response.get_json()["error"] == "Too many frames; slowing down."
    other = tryon_app.test_client()
    response = other.post(
        POSE, data={"product": "test-crown"}, environ_overrides={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert response.status_code == 400  # another client still gets through


def test_pose_default_rate_limit_allows_the_pages_pace(tryon_client):
    statuses = [pose(tryon_client, b"x").status_code for _ in range(21)]
    assert statuses[:20] == [415] * 20
    assert statuses[20] == 429


def test_pose_needs_no_csrf_token_but_stores_nothing(tryon_app, tryon_client):
    media_before = sorted(Path(tryon_app.config["MEDIA_ROOT"]).rglob("*"))
    assert pose(tryon_client, astronaut_jpeg(320)).status_code == 200
    assert sorted(Path(tryon_app.config["MEDIA_ROOT"]).rglob("*")) == media_before
    assert uploads(tryon_app) == []


# --- snapshots (and photo mode with JavaScript) ---------------------------------------------


def test_snapshot_needs_the_csrf_header(tryon_client):
    response = snapshot(tryon_client, astronaut_jpeg(), token=None)
    assert response.status_code == 400
    assert response.get_json() == {"error": "This page has expired; reload it and try again."}


def test_snapshot_composites_at_full_size_and_keeps_nothing(tryon_app, tryon_client):
    token = page_token(tryon_client)
    response = snapshot(tryon_client, astronaut_jpeg(), token=token, metal="silver")
    assert response.status_code == 200
    document = response.get_json()
    assert document["snapshot"] is None
    assert document["download_name"] == "diadem-test-crown-silver.jpg"
    assert document["frame"] == {"width": 512, "height": 512}
    assert len(document["faces"]) == 1 and "band_left" in document["faces"][0]
    jpeg = base64.b64decode(document["image"].removeprefix("data:image/jpeg;base64,"))
    assert Image.open(io.BytesIO(jpeg)).size == (512, 512)
    assert document["size_advice"]["head_circumference_mm"] > 400
    assert uploads(tryon_app) == []


BIG_FACE = None


def big_face_jpeg() -> bytes:
    """A real face photo of over 600 KB: more than Werkzeug keeps in memory by default."""
    global BIG_FACE
    if BIG_FACE is None:
        BIG_FACE = encode(resized(astronaut(), 2000), quality=97)
    return BIG_FACE


def test_photos_stay_in_memory(tryon_app, tryon_client, monkeypatch):
    import werkzeug.formparser

    def on_disk(*args, **kwargs):
        raise AssertionError("an upload was spooled to a temporary file")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", on_disk)
    token = page_token(tryon_client)
    photo = big_face_jpeg()
    assert len(photo) > 600 * 1024
    response = snapshot(tryon_client, photo, token=token)
    assert response.status_code == 200
    assert response.get_json()["frame"]["width"] == 2000
    assert uploads(tryon_app) == []


PHOTO_ERRORS = [
    pytest.param(coffee_jpeg(), 422, "We could not find a face in that picture.", id="no-face"),
    pytest.param(b"Hello", 415, "That file is not a picture we can read.", id="not-an-image"),
    pytest.param(
        astronaut_jpeg()[:4000], 400, "That picture seems damaged or incomplete.", id="corrupt"
    ),
    pytest.param(b"\xff" * (EIGHT_MB + 1), 413, "That photo is over 8 MB.", id="over-8mb-just"),
    pytest.param(
        b"\xff" * (EIGHT_MB + 600 * 1024), 413, "That photo is over 8 MB.", id="over-body"
    ),
    pytest.param(
        png_header_only(8000, 5001), 413, "That picture is over 40 megapixels.", id="over-40mp"
    ),
    pytest.param(b"", 400, "No picture arrived", id="empty"),
]


@pytest.mark.parametrize(("image", "status", "message"), PHOTO_ERRORS)
def test_snapshot_errors(tryon_app, tryon_client, image, status, message):
    token = page_token(tryon_client)
    response = snapshot(tryon_client, image, token=token)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert uploads(tryon_app) == []


def test_saving_needs_an_account(tryon_client):
    token = page_token(tryon_client)
    response = snapshot(tryon_client, astronaut_jpeg(), token=token, save="y")
    assert response.status_code == 401
    assert response.get_json()["error"] == "Sign in to save pictures to your account."


def test_saved_snapshots_are_served_to_their_owner_only(tryon_app, tryon_client):
    make_user(tryon_app)
    make_user(tryon_app, email="someone@example.com")
    login(tryon_client)
    token = page_token(tryon_client)
    response = snapshot(tryon_client, astronaut_jpeg(), token=token, save="y", metal="silver")
    assert response.status_code == 200
    saved = response.get_json()["snapshot"]
    assert saved["image_url"] == f"/tryon/snapshots/{saved['id']}/image"
    assert saved["list_url"] == "/tryon/snapshots"
    if "booking.new_consultation" in tryon_app.view_functions:
        assert saved["consultation_url"].endswith(f"?snapshot={saved['id']}")
    else:
        assert saved["consultation_url"] is None
    (stored,) = uploads(tryon_app)

    image = tryon_client.get(saved["image_url"])
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert image.data == stored.read_bytes()
    assert "no-store" in image.headers["Cache-Control"]
    image.close()
    listing = tryon_client.get("/tryon/snapshots").get_data(as_text=True)
    assert saved["image_url"] in listing and "Test Crown" in listing

    guest = tryon_app.test_client()
    assert guest.get(saved["image_url"]).status_code == 302
    assert guest.get("/tryon/snapshots").status_code == 302
    other = tryon_app.test_client()
    login(other, email="someone@example.com")
    assert other.get(saved["image_url"]).status_code == 404
    assert saved["image_url"] not in other.get("/tryon/snapshots").get_data(as_text=True)
    token = csrf_token(other, "/tryon/snapshots")
    deleted = other.post(f"/tryon/snapshots/{saved['id']}/delete", data={"csrf_token": token})
    assert deleted.status_code == 404
    assert stored.exists()

    assert tryon_client.post(f"/tryon/snapshots/{saved['id']}/delete").status_code == 400
    token = csrf_token(tryon_client, "/tryon/snapshots")
    deleted = tryon_client.post(
        f"/tryon/snapshots/{saved['id']}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 302
    assert not stored.exists()
    assert tryon_client.get(saved["image_url"]).status_code == 404


# --- photo mode without JavaScript -----------------------------------------------------------


def post_photo(client, photo: bytes, **fields):
    token = csrf_token(client, PAGE)
    return client.post(
        PAGE + "/photo", **multipart({"csrf_token": token, "photo": photo, **fields})
    )


def test_photo_form_returns_the_picture(tryon_app, tryon_client):
    response = post_photo(tryon_client, astronaut_jpeg(), metal="silver")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'src="data:image/jpeg;base64,' in body
    assert 'download="diadem-test-crown-silver.jpg"' in body
    assert 'alt="You wearing the Test Crown in sterling silver"' in body
    assert "Estimated head circumference" in body
    assert re.search(r'href="/shop/test-crown\?size=[SML]&amp;metal=silver"', body)
    assert uploads(tryon_app) == []


@pytest.mark.parametrize(("image", "status", "message"), PHOTO_ERRORS)
def test_photo_form_errors(tryon_app, tryon_client, image, status, message):
    response = post_photo(tryon_client, image)
    assert response.status_code == status
    body = html.unescape(response.get_data(as_text=True))
    assert message in body or (image == b"" and "Choose a photo to upload." in body)
    assert 'id="tryon-photo-form"' in body  # the page comes back, ready for another try
    assert uploads(tryon_app) == []


def test_photo_form_needs_its_csrf_token(tryon_client):
    response = tryon_client.post(
        PAGE + "/photo",
        data={"photo": (io.BytesIO(astronaut_jpeg()), "me.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "This page has expired" in response.get_data(as_text=True)


def test_photo_form_can_save_for_a_signed_in_buyer(tryon_app, tryon_client):
    make_user(tryon_app)
    login(tryon_client)
    response = post_photo(tryon_client, astronaut_jpeg(), save="y")
    assert response.status_code == 200
    assert "Saved to your account." in response.get_data(as_text=True)
    assert len(uploads(tryon_app)) == 1
    with tryon_app.app_context():
        (saved,) = services.list_snapshots(user_id=1)
        assert saved.product.slug == "test-crown" and saved.metal.code == "yellow-gold"


def test_fit_guide_explains_the_camera_estimate_from_its_source(tryon_client):
    body = tryon_client.get("/fit-guide").get_data(as_text=True)
    assert "2012 Anthropometric Survey of U.S. Army Personnel" in body
    assert "between M and L: measure to be sure" in body
    # The figures are the ones the estimate is computed from, not a copy.
    from ar import headsize

    men = headsize.HEAD_CIRCUMFERENCE["men"]
    assert f"<td>{men.mean:g} ({men.sd:g})</td>" in body
    assert f"r = {headsize.CIRCUMFERENCE_BREADTH_CORRELATION}" in body


def test_live_answer_carries_the_range_and_its_spread(tryon_client):
    response = pose(tryon_client, astronaut_jpeg(320))
    assert response.status_code == 200
    document = response.get_json()
    face = document["faces"][0]
    low, high = face["head_circumference_range_mm"]
    assert low < face["head_circumference_mm"] < high
    advice = document["size_advice"]
    assert advice["head_circumference_range_mm"] == [round(low), round(high)]
    assert advice["summary"].startswith("between ")
    assert 0 < advice["frame_sd_mm"] < advice["sd_mm"]
    assert {s["code"] for s in page_data(tryon_client.get(PAGE))["sizes"]} == {"S", "M", "L"}


def test_fit_notes_show_the_estimates_range_where_it_travels(tryon_app):
    from types import SimpleNamespace

    from flask import render_template

    from app.tryon.models import TryonSnapshot

    snapshot = TryonSnapshot(
        head_circumference_mm=554, head_circumference_low_mm=529, head_circumference_high_mm=579
    )
    consultation = SimpleNamespace(
        head_circumference_text="55.4 cm",
        head_circumference_mm=554,
        circumference_unit="cm",
        recommended_size="M",
        snapshot_id=None,
        snapshot=snapshot,
        fit_note_items=lambda: [],
    )
    with tryon_app.test_request_context():
        notes = render_template("booking/_fit_notes.html", consultation=consultation)
    assert "estimated by the try-on camera, likely 52.9–57.9 cm: a guide" in notes
    # A snapshot saved before ranges were kept still reads as an estimate.
    snapshot.head_circumference_low_mm = None
    with tryon_app.test_request_context():
        notes = render_template("booking/_fit_notes.html", consultation=consultation)
    assert "estimated by the try-on camera: a guide" in notes
