"""The waiting list for a sold-out design's next batch: joining without telling who is on it,
one email per entry when staff open a batch, and a leave link that only a POST uses."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, update

from app.catalog import batches, waitlist
from app.catalog.models import Piece, WaitlistEntry
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.extensions import db
from tests.factories import make_product
from tests.helpers import csrf_token, login, make_user

LEAVE_LINK = re.compile(r"http://diadem\.test/waiting-list/leave/[\w.-]+")


@pytest.fixture
def sold_out(app):
    with app.app_context():
        product = make_product("aurora-tiara", kind="tiara", sold=10)
        return product.id


def _join(email: str, product_id: int, **kw) -> None:
    with atomic():
        waitlist.join_waitlist(product_id=product_id, email=email, **kw)


def _entries() -> list[WaitlistEntry]:
    return list(db.session.execute(select(WaitlistEntry).order_by(WaitlistEntry.id)).scalars())


def _open_batch(product_id: int, code: str) -> int:
    with atomic():
        run = batches.open_batch(
            product_id=product_id,
            metal_code="yellow-gold",
            batch_code=code,
            size=10,
            sourcing_statement="Recycled 18k gold.",
            released_on=date(2027, 3, 1),
        )
        return run.id


def _mail(app) -> list:
    return read_outbox(app.config["MAIL_OUTBOX_DIR"])


def _body(message, kind: str = "plain") -> str:
    return message.get_body((kind,)).get_content()


def test_one_live_entry_per_mailbox_and_one_welcome(app_ctx, sold_out):
    _join("Ada@Example.com", sold_out)
    _join(" ada+tiaras@example.com ", sold_out)  # the same mailbox, as checkout counts it
    _join("bea@example.com", sold_out, user_id=None)
    entries = _entries()
    assert [(e.email, e.email_key) for e in entries] == [
        ("ada@example.com", "ada@example.com"),
        ("bea@example.com", "bea@example.com"),
    ]
    mail = _mail(app_ctx)
    assert [m["To"] for m in mail] == ["ada@example.com", "bea@example.com"]
    assert "You are on the waiting list for Aurora Tiara" in mail[0]["Subject"]
    for kind in ("plain", "html"):
        assert LEAVE_LINK.search(_body(mail[0], kind))
        assert "http://diadem.test/shop/aurora-tiara" in _body(mail[0], kind)


def test_an_address_joining_after_another_left_is_welcomed(app, client, sold_out):
    """Found by looking at the pages: the welcome's dedupe key was the entry's id, which SQLite
    hands out again after a delete, so the next address to join got no email."""
    with app.app_context():
        _join("ada@example.com", sold_out)
        _join("bea@example.com", sold_out)
        path = LEAVE_LINK.search(_body(_mail(app)[-1]))[0].removeprefix("http://diadem.test")
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    with app.app_context():
        _join("cy@example.com", sold_out)
        assert [m["To"] for m in _mail(app)][-1] == "cy@example.com"


def test_only_a_sold_out_published_design_takes_a_waiting_list(app_ctx):
    in_stock = make_product("in-stock-crown", sold=3)
    commission = make_product("made-to-order", tier="custom")
    with pytest.raises(waitlist.WaitlistError, match="free now"):
        _join("ada@example.com", in_stock.id)
    with pytest.raises(waitlist.WaitlistError, match="made to order"):
        _join("ada@example.com", commission.id)
    with pytest.raises(waitlist.WaitlistError, match="no longer in the shop"):
        _join("ada@example.com", 987_654)
    assert _entries() == []


def test_opening_a_batch_emails_each_waiting_address_once(app_ctx, sold_out):
    _join("ada@example.com", sold_out)
    _join("bea@example.com", sold_out)
    first_run = _open_batch(sold_out, "AUR-YG-2027")
    entries = _entries()
    assert all(e.notified_at is not None and e.notified_run_id == first_run for e in entries)
    opened = [m for m in _mail(app_ctx) if "new batch" in m["Subject"]]
    assert sorted(m["To"] for m in opened) == ["ada@example.com", "bea@example.com"]
    text = _body(opened[0])
    assert "batch AUR-YG-2027" in text and "http://diadem.test/shop/aurora-tiara?metal=" in text
    assert LEAVE_LINK.search(text) and LEAVE_LINK.search(_body(opened[0], "html"))
    assert waitlist.waiting_count(sold_out) == 0

    # Sold out again: Ada joins afresh (a notified entry is not live); a second batch writes
    # to her once more and to nobody else.
    db.session.execute(update(Piece).where(Piece.run_id == first_run).values(status="sold"))
    db.session.commit()
    _join("ada@example.com", sold_out)
    assert waitlist.waiting_count(sold_out) == 1
    _open_batch(sold_out, "AUR-YG-2028")
    opened = [m["To"] for m in _mail(app_ctx) if "new batch" in m["Subject"]]
    assert sorted(opened) == ["ada@example.com", "ada@example.com", "bea@example.com"]


def test_the_product_page_offers_the_list_and_answers_the_same_either_way(client, sold_out):
    page = client.get("/shop/aurora-tiara").get_data(as_text=True)
    assert "Join the waiting list" in page and 'id="waitlist-email"' in page
    token = csrf_token(client, "/shop/aurora-tiara")
    answers = []
    for _ in range(2):
        response = client.post(
            "/shop/aurora-tiara/waiting-list",
            data={"csrf_token": token, "email": "ada@example.com"},
            follow_redirects=True,
        )
        assert response.status_code == 200
        answers.append(re.search(r"Thank you: [^<]+", response.get_data(as_text=True))[0])
    assert answers[0] == answers[1]
    expected = "we will write to ada@example.com when the next batch of Aurora Tiara opens"
    assert expected in answers[0]


def test_bad_input_gets_400_with_the_reason(client, sold_out):
    token = csrf_token(client, "/shop/aurora-tiara")
    response = client.post(
        "/shop/aurora-tiara/waiting-list", data={"csrf_token": token, "email": "not an address"}
    )
    assert response.status_code == 400
    assert "Enter an email address we can write to." in response.get_data(as_text=True)
    unknown = client.post(
        "/shop/nowhere/waiting-list", data={"csrf_token": token, "email": "a@b.c"}
    )
    assert unknown.status_code == 404


def test_the_list_is_rate_limited(client, sold_out):
    token = csrf_token(client, "/shop/aurora-tiara")
    statuses = [
        client.post(
            "/shop/aurora-tiara/waiting-list",
            data={"csrf_token": token, "email": f"n{i}@example.com"},
        ).status_code
        for i in range(6)
    ]
    assert statuses == [303] * 5 + [429]


def test_the_leave_link_shows_a_page_and_only_its_button_removes(app, client, sold_out):
    with app.app_context():
        _join("ada@example.com", sold_out)
        link = LEAVE_LINK.search(_body(_mail(app)[0]))[0]
    path = link.removeprefix("http://diadem.test")
    page = client.get(path)
    assert page.status_code == 200 and "Leave the waiting list" in page.get_data(as_text=True)
    with app.app_context():
        assert waitlist.waiting_count(sold_out) == 1  # a mail scanner's GET removes nobody
    token = csrf_token(client, path)
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200 and "Done" in done.get_data(as_text=True)
    with app.app_context():
        assert _entries() == []
    assert client.get(path[:-3] + "xyz").status_code == 400


def test_staff_see_how_many_wait_and_how_many_the_opening_emailed(app, client, sold_out):
    with app.app_context():
        _join("ada@example.com", sold_out)
        _join("bea@example.com", sold_out)
    make_user(app, email="mira@example.org", role="staff", name="Mira")
    login(client, "mira@example.org")
    page = client.get(f"/staff/catalog/products/{sold_out}/edit").get_data(as_text=True)
    assert 'data-waitlist-count="2"' in page and "addresses wait for the next batch" in page
    opened = client.post(
        "/staff/catalog/batches/new",
        data={
            "csrf_token": csrf_token(client, "/staff/catalog/batches/new"),
            "edition": f"{sold_out}:yellow-gold",
            "batch_code": "AUR-YG-2027",
            "size": "10",
            "sourcing_statement": "Recycled 18k gold.",
            "released_on": "2027-04-01",
        },
        follow_redirects=True,
    )
    assert "We emailed the 2 addresses on its waiting list." in opened.get_data(as_text=True)
    page = client.get(f"/staff/catalog/products/{sold_out}/edit").get_data(as_text=True)
    assert 'data-waitlist-count="0"' in page


def test_a_batch_opened_by_a_catalogue_import_emails_the_waiting_list(app_ctx, sold_out):
    """The import is the other way a batch opens: it writes to the waiting list the same way."""
    from app.catalog import transfer

    _join("ada@example.com", sold_out)
    document = transfer.export_catalogue()
    (product,) = (p for p in document["products"] if p["slug"] == "aurora-tiara")
    product["editions"].append(
        {**product["editions"][0], "batch_code": "AUR-YG-IMPORT", "released_on": "2027-03-01"}
    )
    with atomic():
        transfer.apply(document)
    opened = [m for m in _mail(app_ctx) if "new batch" in m["Subject"]]
    assert [m["To"] for m in opened] == ["ada@example.com"]
    assert "batch AUR-YG-IMPORT" in _body(opened[0])
    assert waitlist.waiting_count(sold_out) == 0
    with atomic():
        transfer.apply(transfer.export_catalogue())  # nothing new: nobody is written to again
    assert len([m for m in _mail(app_ctx) if "new batch" in m["Subject"]]) == 1
