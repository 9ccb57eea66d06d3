"""Unpaid orders whose reservation lapsed: cancel them and free their pieces.

Expiry is lazy (an order is expired when it is next looked at) and tidied by the
``expire-reservations`` command. Abandoned card payments are cancelled with Stripe after the
transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from app.checkout import payments
from app.checkout.models import EXPIRED_REASON, Order, PaymentStatus
from app.checkout.services.pieces import _release_pieces
from app.checkout.services.records import _event, _lock_order, _move, _pending
from app.common.transactions import on_commit
from app.domain.clock import utcnow
from app.domain.orders import OrderAction, OrderStatus
from app.extensions import db


def _lapsed(order: Order, now: datetime) -> bool:
    return (
        order.status == OrderStatus.AWAITING_PAYMENT
        and order.reserved_until is not None
        and order.reserved_until < now
    )


def expire_if_lapsed(order: Order) -> Order:
    """Expire the order if its reservation lapsed unpaid (in the caller's transaction)."""
    if _lapsed(order, utcnow()):
        expire_order(order.id)
    return order


def expire_order(order_id: int) -> str | None:
    """Cancel an unpaid order whose reservation lapsed; return its number, or None if it stands."""
    order = _lock_order(order_id)
    now = utcnow()
    if not _lapsed(order, now):
        return None
    released = _release_pieces(order, now)
    intents = []
    for payment in _pending(order, "initial"):
        payment.status = PaymentStatus.CANCELLED
        if payment.provider_id:
            intents.append(payment.provider_id)
    _move(order, OrderAction.EXPIRE)
    order.cancel_reason = EXPIRED_REASON
    order.cancelled_at = now
    order.reserved_until = None
    _event(order, "expired", "Reservation expired; released " + (", ".join(released) or "—"))
    _cancel_intents_after_commit(intents)
    return order.number


def _cancel_intents(intent_ids: Iterable[str]) -> None:
    # Best effort: an intent that already succeeded cannot be cancelled, and its webhook will
    # settle the order (taking the pieces back if still free, else refunding).
    if not payments.stripe_enabled():
        return
    for intent_id in intent_ids:
        payments.cancel_payment_intent(intent_id)


def _cancel_intents_after_commit(intent_ids: Iterable[str]) -> None:
    """Cancel these PaymentIntents with Stripe once the transaction commits."""
    ids = list(intent_ids)
    if ids:
        on_commit(lambda: _cancel_intents(ids))


def lapsed_order_ids(*, now: datetime | None = None) -> list[int]:
    """The unpaid orders whose reservation has lapsed."""
    now = now or utcnow()
    return list(
        db.session.execute(
            select(Order.id).where(
                Order.status == OrderStatus.AWAITING_PAYMENT,
                Order.reserved_until.is_not(None),
                Order.reserved_until < now,
            )
        ).scalars()
    )


def expire_lapsed_orders(*, now: datetime | None = None) -> list[str]:
    """Expire every lapsed unpaid order in the caller's transaction; return their numbers.

    The ``expire-reservations`` command instead runs one transaction per order
    (``lapsed_order_ids`` then ``expire_order``), so a long run holds few locks at a time.
    """
    numbers = (expire_order(order_id) for order_id in lapsed_order_ids(now=now))
    return [number for number in numbers if number is not None]
