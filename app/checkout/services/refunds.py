"""Refunds of received payments, recorded at once and executed with Stripe for cards."""

from __future__ import annotations

from app.checkout import payments
from app.checkout.models import Order, Payment, Refund
from app.checkout.services.errors import OrderNotFound, RefundError
from app.checkout.services.notifications import notify
from app.checkout.services.records import _event, _lock_order
from app.domain.clock import utcnow
from app.domain.money import Money
from app.extensions import db


def _open_refund(
    order: Order, payment: Payment, *, amount_minor: int, reason: str, by_user_id: int | None
) -> Refund:
    refund = Refund(
        payment=payment,
        amount_minor=amount_minor,
        currency=payment.currency,
        reason=reason[:500],
        status="pending" if payment.method == "stripe" else "succeeded",
        by_user_id=by_user_id,
        created_at=utcnow(),
    )
    order.refunds.append(refund)
    # Counted at once, so two refunds racing cannot exceed what was paid; undone on failure.
    payment.refunded_minor += amount_minor
    order.refunded_minor += amount_minor
    if refund.status == "succeeded":
        _refund_done(order)
    db.session.flush()
    return refund


def _refund_done(order: Order) -> None:
    if order.paid_minor > 0 and order.refunded_minor >= order.paid_minor:
        order.status = "refunded"


def refund_payment(
    *,
    order_id: int,
    payment_id: int,
    amount_minor: int | None,
    reason: str,
    by_user_id: int | None,
) -> Refund:
    """Refund all (amount None) or part of a received payment; recorded on the order."""
    order = _lock_order(order_id)
    payment = next((p for p in order.payments if p.id == payment_id), None)
    if payment is None:
        db.session.rollback()
        raise OrderNotFound("No such payment on this order.")
    refundable = payment.refundable_minor
    amount = refundable if amount_minor is None else amount_minor
    if refundable <= 0:
        db.session.rollback()
        raise RefundError("Nothing is left to refund on this payment.")
    if amount <= 0 or amount > refundable:
        db.session.rollback()
        limit = Money(refundable, payment.currency).format()
        raise RefundError(f"A refund must be more than zero and at most {limit}.")
    refund = _open_refund(order, payment, amount_minor=amount, reason=reason, by_user_id=by_user_id)
    label = Money(amount, payment.currency).format()
    _event(order, "refund", f"Refund of {label}: {reason}", by_user_id)
    db.session.commit()
    if refund.status == "pending":
        _execute_refund(refund.id)
        db.session.refresh(refund)
        if refund.status == "failed":
            raise RefundError("The card refund failed; nothing was refunded. Try again later.")
    else:
        notify(order, "order_refunded", refund=refund)
    return refund


def _execute_refund(refund_id: int) -> None:
    """Ask Stripe to refund a pending refund (after commit); record the outcome."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != "pending":
        return
    try:
        info = payments.refund_payment_intent(
            intent_id=refund.payment.provider_id or "",
            amount_minor=refund.amount_minor,
            idempotency_key=f"diadem-refund-{refund.id}",
            metadata={"order_number": refund.order.number, "refund_id": str(refund.id)},
        )
    except payments.PaymentProviderError as exc:
        order = _lock_order(refund.order_id)
        db.session.refresh(refund)
        refund.status = "failed"
        refund.payment.refunded_minor -= refund.amount_minor
        order.refunded_minor -= refund.amount_minor
        _event(order, "refund_failed", f"Refund failed: {exc}")
        db.session.commit()
        return
    order = _lock_order(refund.order_id)
    db.session.refresh(refund)
    refund.status = "succeeded"
    refund.provider_id = info.id
    _refund_done(order)
    db.session.commit()
    notify(order, "order_refunded", refund=refund)
