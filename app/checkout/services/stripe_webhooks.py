"""Card payments: the Payment Element page, the balance by card, and Stripe's webhook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.checkout import payments
from app.checkout.models import EXPIRED_REASON, Order, Payment, PaymentStatus, StripeEvent
from app.checkout.services.errors import (
    InvalidTransition,
    OrderNotFound,
    PaymentError,
    WebhookRejected,
)
from app.checkout.services.expiry import _cancel_intents_after_commit, expire_if_lapsed
from app.checkout.services.notifications import notify
from app.checkout.services.orders import _check_payment_method, _open_intent
from app.checkout.services.pieces import _release_pieces
from app.checkout.services.records import _event, _lock_order, _move, _new_payment, _pending
from app.checkout.services.refunds import _execute_refund_after_commit, _open_refund
from app.checkout.services.settlement import _settle
from app.common.input_guards import parse_id
from app.common.transactions import atomic, on_commit
from app.domain.clock import utcnow
from app.domain.orders import OrderAction, OrderStatus
from app.extensions import db

OPEN_INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")

IntentHandler = Callable[[payments.WebhookEvent], str]
# PaymentIntents made for something other than an order (a repair quote...) carry
# metadata["purpose"]; the feature that made them registers what to do with their events, so
# one signed, once-only webhook serves them all and checkout needs no import of the feature.
_PURPOSES: dict[str, dict[str, IntentHandler]] = {}


def register_intent_purpose(
    purpose: str, *, succeeded: IntentHandler, failed: IntentHandler
) -> None:
    """Route ``payment_intent.*`` events whose metadata names ``purpose`` to these handlers.

    Each handler runs inside the webhook's transaction, after the event id was claimed, and
    returns the outcome recorded on the event.
    """
    _PURPOSES[purpose] = {
        "payment_intent.succeeded": succeeded,
        "payment_intent.payment_failed": failed,
    }


@dataclass(frozen=True)
class CardPayment:
    """What the Payment Element page needs."""

    order: Order
    payment: Payment
    client_secret: str = field(repr=False)
    publishable_key: str
    ready: bool  # False when the intent is already processing/succeeded (nothing to enter)


def card_payment(*, order_id: int) -> CardPayment:
    """The pending card payment of an order, with its intent's client secret."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    expire_if_lapsed(order)
    pending = [
        p for p in order.payments if p.method == "stripe" and p.status == PaymentStatus.PENDING
    ]
    if not pending or not payments.stripe_enabled():
        raise InvalidTransition("There is no card payment to make on this order.")
    payment = pending[-1]
    try:
        _open_intent(payment)
        info = payments.retrieve_payment_intent(payment.provider_id)
    except payments.PaymentProviderError as exc:
        raise PaymentError(str(exc)) from exc
    if info.amount_minor != payment.amount_minor:
        raise PaymentError("This payment no longer matches the order; please contact us.")
    return CardPayment(
        order=order,
        payment=payment,
        client_secret=info.client_secret,
        publishable_key=payments.publishable_key(),
        ready=info.status in OPEN_INTENT_STATUSES,
    )


def start_balance_payment(*, order_id: int, payment_method: str) -> Payment:
    """The buyer pays the requested balance of a custom order (card or bank transfer)."""
    method = _check_payment_method(payment_method)
    order = _lock_order(order_id)
    if order.balance_requested_at is None or order.outstanding_minor <= 0:
        raise InvalidTransition("No balance is due on this order yet.")
    if order.status not in (OrderStatus.DEPOSIT_PAID, OrderStatus.IN_PRODUCTION):
        raise InvalidTransition("No balance can be paid on this order.")
    amount = order.outstanding_minor
    reusable = [
        p for p in _pending(order, "balance") if p.method == method and p.amount_minor == amount
    ]
    stale = [p for p in _pending(order, "balance") if p not in reusable]
    for payment in stale:
        payment.status = PaymentStatus.CANCELLED
    payment = (
        reusable[-1]
        if reusable
        else _new_payment(order, kind="balance", method=method, amount_minor=amount)
    )
    if method == "stripe":
        order.payment_method = "stripe"
    _event(order, "balance_started", f"Balance payment started ({method})")
    _cancel_intents_after_commit(p.provider_id for p in stale if p.provider_id)
    if method == "stripe":
        db.session.flush()  # the payment's id names the intent
        payment_id = payment.id
        on_commit(lambda: _open_balance_intent(payment_id))
    return payment


def _open_balance_intent(payment_id: int) -> None:
    """Open the committed balance payment's PaymentIntent (PaymentError if Stripe fails)."""
    try:
        with atomic():  # no row is locked while Stripe answers
            _open_intent(db.session.get_one(Payment, payment_id))
    except payments.PaymentProviderError as exc:
        raise PaymentError(str(exc)) from exc


def handle_stripe_webhook(*, payload: bytes, signature_header: str) -> str:
    """Verify, record and process one Stripe event at most once; return what happened.

    Runs inside the webhook view's ``atomic()``. Raises WebhookRejected for a bad signature
    or payload (answer 400, Stripe will not retry a forged event). A duplicate delivery
    returns "duplicate" and changes nothing. Mail, refunds and cancelling superseded intents
    follow the commit.
    """
    try:
        event = payments.parse_webhook(payload=payload, signature_header=signature_header)
    except payments.InvalidWebhook as exc:
        raise WebhookRejected(str(exc)) from exc
    record = StripeEvent(
        event_id=event.id[:255], type=event.type[:100], object_id=event.object_id[:255]
    )
    try:
        # The UNIQUE event id is claimed before processing, in the same transaction: a
        # concurrent duplicate waits here for our commit and then fails (in a savepoint,
        # so the caller's transaction stays usable).
        with atomic():
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        return "duplicate"
    handler = _PURPOSES.get(event.metadata.get("purpose", ""), {}).get(event.type)
    if handler is not None:
        record.outcome = handler(event)[:200]
    elif event.type == "payment_intent.succeeded":
        record.outcome = _intent_succeeded(event)
    elif event.type == "payment_intent.payment_failed":
        record.outcome = _intent_failed(event)
    else:
        record.outcome = "ignored"
    return record.outcome


class IntentPayment(Protocol):
    """A payment row a PaymentIntent settles: an order's ``Payment``, a ``RepairPayment``..."""

    id: int
    provider_id: str | None
    amount_minor: int
    currency: str


P = TypeVar("P", bound=IntentPayment)


def payment_for_intent(
    event: payments.WebhookEvent,
    *,
    model: type[P],
    id_key: str,
    belongs: Callable[[P], bool],
) -> P | None:
    """The payment row an intent's event is about, or None.

    Found by the intent id saved on it; failing that (the intent was made but saving its id
    failed), by the row id the signed metadata names under ``id_key``, if that row has no
    intent yet and ``belongs`` agrees (its order or ticket is the one the metadata names):
    the intent id is then saved on it.
    """
    payment = db.session.execute(
        select(model).where(model.provider_id == event.object_id)
    ).scalar_one_or_none()
    payment_id = parse_id(event.metadata.get(id_key))
    if payment is None and payment_id is not None:
        candidate = db.session.get(model, payment_id)
        if candidate is not None and candidate.provider_id is None and belongs(candidate):
            candidate.provider_id = event.object_id
            payment = candidate
    return payment


def amount_matches(event: payments.WebhookEvent, payment: IntentPayment, *, what: str) -> bool:
    """Whether the intent took what ``payment`` expects; a mismatch is logged as an error."""
    if event.amount_minor == payment.amount_minor and event.currency == payment.currency:
        return True
    current_app.logger.error(
        "Stripe: %s paid %s %s but %s %s expects %s %s",
        event.object_id,
        event.amount_minor,
        event.currency,
        what,
        payment.id,
        payment.amount_minor,
        payment.currency,
    )
    return False


def _payment_for_intent(event: payments.WebhookEvent) -> Payment | None:
    return payment_for_intent(
        event,
        model=Payment,
        id_key="payment_id",
        belongs=lambda p: p.order.number == event.metadata.get("order_number"),
    )


def _intent_succeeded(event: payments.WebhookEvent) -> str:
    payment = _payment_for_intent(event)
    if payment is None:
        current_app.logger.warning("Stripe: succeeded for unknown intent %s", event.object_id)
        return "unknown payment intent"
    order = _lock_order(payment.order_id)
    db.session.refresh(payment)
    if payment.status == PaymentStatus.SUCCEEDED:
        return "already paid"
    if not amount_matches(event, payment, what="payment"):
        _event(order, "amount_mismatch", f"Intent {event.object_id} amount does not match")
        return "amount mismatch"
    now = utcnow()
    if not _payment_needed(order, payment):
        # Money arrived that the order no longer needs: paid twice (card after a recorded
        # transfer, or two browser tabs), or the atelier cancelled the order meanwhile.
        payment.status = PaymentStatus.SUCCEEDED
        payment.settled_at = now
        order.paid_minor += payment.amount_minor
        refund = _open_refund(
            order,
            payment,
            amount_minor=payment.amount_minor,
            reason="Payment not needed (already paid or order cancelled)",
            by_user_id=None,
        )
        _event(order, "unneeded_payment", f"Card payment {event.object_id} is refunded")
        _execute_refund_after_commit(refund.id)
        return "refunding unneeded payment"
    superseded = [
        p.provider_id for p in _pending(order, payment.kind) if p is not payment and p.provider_id
    ]
    if _settle(order, payment, now=now):
        _cancel_intents_after_commit(superseded)
        notify(order, "payment_received")
        return "paid"
    # Paid after the reservation lapsed and the edition sold out meanwhile: give the money back.
    _release_pieces(order, now)
    refund = _open_refund(
        order,
        payment,
        amount_minor=payment.amount_minor,
        reason="Payment arrived after the reservation expired and the edition sold out",
        by_user_id=None,
    )
    if order.status != OrderStatus.CANCELLED:  # usually it is: the reservation had lapsed
        _move(order, OrderAction.CANCEL)
    order.cancel_reason = "Paid too late: the edition sold out; the payment is refunded."
    order.cancelled_at = now
    order.reserved_until = None
    _event(order, "late_payment", order.cancel_reason)
    _execute_refund_after_commit(refund.id)
    return "refunding late payment"


def _payment_needed(order: Order, payment: Payment) -> bool:
    if order.status in (OrderStatus.REFUNDED, OrderStatus.DRAFT) or (
        order.status == OrderStatus.CANCELLED and order.cancel_reason != EXPIRED_REASON
    ):
        return False
    if payment.kind == "initial":
        return order.paid_minor < order.due_at_checkout_minor
    return order.outstanding_minor > 0


def _intent_failed(event: payments.WebhookEvent) -> str:
    payment = _payment_for_intent(event)
    if payment is None:
        return "unknown payment intent"
    order = _lock_order(payment.order_id)
    db.session.refresh(payment)
    if payment.status != PaymentStatus.PENDING:
        # e.g. a failure delivered after the success of a later attempt: nothing to undo.
        return f"ignored ({payment.status})"
    payment.status = PaymentStatus.FAILED
    payment.failure_message = event.failure_message or "The card was declined."
    is_current = order.status == OrderStatus.AWAITING_PAYMENT and payment.kind == "initial"
    if is_current:
        released = _release_pieces(order, utcnow())
        _move(order, OrderAction.PAYMENT_FAILED)
        order.reserved_until = None
        _event(
            order,
            "payment_failed",
            f"{payment.failure_message} Released: {', '.join(released) or '—'}",
        )
    else:
        _event(order, "payment_failed", payment.failure_message)
    return "payment failed"
