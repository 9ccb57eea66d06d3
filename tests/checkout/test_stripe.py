"""Card payments against localstripe: PaymentIntents, real signed webhooks, declines, refunds."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests
from sqlalchemy import select

from app.catalog.models import Piece
from app.checkout import services
from app.checkout.models import StripeEvent
from app.common.mail import read_outbox
from app.extensions import db
from tests.checkout.conftest import WEBHOOK_SECRET, register_webhook, stripe_api, wait_for
from tests.checkout.support import add_to_cart, checkout, order_number
from tests.helpers import csrf_token, login, make_user


def order_state(app, number: str) -> dict:
    with app.app_context():
        order = services.get_order_by_number(number)
        return {
            "status": order.status,
            "paid": order.paid_minor,
            "refunded": order.refunded_minor,
            "intent": order.payments[-1].provider_id,
            "amount": order.payments[-1].amount_minor,
            "pieces": [line.piece_label for line in order.lines if line.is_holding_piece],
            "piece_ids": [line.piece_id for line in order.lines],
        }


def buy_by_card(client, product_id: int, **cart) -> str:
    add_to_cart(client, product_id, **cart)
    response = checkout(client, payment_method="stripe")
    assert response.status_code == 302 and response.headers["Location"].endswith("/pay")
    return order_number(response)


def confirm_in_browser(localstripe: str, intent_id: str, payment_method: str = "pm_card_visa"):
    """What Stripe.js does when the buyer submits the Payment Element."""
    stripe_api(
        localstripe, "POST", f"/v1/payment_intents/{intent_id}", payment_method=payment_method
    ).raise_for_status()
    return stripe_api(localstripe, "POST", f"/v1/payment_intents/{intent_id}/confirm")


def test_a_card_payment_is_marked_paid_by_the_signed_webhook(
    stripe_app, live_stripe, localstripe, client, shop
):
    app = stripe_app
    number = buy_by_card(client, shop.crown_id)
    state = order_state(app, number)
    assert state["status"] == "awaiting_payment" and state["pieces"] == ["08/10"]

    page = client.get(f"/account/orders/{number}/pay")
    html = page.get_data(as_text=True)
    assert 'data-client-secret="pi_' in html and "https://js.stripe.com/v3/" in html
    assert "https://js.stripe.com" in page.headers["Content-Security-Policy"]
    intent = stripe_api(localstripe, "GET", f"/v1/payment_intents/{state['intent']}").json()
    # The amount Stripe will take is the server's, from the frozen breakdown.
    assert intent["amount"] == state["amount"] and intent["currency"] == "usd"
    assert intent["metadata"]["order_number"] == number

    # Coming back from Stripe marks nothing paid; only the webhook does.
    client.get(f"/account/orders/{number}/payment-return?redirect_status=succeeded")
    assert order_state(app, number)["status"] == "awaiting_payment"

    confirm_in_browser(localstripe, state["intent"]).raise_for_status()
    wait_for(lambda: order_state(app, number)["status"] == "paid")
    with app.app_context():
        event = db.session.execute(select(StripeEvent)).scalar_one()
        assert (event.type, event.object_id, event.outcome) == (
            "payment_intent.succeeded",
            state["intent"],
            "paid",
        )
        assert db.session.get(Piece, state["piece_ids"][0]).status == "sold"
    # The email goes out just after the webhook's commit.
    [message] = wait_for(lambda: read_outbox(app.config["MAIL_OUTBOX_DIR"]))
    assert message["Subject"] == f"Payment received for Diadem order {number}"
    assert client.get(f"/account/orders/{number}/status.json").json["status"] == "paid"


def test_a_declined_card_fails_the_payment_and_frees_the_piece(
    stripe_app, live_stripe, localstripe, client, shop
):
    app = stripe_app
    number = buy_by_card(client, shop.crown_id)
    state = order_state(app, number)
    card = stripe_api(
        localstripe,
        "POST",
        "/v1/payment_methods",
        type="card",
        **{
            "card[number]": "4000000000000341",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
    ).json()
    declined = confirm_in_browser(localstripe, state["intent"], card["id"])
    assert declined.status_code == 402
    wait_for(lambda: order_state(app, number)["status"] == "payment_failed")
    with app.app_context():
        assert db.session.get(Piece, state["piece_ids"][0]).status == "available"
    page = client.get(f"/account/orders/{number}").get_data(as_text=True)
    assert "Your payment did not go through." in page and "declined" in page
    assert "Try again" in page

    # Trying again reserves afresh and opens a new intent, which a good card pays.
    token = csrf_token(client, f"/account/orders/{number}")
    response = client.post(
        f"/account/orders/{number}/retry", data={"csrf_token": token, "payment_method": "stripe"}
    )
    assert response.headers["Location"].endswith("/pay")
    retry = order_state(app, number)
    assert retry["intent"] != state["intent"] and retry["pieces"] == ["08/10"]
    confirm_in_browser(localstripe, retry["intent"]).raise_for_status()
    wait_for(lambda: order_state(app, number)["status"] == "paid")


def test_a_duplicate_delivery_is_processed_once(
    stripe_app, live_stripe, localstripe, client, shop, monkeypatch
):
    app = stripe_app
    outcomes: list[str] = []
    handle = services.handle_stripe_webhook

    def recording(**kwargs):
        outcomes.append(handle(**kwargs))
        return outcomes[-1]

    monkeypatch.setattr(services, "handle_stripe_webhook", recording)
    # A second endpoint with the same URL: localstripe delivers the same event twice.
    register_webhook(localstripe, "diadem-duplicate", f"{live_stripe}/stripe/webhook")
    try:
        number = buy_by_card(client, shop.tiara_id)
        state = order_state(app, number)
        confirm_in_browser(localstripe, state["intent"]).raise_for_status()
        wait_for(lambda: len(outcomes) >= 2)
    finally:
        register_webhook(localstripe, "diadem-duplicate", "http://127.0.0.1:9/gone")
    assert sorted(outcomes) == ["duplicate", "paid"]
    after = order_state(app, number)
    assert after["status"] == "paid" and after["paid"] == state["amount"]
    with app.app_context():
        assert len(db.session.execute(select(StripeEvent)).scalars().all()) == 1


def test_forged_and_replayed_deliveries(stripe_app, live_stripe, shop):
    payload = json.dumps(
        {
            "id": "evt_forged",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_x"}},
        }
    )
    url = f"{live_stripe}/stripe/webhook"
    forged = requests.post(
        url, data=payload, timeout=5, headers={"Stripe-Signature": f"t={int(time.time())},v1=00ff"}
    )
    assert forged.status_code == 400
    assert requests.post(url, data=payload, timeout=5).status_code == 400
    stamp = int(time.time())
    signature = hmac.new(
        WEBHOOK_SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    headers = {"Stripe-Signature": f"t={stamp},v1={signature}"}
    first = requests.post(url, data=payload, headers=headers, timeout=5)
    again = requests.post(url, data=payload, headers=headers, timeout=5)
    assert first.json()["outcome"] == "unknown payment intent"
    assert again.json()["outcome"] == "duplicate"


def test_staff_refund_a_card_payment_in_part_then_in_full(
    stripe_app, live_stripe, localstripe, client, shop
):
    app = stripe_app
    number = buy_by_card(client, shop.tiara_id)
    state = order_state(app, number)
    confirm_in_browser(localstripe, state["intent"]).raise_for_status()
    wait_for(lambda: order_state(app, number)["status"] == "paid")

    make_user(app, email="staff@example.com", role="admin")  # refunds are for admins
    staff = app.test_client()
    login(staff, email="staff@example.com")
    base = f"/staff/orders/{number}/payments"
    token = csrf_token(staff, base)
    with app.app_context():
        payment_id = services.get_order_by_number(number).payments[-1].id
    staff.post(
        f"{base}/{payment_id}/refund",
        data={"csrf_token": token, "amount": "250.00", "reason": "Goodwill"},
    )
    staff.post(f"{base}/{payment_id}/refund", data={"csrf_token": token, "reason": "Returned"})
    after = order_state(app, number)
    assert after["status"] == "refunded" and after["refunded"] == state["amount"]
    refunds = stripe_api(localstripe, "GET", "/v1/refunds", payment_intent=state["intent"]).json()[
        "data"
    ]
    assert sorted(r["amount"] for r in refunds) == sorted([25_000, state["amount"] - 25_000])
    page = staff.get(base).get_data(as_text=True)
    assert page.count("status-succeeded") >= 3  # the payment and both refunds
