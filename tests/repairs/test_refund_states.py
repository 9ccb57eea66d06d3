"""A card refund on a repair is recorded before Stripe is asked, then settled; one left pending
(the process died, or saving Stripe's answer failed) is settled by the scheduled job, once,
with the same idempotency key. Against localstripe; on PostgreSQL too (POSTGRES_URL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from app.accounts.models import Role
from app.checkout import payments
from app.checkout import services as checkout
from app.common import scheduling
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairPayment, RepairRefund, RepairTicket
from app.repairs.services import refunds
from tests.checkout.conftest import WEBHOOK_SECRET, stripe_api
from tests.conftest import POSTGRES_URL
from tests.helpers import csrf_token, login, race
from tests.repairs.test_payments import approved_ticket
from tests.staff.builders import PASSWORD, make_fast_user


def _signed(event: dict) -> tuple[bytes, str]:
    payload = json.dumps(event)
    stamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return payload.encode(), f"t={stamp},v1={digest}"


def _paid_by_card(app, client, localstripe_url: str, atelier, line_id) -> tuple[int, int, str]:
    """Bea pays her repair quote by card in localstripe; the signed webhook settles it."""
    with app.app_context():
        ticket_id = approved_ticket(atelier, line_id, years_ago=3)
    login(client, "bea@example.com", PASSWORD)
    assert client.get(f"/account/repairs/{ticket_id}/pay").status_code == 200
    with app.app_context():
        payment = db.session.execute(db.select(RepairPayment)).scalar_one()
        payment_id, intent_id = payment.id, payment.provider_id
    path = f"/v1/payment_intents/{intent_id}"
    stripe_api(localstripe_url, "POST", path, payment_method="pm_card_visa").raise_for_status()
    confirmed = stripe_api(localstripe_url, "POST", f"{path}/confirm")
    assert confirmed.json()["status"] == "succeeded"
    event = {
        "id": f"evt_{intent_id}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {**confirmed.json(), "metadata": {"purpose": "repair"}}},
    }
    with app.app_context(), atomic():
        payload, header = _signed(event)
        assert checkout.handle_stripe_webhook(payload=payload, signature_header=header) == (
            "repair paid"
        )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    return ticket_id, payment_id, intent_id


@pytest.fixture
def stripe_keeps_keys(monkeypatch) -> list[str]:
    """Stripe's idempotency, which localstripe lacks: a key asked again gets the first answer.

    Real Stripe replays a key's saved answer (for 24 hours); localstripe would make a second
    refund. New keys go through to localstripe. Returns the keys as they were asked.
    """
    real = payments.refund_payment_intent
    answers: dict[str, payments.RefundInfo] = {}
    asked: list[str] = []

    def refund_payment_intent(**kwargs):
        asked.append(kwargs["idempotency_key"])
        if kwargs["idempotency_key"] not in answers:
            answers[kwargs["idempotency_key"]] = real(**kwargs)
        return answers[kwargs["idempotency_key"]]

    monkeypatch.setattr(payments, "refund_payment_intent", refund_payment_intent)
    return asked


def _admin_posts_refund(app, client, ticket_id: int, payment_id: int, amount: str):
    with app.app_context():
        make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
    login(client, "ada@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    prefix = f"refund-{payment_id}-"
    return client.post(
        f"{page}/payments/{payment_id}/refund",
        data={
            "csrf_token": csrf_token(client, page),
            f"{prefix}amount": amount,
            f"{prefix}reason": "The clasp needed no new spring",
        },
        follow_redirects=True,
    )


def _refund_mails(app) -> list:
    return [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "Refund" in m["Subject"]]


def test_a_lost_commit_after_stripe_leaves_a_pending_refund_the_job_settles_once(
    stripe_app, localstripe, client, atelier, delivered, monkeypatch, stripe_keeps_keys
):
    app = stripe_app
    ticket_id, payment_id, intent_id = _paid_by_card(
        app, client, localstripe, atelier, delivered[1]
    )
    real_settle = refunds.settle_refund

    def settle_then_lose_the_commit(**kwargs):
        real_settle(**kwargs)
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(refunds, "settle_refund", settle_then_lose_the_commit)
    page = _admin_posts_refund(app, client, ticket_id, payment_id, "10.00")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Refund recorded as pending" in html
    assert "$10.00 refund pending" in html and 'data-refund-status="pending"' in html
    stripe_refunds = stripe_api(localstripe, "GET", "/v1/refunds", payment_intent=intent_id)
    [made] = stripe_refunds.json()["data"]  # Stripe did it; the database did not hear
    assert made["amount"] == 1_000
    with app.app_context():
        [refund] = db.session.execute(db.select(RepairRefund)).scalars()
        assert (refund.status, refund.provider_id) == ("pending", "")
        payment = db.session.get(RepairPayment, payment_id)
        # Pending counts: it is off what may still be refunded and off the paid total.
        assert (payment.refunded_minor, payment.ticket.paid_minor) == (1_000, 3_550)
        key = refund.idempotency_key
    assert stripe_keeps_keys == [key]
    assert _refund_mails(app) == []  # the owner hears once Stripe's answer is saved
    monkeypatch.setattr(refunds, "settle_refund", real_settle)

    with app.app_context():
        [job] = [j for j in scheduling.registered_jobs() if j.name == "settle-repair-refunds"]
        # A refund recorded moments ago may still be in its request's hands: left alone.
        assert scheduling.run_job(job, now=utcnow()).summary.startswith("Settled 0 ")
        later = utcnow() + refunds.SETTLE_AFTER + timedelta(seconds=1)
        run = scheduling.run_job(job, now=later)
        assert (
            run.summary == "Settled 1 pending repair refund(s): 1 succeeded, 0 failed, 0 pending."
        )
        assert scheduling.run_job(job, now=later).summary.startswith("Settled 0 ")
        refund = db.session.get(RepairRefund, refund.id)
        assert (refund.status, refund.provider_id) == ("succeeded", made["id"])
        payment = db.session.get(RepairPayment, payment_id)
        assert (payment.refunded_minor, payment.ticket.paid_minor) == (1_000, 3_550)
    assert stripe_keeps_keys == [key, key]  # asked again under the same key: no second refund
    stripe_refunds = stripe_api(localstripe, "GET", "/v1/refunds", payment_intent=intent_id)
    assert len(stripe_refunds.json()["data"]) == 1
    [mail] = _refund_mails(app)
    assert "Why: The clasp needed no new spring" in mail.get_body(("plain",)).get_content()


def test_a_card_refund_settles_in_the_request_and_stripe_refusals_give_the_amount_back(
    stripe_app, localstripe, client, atelier, delivered, stripe_keeps_keys
):
    app = stripe_app
    ticket_id, payment_id, intent_id = _paid_by_card(
        app, client, localstripe, atelier, delivered[1]
    )
    done = _admin_posts_refund(app, client, ticket_id, payment_id, "")  # all of it
    assert "Refund recorded; the owner is emailed." in done.get_data(as_text=True)
    with app.app_context():
        [refund] = db.session.execute(db.select(RepairRefund)).scalars()
        assert (refund.status, refund.amount_minor) == ("succeeded", 4_550)
        assert refund.provider_id.startswith("re_") and refund.settled_at is not None
        # A payment Stripe does not know (as if its intent were made in another account):
        # Stripe refuses the refund, which ends failed with its reason, the amount given back.
        unknown = _settled_card_payment(ticket_id, "pi_not_in_stripe")
        with atomic():
            again = repairs.refund_repair_payment(
                ticket_id=ticket_id,
                payment_id=unknown,
                amount_minor=100,
                reason="Twice",
                by_user_id=atelier.checker_id,
            ).id
        settled = repairs.complete_card_refund(again)
        assert settled.status == "failed" and settled.message
        assert settled.message == "Not Found"  # the provider's words (localstripe's here)
        refused = db.session.get(RepairRefund, again)
        assert (refused.status, refused.failure_message) == ("failed", settled.message)
        payment = db.session.get(RepairPayment, unknown)
        assert (payment.refunded_minor, payment.ticket.paid_minor) == (0, 4_550)
    assert len(_refund_mails(app)) == 1


def test_a_refund_stripe_did_not_answer_about_stays_pending(app, atelier, delivered, monkeypatch):
    """No answer (network, Stripe's 5xx) may mean done or not: nothing is given back, the job
    asks again with the same key."""
    app.config["STRIPE_SECRET_KEY"] = "sk_test_repairs"
    with app.app_context():
        ticket_id = approved_ticket(atelier, delivered[1], years_ago=3)
        payment_id = _settled_card_payment(ticket_id, "pi_unanswered")

        def unanswered(**kwargs):
            raise payments.ProviderUnanswered("The card payment service did not answer.")

        monkeypatch.setattr(payments, "refund_payment_intent", unanswered)
        with atomic():
            refund_id = repairs.refund_repair_payment(
                ticket_id=ticket_id,
                payment_id=payment_id,
                amount_minor=None,
                reason="Withdrawn",
                by_user_id=atelier.checker_id,
            ).id
        assert repairs.complete_card_refund(refund_id).status == "pending"
        later = utcnow() + refunds.SETTLE_AFTER + timedelta(seconds=1)
        summary = repairs.settle_pending_refunds(now=later)
        assert summary.endswith("0 succeeded, 0 failed, 1 pending.")
        assert db.session.get(RepairRefund, refund_id).status == "pending"
        assert db.session.get(RepairPayment, payment_id).refunded_minor == 4_550


def _settled_card_payment(ticket_id: int, intent_id: str) -> int:
    """A card payment of the whole quote, as the webhook leaves it."""
    with atomic():
        ticket = db.session.get(RepairTicket, ticket_id)
        payment = RepairPayment(
            method="stripe",
            status="succeeded",
            amount_minor=ticket.quote_minor,
            currency=ticket.currency,
            provider_id=intent_id,
        )
        ticket.payments.append(payment)
        ticket.paid_minor = ticket.quote_minor
        db.session.flush()
        return payment.id


def test_a_pending_refund_counts_against_what_is_left(app, atelier, delivered):
    with app.app_context():
        ticket_id = approved_ticket(atelier, delivered[1], years_ago=3)
        payment_id = _settled_card_payment(ticket_id, "pi_pending")
        with atomic():
            repairs.refund_repair_payment(
                ticket_id=ticket_id,
                payment_id=payment_id,
                amount_minor=4_000,
                reason="Most of it",
                by_user_id=atelier.checker_id,
            )
        left = r"Only \$5.50 of that payment is left"
        with pytest.raises(repairs.RepairError, match=left), atomic():
            repairs.refund_repair_payment(
                ticket_id=ticket_id,
                payment_id=payment_id,
                amount_minor=1_000,
                reason="More",
                by_user_id=atelier.checker_id,
            )


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)")
def test_racing_refunds_never_give_back_more_than_was_paid(app, atelier, delivered):
    """Both workers start together (a barrier); the ticket's lock makes the second read what
    the first recorded, so only one of two $30.00 refunds of a $45.50 transfer is recorded."""
    workers = 2
    with app.app_context():
        ticket_id = approved_ticket(atelier, delivered[1], years_ago=3)
        with atomic():
            payment_id = repairs.record_bank_transfer(
                ticket_id=ticket_id,
                amount_minor=4_550,
                received_on=date(2026, 1, 5),
                reference="R",
                by_user_id=atelier.checker_id,
            ).id
        # Loaded before the race, as a view's page load would: the lock must see past it.
        assert db.session.get(RepairPayment, payment_id).refunded_minor == 0

    def stale_copy(i: int) -> None:
        db.session.get(RepairPayment, payment_id).refunds  # noqa: B018 - a stale copy

    def refund(i: int) -> int:
        with atomic():
            return repairs.refund_repair_payment(
                ticket_id=ticket_id,
                payment_id=payment_id,
                amount_minor=3_000,
                reason="Race",
                by_user_id=atelier.checker_id,
            ).amount_minor

    results = race(workers, refund, app=app, before=stale_copy, catch=repairs.RepairError)
    assert sorted(map(str, results)) == ["3000", "Only $15.50 of that payment is left to refund."]
    with app.app_context():
        payment = db.session.get(RepairPayment, payment_id)
        assert (payment.refunded_minor, payment.ticket.paid_minor) == (3_000, 1_550)
        assert len(payment.refunds) == 1
