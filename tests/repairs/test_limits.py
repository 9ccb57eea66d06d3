"""Repair requests are rate limited, one open ticket per piece, and photos per ticket capped."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest

from app.checkout import services as checkout
from app.common.transactions import atomic
from app.config import from_environment
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairPhoto, RepairTicket
from app.repairs.services import tickets
from tests.conftest import POSTGRES_URL
from tests.helpers import csrf_token, login, race
from tests.repairs.test_guest_repairs import guest_order
from tests.staff.builders import PASSWORD, png_bytes

DESCRIPTION = "A stone on the left arch is loose since the wedding."


def post_request(client, url: str, *, photos: int = 1, **overrides):
    data = {
        "csrf_token": csrf_token(client, url),
        "description": DESCRIPTION,
        "preferred_return_on": (utcnow().date() + timedelta(days=30)).isoformat(),
        "photos": [(io.BytesIO(png_bytes()), f"arch{i}.png") for i in range(photos)],
    }
    data.update(overrides)
    return client.post(url, data=data, content_type="multipart/form-data")


def ticket_rows(app) -> list[RepairTicket]:
    with app.app_context():
        return list(db.session.execute(db.select(RepairTicket)).scalars())


def return_unrepaired(ticket_id: int, by_user_id: int) -> None:
    """Assess, quote, decline and return: the ticket is closed."""
    with atomic():
        repairs.assess(
            ticket_id=ticket_id, assessment="Re-set", under_warranty=False, by_user_id=by_user_id
        )
    with atomic():
        repairs.send_quote(ticket_id=ticket_id, quote_minor=9_000, note="", by_user_id=by_user_id)
    ticket = repairs.get_ticket(ticket_id)
    with atomic():
        repairs.decide_quote(
            ticket_id=ticket_id, accept=False, comment="", by_user_id=ticket.customer_id
        )
    with atomic():
        repairs.ship_back(  # posted in, so it goes back by carrier
            ticket_id=ticket_id,
            carrier="DHL",
            tracking_number="JD0001",
            expected_status="declined",
            by_user_id=by_user_id,
        )


# --- one open ticket per piece ----------------------------------------------------------------


def test_a_second_request_for_a_piece_under_repair_is_a_409_linking_the_open_one(
    app, client, atelier, delivered
):
    _, line_id = delivered
    login(client, "bea@example.com", PASSWORD)
    url = f"/account/repairs/new/{line_id}"
    first = post_request(client, url)
    assert first.status_code == 302
    [ticket] = ticket_rows(app)

    second = post_request(client, url, photos=2)
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert f"already open ({ticket.reference})" in page
    assert f'href="/account/repairs/{ticket.id}"' in page
    assert len(ticket_rows(app)) == 1
    with app.app_context():  # the refused request stored no photos
        assert db.session.execute(db.select(db.func.count(RepairPhoto.id))).scalar_one() == 1

    # A declined quote keeps the ticket open until the piece is returned; then a new one is fine.
    with app.app_context():
        return_unrepaired(ticket.id, atelier.checker_id)
    assert post_request(client, url).status_code == 302
    assert len(ticket_rows(app)) == 2


def test_a_guest_asking_twice_is_a_409_with_the_signed_ticket_link(app, atelier):
    with app.app_context():
        number, line_id = guest_order(atelier, email="gwen@example.com", name="Gwen Guest")
        token = checkout.order_link_token(number)
    url = f"/orders/{number}/repairs/new/{line_id}?t={token}"
    guest = app.test_client()
    assert post_request(guest, url).status_code == 302
    [ticket] = ticket_rows(app)
    second = post_request(app.test_client(), url)
    page = second.get_data(as_text=True)
    assert second.status_code == 409 and ticket.reference in page
    link = f"/repairs/{ticket.id}?t="
    assert link in page
    href = page[page.index(link) :].split('"')[0].replace("&amp;", "&")
    assert app.test_client().get(href, follow_redirects=True).status_code == 200


def test_someone_elses_open_ticket_is_named_to_nobody(app, client, atelier, delivered):
    """A walk-in for the same piece blocks the owner's request, without its reference."""
    _, line_id = delivered
    with app.app_context():
        owned = repairs.owned_line(user_id=atelier.customer_id, order_line_id=line_id)
        with atomic():
            walk_in = repairs.open_walk_in(
                by_user_id=atelier.checker_id,
                contact_name="Wanda Walkin",
                contact_email="",
                contact_phone="+44 20 7946 0000",
                passport_code=owned.passport.code,
                piece_description="",
                description="Brought in to be cleaned.",
                preferred_return_on=None,
            )
        reference = walk_in.reference
    login(client, "bea@example.com", PASSWORD)
    response = post_request(client, f"/account/repairs/new/{line_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "already open" in page
    assert reference not in page and "Follow the open repair" not in page


def test_staff_opening_a_walk_in_for_a_piece_with_an_open_ticket_get_a_409(
    app, client, atelier, delivered
):
    _, line_id = delivered
    with app.app_context():
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description=DESCRIPTION,
                preferred_return_on=None,
            )
        ticket_id, reference = ticket.id, ticket.reference
        code = repairs.get_ticket(ticket_id).passport.code
    login(client, "theo@example.org", PASSWORD)
    url = "/staff/repairs/new"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "contact_name": "Wanda Walkin",
            "contact_phone": "+44 20 7946 0000",
            "passport_code": code,
            "description": "Brought in to be cleaned.",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and f"Ticket {reference} is open" in page
    assert f'href="/staff/repairs/{ticket_id}"' in page


def test_losing_the_race_for_a_piece_is_a_409_not_a_500(
    app, client, atelier, delivered, monkeypatch
):
    """The check before the insert passes (a concurrent request has not committed yet); the
    unique index refuses the insert and the answer is the same 409."""
    _, line_id = delivered
    with app.app_context():
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description=DESCRIPTION,
                preferred_return_on=None,
            )
        reference = ticket.reference
    real = tickets._open_ticket_for
    calls: list[int | None] = []

    def blind_first(passport_id):
        calls.append(passport_id)
        return None if len(calls) == 1 else real(passport_id)

    monkeypatch.setattr(tickets, "_open_ticket_for", blind_first)
    login(client, "bea@example.com", PASSWORD)
    response = post_request(client, f"/account/repairs/new/{line_id}")
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    assert reference in response.get_data(as_text=True)
    assert len(calls) == 2 and len(ticket_rows(app)) == 1


# --- rate limit -------------------------------------------------------------------------------


def test_repair_requests_are_rate_limited_per_client_across_both_routes(
    app, client, atelier, delivered
):
    app.config["REPAIRS_RATE_LIMIT"] = "3 per hour"
    _, line_id = delivered
    with app.app_context():
        number, guest_line = guest_order(atelier, email="gwen@example.com", name="Gwen")
        token = checkout.order_link_token(number)
    login(client, "bea@example.com", PASSWORD)
    url = f"/account/repairs/new/{line_id}"
    assert post_request(client, url, description="short").status_code == 400  # counts too
    assert post_request(client, url).status_code == 302
    guest_url = f"/orders/{number}/repairs/new/{guest_line}?t={token}"
    assert post_request(client, guest_url).status_code == 302  # the same client's budget
    refused = post_request(client, url)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3601  # when the hour's window resets
    assert client.get(url).status_code == 200  # reading the form is not limited


def test_the_default_rate_limit_is_five_requests_an_hour(app, client, atelier, delivered):
    _, line_id = delivered
    login(client, "bea@example.com", PASSWORD)
    url = f"/account/repairs/new/{line_id}"
    statuses = [post_request(client, url, description="short").status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]


# --- photos per ticket ------------------------------------------------------------------------


def test_photos_per_request_follow_the_setting(app, client, atelier, delivered):
    app.config["REPAIRS_MAX_PHOTOS"] = 2
    _, line_id = delivered
    login(client, "bea@example.com", PASSWORD)
    url = f"/account/repairs/new/{line_id}"
    response = post_request(client, url, photos=3)
    assert response.status_code == 400 and "Attach at most 2 photos." in response.get_data(
        as_text=True
    )
    assert "Up to 2 photos" in client.get(url).get_data(as_text=True)
    assert ticket_rows(app) == []
    assert post_request(client, url, photos=2).status_code == 302


def test_staff_photos_fill_a_ticket_up_to_twice_the_setting(app, client, atelier, delivered):
    app.config["REPAIRS_MAX_PHOTOS"] = 2
    _, line_id = delivered
    with app.app_context():
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description=DESCRIPTION,
                preferred_return_on=None,
                photos=[png_bytes(), png_bytes()],
            )
        ticket_id = ticket.id
        with pytest.raises(repairs.RepairError, match="room for 2 more"), atomic():
            repairs.add_staff_photos(
                ticket_id=ticket_id, photos=[png_bytes()] * 3, by_user_id=atelier.checker_id
            )
    login(client, "theo@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"

    def add(count: int):
        return client.post(
            f"{page}/photos",
            data={
                "csrf_token": csrf_token(client, page),
                "photos": [(io.BytesIO(png_bytes()), f"p{i}.png") for i in range(count)],
            },
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    assert "Photos added." in add(2).get_data(as_text=True)
    assert "has room for 0 more" in add(1).get_data(as_text=True)
    with app.app_context():
        assert len(repairs.get_ticket(ticket_id).photos) == 4


def test_repair_limits_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIADEM_REPAIRS_RATE_LIMIT", "2 per minute")
    monkeypatch.setenv("DIADEM_REPAIRS_MAX_PHOTOS", "4")
    config = from_environment(str(tmp_path))
    assert config["REPAIRS_RATE_LIMIT"] == "2 per minute"
    assert config["REPAIRS_MAX_PHOTOS"] == 4


# --- PostgreSQL: requests racing for one piece ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)")
def test_simultaneous_requests_for_one_piece_open_one_ticket(app, atelier, delivered, monkeypatch):
    """Every worker passes the check before any has inserted (a barrier holds them there), so
    only the unique index can keep the piece to one open ticket."""
    workers = 4
    _, line_id = delivered
    barrier = threading.Barrier(workers, timeout=30)
    real = tickets._open_ticket_for
    checked: set[int] = set()

    def check_then_wait(passport_id):
        found = real(passport_id)
        if threading.get_ident() not in checked:
            checked.add(threading.get_ident())
            barrier.wait()
        return found

    monkeypatch.setattr(tickets, "_open_ticket_for", check_then_wait)

    def request(i: int) -> int:
        with atomic():
            return repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description=DESCRIPTION,
                preferred_return_on=None,
            ).id

    results = race(workers, request, app=app, catch=repairs.PieceHasOpenTicket)
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1, results
    assert all(isinstance(r, repairs.PieceHasOpenTicket) for r in results if r not in winners)
    assert [t.id for t in ticket_rows(app)] == winners
