"""Emails to the buyer about their return: text and HTML parts, links on the public base URL."""

from __future__ import annotations

from typing import Any

from flask import current_app

from app.checkout import services as checkout
from app.common.links import public_url
from app.common.mail import send_mail_after_commit
from app.returns.models import ReturnRequest

SUBJECTS = {
    "return_requested": "We have your return request on Diadem order {number}",
    "return_approved": "Your Diadem return {ra}: how to send it back",
    "return_refused": "About your return request on Diadem order {number}",
    "return_refunded": "Your Diadem return {ra} is refunded",
}
DEFAULT_STUDIO_ADDRESS = "Diadem Atelier, 14 Hatton Garden, London EC1N 8AT"


def studio_address() -> str:
    return current_app.config.get("STUDIO_ADDRESS") or DEFAULT_STUDIO_ADDRESS


def return_url(request: ReturnRequest) -> str:
    """The buyer's return page: signed for a guest's order, plain (sign-in) for an account's."""
    order = request.order
    if order.user_id is None:
        return public_url(
            "returns.request_return",
            number=order.number,
            t=checkout.order_link_token(order.number),
        )
    return public_url("returns.request_return", number=order.number)


def notify(request: ReturnRequest, template: str, **context: Any) -> None:
    """Queue the email in the caller's transaction; it goes once that commits."""
    order = request.order
    send_mail_after_commit(
        to=order.email,
        subject=SUBJECTS[template].format(ra=request.ra_number or "", number=order.number),
        template=template,
        ret=request,
        order=order,
        link=return_url(request),
        order_link=checkout.order_url(order),
        studio_address=studio_address(),
        **context,
    )
