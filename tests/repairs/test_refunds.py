"""Staff give money back on a paid repair: part or all, by card through Stripe or recorded as
sent back by bank, with the reason the owner is emailed; never more than was paid."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.checkout import payments
from app.common.mail import read_outbox
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairPayment, RepairRefund, RepairTicket
from tests.helpers import csrf_token, login
from tests.repairs.test_payments import approved_ticket, card_app, deliver, succeeded  # noqa: F401
from tests.staff.builders import PASSWORD, make_fast_user


def _admin(app) -> None:
    """Ada, an admin: refunds are an admin's, as for orders and returns."""
    with app.app_context():
        make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)


def _paid_by_bank(app, client, atelier, line_id) -> tuple[int, int, str]:
    with app.app_context():
        ticket_id = approved_ticket(atelier, line_id, years_ago=3)
        reference = db.session.get(RepairTicket, ticket_id).reference
    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    form = {
        "csrf_token": csrf_token(client, page),
        "amount": "45.50",
        "received_on": "2026-01-05",
        "reference": reference,
    }
    assert client.post(f"{page}/bank-transfer", data=form).status_code == 302
    with app.app_context():
        payment_id = db.session.execute(db.select(RepairPayment.id)).scalar_one()
    return ticket_id, payment_id, reference


def test_staff_refund_part_then_the_rest_of_a_transfer_and_the_owner_hears_why(
    app, client, atelier, delivered
):
    ticket_id, payment_id, reference = _paid_by_bank(app, client, atelier, delivered[1])
    page = f"/staff/repairs/{ticket_id}"
    _admin(app)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "ada@example.org", PASSWORD)
    assert "Refund this payment" in client.get(page).get_data(as_text=True)
    url = f"{page}/payments/{payment_id}/refund"
    token = csrf_token(client, page)
    prefix = f"refund-{payment_id}-"

    def refund(amount: str, reason: str):
        return client.post(
            url, data={"csrf_token": token, f"{prefix}amount": amount, f"{prefix}reason": reason}
        )

    too_much = refund("50.00", "Overcharged")
    assert too_much.status_code == 400
    assert "Only $45.50 of that payment is left to refund." in too_much.get_data(as_text=True)
    assert refund("10.00", "  ").status_code == 400  # a reason is required
    assert refund("-1", "Overcharged").status_code == 400
    assert refund("10.00", "The comb needed no new\nsolder").status_code == 302
    with app.app_context():
        ticket = db.session.get(RepairTicket, ticket_id)
        assert (ticket.paid_minor, ticket.due_minor) == (3_550, 1_000)
        [done] = ticket.payments[0].refunds
        assert (done.amount_minor, done.reason, done.provider_id) == (
            1_000,
            "The comb needed no new solder",
            "",
        )
        assert not repairs.may_start(ticket)[0]  # due again: work cannot start on it
    assert "Refunded $10.00" in client.get(page).get_data(as_text=True)
    assert refund("", "Repair withdrawn").status_code == 302  # empty: all that is left
    with app.app_context():
        payment = db.session.get(RepairPayment, payment_id)
        assert (payment.refunded_minor, payment.ticket.paid_minor) == (4_550, 0)
    assert "Refund this payment" not in client.get(page).get_data(as_text=True)
    nothing_left = refund("1.00", "Again")
    assert nothing_left.status_code == 400
    assert "Nothing is left to refund" in nothing_left.get_data(as_text=True)
    mails = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "Refund" in m["Subject"]]
    assert [m["Subject"] for m in mails] == [f"Refund for repair {reference}"] * 2
    assert "Why: The comb needed no new solder" in mails[0].get_body(("plain",)).get_content()
    assert mails[0]["To"] == "bea@example.com"


def test_only_admins_refund_and_only_with_the_form_token(app, client, atelier, delivered):
    ticket_id, payment_id, _ = _paid_by_bank(app, client, atelier, delivered[1])
    page = f"/staff/repairs/{ticket_id}"
    url = f"{page}/payments/{payment_id}/refund"
    data = {f"refund-{payment_id}-reason": "x"}
    assert client.post(url, data=data).status_code == 400  # no CSRF token
    # Mira is workshop staff: she records the transfer but neither sees nor uses a refund.
    assert "Refund this payment" not in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "bea@example.com", PASSWORD)
    data["csrf_token"] = csrf_token(client, "/")
    assert client.post(url, data=data).status_code in (302, 403)
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(RepairRefund.id))).scalar_one() == 0


@pytest.mark.usefixtures("card_app")  # Stripe keys set; the adapter's calls are swapped below
def test_a_card_refund_goes_to_stripe_once_and_a_refusal_is_recorded_as_failed(
    app, client, atelier, delivered, monkeypatch
):
    asked = []

    def create(**kwargs):
        return payments.IntentInfo("pi_refund_1", "requires_payment_method", 4_550, "USD", "cs_1")

    def refund_intent(**kwargs):
        asked.append(kwargs)
        if kwargs["amount_minor"] == 1:
            raise payments.PaymentProviderError("charge_already_refunded")
        return payments.RefundInfo("re_1", "succeeded", kwargs["amount_minor"])

    monkeypatch.setattr(payments, "create_payment_intent", create)
    monkeypatch.setattr(payments, "refund_payment_intent", refund_intent)
    with app.app_context():
        ticket_id = approved_ticket(atelier, delivered[1], years_ago=3)
    login(client, "bea@example.com", PASSWORD)
    assert client.get(f"/account/repairs/{ticket_id}/pay").status_code == 200
    with app.app_context():
        assert deliver(succeeded("evt_paid", "pi_refund_1", 4_550)) == "repair paid"
        payment_id = db.session.execute(db.select(RepairPayment.id)).scalar_one()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    _admin(app)
    login(client, "ada@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    url = f"{page}/payments/{payment_id}/refund"
    prefix = f"refund-{payment_id}-"
    data = {"csrf_token": csrf_token(client, page), f"{prefix}reason": "Could not be repaired"}
    refused = client.post(url, data={**data, f"{prefix}amount": "0.01"})
    assert refused.status_code == 400
    assert "Stripe refused the refund: charge_already_refunded" in refused.get_data(as_text=True)
    with app.app_context():
        # Recorded before Stripe was asked, then settled as refused: nothing counts against it.
        payment = db.session.get(RepairPayment, payment_id)
        assert (payment.refunded_minor, payment.ticket.paid_minor) == (0, 4_550)
        [failed] = payment.refunds
        assert (failed.status, failed.failure_message) == ("failed", "charge_already_refunded")
    assert 'data-refund-status="failed"' in client.get(page).get_data(as_text=True)
    assert client.post(url, data=data).status_code == 302
    assert asked[-1]["intent_id"] == "pi_refund_1" and asked[-1]["amount_minor"] == 4_550
    with app.app_context():
        _, refund = db.session.get(RepairPayment, payment_id).refunds
        assert (refund.status, refund.provider_id, refund.amount_minor) == (
            "succeeded",
            "re_1",
            4_550,
        )
        # Each refund asks Stripe under its own key, the one recorded before asking.
        assert asked[-1]["idempotency_key"] == refund.idempotency_key
        assert asked[0]["idempotency_key"] == failed.idempotency_key != refund.idempotency_key
        assert refund.idempotency_key.startswith(f"diadem-repair-refund-{payment_id}-")
