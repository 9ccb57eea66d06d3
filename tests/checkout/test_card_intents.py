"""An order's card payment: the pay page's card form, and the webhook finding a payment whose
intent id was never saved (the signed metadata names it). No network: the adapter is swapped."""

from __future__ import annotations

import pytest

from app.checkout import payments, services
from app.checkout.models import Payment
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, item, order_number, place


@pytest.fixture
def fake_stripe(app, monkeypatch):
    """Card payments on; intents are made and read back by a stand-in."""
    app.config.update(STRIPE_SECRET_KEY="sk_test_cards", STRIPE_PUBLISHABLE_KEY="pk_test_cards")
    made: dict[str, payments.IntentInfo] = {}

    def create(**kw):
        info = payments.IntentInfo(
            f"pi_{len(made) + 1}", "requires_payment_method", kw["amount_minor"], kw["currency"]
        )
        made[info.id] = info
        return info

    def retrieve(intent_id):
        info = made[intent_id]
        return payments.IntentInfo(
            info.id, info.status, info.amount_minor, info.currency, f"cs_{intent_id}"
        )

    monkeypatch.setattr(payments, "create_payment_intent", create)
    monkeypatch.setattr(payments, "retrieve_payment_intent", retrieve)
    monkeypatch.setattr(payments, "cancel_payment_intent", lambda intent_id: True)
    return made


def deliver(monkeypatch, event: payments.WebhookEvent) -> str:
    monkeypatch.setattr(payments, "parse_webhook", lambda **kw: event)
    with atomic():
        return services.handle_stripe_webhook(payload=b"{}", signature_header="t=1,v1=x")


def test_the_pay_page_mounts_the_card_form_for_the_order(app, client, shop, fake_stripe):
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client, payment_method="stripe"))
    html = client.get(f"/account/orders/{number}/pay").get_data(as_text=True)
    assert 'data-publishable-key="pk_test_cards"' in html and 'data-client-secret="cs_pi_' in html
    assert f'data-return-url="http://diadem.test/account/orders/{number}/payment-return"' in html
    assert f'data-order-url="/account/orders/{number}"' in html
    assert "or go back to your order to pay by bank transfer" in html
    assert 'id="pay-button" disabled>Pay' in html and 'id="payment-message"' in html
    assert f'<a href="/account/orders/{number}">go back to your order</a>' in html
    assert "https://js.stripe.com/v3/" in html
    # Once the intent is processing there is nothing to enter: no form, no Stripe.js.
    for info in list(fake_stripe.values()):
        fake_stripe[info.id] = payments.IntentInfo(
            info.id, "processing", info.amount_minor, info.currency
        )
    html = client.get(f"/account/orders/{number}/pay").get_data(as_text=True)
    assert "This payment is already being processed." in html and "payment-form" not in html
    assert "https://js.stripe.com/v3/" not in html


def test_an_intent_whose_id_was_not_saved_is_found_by_its_metadata(
    app_ctx, shop, fake_stripe, monkeypatch
):
    order = place(item(shop.crown_id), method="stripe")
    payment = order.payments[-1]
    payment.provider_id = None  # the intent was made, saving its id failed
    db.session.commit()
    named = {"payment_id": str(payment.id), "order_number": "NOT-THIS-ONE"}

    def event(event_id: str) -> payments.WebhookEvent:
        return payments.WebhookEvent(
            id=event_id,
            type="payment_intent.succeeded",
            object_id="pi_lost",
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            metadata=dict(named),
        )

    # Another order's number: not this payment.
    assert deliver(monkeypatch, event("evt_1")) == "unknown payment intent"
    assert db.session.get(Payment, payment.id).provider_id is None
    named["order_number"] = order.number
    assert deliver(monkeypatch, event("evt_2")) == "paid"
    assert db.session.get(Payment, payment.id).provider_id == "pi_lost"
