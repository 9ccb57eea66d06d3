"""Staff batch pages: the list with its counts, opening a batch, its sourcing statement, documents
and closing it."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.catalog.models import BatchDocument, EditionRun, Piece
from app.common.storage import media_storage
from app.common.uploads import MAX_VIDEO_BYTES
from app.domain.clock import utcnow
from app.extensions import db
from tests.catalog.test_batches import PDF, jpeg_with_exif
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD
from tests.test_uploads import iso_box, mp4_bytes

BASE = "/staff/catalog/batches"
STATEMENT = "Ethically sourced rose gold from a single Fairmined refinery."


@pytest.fixture
def staff(client, atelier):
    login(client, "mira@example.org", PASSWORD)
    return client


def _run(app, code: str | None = None) -> EditionRun:
    with app.app_context():
        stmt = select(EditionRun).order_by(EditionRun.id)
        if code is not None:
            stmt = stmt.where(EditionRun.batch_code == code)
        run = db.session.execute(stmt).scalars().first()
        db.session.expunge(run)
        return run


def _open_form(client, **changes) -> dict:
    token = csrf_token(client, f"{BASE}/new")
    page = client.get(f"{BASE}/new").get_data(as_text=True)
    (edition,) = re.findall(r'<option[^>]*value="(\d+:yellow-gold)"', page)
    data = {
        "csrf_token": token,
        "edition": edition,
        "batch_code": "AUR-RG-2027",
        "size": "25",
        "sourcing_statement": STATEMENT,
        "released_on": "2027-04-01",
    }
    data.update(changes)
    return data


def test_the_list_shows_each_batch_with_its_counts(app, staff):
    run = _run(app)
    with app.app_context():
        now = utcnow()
        db.session.execute(
            update(Piece).where(Piece.run_id == run.id, Piece.number <= 3).values(status="sold")
        )
        db.session.execute(
            update(Piece)
            .where(Piece.run_id == run.id, Piece.number == 4)
            .values(status="reserved", reserved_until=now + timedelta(minutes=20))
        )
        db.session.execute(
            update(Piece).where(Piece.run_id == run.id, Piece.number == 5).values(status="withheld")
        )
        db.session.commit()
    page = staff.get(BASE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f'data-batch="{run.batch_code}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-state="open"' in row
    assert "Aurelia Test" in row and "18k yellow gold" in row
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts == {"sold": "3", "reserved": "1", "available": "5", "withheld": "1"}


@pytest.mark.parametrize("product", ["2147483648", "99999999999999", "-1", "x"])
def test_a_product_filter_out_of_range_lists_every_batch(app, staff, product):
    """Found by the junk sweep on PostgreSQL: 2147483648 reached an INTEGER column (500)."""
    run = _run(app)
    page = staff.get(f"{BASE}?product={product}")
    assert page.status_code == 200
    assert f'data-batch="{run.batch_code}"' in page.get_data(as_text=True)


def test_opening_a_batch_through_the_form(app, staff):
    page = staff.get(f"{BASE}/new").get_data(as_text=True)
    assert "Aurelia Test" in page
    assert "Bespoke Test" not in page  # a custom commission is made to order, not in batches
    response = staff.post(f"{BASE}/new", data=_open_form(staff))
    assert response.status_code == 302
    run = _run(app, "AUR-RG-2027")
    assert response.location.endswith(f"{BASE}/{run.id}")
    assert run.size == 25 and run.sourcing_statement == STATEMENT
    assert str(run.released_on) == "2027-04-01"
    with app.app_context():
        numbers = db.session.execute(
            select(Piece.number).where(Piece.run_id == run.id, Piece.status == "available")
        ).scalars()
        assert sorted(numbers) == list(range(1, 26))
    shown = staff.get(response.location).get_data(as_text=True)
    assert "Batch AUR-RG-2027 is open" in shown and STATEMENT in shown


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_code": "AUR RG"}, "single hyphens"),
        ({"batch_code": "AURELIA-TEST-YELLOW-GOLD"}, "already used"),
        ({"batch_code": "aurelia-test-yellow-gold"}, "already used"),
        ({"sourcing_statement": ""}, "This field is required"),
        ({"size": "30"}, "Not a valid choice"),
        ({"edition": "999:yellow-gold"}, "Not a valid choice"),
    ],
)
def test_opening_refuses_bad_input(app, staff, changes, message):
    response = staff.post(f"{BASE}/new", data=_open_form(staff, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count(EditionRun.id))).scalar_one() == 1


def test_the_new_page_can_start_from_a_product(app, staff, atelier):
    page = staff.get(f"{BASE}/new?product={atelier.studio_product_id}").get_data(as_text=True)
    (option,) = re.findall(
        rf'<option[^>]*value="{atelier.studio_product_id}:yellow-gold"[^>]*>', page
    )
    assert "selected" in option


def test_editing_the_sourcing_statement(app, staff):
    run = _run(app)
    token = csrf_token(staff, f"{BASE}/{run.id}")
    response = staff.post(
        f"{BASE}/{run.id}/sourcing",
        data={"csrf_token": token, "sourcing_statement": "Recycled silver, this run."},
    )
    assert response.status_code == 302
    assert _run(app).sourcing_statement == "Recycled silver, this run."
    refused = staff.post(
        f"{BASE}/{run.id}/sourcing", data={"csrf_token": token, "sourcing_statement": " "}
    )
    assert refused.status_code == 400
    assert _run(app).sourcing_statement == "Recycled silver, this run."


def _attach(client, run_id: int, data: bytes, *, kind="assay", title="Assay report", name="f"):
    """POST the document form; the body is encoded in memory (the test client would spool a
    large one to a temporary file that it leaves open)."""
    fields = MultiDict({"csrf_token": csrf_token(client, f"{BASE}/{run_id}"), "kind": kind})
    fields.add("title", title)
    fields.add("file", FileStorage(io.BytesIO(data), filename=name))
    boundary, body = encode_multipart(fields)
    return client.post(
        f"{BASE}/{run_id}/documents",
        data=body,
        content_type=f'multipart/form-data; boundary="{boundary}"',
    )


def _documents(app) -> list[BatchDocument]:
    with app.app_context():
        documents = db.session.execute(select(BatchDocument).order_by(BatchDocument.id)).scalars()
        documents = list(documents)
        for document in documents:
            db.session.expunge(document)
        return documents


def test_attaching_and_removing_documents(app, staff):
    run = _run(app)
    assert _attach(staff, run.id, PDF, name="assay.pdf").status_code == 302
    photo = _attach(staff, run.id, jpeg_with_exif(), kind="photo", title="Bench", name="a.jpg")
    assert photo.status_code == 302
    pdf, jpeg = _documents(app)
    assert (pdf.content_type, jpeg.content_type) == ("application/pdf", "image/jpeg")
    assert jpeg.uploaded_by_id is not None
    with app.app_context():
        stored = media_storage().read(jpeg.path)
        assert b"SpyCam" not in stored
        assert not Image.open(io.BytesIO(stored)).getexif()
    page = staff.get(f"{BASE}/{run.id}").get_data(as_text=True)
    assert "Assay report" in page and "Bench photo" in page

    token = csrf_token(staff, f"{BASE}/{run.id}")
    response = staff.post(f"{BASE}/{run.id}/documents/{pdf.id}/remove", data={"csrf_token": token})
    assert response.status_code == 302
    assert [d.id for d in _documents(app)] == [jpeg.id]
    with app.app_context():
        assert not media_storage().exists(pdf.path)
        assert media_storage().exists(jpeg.path)
    missing = staff.post(f"{BASE}/{run.id}/documents/{pdf.id}/remove", data={"csrf_token": token})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("data", "kind", "title", "message"),
    [
        (b"plain text", "assay", "Assay", "not an image or video"),
        (PDF, "photo", "Bench", "bench photo must be"),
        (PDF, "assay", "", "This field is required"),
    ],
)
def test_documents_refused_by_the_page(app, staff, data, kind, title, message):
    run = _run(app)
    response = _attach(staff, run.id, data, kind=kind, title=title)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _documents(app) == []


def test_a_document_needs_a_file(app, staff):
    run = _run(app)
    token = csrf_token(staff, f"{BASE}/{run.id}")
    response = staff.post(
        f"{BASE}/{run.id}/documents",
        data={"csrf_token": token, "kind": "assay", "title": "Assay"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Choose a file" in response.get_data(as_text=True)


def _mp4_of(size: int) -> bytes:
    head = mp4_bytes()
    return head + iso_box(b"mdat", bytes(size - len(head) - 8))


def test_a_video_may_be_larger_than_other_requests(app, staff):
    run = _run(app)
    big = _mp4_of(20 * 1024 * 1024)  # over the app-wide 16 MB request limit
    response = _attach(staff, run.id, big, kind="video", title="Setting the stones")
    assert response.status_code == 302
    (video,) = _documents(app)
    assert video.content_type == "video/mp4" and video.size_bytes == len(big)


def test_a_file_over_the_video_limit_is_turned_away_with_a_message(app, staff):
    run = _run(app)
    response = _attach(staff, run.id, _mp4_of(MAX_VIDEO_BYTES + 2 * 1024 * 1024), kind="video")
    assert response.status_code == 302
    page = staff.get(response.location).get_data(as_text=True)
    assert "too large" in page
    assert _documents(app) == []


def test_closing_a_batch(app, staff):
    run = _run(app)
    with app.app_context():
        db.session.execute(
            update(Piece).where(Piece.run_id == run.id, Piece.number <= 2).values(status="sold")
        )
        db.session.commit()
    token = csrf_token(staff, f"{BASE}/{run.id}")
    unconfirmed = staff.post(f"{BASE}/{run.id}/close", data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert "Tick the box" in unconfirmed.get_data(as_text=True)
    assert _run(app).closed_at is None

    response = staff.post(f"{BASE}/{run.id}/close", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert _run(app).closed_at is not None
    shown = staff.get(response.location).get_data(as_text=True)
    assert "8 available piece(s) withheld" in shown
    assert "This batch closed on" in shown
    listed = staff.get(BASE).get_data(as_text=True)
    assert f'data-batch="{run.batch_code}" data-state="closed"' in listed

    again = staff.post(f"{BASE}/{run.id}/close", data={"csrf_token": token, "confirm": "y"})
    assert again.status_code == 400
    assert "already closed" in again.get_data(as_text=True)


def test_unknown_batches_are_not_found(staff):
    assert staff.get(f"{BASE}/999").status_code == 404
    token = csrf_token(staff, BASE + "/new")
    assert staff.post(f"{BASE}/999/close", data={"csrf_token": token}).status_code == 404


def test_customers_and_guests_are_kept_out(app, client, atelier):
    assert client.get(BASE).status_code == 302
    login(client, "bea@example.com", PASSWORD)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/new").status_code == 403
