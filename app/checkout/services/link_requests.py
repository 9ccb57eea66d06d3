"""Lost order links: a visitor who opens an order without its link asks for it by email.

The answer never says whether the order exists or whose it is: the link goes only to the
address the order was placed with, and the page says the same thing either way.
"""

from __future__ import annotations

from app.checkout.services.links import order_url
from app.checkout.services.orders import get_order_by_number
from app.common.mail import send_mail_after_commit
from app.common.visitors import email_key


def request_order_link(*, number: str, email: str) -> bool:
    """Mail the order's link to its own address when ``email`` is that address (any case or
    +tag); return whether a mail was queued (for logs and tests, never for the visitor)."""
    order = get_order_by_number(number)
    if order is None or not email.strip() or email_key(email) != email_key(order.email):
        return False
    send_mail_after_commit(
        to=order.email,
        subject=f"Your link to Diadem order {order.number}",
        template="order_link",
        order=order,
        link=order_url(order),
        signed_in=order.user_id is not None,
    )
    return True
