"""Paying a repair quote (card through the one Stripe webhook, or a recorded bank transfer),
and the rule that work starts only once paid or covered (issue 13 item 6)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest

from app.checkout import payments
from app.checkout import services as checkout
from app.checkout.models import OrderLine
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairPayment, RepairTicket
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD

WEBHOOK_SECRET = "whsec_repairs"


@pytest.fixture
def card_app(app):
    """Stripe keys set; tests swap the adapter's calls, so nothing leaves the process."""
    app.config.update(
        STRIPE_SECRET_KEY="sk_test_repairs",
        STRIPE_PUBLISHABLE_KEY="pk_test_repairs",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    return app


def requested(atelier, line_id, *, years_ago=0) -> int:
    """Bea's request for her piece, shipped ``years_ago``."""
    if years_ago:
        order = db.session.get(OrderLine, line_id).order
        order.shipped_at = utcnow() - timedelta(days=365 * years_ago)
        db.session.commit()
    with atomic():
        return repairs.request_repair(
            user_id=atelier.customer_id,
            order_line_id=line_id,
            description="The comb came loose at the back.",
            preferred_return_on=None,
        ).id


def approve(atelier, ticket_id, *, quote_minor=4_550, warranty=False) -> int:
    """Assessed, quoted and accepted online by Bea."""
    with atomic():
        repairs.assess(
            ticket_id=ticket_id,
            assessment="Resolder the comb.",
            under_warranty=warranty,
            by_user_id=atelier.artisan_id,
        )
    with atomic():
        repairs.send_quote(
            ticket_id=ticket_id,
            quote_minor=0 if warranty else quote_minor,
            note="",
            by_user_id=atelier.artisan_id,
        )
    with atomic():
        repairs.decide_quote(
            ticket_id=ticket_id, accept=True, comment="", by_user_id=atelier.customer_id
        )
    return ticket_id


def approved_ticket(atelier, line_id, *, years_ago=0, warranty=False) -> int:
    return approve(atelier, requested(atelier, line_id, years_ago=years_ago), warranty=warranty)


def start(ticket_id, atelier):
    with atomic():
        repairs.move_ticket(
            ticket_id=ticket_id,
            target="in_repair",
            expected_status="approved",
            by_user_id=atelier.artisan_id,
        )


def signed(event: dict) -> tuple[bytes, str]:
    payload = json.dumps(event)
    stamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return payload.encode(), f"t={stamp},v1={digest}"


def succeeded(event_id: str, intent_id: str, amount: int, **metadata) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "status": "succeeded",
                "amount": amount,
                "currency": "usd",
                "metadata": {"purpose": "repair", **metadata},
            }
        },
    }


def deliver(event: dict) -> str:
    payload, header = signed(event)
    with atomic():
        return checkout.handle_stripe_webhook(payload=payload, signature_header=header)


def test_unpaid_and_uncovered_cannot_start_but_covered_can(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        ticket_id = requested(atelier, line_id, years_ago=3)
        # The code decides the cover, whatever the checkbox says.
        with pytest.raises(repairs.RepairError, match="Not covered: warranty ended"):
            approve(atelier, ticket_id, warranty=True)
        approve(atelier, ticket_id)
        with pytest.raises(repairs.WorkNotCovered, match=r"\$45.50 is still to pay"):
            start(ticket_id, atelier)
    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    html = client.get(page).get_data(as_text=True)
    assert "Not covered: warranty ended" in html and "quote must be paid" in html
    refused = client.post(
        f"{page}/move",
        data={
            "csrf_token": csrf_token(client, page),
            "target": "in_repair",
            "expected_status": "approved",
        },
    )
    assert refused.status_code == 409
    assert "cannot start yet" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(RepairTicket, ticket_id).status == "approved"
        # A recent piece under warranty starts with nothing paid.
        db.session.get(RepairTicket, ticket_id).status = "returned"
        db.session.get(OrderLine, line_id).order.shipped_at = utcnow()
        db.session.commit()
        covered = approved_ticket(atelier, line_id, warranty=True)
        assert repairs.cover_for(db.session.get(RepairTicket, covered)).reason.startswith(
            "Covered: within the 2-year warranty until "
        )
        start(covered, atelier)
        assert db.session.get(RepairTicket, covered).status == "in_repair"


def test_a_recorded_bank_transfer_marks_the_quote_paid(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        ticket_id = approved_ticket(atelier, line_id, years_ago=3)
        reference = db.session.get(RepairTicket, ticket_id).reference
    # The owner sees the bank details and the reference to quote, and how to send it in.
    login(client, "bea@example.com", PASSWORD)
    html = client.get(f"/account/repairs/{ticket_id}").get_data(as_text=True)
    assert "$45.50" in html and "IBAN" in html and html.count(reference) >= 3
    assert "Sending your piece in" in html and "14 Hatton Garden" in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    form = {
        "csrf_token": csrf_token(client, page),
        "amount": "50.00",
        "received_on": utcnow().date().isoformat(),
        "reference": reference,
    }
    too_much = client.post(f"{page}/bank-transfer", data=form)
    assert too_much.status_code == 400 and "Only $45.50 is due" in too_much.get_data(as_text=True)
    form["amount"] = "45.50"
    assert client.post(f"{page}/bank-transfer", data=form).status_code == 302
    with app.app_context():
        ticket = db.session.get(RepairTicket, ticket_id)
        assert (ticket.paid_minor, ticket.due_minor) == (4_550, 0)
        [payment] = ticket.payments
        assert (payment.method, payment.status, payment.reference) == (
            "manual",
            "succeeded",
            reference,
        )
        subjects = [m["Subject"] for m in read_outbox(app.config["MAIL_OUTBOX_DIR"])]
        assert f"Repair {reference}: how to send your piece in" in subjects
        assert f"Payment received for repair {reference}" in subjects
        start(ticket_id, atelier)  # paid: allowed now


def test_the_card_amount_is_the_quote_and_a_webhook_replay_counts_once(
    card_app, client, atelier, delivered, monkeypatch
):
    app = card_app
    made = []

    def create(**kwargs):
        made.append(kwargs)
        return payments.IntentInfo("pi_repair_1", "requires_payment_method", 4_550, "USD", "cs_1")

    monkeypatch.setattr(payments, "create_payment_intent", create)
    _, line_id = delivered
    with app.app_context():
        ticket_id = approved_ticket(atelier, line_id, years_ago=3)
        reference = db.session.get(RepairTicket, ticket_id).reference
    login(client, "cy@example.com", PASSWORD)  # another customer: no such page
    assert client.get(f"/account/repairs/{ticket_id}/pay").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "bea@example.com", PASSWORD)
    # Whatever the browser says, the amount is the quote's.
    page = client.get(f"/account/repairs/{ticket_id}/pay?amount=1&amount_minor=1")
    assert page.status_code == 200 and 'data-client-secret="cs_1"' in page.get_data(as_text=True)
    # If Stripe's form cannot load, checkout.js shows the page's own words: back to the repair.
    assert "or go back to your repair to pay by bank transfer" in page.get_data(as_text=True)
    back = f"/account/repairs/{ticket_id}"
    assert f'data-return-url="http://diadem.test{back}/payment-return"' in page.get_data(True)
    assert f'data-order-url="{back}"' in page.get_data(True)
    assert f'<a href="{back}">go back to your repair</a>' in page.get_data(True)
    [intent] = made
    assert intent["amount_minor"] == 4_550 and intent["currency"] == "USD"
    assert intent["metadata"]["purpose"] == "repair"
    assert intent["metadata"]["repair_reference"] == reference

    with app.app_context():
        # A forged-amount success is not a payment.
        assert deliver(succeeded("evt_low", "pi_repair_1", 100)) == "amount mismatch"
        assert db.session.get(RepairTicket, ticket_id).paid_minor == 0
        # A declined card, then the same intent paid with another card.
        failed = succeeded("evt_declined", "pi_repair_1", 4_550)
        failed["type"] = "payment_intent.payment_failed"
        assert deliver(failed) == "repair payment failed"
        event = succeeded("evt_paid", "pi_repair_1", 4_550)
        assert deliver(event) == "repair paid"
        assert deliver(event) == "duplicate"  # Stripe delivers again: counted once
        ticket = db.session.get(RepairTicket, ticket_id)
        assert ticket.paid_minor == 4_550 and ticket.payments[0].status == "succeeded"
        assert db.session.execute(db.select(db.func.count(RepairPayment.id))).scalar_one() == 1
        start(ticket_id, atelier)


def test_a_declined_piece_ships_back_with_its_tracking(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        ticket_id = requested(atelier, line_id)
        with atomic():
            repairs.assess(
                ticket_id=ticket_id,
                assessment="x",
                under_warranty=False,
                by_user_id=atelier.artisan_id,
            )
        with atomic():
            repairs.send_quote(
                ticket_id=ticket_id, quote_minor=9_000, note="", by_user_id=atelier.artisan_id
            )
        with atomic():
            repairs.decide_quote(
                ticket_id=ticket_id, accept=False, comment="", by_user_id=atelier.customer_id
            )
        reference = db.session.get(RepairTicket, ticket_id).reference
    assert client.get(f"/repairs/{ticket_id}/pay").status_code == 404  # not a guest's ticket
    login(client, "theo@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    form = {
        "csrf_token": csrf_token(client, page),
        "expected_status": "declined",
        "carrier": "DHL Express",
        "tracking_number": "  ",
    }
    assert client.post(f"{page}/ship", data=form).status_code == 400
    form["tracking_number"] = "JD0146"
    assert client.post(f"{page}/ship", data=form).status_code == 302
    with app.app_context():
        ticket = db.session.get(RepairTicket, ticket_id)
        assert (ticket.status, ticket.carrier, ticket.tracking_number) == (
            "returned",
            "DHL Express",
            "JD0146",
        )
        [mail] = [
            m
            for m in read_outbox(app.config["MAIL_OUTBOX_DIR"])
            if m["Subject"] == f"Your piece is on its way back ({reference})"
        ]
        text = mail.get_body(("plain",)).get_content()
        assert "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD0146" in text


def test_an_intent_whose_id_was_not_saved_is_found_by_its_metadata(card_app, atelier, delivered):
    _, line_id = delivered
    with card_app.app_context():
        ticket_id = approved_ticket(atelier, line_id, years_ago=3)
        with atomic():  # the intent is made later; here saving its id "failed"
            payment_id = repairs.start_card_payment(ticket_id=ticket_id).id
        reference = db.session.get(RepairTicket, ticket_id).reference
        named = {"repair_payment_id": str(payment_id), "repair_reference": "R-NOT-THIS"}
        # Another ticket's reference: not this payment.
        assert deliver(succeeded("evt_1", "pi_lost", 4_550, **named)) == (
            "unknown repair payment intent"
        )
        assert db.session.get(RepairPayment, payment_id).provider_id is None
        named["repair_reference"] = reference
        assert deliver(succeeded("evt_2", "pi_lost", 4_550, **named)) == "repair paid"
        assert db.session.get(RepairPayment, payment_id).provider_id == "pi_lost"
