"""The public batch page (/batches/<code>): sourcing, documents and which numbers are sold, never
by whom; served from the guest page cache until staff change the batch; linked from the product
page and from each piece's passport."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from app.accounts.models import Role
from app.catalog import batches
from app.catalog.models import EditionRun, Piece, Product
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.catalog.test_batches import PDF, png
from tests.factories import make_product
from tests.helpers import login
from tests.staff.builders import PASSWORD, make_fast_user, paid_order
from tests.test_uploads import mp4_bytes, webm_bytes

CODE = "LUNA-YG-2027"
STATEMENT = "Recycled 18k gold from the atelier's own bench scrap, refined in Sheffield."


@pytest.fixture
def batch(app) -> dict:
    """A design with two batches of ten: the first's number 1 bought by a real buyer; the new
    one's numbers 1-2 sold, 3 reserved, 4 withheld."""
    with app.app_context():
        product = make_product("luna-tiara", kind="tiara", edition_size=10)
        buyer_id = make_fast_user(email="bea@example.com", name="Bea Buyer")
        order = paid_order(user_id=buyer_id, product_id=product.id)  # takes number 1
        with atomic():
            run = batches.open_batch(
                product_id=product.id,
                metal_code="yellow-gold",
                batch_code=CODE,
                size=10,
                sourcing_statement=STATEMENT,
                released_on=date(2027, 2, 14),
            )
        first = next(r for r in product.runs if r.batch_code != CODE)
        pieces = {p.number: p for p in run.pieces}
        pieces[1].status = "sold"
        pieces[2].status = "sold"
        pieces[3].status = "reserved"
        pieces[3].reserved_until = utcnow() + timedelta(minutes=20)
        pieces[4].status = "withheld"
        db.session.commit()
        return {
            "run_id": run.id,
            "first_run_id": first.id,
            "product_id": product.id,
            "order_number": order.number,
            "email": "bea@example.com",
        }


def _cells(html: str) -> dict[int, str]:
    return {
        int(n): state for n, state in re.findall(r'data-number="(\d+)" data-state="(\w+)"', html)
    }


def test_the_page_shows_the_batch_and_its_numbers(client, batch):
    response = client.get(f"/batches/{CODE}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Luna Tiara" in html and 'href="/shop/luna-tiara"' in html
    assert "18k yellow gold" in html
    assert "10 numbered pieces" in html
    assert STATEMENT.replace("'", "&#39;") in html
    assert "14 Feb 2027" in html
    assert 'data-state="open"' in html and "6 of 10 numbers available" in html
    assert _cells(html) == {
        1: "sold",
        2: "sold",
        3: "reserved",
        4: "withheld",
        **{n: "available" for n in range(5, 11)},
    }
    assert "01/10" in html and "10/10" in html
    assert "No documents published for this batch yet." in html


def test_the_page_never_says_who_bought_a_number(app, client, batch):
    with app.app_context():
        first_code = db.session.get(EditionRun, batch["first_run_id"]).batch_code
    first_page = client.get(f"/batches/{first_code}").get_data(as_text=True)
    assert _cells(first_page)[1] == "sold"  # Bea's
    this_page = client.get(f"/batches/{CODE}").get_data(as_text=True)
    for html in (first_page, this_page):
        for secret in ("Bea Buyer", batch["email"], batch["order_number"], "Crown Street"):
            assert secret not in html


def test_unknown_and_malformed_codes_are_not_found(client, batch):
    assert client.get("/batches/NOPE-1").status_code == 404
    assert client.get("/batches/not%20a%20code").status_code == 404
    assert client.get("/batches/" + "A" * 41).status_code == 404
    assert client.get(f"/batches/{CODE}/documents/1").status_code == 404


def test_a_code_typed_in_another_case_is_sent_to_the_batch(client, batch):
    response = client.get(f"/batches/{CODE.lower()}")
    assert response.status_code == 301
    assert response.location.endswith(f"/batches/{CODE}")


def _attach(app, run_id: int, data: bytes, kind: str, title: str) -> int:
    with app.app_context(), atomic():
        return batches.add_document(
            run_id=run_id, kind=kind, title=title, data=data, by_user_id=None
        ).id


def test_documents_are_shown_and_served(app, client, batch):
    pdf = _attach(app, batch["run_id"], PDF, "assay", "Assay report, Sheffield office")
    photo = _attach(app, batch["run_id"], png(), "photo", "Casting the bands")
    video = _attach(app, batch["run_id"], mp4_bytes(media=4096), "video", "Setting stone 12")
    webm = _attach(app, batch["run_id"], webm_bytes(), "video", "Polishing")
    html = client.get(f"/batches/{CODE}").get_data(as_text=True)
    base = f"/batches/{CODE}/documents"
    assert f'<a href="{base}/{pdf}">Assay report, Sheffield office</a>' in html
    assert re.search(rf'<img src="{base}/{photo}" alt="Casting the bands"', html)
    assert f'<video controls preload="metadata" src="{base}/{video}"' in html
    assert f'src="{base}/{webm}"' in html and "(WebM)" in html

    with client.get(f"{base}/{pdf}") as served:
        assert served.status_code == 200 and served.mimetype == "application/pdf"
        assert served.data == PDF
        assert "Assay-report-Sheffield-office.pdf" in served.headers["Content-Disposition"]
        assert "public" in served.headers["Cache-Control"]
    with client.get(f"{base}/{photo}") as served:
        assert served.mimetype == "image/png"
    # A <video> seeks with Range requests.
    with client.get(f"{base}/{video}", headers={"Range": "bytes=0-99"}) as part:
        assert part.status_code == 206 and len(part.data) == 100
        assert part.mimetype == "video/mp4"


def test_a_document_is_served_only_under_its_own_batch(app, client, batch):
    with app.app_context():
        other = db.session.get(EditionRun, batch["first_run_id"]).batch_code
    pdf = _attach(app, batch["run_id"], PDF, "assay", "Assay")
    assert client.get(f"/batches/{other}/documents/{pdf}").status_code == 404
    assert client.get(f"/batches/{CODE}/documents/{pdf + 1}").status_code == 404


def test_a_closed_batch_stays_as_history(app, client, batch):
    with app.app_context(), atomic():
        batches.close_batch(run_id=batch["run_id"])
    html = client.get(f"/batches/{CODE}").get_data(as_text=True)
    assert 'data-state="closed"' in html and "This batch is closed" in html
    cells = _cells(html)
    assert [cells[n] for n in (1, 2, 3)] == ["sold", "sold", "reserved"]
    assert {cells[n] for n in range(4, 11)} == {"withheld"}
    assert "not offered" in html and "available</span>" not in html


def test_a_sold_out_batch(app, client, batch):
    with app.app_context():
        db.session.execute(
            update(Piece)
            .where(Piece.run_id == batch["run_id"])
            .values(status="sold", reserved_until=None)
        )
        db.session.commit()
    html = client.get(f"/batches/{CODE}").get_data(as_text=True)
    assert 'data-state="sold-out"' in html and "Sold out" in html
    assert set(_cells(html).values()) == {"sold"}


def test_a_draft_designs_batches_are_for_staff_only(app, client, batch):
    with app.app_context():
        db.session.get(Product, batch["product_id"]).status = "draft"
        db.session.commit()
        make_fast_user(email="mira@example.org", name="Mira", role=Role.STAFF)
    pdf = _attach(app, batch["run_id"], PDF, "assay", "Assay")
    assert client.get(f"/batches/{CODE}").status_code == 404
    assert client.get(f"/batches/{CODE}/documents/{pdf}").status_code == 404
    login(client, "mira@example.org", PASSWORD)
    assert client.get(f"/batches/{CODE}").status_code == 200
    with client.get(f"/batches/{CODE}/documents/{pdf}") as served:
        assert served.status_code == 200


def test_guests_get_the_cached_page_until_staff_change_the_batch(app, client, batch):
    app.config["PAGE_CACHE_SECONDS"] = 30
    url = f"/batches/{CODE}"
    assert client.get(url).headers.get("X-Page-Cache") == "miss"
    assert client.get(url).headers.get("X-Page-Cache") == "hit"

    with app.app_context(), atomic():
        batches.set_sourcing_statement(
            run_id=batch["run_id"], sourcing_statement="Ethically sourced rose gold."
        )
    changed = client.get(url)
    assert changed.headers.get("X-Page-Cache") == "miss"
    assert "Ethically sourced rose gold." in changed.get_data(as_text=True)

    _attach(app, batch["run_id"], PDF, "source", "Refinery certificate")
    assert "Refinery certificate" in client.get(url).get_data(as_text=True)

    with app.app_context(), atomic():
        batches.close_batch(run_id=batch["run_id"])
    assert 'data-state="closed"' in client.get(url).get_data(as_text=True)


def test_the_product_page_links_each_edition_to_its_batch(app, client, batch):
    html = client.get("/shop/luna-tiara").get_data(as_text=True)
    assert f'<a href="/batches/{CODE}">Batch {CODE}: sourcing and documents</a>' in html
    with app.app_context():
        first = db.session.get(EditionRun, batch["first_run_id"]).batch_code
    assert f'href="/batches/{first}"' in html


def test_the_passport_of_a_piece_links_to_its_batch(app, client, batch):
    from app.provenance import services as provenance

    with app.app_context(), atomic():
        piece = db.session.execute(
            db.select(Piece).where(Piece.run_id == batch["run_id"], Piece.number == 2)
        ).scalar_one()
        code = provenance.passport_for_piece(piece_id=piece.id).code
    html = client.get(f"/p/{code}").get_data(as_text=True)
    assert f'<a href="/batches/{CODE}">Batch {CODE}: sourcing and documents</a>' in html
    assert client.get(f"/batches/{CODE}").status_code == 200
