"""Refunds of received payments, recorded at once and executed with Stripe for cards."""

from __future__ import annotations

from app.checkout import payments
from app.checkout.models import Order, Payment, Refund, RefundStatus
from app.checkout.services.errors import OrderNotFound, RefundError
from app.checkout.services.notifications import notify
from app.checkout.services.records import _event, _lock_order, _move
from app.common.transactions import atomic, on_commit
from app.domain.clock import utcnow
from app.domain.money import Money
from app.domain.orders import OrderAction, OrderStatus
from app.extensions import db


def _open_refund(
    order: Order, payment: Payment, *, amount_minor: int, reason: str, by_user_id: int | None
) -> Refund:
    refund = Refund(
        payment=payment,
        amount_minor=amount_minor,
        currency=payment.currency,
        reason=reason[:500],
        status=RefundStatus.PENDING if payment.method == "stripe" else RefundStatus.SUCCEEDED,
        by_user_id=by_user_id,
        created_at=utcnow(),
    )
    order.refunds.append(refund)
    # Counted at once, so two refunds racing cannot exceed what was paid; undone on failure.
    payment.refunded_minor += amount_minor
    order.refunded_minor += amount_minor
    if refund.status == RefundStatus.SUCCEEDED:
        _refund_done(order)
    db.session.flush()
    return refund


def _refund_done(order: Order) -> None:
    if (
        order.paid_minor > 0
        and order.refunded_minor >= order.paid_minor
        and order.status != OrderStatus.REFUNDED  # a second refund completing
    ):
        _move(order, OrderAction.REFUND_ALL)


def refund_payment(
    *,
    order_id: int,
    payment_id: int,
    amount_minor: int | None,
    reason: str,
    by_user_id: int | None,
    notify_buyer: bool = True,
) -> Refund:
    """Refund all (amount None) or part of a received payment; recorded on the order.

    A card refund is asked of Stripe once the transaction commits; if Stripe refuses, the
    refund is recorded as failed and RefundError is raised from the commit. ``notify_buyer``
    False leaves the buyer's email to the caller (a return sends its own).
    """
    order = _lock_order(order_id)
    payment = next((p for p in order.payments if p.id == payment_id), None)
    if payment is None:
        raise OrderNotFound("No such payment on this order.")
    refundable = payment.refundable_minor
    amount = refundable if amount_minor is None else amount_minor
    if refundable <= 0:
        raise RefundError("Nothing is left to refund on this payment.")
    if amount <= 0 or amount > refundable:
        limit = Money(refundable, payment.currency).format()
        raise RefundError(f"A refund must be more than zero and at most {limit}.")
    refund = _open_refund(order, payment, amount_minor=amount, reason=reason, by_user_id=by_user_id)
    label = Money(amount, payment.currency).format()
    _event(order, "refund", f"Refund of {label}: {reason}", by_user_id)
    if refund.status == RefundStatus.PENDING:
        refund_id = refund.id
        on_commit(lambda: _execute_refund_or_raise(refund_id, notify_buyer=notify_buyer))
    elif notify_buyer:
        notify(order, "order_refunded", refund=refund)
    return refund


def _execute_refund_or_raise(refund_id: int, *, notify_buyer: bool = True) -> None:
    if _execute_refund(refund_id, notify_buyer=notify_buyer) == RefundStatus.FAILED:
        raise RefundError("The card refund failed; nothing was refunded. Try again later.")


def _execute_refund_after_commit(refund_id: int) -> None:
    on_commit(lambda: _execute_refund(refund_id))


def _execute_refund(refund_id: int, *, notify_buyer: bool = True) -> str | None:
    """Ask Stripe to refund a committed pending refund; record the outcome; return it.

    Runs after a commit: Stripe is called outside any transaction, and each write-back opens
    its own ``atomic()``.
    """
    with atomic():
        refund = db.session.get(Refund, refund_id)
        if refund is None or refund.status != RefundStatus.PENDING:
            return None
        order_id, intent_id = refund.order_id, refund.payment.provider_id or ""
        amount_minor, number = refund.amount_minor, refund.order.number
    try:
        info = payments.refund_payment_intent(
            intent_id=intent_id,
            amount_minor=amount_minor,
            idempotency_key=f"diadem-refund-{refund_id}",
            metadata={"order_number": number, "refund_id": str(refund_id)},
        )
    except payments.PaymentProviderError as exc:
        with atomic():
            order = _lock_order(order_id)
            db.session.refresh(refund)
            refund.status = RefundStatus.FAILED
            refund.payment.refunded_minor -= refund.amount_minor
            order.refunded_minor -= refund.amount_minor
            _event(order, "refund_failed", f"Refund failed: {exc}")
        return RefundStatus.FAILED
    with atomic():
        order = _lock_order(order_id)
        db.session.refresh(refund)
        refund.status = RefundStatus.SUCCEEDED
        refund.provider_id = info.id
        _refund_done(order)
        if notify_buyer:
            notify(order, "order_refunded", refund=refund)
    return RefundStatus.SUCCEEDED
