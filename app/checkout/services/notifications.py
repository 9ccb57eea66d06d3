"""Emails to the buyer about their order."""

from __future__ import annotations

from typing import Any

from flask import current_app

from app.checkout.models import Order
from app.checkout.services.links import order_url
from app.checkout.services.settings import setting
from app.common.mail import send_mail

SUBJECTS = {
    "order_placed": "Your Diadem order {number}: bank transfer details",
    "payment_received": "Payment received for Diadem order {number}",
    "order_shipped": "Your Diadem order {number} is on its way",
    "balance_requested": "The balance for your Diadem commission {number}",
    "price_revised": "A revised price for your Diadem commission {number}",
    "order_refunded": "A refund on your Diadem order {number}",
}


def notify(order: Order, template: str, **context: Any) -> None:
    """Email the buyer about their order; a mail failure is logged, never undoes the order."""
    try:
        send_mail(
            to=order.email,
            subject=SUBJECTS[template].format(number=order.number),
            template=template,
            order=order,
            link=order_url(order),
            bank=setting("BANK_TRANSFER_DETAILS"),
            **context,
        )
    except Exception:  # SMTP down, template bug: the order stands; staff can resend
        current_app.logger.exception("Could not send %s for order %s", template, order.number)
