"""Order links for emails: signed for guests, plain for account holders."""

from __future__ import annotations

from app.checkout.models import Order
from app.checkout.services.settings import setting
from app.common.links import public_url, sign, unsign

ORDER_LINK_SALT = "diadem.order-link"


def order_link_token(number: str) -> str:
    """The signed token of a guest's order link."""
    return sign(number, salt=ORDER_LINK_SALT)


def number_for_token(token: str) -> str | None:
    """The order number behind a genuine, unexpired order-link token, else None."""
    max_age = int(setting("ORDER_LINK_MAX_AGE_DAYS")) * 86400
    number = unsign(token, salt=ORDER_LINK_SALT, max_age=max_age)
    return number if isinstance(number, str) else None


def order_url(order: Order) -> str:
    """The order page link for emails: signed for guests, plain (sign-in) for account holders."""
    if order.user_id is None:
        return public_url(
            "checkout.show_order", number=order.number, t=order_link_token(order.number)
        )
    return public_url("checkout.show_order", number=order.number)


EMAIL_CONFIRM_SALT = "diadem.order-email-confirm"
EMAIL_CONFIRM_MAX_AGE = 7 * 86400


def email_confirm_token(number: str) -> str:
    """The signed token of the link that confirms a guest order's address."""
    return sign(number, salt=EMAIL_CONFIRM_SALT)


def number_for_confirm_token(token: str) -> str | None:
    """The order number behind a genuine, unexpired confirmation token, else None."""
    number = unsign(token, salt=EMAIL_CONFIRM_SALT, max_age=EMAIL_CONFIRM_MAX_AGE)
    return number if isinstance(number, str) else None


def email_confirm_url(order: Order) -> str:
    """The link, mailed to a guest buyer, that confirms their address and keeps the hold."""
    return public_url(
        "checkout.confirm_email", number=order.number, t=email_confirm_token(order.number)
    )
