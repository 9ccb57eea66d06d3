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
