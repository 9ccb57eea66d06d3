"""Order links for emails: signed for guests, plain for account holders."""

from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.checkout.models import Order
from app.checkout.services.settings import setting

ORDER_LINK_SALT = "diadem.order-link"


def order_link_token(number: str) -> str:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=ORDER_LINK_SALT)
    return serializer.dumps(number)


def number_for_token(token: str) -> str | None:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=ORDER_LINK_SALT)
    max_age = int(setting("ORDER_LINK_MAX_AGE_DAYS")) * 86400
    try:
        number = serializer.loads(token, max_age=max_age)
    except BadSignature:
        return None
    return number if isinstance(number, str) else None


def order_url(order: Order) -> str:
    """The order page link for emails: signed for guests, plain (sign-in) for account holders."""
    if order.user_id is None:
        return url_for(
            "checkout.show_order",
            number=order.number,
            t=order_link_token(order.number),
            _external=True,
        )
    return url_for("checkout.show_order", number=order.number, _external=True)
