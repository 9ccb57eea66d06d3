"""Checkout's Stripe webhook as a state machine: each event once, in any order, amounts that
must match, and card money that arrives when it is no longer needed given back (the signed
deliveries themselves are tested against localstripe)."""

from __future__ import annotations

import pytest

from app.checkout import payments, services
from app.checkout.models import Order
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.support import item, place
from tests.checkout.test_services import lapse, pieces

# --- webhooks (state machine; the signed deliveries are tested against localstripe) ----------


@pytest.fixture
def fake_stripe(monkeypatch):
    """Card payments on, with the provider replaced by a recorder (no network)."""
    calls = []
    monkeypatch.setattr(payments, "stripe_enabled", lambda: True)

    def create(**kw):
        calls.append(("create", kw))
        return payments.IntentInfo(
            f"pi_{len(calls)}",
            "requires_payment_method",
            kw["amount_minor"],
            kw["currency"],
            "secret",
        )

    def refund(**kw):
        calls.append(("refund", kw))
        return payments.RefundInfo(f"re_{len(calls)}", "succeeded", kw["amount_minor"])

    monkeypatch.setattr(payments, "create_payment_intent", create)
    monkeypatch.setattr(payments, "refund_payment_intent", refund)
    monkeypatch.setattr(payments, "cancel_payment_intent", lambda intent_id: True)
    return calls


def deliver(monkeypatch, event: payments.WebhookEvent) -> str:
    monkeypatch.setattr(payments, "parse_webhook", lambda **kw: event)
    with atomic():
        return services.handle_stripe_webhook(payload=b"{}", signature_header="t=1,v1=x")


def intent_event(event_id: str, kind: str, order: Order, payment_index: int = -1):
    payment = order.payments[payment_index]
    return payments.WebhookEvent(
        id=event_id,
        type=f"payment_intent.{kind}",
        object_id=payment.provider_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        failure_message="Your card was declined." if kind == "payment_failed" else "",
    )


def test_webhook_events_are_processed_at_most_once_in_any_order(
    app_ctx, shop, fake_stripe, monkeypatch
):
    order = place(item(shop.crown_id), method="stripe")
    failed = intent_event("evt_1", "payment_failed", order)
    assert deliver(monkeypatch, failed) == "payment failed"
    assert order.status == "payment_failed" and pieces(shop.crown_id)[8].status == "available"
    assert deliver(monkeypatch, failed) == "duplicate"
    with atomic():
        services.retry_payment(order_id=order.id, payment_method="stripe")
    assert order.status == "awaiting_payment" and order.payments[-1].provider_id == "pi_2"
    succeeded = intent_event("evt_2", "succeeded", order)
    assert deliver(monkeypatch, succeeded) == "paid"
    assert order.status == "paid" and pieces(shop.crown_id)[8].status == "sold"
    # A late failure of the successful intent, or a replay, changes nothing.
    late_failure = intent_event("evt_3", "payment_failed", order)
    assert deliver(monkeypatch, late_failure) == "ignored (succeeded)"
    assert deliver(monkeypatch, succeeded) == "duplicate"
    assert order.status == "paid" and order.paid_minor == order.total_minor


def test_webhook_refuses_an_amount_that_does_not_match(app_ctx, shop, fake_stripe, monkeypatch):
    order = place(item(shop.crown_id), method="stripe")
    event = intent_event("evt_x", "succeeded", order)
    wrong = payments.WebhookEvent(**{**event.__dict__, "amount_minor": 100})
    assert deliver(monkeypatch, wrong) == "amount mismatch"
    assert order.status == "awaiting_payment" and order.paid_minor == 0


def test_a_card_payment_after_the_edition_sold_out_is_refunded(
    app_ctx, shop, fake_stripe, monkeypatch
):
    app_ctx.config["EDITION_HOLD_LIMIT"] = 3  # the whole remaining run on one order
    order = place(item(shop.crown_id, quantity=3), method="stripe")
    lapse(order)
    place(item(shop.crown_id, quantity=3))
    assert deliver(monkeypatch, intent_event("evt_late", "succeeded", order)) == (
        "refunding late payment"
    )
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "refunded" and order.refunded_minor == order.paid_minor > 0
    assert order.refunds[0].status == "succeeded" and order.refunds[0].provider_id
    assert fake_stripe[-1][0] == "refund"
    assert not any(line.is_holding_piece for line in order.lines)


def test_unknown_intents_are_recorded_and_ignored(app_ctx, shop, fake_stripe, monkeypatch):
    event = payments.WebhookEvent(id="evt_u", type="payment_intent.succeeded", object_id="pi_x")
    assert deliver(monkeypatch, event) == "unknown payment intent"
    other = payments.WebhookEvent(id="evt_c", type="charge.refunded", object_id="ch_1")
    assert deliver(monkeypatch, other) == "ignored"


def test_a_card_payment_after_a_recorded_transfer_is_refunded(
    app_ctx, shop, fake_stripe, monkeypatch
):
    order = place(item(shop.tiara_id), method="stripe")
    card = intent_event("evt_card", "succeeded", order)
    with atomic():
        services.mark_paid(order_id=order.id, reference="transfer came first")
    assert order.status == "paid" and order.payments[0].status == "cancelled"
    assert deliver(monkeypatch, card) == "refunding unneeded payment"
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "paid"
    assert order.paid_minor == 2 * order.total_minor == 2 * order.refunded_minor
    assert [r.status for r in order.refunds] == ["succeeded"]
