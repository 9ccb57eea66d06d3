"""The packing ritual: a line is packed only with every item ticked and a photo (metadata
stripped), kept with the order; staff see the checklist, the buyer sees the photo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.checkout.models import OrderLine
from app.common.transactions import atomic
from app.domain.packing import PACKING_KEYS, PackingIncomplete, check_packing
from app.extensions import db
from app.staff import services as staff
from app.staff.models import PackingRecord
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, only_line, pack, paid_order, png_bytes, qc_pass


def _to_qc(a, line_id: int) -> None:
    for target in ("hand_finishing", "qc"):
        with atomic():
            staff.move_line(
                order_line_id=line_id, target=target, expected_stage=None, by_user_id=a.artisan_id
            )
    qc_pass(line_id, checker_id=a.checker_id)


@pytest.fixture
def ready(app, atelier):
    """A paid studio order whose line passed QC: (order number, line id)."""
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id
        _to_qc(atelier, line_id)
        return order.number, line_id


def _stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOADS_ROOT"]) / "packing"
    return sorted(root.glob("*")) if root.exists() else []


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 60), "teal")
    exif = Image.Exif()
    exif[0x010F] = "AtelierCam"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo: a latitude
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_the_checklist_names_every_missing_item_and_the_photo():
    with pytest.raises(PackingIncomplete) as refused:
        check_packing(["pouch", "box"], has_photo=False)
    message = str(refused.value)
    for label in ("Care card signed by the artisan", "Certificate", "Hangtag with the passport QR"):
        assert label in message
    assert "Soft pouch" not in message and "a photo of the packed piece" in message
    with pytest.raises(PackingIncomplete, match="Unknown packing item"):
        check_packing([*PACKING_KEYS, "confetti"], has_photo=True)
    assert check_packing(reversed(PACKING_KEYS), has_photo=True) == PACKING_KEYS


@pytest.mark.parametrize(
    ("items", "photo", "message"),
    [
        (PACKING_KEYS[:-1], png_bytes(), "Hangtag with the passport QR code"),
        (PACKING_KEYS, None, "a photo of the packed piece"),
        (PACKING_KEYS, b"%PDF-1.4 not a photo", "JPEG, PNG or WebP"),
    ],
)
def test_packing_with_anything_missing_keeps_nothing(app, atelier, ready, items, photo, message):
    _, line_id = ready
    with app.app_context():
        with (
            pytest.raises(
                staff.UploadError if photo and photo[:4] == b"%PDF" else staff.PackingError
            ) as refused,
            atomic(),
        ):
            staff.pack_line(
                order_line_id=line_id,
                items=items,
                photo=photo,
                expected_stage="qc",
                by_user_id=atelier.checker_id,
            )
        assert message in str(refused.value)
        assert db.session.get(OrderLine, line_id).stage == "qc"
        assert db.session.execute(select(func.count(PackingRecord.id))).scalar_one() == 0
    assert _stored_files(app) == []


def test_packing_records_the_ritual_and_a_photo_without_its_metadata(app, atelier, ready):
    _, line_id = ready
    with app.app_context():
        record = pack(line_id, atelier.checker_id, expected="qc", photo=_jpeg_with_gps())
        assert record.items == list(PACKING_KEYS)
        assert db.session.get(OrderLine, line_id).stage == "packed"
        (stored,) = _stored_files(app)
        with Image.open(stored) as image:
            assert not image.getexif()  # no camera, no GPS
        with pytest.raises(staff.PackingError, match="already packed"):
            pack(line_id, atelier.checker_id)


def test_a_refused_move_after_the_photo_was_stored_leaves_no_file(app, atelier):
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id  # still "paid": no QC yet, so packing is refused
        with pytest.raises(staff.TransitionRefused):
            pack(line_id, atelier.checker_id)
    assert _stored_files(app) == []


def test_staff_pack_through_the_form_and_the_buyer_sees_the_photo(app, client, atelier, ready):
    number, line_id = ready
    login(client, "theo@example.org", PASSWORD)
    page = f"/staff/orders/{number}"
    html = client.get(page).get_data(as_text=True)
    assert 'name="items" value="care_card"' in html

    def post(items, photo=True):
        data = {
            "csrf_token": csrf_token(client, page),
            "items": list(items),
            "expected_stage": "qc",
        }
        if photo:
            data["photo"] = (io.BytesIO(png_bytes((64, 48))), "box.png")
        return client.post(
            f"{page}/lines/{line_id}/pack", data=data, content_type="multipart/form-data"
        )

    refused = post(["pouch", "box", "certificate"])
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "still missing: Care card signed by the artisan; Hangtag" in body
    assert 'value="certificate" checked' in body  # what was ticked stays ticked

    assert post(PACKING_KEYS).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "Packed " in html and f"/staff/orders/{number}/lines/{line_id}/packing-photo" in html
    with client.get(f"{page}/lines/{line_id}/packing-photo") as response:
        assert response.status_code == 200

    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "bea@example.com", PASSWORD)
    order_page = client.get(f"/account/orders/{number}").get_data(as_text=True)
    photo = f"/account/orders/{number}/lines/{line_id}/packing-photo"
    assert photo in order_page and "packed in its box" in order_page
    with client.get(photo) as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
    # Another customer sees neither the order nor its photo; staff's URL stays staff's.
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "cy@example.com", PASSWORD)
    assert client.get(photo).status_code == 404
    assert client.get(f"{page}/lines/{line_id}/packing-photo").status_code == 403
