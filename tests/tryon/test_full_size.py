"""Full-size try-on under load: bounded decoding, a cap on jobs, a rate limit, JSON errors."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from app.tryon import images, services
from tests.helpers import csrf_token
from tests.tryon.conftest import HUGE_SIDE
from tests.tryon.helpers import MAGENTA, astronaut, astronaut_jpeg, coffee_jpeg, encode, resized
from tests.tryon.test_views import PAGE, POSE, SNAPSHOT, multipart, page_token, pose, snapshot


def post_photo(client, photo: bytes, token: str):
    return client.post(PAGE + "/photo", **multipart({"csrf_token": token, "photo": photo}))


def decoded_jpeg(document: dict) -> np.ndarray:
    jpeg = base64.b64decode(document["image"].removeprefix("data:image/jpeg;base64,"))
    return np.asarray(Image.open(io.BytesIO(jpeg)))


# --- decoding at a bounded size --------------------------------------------------------------


def test_a_huge_jpeg_is_decoded_at_reduced_size_by_libjpeg(monkeypatch, huge_face_jpeg):
    opened = []
    real_open = images.Image.open

    def spying_open(*args, **kwargs):
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(images.Image, "open", spying_open)
    rgb = services.decode_photo(huge_face_jpeg)
    assert rgb.shape == (2048, 2048, 3) and rgb.dtype == np.uint8
    # draft() chose 1/2 scale: libjpeg produced 3150 x 3150 px, never the 6300 x 6300 original.
    source = opened[-1]  # the header check opened it first
    assert source.decoderconfig == (2, 0)
    assert source.size == (HUGE_SIDE // 2, HUGE_SIDE // 2)


def test_other_formats_are_reduced_after_decoding():
    png = encode(resized(astronaut(), 2200), "PNG", compress_level=1)
    rgb = services.decode_photo(png)
    assert rgb.shape == (2048, 2048, 3)
    small = services.decode_photo(astronaut_jpeg())
    assert small.shape == (512, 512, 3)  # small photos keep every pixel


def test_bounded_decoding_keeps_the_exif_rotation():
    photo = Image.fromarray(resized(astronaut(), 3000)[:2000])  # 3000 wide, 2000 high
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92, exif=exif)
    rgb = services.decode_photo(buffer.getvalue())
    assert rgb.shape == (2048, 1365, 3)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue())))
    expected = np.asarray(upright.resize((1365, 2048), Image.Resampling.LANCZOS))
    assert np.abs(rgb.astype(int) - expected).mean() < 3


def test_working_size_only_ever_shrinks():
    assert images.working_size((6300, 6300)) == (2048, 2048)
    assert images.working_size((7360, 4912)) == (2048, 1367)
    assert images.working_size((4912, 7360)) == (1367, 2048)
    assert images.working_size((1200, 800)) == (1200, 800)


def test_a_huge_photo_gets_the_piece_on_the_face(tryon_client, huge_face_jpeg):
    response = snapshot(tryon_client, huge_face_jpeg, token=page_token(tryon_client))
    assert response.status_code == 200
    document = response.get_json()
    assert document["frame"] == {"width": 2048, "height": 2048}
    image = decoded_jpeg(document)
    assert image.shape == (2048, 2048, 3)
    (face,) = document["faces"]
    x, y, w, h = face["bbox"]
    # The face fills the same part of the picture as in the 512 px original (scaled by 4).
    small = snapshot(tryon_client, astronaut_jpeg(), token=page_token(tryon_client)).get_json()
    assert np.allclose(face["bbox"], np.multiply(small["faces"][0]["bbox"], 4), atol=24)
    piece = (np.abs(image.astype(int) - MAGENTA) < 60).all(axis=2)
    assert piece[:y, x : x + w].sum() > 8000, "the crown sits above the face"
    assert piece[y + h // 2 :, :].sum() == 0, "and nowhere below the eyes"


# --- at most TRYON_PHOTO_JOBS full-size jobs at once -----------------------------------------


@pytest.fixture
def all_slots_taken(tryon_app):
    with tryon_app.app_context():
        slots = services.photo_slots()
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    yield taken
    for _ in range(taken):
        slots.release()


def test_photo_jobs_default_to_two_per_process(tryon_app, all_slots_taken):
    assert all_slots_taken == services.DEFAULT_PHOTO_JOBS == 2


def test_a_busy_process_answers_503_with_retry_after(tryon_client, all_slots_taken):
    token = page_token(tryon_client)
    response = snapshot(tryon_client, astronaut_jpeg(), token=token)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(services.PHOTO_RETRY_AFTER_SECONDS)
    assert response.is_json
    assert "busy with other photos" in response.get_json()["error"]

    response = post_photo(tryon_client, astronaut_jpeg(), token)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(services.PHOTO_RETRY_AFTER_SECONDS)
    body = html.unescape(response.get_data(as_text=True))
    assert "busy with other photos" in body
    assert 'id="tryon-photo-form"' in body  # the page comes back, ready for another try


def test_a_photo_refused_from_its_header_takes_no_slot(tryon_client, all_slots_taken):
    response = snapshot(tryon_client, b"Hello", token=page_token(tryon_client))
    assert response.status_code == 415


def test_slots_are_given_back_after_errors(tryon_app, tryon_client):
    tryon_app.config["TRYON_PHOTO_JOBS"] = 1
    token = page_token(tryon_client)
    statuses = [snapshot(tryon_client, coffee_jpeg(), token=token).status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    assert snapshot(tryon_client, astronaut_jpeg(), token=token).status_code == 200
    with tryon_app.app_context():
        slots = services.photo_slots()
    assert slots.acquire(blocking=False) and not slots.acquire(blocking=False)
    slots.release()


# --- rate limit ------------------------------------------------------------------------------


def test_full_size_photos_are_rate_limited_per_client(tryon_app, tryon_client):
    tryon_app.config["TRYON_PHOTO_RATE_LIMIT"] = "2 per minute"
    token = page_token(tryon_client)
    assert snapshot(tryon_client, b"Hello", token=token).status_code == 415
    assert post_photo(tryon_client, b"Hello", token).status_code == 415
    # The JSON snapshot and the form share one budget.
    response = snapshot(tryon_client, astronaut_jpeg(), token=token)
    assert response.status_code == 429
    assert response.is_json
    assert "wait a minute" in response.get_json()["error"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    response = post_photo(tryon_client, astronaut_jpeg(), token)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    body = html.unescape(response.get_data(as_text=True))
    assert "wait a minute" in body and 'id="tryon-photo-form"' in body
    # Live frames have their own budget, and other clients theirs.
    assert pose(tryon_client, astronaut_jpeg(320)).status_code == 200
    other = tryon_app.test_client()
    other_token = csrf_token(other, PAGE)
    response = other.post(
        SNAPSHOT,
        headers={"X-CSRFToken": other_token},
        environ_overrides={"REMOTE_ADDR": "10.0.0.2"},
        **multipart({"image": b"Hello", "product": "test-crown"}),
    )
    assert response.status_code == 415


def test_the_default_photo_rate_limit_is_ten_a_minute(tryon_client):
    token = page_token(tryon_client)
    statuses = [snapshot(tryon_client, b"Hello", token=token).status_code for _ in range(11)]
    assert statuses == [415] * 10 + [429]


# --- /tryon/api/* answers errors as JSON -----------------------------------------------------


def test_api_errors_are_json(tryon_app, tryon_client):
    token = page_token(tryon_client)
    answers = {
        "csrf": snapshot(tryon_client, astronaut_jpeg(), token=None),
        "form": snapshot(tryon_client, astronaut_jpeg(), token=token, product=""),
        "nul": pose(tryon_client, astronaut_jpeg(320), product="test\x00crown"),
        "body": snapshot(tryon_client, b"\xff" * (9 * 1024 * 1024), token=token),
    }
    tryon_app.config["TRYON_POSE_RATE_LIMIT"] = "1 per minute"
    pose(tryon_client, b"x")
    answers["rate"] = pose(tryon_client, b"x")
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {"csrf": 400, "form": 400, "nul": 400, "body": 413, "rate": 429}
    for name, response in answers.items():
        assert response.is_json, name
        assert response.get_json()["error"], name
        assert response.headers["Cache-Control"] == "no-store", name


def test_an_api_crash_is_json_too(tryon_app, tryon_client, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("the engine fell over")

    monkeypatch.setattr(services, "locate_piece", crash)
    tryon_app.config["PROPAGATE_EXCEPTIONS"] = False
    response = tryon_client.post(
        POSE, **multipart({"frame": astronaut_jpeg(320), "product": "test-crown"})
    )
    assert response.status_code == 500
    assert response.get_json() == {"error": "Something went wrong; please try again in a moment."}
