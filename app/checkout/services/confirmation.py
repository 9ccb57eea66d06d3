"""A guest confirms their address through the emailed link; their bank-transfer hold then runs.

Until then a guest's bank-transfer order holds its pieces for GUEST_UNCONFIRMED_HOLD_MINUTES
only (see ``pieces._hold_until``), so nobody can keep numbered pieces for days behind an
address they do not read.
"""

from __future__ import annotations

import enum

from app.checkout.models import Order
from app.checkout.services.errors import OrderNotFound
from app.checkout.services.expiry import expire_order
from app.checkout.services.links import number_for_confirm_token
from app.checkout.services.orders import get_order_by_number
from app.checkout.services.pieces import _extend_hold, _hold_until
from app.checkout.services.records import _event, _lock_order
from app.domain.clock import utcnow
from app.domain.orders import OrderStatus


class Confirmed(enum.StrEnum):
    HELD = "held"  # confirmed in time: the pieces are held for the bank-transfer period
    ALREADY = "already"  # confirmed before (a second click changes nothing)
    LAPSED = "lapsed"  # confirmed, but the short hold had lapsed: the order may be renewed
    NOTHING_HELD = "nothing_held"  # confirmed; the order holds no pieces (paid, cancelled...)


def order_for_confirm_token(*, number: str, token: str) -> Order:
    """The order a genuine confirmation link names, else OrderNotFound."""
    order = get_order_by_number(number)
    if order is None or not token or number_for_confirm_token(token) != order.number:
        raise OrderNotFound("This confirmation link is not valid; please use the one we emailed.")
    return order


def confirm_order_email(*, order_id: int) -> Confirmed:
    """Record that the buyer reads the order's address and hold their pieces for the full term."""
    order = _lock_order(order_id)
    now = utcnow()
    if order.email_confirmed_at is not None:
        return Confirmed.ALREADY
    order.email_confirmed_at = now
    _event(order, "email_confirmed", f"{order.email} confirmed by the buyer")
    if order.status != OrderStatus.AWAITING_PAYMENT or order.reserved_until is None:
        return Confirmed.NOTHING_HELD
    if order.reserved_until < now:
        expire_order(order.id)
        return Confirmed.LAPSED
    _extend_hold(order, _hold_until(order, now))
    return Confirmed.HELD
