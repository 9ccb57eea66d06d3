"""Unpaid orders whose reservation lapsed: cancel them and free their pieces."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from app.checkout import payments
from app.checkout.models import EXPIRED_REASON, Order
from app.checkout.services.pieces import _release_pieces
from app.checkout.services.records import _event, _lock_order, _pending
from app.domain.clock import utcnow
from app.extensions import db


def expire_if_lapsed(order: Order) -> Order:
    if (
        order.status == "awaiting_payment"
        and order.reserved_until is not None
        and order.reserved_until < utcnow()
    ):
        intents = _expire(order.id)
        _cancel_intents(intents)
    return order


def _expire(order_id: int) -> list[str]:
    """Cancel an unpaid order whose reservation lapsed; return PaymentIntents to cancel."""
    order = _lock_order(order_id)
    now = utcnow()
    if not (
        order.status == "awaiting_payment"
        and order.reserved_until is not None
        and order.reserved_until < now
    ):
        db.session.rollback()
        return []
    released = _release_pieces(order, now)
    intents = []
    for payment in _pending(order, "initial"):
        payment.status = "cancelled"
        if payment.provider_id:
            intents.append(payment.provider_id)
    order.status = "cancelled"
    order.cancel_reason = EXPIRED_REASON
    order.cancelled_at = now
    order.reserved_until = None
    _event(order, "expired", "Reservation expired; released " + (", ".join(released) or "—"))
    db.session.commit()
    return intents


def _cancel_intents(intent_ids: Iterable[str]) -> None:
    # Best effort: an intent that already succeeded cannot be cancelled, and its webhook will
    # settle the order (taking the pieces back if still free, else refunding).
    if not payments.stripe_enabled():
        return
    for intent_id in intent_ids:
        payments.cancel_payment_intent(intent_id)


def expire_lapsed_orders(*, now: datetime | None = None) -> list[str]:
    """Cancel every unpaid order whose reservation lapsed and free its pieces; return numbers."""
    now = now or utcnow()
    ids = list(
        db.session.execute(
            select(Order.id).where(
                Order.status == "awaiting_payment",
                Order.reserved_until.is_not(None),
                Order.reserved_until < now,
            )
        ).scalars()
    )
    db.session.rollback()
    expired = []
    for order_id in ids:
        intents = _expire(order_id)
        order = db.session.get(Order, order_id)
        if order is not None and order.status == "cancelled":
            expired.append(order.number)
        _cancel_intents(intents)
    return expired
