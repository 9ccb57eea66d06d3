"""Guest buyers (no account) ask for repairs through their order's signed link."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from app.checkout import services as checkout
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairTicket
from app.staff import services as staff
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, only_line, paid_order, png_bytes, studio_to_packed

LOGIN = "/account/login"
DESCRIPTION = "The left comb came loose after the ball; one pearl is missing."


def guest_order(atelier, *, email: str, name: str, ship: bool = True) -> tuple[str, int]:
    """A paid guest order of the studio piece (made and shipped unless ship=False)."""
    owner = checkout.CartOwner(
        guest_items=(checkout.CartItem(atelier.studio_product_id, "yellow-gold", "M", 1),)
    )
    with atomic():
        order = checkout.place_order(
            owner=owner,
            details=checkout.ShippingDetails(
                email=email,
                name=name,
                address_line1="3 Circlet Lane",
                city="York",
                postal_code="YO1 7HH",
                country="GB",
            ),
            payment_method="manual",
            policy_accepted=True,
        )
    assert order.user_id is None
    with atomic():
        order = checkout.mark_paid(order_id=order.id, reference="guest transfer")
    line_id = only_line(order).id
    if ship:
        studio_to_packed(atelier, line_id)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="DHL",
                tracking_number="G1",
                insured_value_minor=None,
                by_user_id=atelier.checker_id,
            )
    return order.number, line_id


@pytest.fixture
def gwen(app, atelier):
    """Gwen's shipped guest order, and the signed link she has from the order emails."""
    with app.app_context():
        number, line_id = guest_order(atelier, email="Gwen@Example.com", name="Gwen Guest")
        return number, line_id, checkout.order_link_token(number)


def new_url(number: str, line_id: int, token: str | None = None) -> str:
    return f"/orders/{number}/repairs/new/{line_id}" + (f"?t={token}" if token else "")


def post_request(client, url: str, *, refused: bool = False, **overrides):
    # A refused visitor has no form to take the CSRF token from: take one from the login page.
    data = {
        "csrf_token": csrf_token(client, LOGIN if refused else url),
        "description": DESCRIPTION,
        "preferred_return_on": (utcnow().date() + timedelta(days=21)).isoformat(),
        "photos": [(io.BytesIO(png_bytes()), "comb.png")],
    }
    data.update(overrides)
    return client.post(url, data=data, content_type="multipart/form-data")


def mailed_ticket_link(app, reference: str) -> str:
    [mail] = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if reference in m["Subject"]]
    assert mail["To"] == "gwen@example.com"
    body = mail.get_body(("plain",)).get_content()
    link = re.search(r"https?://diadem\.test(/repairs/\d+\?t=\S+)", body).group(1)
    return link


def test_guest_with_the_order_link_requests_and_follows_a_repair(app, atelier, gwen):
    number, line_id, token = gwen
    # The signed order link (as from the emails) shows the guest a "Request a repair" link.
    visitor = app.test_client()
    order_page = visitor.get(f"/account/orders/{number}?t={token}", follow_redirects=True)
    assert new_url(number, line_id) in order_page.get_data(as_text=True)
    # Straight from the signed link too (no session), as checkout's order_for_viewer allows.
    client = app.test_client()
    url = new_url(number, line_id, token)
    page = client.get(url)
    assert page.status_code == 200 and "Request a repair" in page.get_data(as_text=True)
    response = post_request(client, url)
    assert response.status_code == 302
    with app.app_context():
        ticket = db.session.execute(db.select(RepairTicket)).scalar_one()
        assert ticket.source == "guest" and ticket.customer_id is None
        assert ticket.contact_email == "gwen@example.com" and ticket.contact_name == "Gwen Guest"
        assert ticket.order_line_id == line_id and ticket.passport_id is not None
        assert len(ticket.photos) == 1 and ticket.preferred_return_on is not None
        ticket_id, photo_id, reference = ticket.id, ticket.photos[0].id, ticket.reference
    assert response.location.endswith(f"/repairs/{ticket_id}")
    guest_page = client.get(response.location).get_data(as_text=True)
    assert reference in guest_page
    assert 'href="/shop"' in guest_page.split("data-onward")[1]  # a way on, not a dead end

    # The emailed signed link opens the ticket in a fresh browser and is then remembered.
    link = mailed_ticket_link(app, reference)
    later = app.test_client()
    assert later.get(f"/repairs/{ticket_id}").status_code == 404
    opened = later.get(link)
    assert opened.status_code == 302 and opened.location.endswith(f"/repairs/{ticket_id}")
    shown = later.get(f"/repairs/{ticket_id}").get_data(as_text=True)
    assert reference in shown and "Received" in shown
    with later.get(f"/repairs/{ticket_id}/photos/{photo_id}") as photo:
        assert photo.status_code == 200

    # The guest accepts the quote online through the same link.
    with app.app_context():
        with atomic():
            repairs.assess(
                ticket_id=ticket_id,
                assessment="Re-set the comb, replace the pearl.",
                under_warranty=False,
                by_user_id=atelier.artisan_id,
            )
        with atomic():
            repairs.send_quote(
                ticket_id=ticket_id, quote_minor=4_500, note="", by_user_id=atelier.artisan_id
            )
    [quote_mail] = [
        m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "quote" in m["Subject"]
    ]
    assert f"/repairs/{ticket_id}?t=" in quote_mail.get_body(("plain",)).get_content()
    assert "Your quote: $45.00" in later.get(f"/repairs/{ticket_id}").get_data(as_text=True)
    decided = later.post(
        f"/repairs/{ticket_id}/decision",
        data={"csrf_token": csrf_token(later, f"/repairs/{ticket_id}"), "decision": "accept"},
        follow_redirects=True,
    )
    assert "Quote approved" in decided.get_data(as_text=True)
    with app.app_context():
        assert repairs.get_ticket(ticket_id).status == "approved"
    # Staff see who asked, from the order.
    desk = app.test_client()
    login(desk, "theo@example.org", PASSWORD)
    assert "Guest: Gwen Guest" in desk.get("/staff/repairs?status=approved").get_data(as_text=True)
    staff_page = desk.get(f"/staff/repairs/{ticket_id}").get_data(as_text=True)
    assert "guest buyer <strong>Gwen Guest</strong> (gwen@example.com" in staff_page


@pytest.mark.parametrize("how", ["no link", "tampered token", "another order's token"])
def test_guest_without_a_valid_order_link_is_refused(app, atelier, gwen, how):
    number, line_id, token = gwen
    with app.app_context():
        other_number, _ = guest_order(atelier, email="hal@example.com", name="Hal", ship=False)
        other_token = checkout.order_link_token(other_number)
    given = {
        "no link": None,
        "tampered token": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "another order's token": other_token,
    }[how]
    client = app.test_client()
    url = new_url(number, line_id, given)
    page = client.get(url)
    assert page.status_code == 404
    assert "We could not find that page or piece." in page.get_data(as_text=True)
    assert post_request(client, url, refused=True).status_code == 404
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(RepairTicket.id))).scalar() == 0
        with pytest.raises(repairs.OrderNotVisible), atomic():
            repairs.request_guest_repair(
                number=number,
                order_line_id=line_id,
                token=given,
                description=DESCRIPTION,
                preferred_return_on=None,
            )


def test_guest_cannot_ask_before_the_piece_has_shipped(app, atelier):
    with app.app_context():
        number, line_id = guest_order(atelier, email="hal@example.com", name="Hal", ship=False)
        token = checkout.order_link_token(number)
    client = app.test_client()
    url = new_url(number, line_id, token)
    page = client.get(url)
    assert page.status_code == 404
    assert "once it has been shipped to you" in page.get_data(as_text=True)
    assert post_request(client, url, refused=True).status_code == 404
    # Nor is the link offered on the order page.
    order_page = client.get(f"/account/orders/{number}?t={token}", follow_redirects=True)
    assert "/repairs/new/" not in order_page.get_data(as_text=True)
    with app.app_context(), pytest.raises(repairs.NotYourPiece, match="shipped"), atomic():
        repairs.request_guest_repair(
            number=number,
            order_line_id=line_id,
            token=token,
            description=DESCRIPTION,
            preferred_return_on=None,
        )


def test_guest_request_has_the_same_checks(app, gwen):
    number, line_id, token = gwen
    client = app.test_client()
    url = new_url(number, line_id, token)
    past = (utcnow().date() - timedelta(days=1)).isoformat()
    response = post_request(client, url, preferred_return_on=past)
    assert response.status_code == 400
    assert "preferred return date is in the past" in response.get_data(as_text=True)
    response = post_request(client, url, photos=[(io.BytesIO(b"%PDF-1.4 no"), "x.jpg")])
    assert response.status_code == 400
    assert "not an image we can read" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(RepairTicket.id))).scalar() == 0


def test_one_guests_ticket_link_does_not_open_another(app, atelier, gwen):
    number, line_id, token = gwen
    with app.app_context():
        hal_number, hal_line = guest_order(atelier, email="hal@example.com", name="Hal")
        with atomic():
            gwen_ticket = repairs.request_guest_repair(
                number=number,
                order_line_id=line_id,
                token=token,
                description=DESCRIPTION,
                preferred_return_on=None,
                photos=[png_bytes()],
            )
        with atomic():
            hal_ticket = repairs.request_guest_repair(
                number=hal_number,
                order_line_id=hal_line,
                token=checkout.order_link_token(hal_number),
                description="A stone fell out of the central setting.",
                preferred_return_on=None,
            )
        gwen_id, gwen_photo = gwen_ticket.id, gwen_ticket.photos[0].id
        hal_id, hal_token = hal_ticket.id, repairs.ticket_link_token(hal_ticket)
        order_token = checkout.order_link_token(number)  # another salt: not a ticket link
        assert hal_ticket.contact_email == "hal@example.com"
    client = app.test_client()
    assert client.get(f"/repairs/{hal_id}?t={hal_token}").status_code == 302
    for token_tried in (hal_token, order_token, hal_token[:-2] + "xx"):
        assert client.get(f"/repairs/{gwen_id}?t={token_tried}").status_code == 404
        assert client.get(f"/repairs/{gwen_id}").status_code == 404  # not remembered either
        photo = client.get(f"/repairs/{gwen_id}/photos/{gwen_photo}?t={token_tried}")
        assert photo.status_code == 404
    decision = client.post(
        f"/repairs/{gwen_id}/decision",
        data={"csrf_token": csrf_token(client, LOGIN), "decision": "accept"},
    )
    assert decision.status_code == 404
    with app.app_context(), pytest.raises(repairs.TicketNotFound), atomic():
        repairs.decide_guest_quote(
            ticket_id=gwen_id, accept=True, comment="", token=hal_token, remembered_ids=[hal_id]
        )


def test_ticket_links_open_guest_tickets_only(app, atelier, gwen):
    """A forged guest-style link to an account holder's ticket is refused."""
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id
        studio_to_packed(atelier, line_id)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="DHL",
                tracking_number="2",
                insured_value_minor=None,
                by_user_id=atelier.checker_id,
            )
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description=DESCRIPTION,
                preferred_return_on=None,
            )
        token = repairs.ticket_link_token(ticket)
        ticket_id = ticket.id
        # The account holder's order is not reachable through the guest route either.
        with pytest.raises(repairs.OrderNotVisible):
            repairs.guest_owned_line(
                number=order.number,
                order_line_id=line_id,
                token=checkout.order_link_token(order.number),
            )
    assert app.test_client().get(f"/repairs/{ticket_id}?t={token}").status_code == 404
