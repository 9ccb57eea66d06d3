"""A card-paid return is refunded by Stripe through checkout's refund path (localstripe)."""

from __future__ import annotations

import pytest

from app.checkout import payments
from app.checkout.models import Order, Refund
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.returns import INSPECTION_KEYS
from app.extensions import db
from app.returns import services
from tests.checkout.conftest import stripe_api
from tests.returns.conftest import delivered_order
from tests.staff.builders import only_line


def _paid_by_card(order: Order, intent_id: str) -> None:
    """Turn the recorded payment into the card payment Stripe took (intent ``intent_id``)."""
    with atomic():
        payment = db.session.get(Order, order.id).payments[0]
        payment.method = "stripe"
        payment.provider_id = intent_id
        payment.order.payment_method = "stripe"


def _inspected_return(shop, order: Order) -> int:
    staff_id = shop.atelier.checker_id
    with atomic():
        made = services.request_return(
            order=order,
            line_ids=[only_line(order).id],
            reason="fit",
            details="",
            photos=[],
            by_user_id=order.user_id,
        )
    for step in (services.approve_return, services.receive_return):
        with atomic():
            step(return_id=made.id, by_user_id=staff_id)
    with atomic():
        services.inspect_return(
            return_id=made.id, items=INSPECTION_KEYS, passed=True, notes="", by_user_id=staff_id
        )
    return made.id


def test_a_card_paid_return_is_refunded_by_stripe(stripe_app, localstripe, shop):
    with stripe_app.app_context():
        order = delivered_order(shop)
        amount = order.payments[0].amount_minor
        intent = stripe_api(
            localstripe,
            "POST",
            "/v1/payment_intents",
            amount=amount,
            currency="usd",
            payment_method="pm_card_visa",
            confirm="true",
        ).json()
        assert intent["status"] == "succeeded"
        _paid_by_card(order, intent["id"])
        return_id = _inspected_return(shop, order)
        assert services.refund_method_for(services.get_return(return_id)) == "card"
        with atomic():
            services.refund_return(return_id=return_id, by_user_id=shop.admin_id)
        db.session.expire_all()
        done = services.get_return(return_id)
        [refund] = [db.session.get(Refund, i) for i in done.refund_ids]
        line_total = only_line(order).total_minor
        assert (done.status, done.refund_method, refund.status) == ("refunded", "card", "succeeded")
        assert refund.amount_minor == line_total and refund.provider_id.startswith("re_")
        refunds = stripe_api(localstripe, "GET", "/v1/refunds", payment_intent=intent["id"]).json()
        assert [r["amount"] for r in refunds["data"]] == [line_total]
        subjects = [m["Subject"] for m in read_outbox(stripe_app.config["MAIL_OUTBOX_DIR"])]
        assert f"Your Diadem return {done.ra_number} is refunded" in subjects
        assert not any(s.startswith("A refund on your Diadem order") for s in subjects)


def test_a_refused_card_refund_puts_the_return_back_to_inspected(stripe_app, shop, monkeypatch):
    from app.checkout import services as checkout

    def refuse(**kwargs):
        raise payments.PaymentProviderError("card network down")

    monkeypatch.setattr(payments, "refund_payment_intent", refuse)
    with stripe_app.app_context():
        order = delivered_order(shop)
        _paid_by_card(order, "pi_not_real")
        return_id = _inspected_return(shop, order)
        with pytest.raises(checkout.RefundError), atomic():
            services.refund_return(return_id=return_id, by_user_id=shop.admin_id)
        with atomic():
            assert services.reopen_failed_refund(return_id=return_id) is not None
        db.session.expire_all()
        again = services.get_return(return_id)
        assert again.status == "inspected" and again.refund_ids == []
        assert db.session.get(Order, order.id).refunded_minor == 0
        subjects = [m["Subject"] for m in read_outbox(stripe_app.config["MAIL_OUTBOX_DIR"])]
        assert not any("is refunded" in s for s in subjects)
