"""Emails to the buyer about their order."""

from __future__ import annotations

from typing import Any

from app.checkout import payments
from app.checkout.models import Order
from app.checkout.services.links import order_url
from app.checkout.services.settings import setting
from app.common.mail import send_mail_after_commit

SUBJECTS = {
    "order_placed": "Your Diadem order {number}: bank transfer details",
    "payment_received": "Payment received for Diadem order {number}",
    "order_shipped": "Your Diadem order {number} is on its way",
    "order_delivered": "Your Diadem order {number} has arrived",
    "balance_requested": "The balance for your Diadem commission {number}",
    "price_revised": "A revised price for your Diadem commission {number}",
    "order_refunded": "A refund on your Diadem order {number}",
    "balance_receipt": "Your receipt for the balance of Diadem commission {number}",
}


def notify(order: Order, template: str, **context: Any) -> None:
    """Email the buyer about their order once the transaction commits (failures are logged)."""
    send_mail_after_commit(
        to=order.email,
        subject=SUBJECTS[template].format(number=order.number),
        template=template,
        order=order,
        link=order_url(order),
        bank=setting("BANK_TRANSFER_DETAILS"),
        cards=payments.stripe_enabled(),  # offer card payment only where the shop takes cards
        **context,
    )
