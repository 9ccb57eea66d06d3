"""Received payments and the order's later moves: paid, shipped, delivered, cancelled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from app.checkout import invoice_files
from app.checkout.models import EXPIRED_REASON, Order, Payment, PaymentStatus, RefundStatus
from app.checkout.services import care_plans
from app.checkout.services.aftersale import SIGNED_BY_MAX, aftersale_terms
from app.checkout.services.errors import InvalidTransition, SoldOut
from app.checkout.services.expiry import _cancel_intents_after_commit
from app.checkout.services.notifications import notify
from app.checkout.services.pieces import _release_pieces, _secure_pieces
from app.checkout.services.records import _event, _lock_order, _move, _new_payment, _pending
from app.checkout.services.settings import studio_zone
from app.domain import aftersale, orders
from app.domain.clock import utcnow
from app.domain.money import Money
from app.domain.orders import OrderAction
from app.domain.orders import OrderStatus as S


def _settle(
    order: Order,
    payment: Payment,
    *,
    now: datetime,
    by_user_id: int | None = None,
    reference: str = "",
) -> bool:
    """Record a received payment on a locked order; False if its pieces could not be had."""
    payment.status = PaymentStatus.SUCCEEDED
    payment.settled_at = now
    payment.recorded_by_id = by_user_id
    if reference:
        payment.note = reference[:255]
    order.paid_minor += payment.amount_minor
    if payment.kind == "initial":
        if not _secure_pieces(order, now):
            return False
        for other in _pending(order, "initial"):
            other.status = PaymentStatus.CANCELLED
        paid = OrderAction.DEPOSIT_RECEIVED if order.balance_minor > 0 else OrderAction.PAID_IN_FULL
        if orders.can(order.status, paid):  # awaiting payment, failed, or lapsed
            _move(order, paid)
            order.cancel_reason = ""
            order.cancelled_at = None
        order.reserved_until = None
        order.paid_at = order.paid_at or now
        invoice_files.issue_after_commit(order.id)
        for line in order.lines:
            if line.stage is None:
                line.stage = "deposit_paid" if line.is_custom else "paid"
        pieces = ", ".join(
            f"{line.product_name} {line.piece_label}" for line in order.lines if line.piece_id
        )
        _event(
            order,
            "paid",
            f"Payment of {Money(payment.amount_minor, payment.currency).format()} received"
            + (f"; sold {pieces}" if pieces else ""),
            by_user_id,
        )
    else:
        for other in _pending(order, "balance"):
            other.status = PaymentStatus.CANCELLED
        if orders.can(order.status, OrderAction.BALANCE_RECEIVED):
            _move(order, OrderAction.BALANCE_RECEIVED)
        if order.outstanding_minor == 0:
            # The invoice showed this balance outstanding and stays as issued: a receipt says
            # it was paid (issued once, mailed to the buyer by the job that issues it).
            invoice_files.issue_after_commit(order.id, invoice_files.BALANCE_RECEIPT)
        _event(
            order,
            "balance_paid",
            f"Balance of {Money(payment.amount_minor, payment.currency).format()} received",
            by_user_id,
        )
    return True


def mark_paid(
    *,
    order_id: int,
    by_user_id: int | None = None,
    reference: str = "",
    customer_note: str = "",
) -> Order:
    """Staff record a bank transfer (or other manual payment) for what is due now.

    ``reference`` is the staff's internal note (never shown to the buyer); ``customer_note`` is
    what the buyer sees beside the payment on their order page and invoice.

    Settles the pending payment (the first payment, or the requested balance). Raises
    InvalidTransition when nothing is due, SoldOut when the reservation lapsed and the
    edition has no piece left (return the money to the buyer instead).
    """
    order = _lock_order(order_id)
    now = utcnow()
    first_due = order.status in (S.AWAITING_PAYMENT, S.PAYMENT_FAILED) or (
        order.status == S.CANCELLED and order.cancel_reason == EXPIRED_REASON
    )
    kind = "initial" if first_due else "balance"
    if order.status in (S.DRAFT, S.REFUNDED) or (order.status == S.CANCELLED and not first_due):
        raise InvalidTransition(f"A {order.status_label.lower()} order cannot be marked paid.")
    due = order.due_at_checkout_minor - order.paid_minor if first_due else order.outstanding_minor
    if due <= 0:
        raise InvalidTransition("Nothing is due on this order.")
    intents = [p.provider_id for p in _pending(order, kind) if p.provider_id]
    manual = [p for p in _pending(order, kind) if p.method == "manual" and p.amount_minor == due]
    payment = (
        manual[-1] if manual else _new_payment(order, kind=kind, method="manual", amount_minor=due)
    )
    payment.customer_note = customer_note.strip()[:255]
    if not _settle(order, payment, now=now, by_user_id=by_user_id, reference=reference):
        # The caller's atomic() rolls back what _settle recorded.
        raise SoldOut(
            "The reservation lapsed and this edition has no piece left; return the transfer "
            "to the buyer and cancel the order."
        )
    _cancel_intents_after_commit(intents)
    notify(order, "payment_received")
    return order


def start_production(order: Order) -> None:
    """Move a paid order (locked by the caller) into production; other statuses stay."""
    if orders.can(order.status, OrderAction.START_PRODUCTION):
        _move(order, OrderAction.START_PRODUCTION)


def mark_shipped(
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    by_user_id: int | None,
    passports: Sequence[tuple[str, str]] = (),
) -> Order:
    """Record the insured shipment and email the buyer the tracking number.

    ``passports`` are (piece, public passport URL) pairs for the email; provenance sits above
    checkout, so the caller that ships the pieces builds them.
    """
    carrier, tracking_number = carrier.strip()[:60], tracking_number.strip()[:100]
    if not carrier or not tracking_number:
        raise InvalidTransition("Give the carrier and the tracking number.")
    order = _lock_order(order_id)
    if not orders.can(order.status, OrderAction.SHIP):  # paid, in production, or shipped
        raise InvalidTransition(f"A {order.status_label.lower()} order cannot be shipped.")
    if order.outstanding_minor > 0:
        raise InvalidTransition("The balance is still due; request it before shipping.")
    _move(order, OrderAction.SHIP)
    order.carrier = carrier
    order.tracking_number = tracking_number
    order.shipped_at = utcnow()
    _event(order, "shipped", f"Shipped with {carrier}, tracking {tracking_number}", by_user_id)
    notify(order, "order_shipped", passports=list(passports))
    return order


def mark_delivered(
    *,
    order_id: int,
    signed_by: str,
    by_user_id: int | None,
    delivered_on: date | None = None,
) -> Order:
    """Record the signed-for delivery on ``delivered_on`` (studio calendar; today if None).

    Emails the buyer the last day of the return window and the end of the warranty.
    """
    signed_by = " ".join(signed_by.split())
    if not signed_by:
        raise InvalidTransition("Give the name of the person who signed for the parcel.")
    if len(signed_by) > SIGNED_BY_MAX:
        raise InvalidTransition(f"The name is longer than {SIGNED_BY_MAX} characters.")
    order = _lock_order(order_id)
    if not orders.can(order.status, OrderAction.DELIVER) or order.shipped_at is None:
        raise InvalidTransition("Only a shipped order can be marked delivered.")
    now, zone = utcnow(), studio_zone()
    day = delivered_on or aftersale.delivery_day(delivered_at=now, zone=zone)
    try:
        delivered_at = aftersale.delivery_instant(
            day=day, zone=zone, shipped_at=order.shipped_at, now=now
        )
    except aftersale.DeliveryDateError as exc:
        raise InvalidTransition(str(exc)) from exc
    _move(order, OrderAction.DELIVER)
    order.delivered_at = delivered_at
    order.delivered_signed_by = signed_by
    care_plans.start_plans(order, delivered_at=delivered_at)
    _event(order, "delivered", f"Delivered {day:%-d %B %Y}, signed for by {signed_by}", by_user_id)
    notify(order, "order_delivered", aftersale=aftersale_terms(order))
    return order


def cancel_order(*, order_id: int, by_user_id: int | None, reason: str) -> Order:
    """Staff cancel an order that holds no money, returning its pieces to sale."""
    order = _lock_order(order_id)
    if not orders.can(order.status, OrderAction.CANCEL):  # shipped, delivered or cancelled
        raise InvalidTransition(f"A {order.status_label.lower()} order cannot be cancelled.")
    if order.paid_minor - order.refunded_minor > 0:
        raise InvalidTransition("Refund what was paid before cancelling.")
    if any(r.status == RefundStatus.PENDING for r in order.refunds):
        raise InvalidTransition("A refund is still being processed.")
    now = utcnow()
    released = _release_pieces(order, now, restock_sold=True)
    intents = []
    for payment in order.payments:
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.CANCELLED
            if payment.provider_id:
                intents.append(payment.provider_id)
    _move(order, OrderAction.CANCEL)
    order.cancel_reason = (reason.strip() or "Cancelled by the atelier")[:200]
    order.cancelled_at = now
    order.reserved_until = None
    _event(
        order,
        "cancelled",
        order.cancel_reason + (f"; returned to sale: {', '.join(released)}" if released else ""),
        by_user_id,
    )
    _cancel_intents_after_commit(intents)
    return order
