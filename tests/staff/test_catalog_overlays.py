"""Staff pages for try-on overlays: upload, calibrate, preview; buyers see calibrated ones only."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.catalog import overlays
from app.catalog.models import Overlay
from app.extensions import db
from app.tryon import services as tryon
from tests.catalog.test_overlays import crown_png, empty_png, jpeg_named_png, opaque_png
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD
from tests.tryon.helpers import MAGENTA, astronaut_jpeg, coffee_jpeg, overlay_png

SLUG = "aurelia-test"  # tests.staff.builders: a studio crown in yellow gold
GOOD = {
    "band_left_x": "20",
    "band_left_y": "285",
    "band_right_x": "580",
    "band_right_y": "285",
    "width_mm": "160",
}


@pytest.fixture
def product_id(atelier) -> int:
    return atelier.studio_product_id


@pytest.fixture
def staff(client, atelier):
    login(client, "mira@example.org", PASSWORD)
    return client


def board_url(product_id: int) -> str:
    return f"/staff/catalog/overlays/{product_id}"


def upload_url(product_id: int, metal: str = "yellow-gold") -> str:
    return f"/staff/catalog/overlays/{product_id}/{metal}"


def calibrate_url(product_id: int, metal: str = "yellow-gold") -> str:
    return f"/staff/catalog/overlays/{product_id}/{metal}/calibrate"


def preview_url(product_id: int, metal: str = "yellow-gold") -> str:
    return f"/staff/catalog/overlays/{product_id}/{metal}/preview"


def token(client, product_id: int) -> str:
    return csrf_token(client, board_url(product_id))


def post_upload(client, product_id: int, data: bytes, *, csrf: str | None, name="crown.png"):
    fields = {"overlay": (io.BytesIO(data), name)}
    if csrf:
        fields["csrf_token"] = csrf
    return client.post(upload_url(product_id), data=fields, content_type="multipart/form-data")


def the_overlay(app, product_id: int) -> Overlay | None:
    with app.app_context():
        return db.session.execute(
            db.select(Overlay).where(Overlay.product_id == product_id)
        ).scalar_one_or_none()


def uploaded(app, client, product_id: int, data: bytes | None = None) -> Overlay:
    response = post_upload(
        client, product_id, data or overlay_png(MAGENTA), csrf=token(client, product_id)
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return the_overlay(app, product_id)


def calibration_fields(client, product_id: int, **changes) -> dict:
    page = client.get(calibrate_url(product_id)).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="([^"]+)"', page)
    assert version, page
    return {
        "csrf_token": csrf_token(client, calibrate_url(product_id)),
        "version": version.group(1),
        **GOOD,
        **changes,
    }


def decode(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


# --- who may ----------------------------------------------------------------------------------


def every_url(product_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", board_url(product_id)),
        ("POST", upload_url(product_id)),
        ("GET", calibrate_url(product_id)),
        ("POST", calibrate_url(product_id)),
        ("POST", preview_url(product_id)),
    ]


def test_guests_are_sent_to_sign_in(client, product_id):
    csrf = csrf_token(client, "/account/login")
    for method, url in every_url(product_id):
        response = client.open(url, method=method, data={"csrf_token": csrf})
        assert response.status_code == 302, (method, url)
        assert "/account/login" in response.location


def test_customers_are_refused(client, product_id):
    login(client, "bea@example.com", PASSWORD)
    csrf = csrf_token(client, "/account")
    for method, url in every_url(product_id):
        response = client.open(url, method=method, data={"csrf_token": csrf})
        assert response.status_code == 403, (method, url)


def test_posts_without_the_csrf_token_are_refused(app, staff, product_id):
    response = post_upload(staff, product_id, overlay_png(MAGENTA), csrf=None)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert the_overlay(app, product_id) is None
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id)
    del fields["csrf_token"]
    assert staff.post(calibrate_url(product_id), data=fields).status_code == 400
    assert the_overlay(app, product_id).calibrated_at is None
    response = staff.post(
        preview_url(product_id), data=fields, headers={"Accept": "image/jpeg, application/json"}
    )
    assert response.status_code == 400 and "expired" in response.get_json()["error"]


def test_unknown_products_and_metals_are_404(staff, product_id):
    assert staff.get(board_url(product_id + 99)).status_code == 404
    assert staff.get(calibrate_url(product_id)).status_code == 404  # nothing uploaded yet
    response = post_upload(
        staff, product_id, overlay_png(MAGENTA), csrf=token(staff, product_id), name="x.png"
    )
    assert response.status_code == 302
    bad_metal = staff.post(
        upload_url(product_id, "platinum"),
        data={"csrf_token": token(staff, product_id), "overlay": (io.BytesIO(b"x"), "x.png")},
        content_type="multipart/form-data",
    )
    assert bad_metal.status_code == 404


# --- uploading --------------------------------------------------------------------------------


def test_the_board_lists_each_offered_metal_with_an_upload_form(staff, product_id):
    page = staff.get(board_url(product_id)).get_data(as_text=True)
    assert "Try-on overlays: Aurelia Test" in page
    assert 'id="metal-yellow-gold"' in page and 'data-status="none"' in page
    assert 'accept="image/png"' in page and 'for="overlay-yellow-gold"' in page


def test_an_upload_leads_to_calibration_and_waits_for_it(app, staff, product_id):
    response = post_upload(staff, product_id, overlay_png(MAGENTA), csrf=token(staff, product_id))
    assert response.status_code == 302
    assert response.location.endswith(calibrate_url(product_id))
    overlay = the_overlay(app, product_id)
    assert overlay.calibrated_at is None
    page = staff.get(calibrate_url(product_id)).get_data(as_text=True)
    assert "Not calibrated yet" in page and "buyers cannot try it on" in page
    assert 'id="handle-left"' in page and 'id="handle-right"' in page
    assert 'data-width="600" data-height="300"' in page
    for name in ("band_left_x", "band_left_y", "band_right_x", "band_right_y", "width_mm"):
        assert f'name="{name}"' in page
    assert "See it on the reference portrait" in page
    board = staff.get(board_url(product_id)).get_data(as_text=True)
    assert 'data-status="uncalibrated"' in board


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (opaque_png, "background was not removed"),
        (jpeg_named_png, "is a JPEG photo, not a PNG"),
        (lambda: crown_png((120, 50)), "too small"),
        (empty_png, "no piece to see"),
    ],
    ids=["opaque", "jpeg-disguised", "tiny", "transparent-everywhere"],
)
def test_uploads_that_cannot_be_overlays_are_refused_with_a_reason(
    app, staff, product_id, make, message
):
    response = post_upload(staff, product_id, make(), csrf=token(staff, product_id))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert the_overlay(app, product_id) is None
    assert not (Path(app.config["MEDIA_ROOT"]) / "products" / SLUG).exists()


def test_too_large_files_are_refused(app, staff, product_id):
    csrf = token(staff, product_id)
    just_over = b"\x89PNG\r\n\x1a\n" + b"\0" * overlays.MAX_OVERLAY_BYTES

    def send(data: bytes):
        boundary, body = encode_multipart(
            {"csrf_token": csrf, "overlay": FileStorage(io.BytesIO(data), filename="big.png")}
        )
        return staff.post(
            upload_url(product_id),
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    response = send(just_over)
    assert response.status_code == 400 and "over 8 MB" in response.get_data(as_text=True)
    response = send(just_over + b"\0" * 512 * 1024)  # past the body limit: not even read
    assert response.status_code == 413 and "over 8 MB" in response.get_data(as_text=True)
    assert the_overlay(app, product_id) is None


# --- calibrating ------------------------------------------------------------------------------


def test_saving_a_calibration_offers_the_try_on(app, staff, product_id):
    uploaded(app, staff, product_id)
    assert "tryon-link" not in staff.get(f"/shop/{SLUG}").get_data(as_text=True)
    response = staff.post(
        calibrate_url(product_id), data=calibration_fields(staff, product_id, width_mm="158.5")
    )
    assert response.status_code == 302 and response.location.endswith(board_url(product_id))
    overlay = the_overlay(app, product_id)
    assert overlay.spec == {
        "kind": "crown",
        "width_mm": 158.5,
        "band_left": [20.0, 285.0],
        "band_right": [580.0, 285.0],
    }
    assert overlay.calibrated_at is not None
    board = staff.get(board_url(product_id)).get_data(as_text=True)
    assert 'data-status="calibrated"' in board and "by Mira Goldsmith" in board
    assert "tryon-link" in staff.get(f"/shop/{SLUG}").get_data(as_text=True)
    assert staff.get(f"/tryon/{SLUG}").status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"band_left_x": "-5"}, "outside the 600×300 picture"),
        ({"band_right_y": "300"}, "outside the 600×300 picture"),
        ({"band_left_x": "580", "band_right_x": "20"}, "swapped"),
        ({"band_left_y": "20", "band_right_y": "20"}, "see-through"),
        ({"width_mm": "40"}, "cannot be right"),
        ({"width_mm": "400"}, "cannot be right"),
        ({"width_mm": "nan"}, "Enter a number"),
        ({"band_left_x": "left"}, "Left end, x"),
    ],
    ids=[
        "left-outside",
        "right-outside",
        "reversed",
        "across-transparency",
        "narrow",
        "wide",
        "nan",
        "not-a-number",
    ],
)
def test_calibrations_that_cannot_be_right_are_refused(app, staff, product_id, changes, message):
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id, **changes)
    response = staff.post(calibrate_url(product_id), data=fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page and 'aria-invalid="true"' in page
    # What was typed stays in the form.
    for name, value in changes.items():
        if value not in ("nan", "left"):
            assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}', page), name
    assert the_overlay(app, product_id).calibrated_at is None


def test_a_calibration_of_a_replaced_picture_is_refused(app, staff, product_id):
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id)
    uploaded(app, staff, product_id, crown_png((640, 320)))
    response = staff.post(calibrate_url(product_id), data=fields)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "was replaced while this page was open" in page
    assert 'data-width="640" data-height="320"' in page  # the new picture, to calibrate again
    assert the_overlay(app, product_id).calibrated_at is None


# --- the preview ------------------------------------------------------------------------------

JSON = {"Accept": "image/jpeg, application/json"}


def test_the_preview_shows_the_overlay_on_the_reference_portrait(app, staff, product_id):
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id, source="reference")
    response = staff.post(preview_url(product_id), data=fields, headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Faces-Found"] == "1"
    with app.app_context():
        plain = decode(tryon.reference_portrait())
    shown = decode(response.data)
    assert shown.shape == plain.shape
    changed = np.abs(shown - plain).max(axis=2) > 60
    # The magenta crown sits on the head: a real region changed, above the eyes, nothing below.
    assert changed.mean() > 0.01
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.max() < plain.shape[0] * 0.45
    region = shown[changed]
    assert (region[:, 0] > 180).mean() > 0.8 and (region[:, 2] > 180).mean() > 0.8  # magenta
    # Nothing was saved: the overlay is still uncalibrated, the spec the suggestion.
    assert the_overlay(app, product_id).calibrated_at is None


def test_the_preview_uses_the_unsaved_width(app, staff, product_id):
    uploaded(app, staff, product_id)

    def magenta_share(width_mm: str) -> float:
        fields = calibration_fields(staff, product_id, width_mm=width_mm)
        shown = decode(staff.post(preview_url(product_id), data=fields).data)
        return float(
            ((shown[:, :, 0] > 200) & (shown[:, :, 1] < 80) & (shown[:, :, 2] > 200)).mean()
        )

    assert magenta_share("200") > magenta_share("100") * 2


def test_the_preview_on_the_staff_members_own_photo(app, staff, product_id):
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id, source="photo")
    fields["photo"] = (io.BytesIO(astronaut_jpeg(400)), "me.jpg")
    response = staff.post(preview_url(product_id), data=fields, content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert decode(response.data).shape[:2] == (400, 400)
    # Held in memory only: nothing in the uploads or beside the overlay.
    uploads = Path(app.config["UPLOADS_ROOT"])
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
    assert len(list((Path(app.config["MEDIA_ROOT"]) / "products" / SLUG).iterdir())) == 1


def test_a_photo_without_a_face_or_no_photo_gets_a_reason(app, staff, product_id):
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id, source="photo")
    response = staff.post(preview_url(product_id), data=fields, headers=JSON)
    assert response.status_code == 400 and "Choose a photo" in response.get_json()["error"]
    fields["photo"] = (io.BytesIO(coffee_jpeg()), "coffee.jpg")
    response = staff.post(
        preview_url(product_id), data=fields, headers=JSON, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and "face" in response.get_json()["error"]


def test_the_preview_refuses_a_calibration_that_cannot_be_right(app, staff, product_id):
    uploaded(app, staff, product_id)
    fields = calibration_fields(staff, product_id, band_left_y="20", band_right_y="20")
    response = staff.post(preview_url(product_id), data=fields, headers=JSON)
    assert response.status_code == 400 and "see-through" in response.get_json()["error"]
    # A browser without JavaScript (the form opened in a new tab) gets a page.
    response = staff.post(preview_url(product_id), data=fields, headers={"Accept": "text/html"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "see-through" in response.get_data(as_text=True)


# --- buyers never see an uncalibrated overlay -------------------------------------------------


def test_an_uncalibrated_overlay_offers_no_try_on(app, staff, product_id):
    uploaded(app, staff, product_id)
    staff.post("/account/logout", data={"csrf_token": csrf_token(staff, "/account")})
    buyer = app.test_client()
    assert "tryon-link" not in buyer.get(f"/shop/{SLUG}").get_data(as_text=True)
    assert buyer.get(f"/tryon/{SLUG}").status_code == 404
    frame = {"frame": (io.BytesIO(astronaut_jpeg(320)), "f.jpg"), "product": SLUG}
    pose = buyer.post("/tryon/api/pose", data=frame, content_type="multipart/form-data")
    assert pose.status_code == 404 and "no try-on picture" in pose.get_json()["error"]
    snapshot = buyer.post(
        "/tryon/api/snapshot",
        data={"image": (io.BytesIO(astronaut_jpeg(320)), "f.jpg"), "product": SLUG},
        headers={"X-CSRFToken": csrf_token(buyer, "/account/login")},
        content_type="multipart/form-data",
    )
    assert snapshot.status_code == 404
    photo = buyer.post(
        f"/tryon/{SLUG}/photo",
        data={
            "photo": (io.BytesIO(astronaut_jpeg(320)), "f.jpg"),
            "csrf_token": csrf_token(buyer, "/account/login"),
        },
        content_type="multipart/form-data",
    )
    assert photo.status_code == 404
