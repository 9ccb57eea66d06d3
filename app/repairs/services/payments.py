"""Paying a repair quote: by card (a PaymentIntent settled by the signed webhook) or by a bank
transfer staff record; and the rule that work starts only once paid or covered.

The amount is always the quote's, from the ticket row; nothing the browser sends names it.
Card events reach ``_intent_succeeded``/``_intent_failed`` through checkout's one Stripe
webhook (metadata ``purpose=repair``), which claims each event id once before calling them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app

from app.checkout import payments
from app.checkout import services as checkout
from app.checkout.models import OrderLine
from app.checkout.services.stripe_webhooks import (
    OPEN_INTENT_STATUSES,
    amount_matches,
    payment_for_intent,
    register_intent_purpose,
)
from app.common.transactions import on_commit
from app.domain import aftersale
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs.models import RepairPayment, RepairTicket
from app.repairs.services.common import RepairError, lock_ticket, money_text
from app.repairs.services.tickets import _notify, owner_email

PURPOSE = "repair"


class WorkNotCovered(RepairError):
    """Work cannot start: the quote is neither paid nor covered (the view answers 409)."""


@dataclass(frozen=True)
class RepairCard:
    """What the card page needs."""

    ticket: RepairTicket
    payment: RepairPayment
    client_secret: str = field(repr=False)
    publishable_key: str
    ready: bool  # False when the intent is already processing or paid


def cover_for(ticket: RepairTicket) -> aftersale.Cover:
    """Whether the ticket's piece is covered on the day the repair was asked for.

    Counted from the studio-calendar delivery day (dispatch while no delivery is recorded),
    the rule the buyer was emailed; the request day, not today, so a slow assessment never
    costs the owner their cover.
    """
    zone = checkout.studio_zone()
    line = db.session.get(OrderLine, ticket.order_line_id) if ticket.order_line_id else None
    start = (line.order.delivered_at or line.order.shipped_at) if line is not None else None
    delivered_on = aftersale.delivery_day(delivered_at=start, zone=zone) if start else None
    asked_on = aftersale.delivery_day(delivered_at=ticket.created_at or utcnow(), zone=zone)
    # The care plan bought with the piece (frozen on its order line; date.max for lifetime).
    plan_ends = checkout.plan_cover_ends(line) if line is not None else None
    return aftersale.repair_cover(
        delivered_on=delivered_on, care_plan_ends_on=plan_ends, today=asked_on
    )


def is_paid(ticket: RepairTicket) -> bool:
    """A quote is paid once nothing is left to pay on it (a zero quote: nothing to pay)."""
    return ticket.quote_minor is not None and ticket.due_minor == 0


def may_start(ticket: RepairTicket) -> tuple[bool, str]:
    """Whether work may start, and what staff are told either way."""
    if ticket.under_warranty:
        return True, cover_for(ticket).reason
    if is_paid(ticket):
        return True, "Paid." if ticket.quote_minor else "Nothing to pay on this quote."
    cover = cover_for(ticket)
    due = money_text(ticket.due_minor, ticket.currency)
    return False, f"{due} is still to pay. {cover.reason}"


def check_may_start(ticket: RepairTicket) -> None:
    """WorkNotCovered unless the quote is paid or the repair is covered."""
    allowed, reason = may_start(ticket)
    if not allowed:
        raise WorkNotCovered(f"Repair {ticket.reference} cannot start yet: {reason}")


def check_cover(ticket: RepairTicket) -> None:
    """Refuse to mark a repair as under warranty when the code says it is not covered."""
    cover = cover_for(ticket)
    if not cover.covered:
        raise RepairError(cover.reason)


# --- by card ---------------------------------------------------------------------------------


def _payable(ticket: RepairTicket) -> None:
    if ticket.status != "approved":
        raise RepairError("A repair is paid once its quote is accepted and before work starts.")
    if ticket.under_warranty or ticket.due_minor <= 0:
        raise RepairError(f"There is nothing to pay on repair {ticket.reference}.")


def start_card_payment(*, ticket_id: int) -> RepairPayment:
    """The pending card payment for what is due on the quote (reused while the amount holds)."""
    if not payments.stripe_enabled():
        raise RepairError("Card payments are not available; please pay by bank transfer.")
    ticket = lock_ticket(ticket_id)
    _payable(ticket)
    pending = [p for p in ticket.payments if p.method == "stripe" and p.status == "pending"]
    reusable = [p for p in pending if p.amount_minor == ticket.due_minor]
    for stale in pending:
        if stale not in reusable:
            stale.status = "cancelled"
            if stale.provider_id:
                _cancel_after_commit(stale.provider_id)
    if reusable:
        return reusable[-1]
    payment = RepairPayment(
        method="stripe", status="pending", amount_minor=ticket.due_minor, currency=ticket.currency
    )
    ticket.payments.append(payment)
    db.session.flush()
    return payment


def _cancel_after_commit(intent_id: str) -> None:
    on_commit(lambda: payments.cancel_payment_intent(intent_id))


def card_payment(*, payment_id: int) -> RepairCard:
    """Open the committed payment's PaymentIntent if need be; what the card page needs.

    Runs in its own ``atomic()`` after ``start_card_payment`` committed, so no row is locked
    while Stripe answers; the idempotency key gives two racing pages the same intent.
    """
    payment = db.session.get(RepairPayment, payment_id)
    if payment is None or payment.status != "pending":
        raise RepairError("This payment is no longer open; reload the repair page.")
    try:
        if not payment.provider_id:
            info = payments.create_payment_intent(
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                metadata={
                    "purpose": PURPOSE,
                    "repair_reference": payment.ticket.reference,
                    "repair_payment_id": str(payment.id),
                },
                idempotency_key=f"diadem-repair-payment-{payment.id}",
            )
            payment.provider_id = info.id
        else:
            info = payments.retrieve_payment_intent(payment.provider_id)
    except payments.PaymentProviderError as exc:
        raise RepairError(str(exc)) from exc
    if info.amount_minor != payment.amount_minor:
        raise RepairError("This payment no longer matches the quote; please contact us.")
    return RepairCard(
        ticket=payment.ticket,
        payment=payment,
        client_secret=info.client_secret,
        publishable_key=payments.publishable_key(),
        ready=info.status in OPEN_INTENT_STATUSES,
    )


def _payment_for(event: payments.WebhookEvent) -> RepairPayment | None:
    return payment_for_intent(
        event,
        model=RepairPayment,
        id_key="repair_payment_id",
        belongs=lambda p: p.ticket.reference == event.metadata.get("repair_reference"),
    )


def _intent_succeeded(event: payments.WebhookEvent) -> str:
    payment = _payment_for(event)
    if payment is None:
        current_app.logger.warning(
            "Stripe: succeeded for unknown repair intent %s", event.object_id
        )
        return "unknown repair payment intent"
    ticket = lock_ticket(payment.ticket_id)
    db.session.refresh(payment)
    if payment.status == "succeeded":
        return "already paid"
    if not amount_matches(event, payment, what="repair payment"):
        return "amount mismatch"
    payment.status = "succeeded"
    payment.settled_at = utcnow()
    if ticket.due_minor < payment.amount_minor:
        # Paid twice (a transfer recorded meanwhile, or two tabs): give this one back.
        payment.refunded_minor = payment.amount_minor
        _refund_after_commit(payment)
        return "refunding unneeded repair payment"
    _settle(ticket, payment)
    return "repair paid"


def _refund_after_commit(payment: RepairPayment) -> None:
    intent_id, amount, payment_id = payment.provider_id, payment.amount_minor, payment.id

    def refund() -> None:
        try:
            payments.refund_payment_intent(
                intent_id=intent_id,
                amount_minor=amount,
                idempotency_key=f"diadem-repair-refund-{payment_id}",
                metadata={"purpose": PURPOSE, "repair_payment_id": str(payment_id)},
            )
        except payments.PaymentProviderError:
            current_app.logger.error("Repair payment %s: refund of %s failed", payment_id, amount)

    on_commit(refund)


def _intent_failed(event: payments.WebhookEvent) -> str:
    payment = _payment_for(event)
    if payment is None:
        return "unknown repair payment intent"
    lock_ticket(payment.ticket_id)
    db.session.refresh(payment)
    if payment.status != "pending":
        return f"ignored ({payment.status})"
    payment.status = "failed"
    payment.failure_message = event.failure_message or "The card was declined."
    return "repair payment failed"


register_intent_purpose(PURPOSE, succeeded=_intent_succeeded, failed=_intent_failed)


# --- by bank transfer ------------------------------------------------------------------------


def record_bank_transfer(
    *,
    ticket_id: int,
    amount_minor: int,
    received_on: date,
    reference: str,
    by_user_id: int,
) -> RepairPayment:
    """Staff record a transfer that arrived for the quote; it counts towards the quote at once."""
    ticket = lock_ticket(ticket_id)
    _payable(ticket)
    if amount_minor <= 0:
        raise RepairError("Enter the amount that arrived.")
    if amount_minor > ticket.due_minor:
        raise RepairError(
            f"Only {money_text(ticket.due_minor, ticket.currency)} is due on this quote; "
            "record what the quote asks for and refund the rest from the bank."
        )
    if received_on > utcnow().date():
        raise RepairError("The day the transfer arrived cannot be in the future.")
    if not reference.strip():
        raise RepairError("Enter the reference the transfer came with.")
    payment = RepairPayment(
        method="manual",
        status="succeeded",
        amount_minor=amount_minor,
        currency=ticket.currency,
        reference=reference.strip()[:255],
        received_on=received_on,
        recorded_by_id=by_user_id,
        settled_at=utcnow(),
    )
    ticket.payments.append(payment)
    _settle(ticket, payment)
    return payment


def _settle(ticket: RepairTicket, payment: RepairPayment) -> None:
    ticket.paid_minor += payment.amount_minor
    for other in ticket.payments:
        if other is not payment and other.status == "pending" and ticket.due_minor == 0:
            other.status = "cancelled"
            if other.provider_id:
                _cancel_after_commit(other.provider_id)
    db.session.flush()
    recipient = owner_email(ticket)
    if recipient:
        _notify(
            ticket,
            to=recipient,
            subject=f"Payment received for repair {ticket.reference}",
            template="repair_paid",
            payment=payment,
        )
