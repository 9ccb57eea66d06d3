from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from app.catalog.models import Piece
from app.common.transactions import atomic
from app.extensions import db
from app.provenance import services
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, png_bytes


@pytest.fixture
def passport_code(app, atelier) -> str:
    with app.app_context():
        piece_id = db.session.execute(db.select(Piece.id).order_by(Piece.id).limit(1)).scalar_one()
        with atomic():
            passport = services.passport_for_piece(piece_id=piece_id)
        with atomic():
            services.append_entry(
                passport_id=passport.id,
                kind="step",
                summary="Hand finished the filigree",
                actor="Mira Goldsmith",
            )
        return passport.code


def decode_qr(png: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    # The ArUco-based detector: the classic one misses about 1 code in 150 (random passport codes).
    text, points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    assert points is not None, "no QR code found"
    return text


def test_qr_png_decodes_to_the_absolute_passport_url(client, passport_code):
    response = client.get(f"/p/{passport_code}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert decode_qr(response.data) == f"http://diadem.test/p/{passport_code}"
    # Still readable when printed small and photographed a little blurred.
    image = Image.open(io.BytesIO(response.data)).convert("L").resize((120, 120))
    small = io.BytesIO()
    image.save(small, format="PNG")
    assert decode_qr(small.getvalue()) == f"http://diadem.test/p/{passport_code}"


def test_public_page_shows_history_and_chain_status(client, passport_code):
    page = client.get(f"/p/{passport_code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Aurelia Test · 01/10" in html
    assert 'data-chain="ok"' in html and "All 2 entries are intact" in html
    assert "Hand finished the filigree" in html
    # A name typed on an entry is not shown: only a published artisan profile is credited.
    assert "Mira Goldsmith" not in html and "The atelier" in html
    assert f"/p/{passport_code}/qr.png" in html and "Part of edition" in html


def test_public_page_warns_when_the_chain_is_broken(app, client, passport_code):
    from tests.provenance.test_services import drop_append_only_trigger

    with app.app_context():
        drop_append_only_trigger()
        db.session.execute(
            db.text("UPDATE provenance_entries SET actor = 'Somebody Else' WHERE seq = 2")
        )
        db.session.commit()
    html = client.get(f"/p/{passport_code}").get_data(as_text=True)
    assert 'data-chain="broken"' in html and "Entry #2: content altered" in html


def test_certificate_of_authenticity(app, client, passport_code):
    html = client.get(f"/p/{passport_code}/certificate").get_data(as_text=True)
    with app.app_context():
        head = services.get_passport(passport_code).head_hash
    assert "Certificate of authenticity" in html
    assert "01/10" in html and "18k yellow gold" in html
    assert "4 × diamond (not recorded)" in html
    # The step's typed name is no profile: the certificate credits the atelier.
    assert "Mira Goldsmith" not in html and "The Diadem atelier" in html and head in html
    assert f"/p/{passport_code}/qr.png" in html


@pytest.mark.parametrize("code", ["doesnotexist", "ABC", "../../etc", "a" * 40, "0o1il0o1il0o"])
def test_unknown_codes_are_404(client, atelier, code):
    assert client.get(f"/p/{code}").status_code == 404
    assert client.get(f"/p/{code}/qr.png").status_code == 404


def test_staff_add_entries_with_files_and_files_are_served(app, client, passport_code):
    login(client, "mira@example.org", PASSWORD)
    manage = f"/staff/provenance/{passport_code}"
    token = csrf_token(client, manage)
    pdf = b"%PDF-1.4\n% assay report\n"
    response = client.post(
        f"{manage}/entries",
        data={
            "csrf_token": token,
            "kind": "document",
            "summary": "Assay report for the gold lot",
            "actor": "London Assay Office",
            "origin": "recycled",
            "source": "Refiner lot 2291",
            "file_label": "Assay report",
            "files": [(io.BytesIO(pdf), "assay.pdf"), (io.BytesIO(png_bytes()), "lot.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        entry = services.entries_of(services.get_passport(passport_code).id)[-1]
        assert [f["content_type"] for f in entry.files] == ["application/pdf", "image/png"]
        entry_id = entry.id
    html = client.get(f"/p/{passport_code}").get_data(as_text=True)
    assert "Assay report for the gold lot" in html and "Refiner lot 2291" in html
    with client.get(f"/p/{passport_code}/files/{entry_id}/0") as served:
        assert served.status_code == 200 and served.data == pdf
    assert client.get(f"/p/{passport_code}/files/{entry_id}/5").status_code == 404
    assert client.get(f"/p/{passport_code}/files/1/0").status_code == 404  # not this entry's


def test_staff_entry_with_a_fake_image_is_refused(client, passport_code):
    login(client, "mira@example.org", PASSWORD)
    manage = f"/staff/provenance/{passport_code}"
    response = client.post(
        f"{manage}/entries",
        data={
            "csrf_token": csrf_token(client, manage),
            "kind": "step",
            "summary": "Photo of the setting",
            "files": [(io.BytesIO(b"GIF89a not really"), "setting.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "not an image we can read" in response.get_data(as_text=True)


def test_staff_overview_opens_passports(app, client, atelier):
    login(client, "mira@example.org", PASSWORD)
    index = client.get("/staff/provenance/")
    assert index.status_code == 200 and "AURELIA-TEST-YELLOW-GOLD" in index.get_data(as_text=True)
    with app.app_context():
        piece = db.session.execute(db.select(Piece).order_by(Piece.id.desc()).limit(1)).scalar_one()
        piece_id, run_id = piece.id, piece.run_id
    token = csrf_token(client, f"/staff/provenance/runs/{run_id}")
    response = client.post(
        f"/staff/provenance/pieces/{piece_id}/passport", data={"csrf_token": token}
    )
    assert response.status_code == 302 and "/staff/provenance/" in response.location
    assert "10/10" in client.get(response.location).get_data(as_text=True)
