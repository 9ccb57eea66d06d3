from __future__ import annotations

import io
from datetime import timedelta

import pytest

from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.domain.production import FourEyesViolation, QcRequired, TransitionRefused
from app.extensions import db
from app.provenance import services as provenance
from app.qc import services as qc
from app.repairs import services as repairs
from app.repairs.models import RepairTicket
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, only_line, paid_order, png_bytes


def check(ticket_id, checker_id, **overrides):
    values = dict(
        stone_tightness=True,
        solder_integrity=True,
        hallmark_present=True,
        measured_mg=100_200,
        finish_grade="A",
    )
    values.update(overrides)
    with atomic():
        return repairs.record_repair_check(ticket_id=ticket_id, checker_id=checker_id, **values)


def test_owner_requests_and_the_repair_goes_into_the_passport(app, client, atelier, delivered):
    number, line_id = delivered
    a = atelier
    login(client, "bea@example.com", PASSWORD)
    url = f"/account/repairs/new/{line_id}"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "description": "A stone on the left arch is loose since the wedding.",
            "preferred_return_on": (utcnow().date() + timedelta(days=30)).isoformat(),
            "photos": [(io.BytesIO(png_bytes()), "arch.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    ticket_url = response.location
    with app.app_context():
        ticket = db.session.execute(db.select(RepairTicket)).scalar_one()
        ticket_id, photo_id = ticket.id, ticket.photos[0].id
        assert ticket.reference.startswith("R-") and ticket.status == "received"
        mails = read_outbox(app.config["MAIL_OUTBOX_DIR"])
        assert any(ticket.reference in m["subject"] for m in mails)

        with (
            pytest.raises(TransitionRefused, match="From Received it can go to: Assessed"),
            atomic(),
        ):
            repairs.move_ticket(
                ticket_id=ticket_id,
                target="in_repair",
                expected_status="received",
                by_user_id=a.artisan_id,
            )
        with atomic():
            repairs.assess(
                ticket_id=ticket_id,
                assessment="Claw worn on stone 3; re-tip.",
                under_warranty=True,
                by_user_id=a.artisan_id,
            )
        with pytest.raises(repairs.RepairError, match="under warranty"), atomic():
            repairs.send_quote(
                ticket_id=ticket_id, quote_minor=5_000, note="", by_user_id=a.artisan_id
            )
        with atomic():
            repairs.send_quote(
                ticket_id=ticket_id, quote_minor=0, note="Free", by_user_id=a.artisan_id
            )

    # The owner accepts online.
    page = client.get(ticket_url).get_data(as_text=True)
    assert "Your quote: $0.00" in page
    with client.get(f"/account/repairs/{ticket_id}/photos/{photo_id}") as photo:
        assert photo.status_code == 200
    response = client.post(
        f"/account/repairs/{ticket_id}/decision",
        data={"csrf_token": csrf_token(client, ticket_url), "decision": "accept"},
        follow_redirects=True,
    )
    assert "Quote approved" in response.get_data(as_text=True)

    with app.app_context():
        with atomic():
            repairs.move_ticket(
                ticket_id=ticket_id,
                target="in_repair",
                expected_status="approved",
                by_user_id=a.artisan_id,
            )
        with pytest.raises(repairs.RepairError, match="Describe the work done"), atomic():
            repairs.move_ticket(
                ticket_id=ticket_id,
                target="qc",
                expected_status="in_repair",
                by_user_id=a.artisan_id,
            )
        with atomic():
            repairs.move_ticket(
                ticket_id=ticket_id,
                target="qc",
                expected_status="in_repair",
                by_user_id=a.artisan_id,
                work_done="Re-tipped the claws of stone 3 and polished the arch.",
            )
        with pytest.raises(QcRequired), atomic():
            repairs.move_ticket(
                ticket_id=ticket_id,
                target="returned",
                expected_status="qc",
                by_user_id=a.checker_id,
            )
        with pytest.raises(FourEyesViolation):
            check(ticket_id, a.artisan_id)
        check(ticket_id, a.checker_id)
        with atomic():
            repairs.ship_back(  # posted in, so it goes back by carrier
                ticket_id=ticket_id,
                carrier="DHL",
                tracking_number="JD0002",
                expected_status="qc",
                by_user_id=a.checker_id,
            )
        ticket = repairs.get_ticket(ticket_id)
        assert ticket.status == "returned" and ticket.returned_at is not None
        passport = ticket.passport
        entries = provenance.entries_of(passport.id)
        # In the order they happened: the repair, then its QC check (issue 13 item 7).
        assert [e.kind for e in entries][-2:] == ["repair", "qc"]
        assert (
            entries[-2].summary == "Repaired: Re-tipped the claws of stone 3 and polished the arch."
        )
        assert entries[-2].actor == "Mira Goldsmith"
        assert entries[-2].recorded_at <= entries[-1].recorded_at
        assert provenance.verify_passport(passport).ok
        code = passport.code

    # The public passport shows the repair but nothing about the owner.
    public = client.get(f"/p/{code}").get_data(as_text=True)
    assert "Re-tipped the claws" in public
    for private in ("Bea", "bea@example.com", "loose since the wedding", "1 Crown Street", number):
        assert private not in public


def test_only_delivered_pieces_of_ones_own(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        fresh = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        undelivered = only_line(fresh).id
    login(client, "cy@example.com", PASSWORD)
    assert client.get(f"/account/repairs/new/{line_id}").status_code == 404
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "bea@example.com", PASSWORD)
    assert client.get(f"/account/repairs/new/{undelivered}").status_code == 404
    assert client.get(f"/account/repairs/new/{line_id}").status_code == 200
    html = client.get("/account/repairs").get_data(as_text=True)
    assert (
        f"/account/repairs/new/{line_id}" in html
        and f"/account/repairs/new/{undelivered}" not in html
    )


def test_request_needs_a_description_and_real_photos(client, atelier, delivered):
    _, line_id = delivered
    login(client, "bea@example.com", PASSWORD)
    url = f"/account/repairs/new/{line_id}"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "description": "Comb is bent and a pearl fell off.",
            "photos": [(io.BytesIO(b"%PDF-1.4 not a photo"), "x.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "not an image we can read" in response.get_data(as_text=True)
    response = client.post(
        url, data={"csrf_token": csrf_token(client, url), "description": "short"}
    )
    assert response.status_code == 400


def test_tickets_and_photos_are_private(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description="The hallmark area is scratched.",
                preferred_return_on=None,
                photos=[png_bytes()],
            )
        ticket_id, photo_id = ticket.id, ticket.photos[0].id
    assert client.get(f"/account/repairs/{ticket_id}").status_code == 302  # sign in first
    login(client, "cy@example.com", PASSWORD)
    assert client.get(f"/account/repairs/{ticket_id}").status_code == 404
    assert client.get(f"/account/repairs/{ticket_id}/photos/{photo_id}").status_code == 404
    token = csrf_token(client, "/account")
    response = client.post(
        f"/account/repairs/{ticket_id}/decision", data={"csrf_token": token, "decision": "accept"}
    )
    assert response.status_code == 404
    client.post("/account/logout", data={"csrf_token": token})
    login(client, "theo@example.org", PASSWORD)
    with client.get(f"/staff/repairs/{ticket_id}/photos/{photo_id}") as photo:
        assert photo.status_code == 200


def test_walk_in_declined_is_returned_without_a_repair_entry(app, client, atelier, delivered):
    _, line_id = delivered
    a = atelier
    with app.app_context():
        code = provenance.find_passport(
            piece_id=only_line(
                repairs.owned_line(user_id=a.customer_id, order_line_id=line_id).order
            ).piece_id
        ).code
    login(client, "theo@example.org", PASSWORD)
    url = "/staff/repairs/new"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "contact_name": "Wanda Walkin",
            "contact_phone": "+44 20 7946 0000",
            "passport_code": code.upper(),
            "description": "Wants the tiara re-plated in rose gold.",
        },
    )
    assert response.status_code == 302
    ticket_url = response.location
    with app.app_context():
        ticket = db.session.execute(db.select(RepairTicket)).scalar_one()
        assert ticket.source == "walk_in" and ticket.passport.code == code
        with atomic():
            repairs.assess(
                ticket_id=ticket.id,
                assessment="Re-plating",
                under_warranty=False,
                by_user_id=a.checker_id,
            )
        with atomic():
            repairs.send_quote(
                ticket_id=ticket.id, quote_minor=18_000, note="", by_user_id=a.checker_id
            )
        length_before = ticket.passport.length
    response = client.post(
        ticket_url.replace("http://diadem.test", "") + "/decision",
        data={"csrf_token": csrf_token(client, ticket_url), "decision": "decline"},
        follow_redirects=True,
    )
    assert "Decision recorded" in response.get_data(as_text=True)
    with app.app_context():
        ticket = repairs.get_ticket(ticket.id)
        with atomic():
            repairs.move_ticket(
                ticket_id=ticket.id,
                target="returned",
                expected_status="declined",
                by_user_id=a.checker_id,
            )
        assert repairs.get_ticket(ticket.id).passport.length == length_before


def test_walk_in_needs_contact_and_a_known_passport(client, atelier):
    login(client, "theo@example.org", PASSWORD)
    url = "/staff/repairs/new"
    base = {"contact_name": "Wanda", "description": "Loose comb", "piece_description": "Old tiara"}
    response = client.post(url, data={**base, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 400 and "email address or a phone number" in response.get_data(
        as_text=True
    )
    response = client.post(
        url,
        data={
            **base,
            "contact_email": "w@example.com",
            "passport_code": "zzzzzzzzzzzz",
            "csrf_token": csrf_token(client, url),
        },
    )
    assert response.status_code == 400 and "No passport has that code" in response.get_data(
        as_text=True
    )
    response = client.post(
        url, data={**base, "contact_email": "w@example.com", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 302


def test_staff_cannot_decide_for_online_owners(app, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description="The comb came loose.",
                preferred_return_on=None,
            )
        with atomic():
            repairs.assess(
                ticket_id=ticket.id,
                assessment="x",
                under_warranty=False,
                by_user_id=atelier.artisan_id,
            )
        with atomic():
            repairs.send_quote(
                ticket_id=ticket.id, quote_minor=100, note="", by_user_id=atelier.artisan_id
            )
        with pytest.raises(repairs.RepairError, match="themselves"), atomic():
            repairs.decide_quote(
                ticket_id=ticket.id,
                accept=True,
                comment="",
                by_user_id=atelier.checker_id,
                on_behalf=True,
            )
        with pytest.raises(repairs.TicketNotFound), atomic():
            repairs.decide_quote(
                ticket_id=ticket.id, accept=True, comment="", by_user_id=atelier.other_customer_id
            )


def test_staff_ticket_page_walks_the_flow(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context(), atomic():
        ticket_id = repairs.request_repair(
            user_id=atelier.customer_id,
            order_line_id=line_id,
            description="The comb came loose.",
            preferred_return_on=None,
        ).id
    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    html = client.post(
        f"{page}/assess",
        data={"csrf_token": csrf_token(client, page), "assessment": "Resolder the comb."},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Assessment recorded" in html and "Send the quote" in html
    html = client.post(
        f"{page}/quote",
        data={"csrf_token": csrf_token(client, page), "amount": "45.5", "note": "Comb"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Quote sent" in html and "$45.50" in html
    board = client.get("/staff/repairs").get_data(as_text=True)
    assert "Quote sent" in board
    dashboard = client.get("/staff").get_data(as_text=True)
    assert 'Repairs open <span class="count">1</span>' in dashboard
    with app.app_context():
        assert qc.latest_ticket_check(ticket_id) is None


def test_the_staff_ticket_counts_the_warranty_as_the_buyer_was_told(app, delivered):
    """Two years from the studio-calendar delivery day, the rule the buyer was emailed."""
    from datetime import date, datetime

    from app.checkout.models import OrderLine
    from app.repairs.models import RepairTicket

    _, line_id = delivered
    with app.app_context():
        order = db.session.get(OrderLine, line_id).order
        order.shipped_at = datetime(2028, 2, 27, 9, 0)
        ticket = RepairTicket(order_line_id=line_id)
        assert repairs.warranty_until(ticket) == date(2030, 2, 27)  # no delivery yet: dispatch
        # 23:30 UTC on 28 February 2028 is already the leap day in a studio an hour ahead.
        order.delivered_at = datetime(2028, 2, 28, 23, 30)
        app.config["STUDIO_TIMEZONE"] = "Europe/London"
        assert repairs.warranty_until(ticket) == date(2030, 2, 28)
        app.config["STUDIO_TIMEZONE"] = "Europe/Paris"
        assert repairs.warranty_until(ticket) == date(2030, 2, 28)  # 29 Feb + 2 years
        order.delivered_at = datetime(2028, 3, 1, 10, 0)
        assert repairs.warranty_until(ticket) == date(2030, 3, 1)
        db.session.rollback()
