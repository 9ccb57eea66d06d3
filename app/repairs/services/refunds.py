"""Giving money back on a repair payment, from the staff page: a card refund through Stripe,
or a transfer staff send back from the bank and record here.

The amount and what is left come from the payment row, under the ticket's lock, so two refunds
racing cannot give back more than was paid (and the table's check stops it too). A card refund
is asked of Stripe inside the transaction: if Stripe refuses, nothing is recorded and staff see
why. Its idempotency key names the payment and the total refunded after it, so asking again
after a lost answer cannot refund twice.
"""

from __future__ import annotations

from app.checkout import payments
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs.models import RepairRefund
from app.repairs.services.common import RepairError, lock_ticket, money_text
from app.repairs.services.payments import PURPOSE
from app.repairs.services.tickets import _notify, owner_email


def refund_repair_payment(
    *, ticket_id: int, payment_id: int, amount_minor: int | None, reason: str, by_user_id: int
) -> RepairRefund:
    """Give back all that is left of a settled payment (``amount_minor`` None) or part of it.

    The ticket's paid total drops by the refund, so a quote refunded before work starts is
    due again and work cannot start on it. The owner is emailed the amount and the reason.
    """
    ticket = lock_ticket(ticket_id)
    payment = next((p for p in ticket.payments if p.id == payment_id), None)
    if payment is None:
        raise RepairError("That payment is not one of this repair's.")
    left = payment.refundable_minor
    if left <= 0:
        raise RepairError("Nothing is left to refund on that payment.")
    amount = left if amount_minor is None else amount_minor
    if amount <= 0:
        raise RepairError("Enter an amount to refund, or leave it empty to refund all of it.")
    if amount > left:
        raise RepairError(
            f"Only {money_text(left, payment.currency)} of that payment is left to refund."
        )
    reason = " ".join(reason.split())
    if not reason:
        raise RepairError("Say why the money goes back: the owner is told.")
    payment.refunded_minor += amount
    ticket.paid_minor -= amount
    refund = RepairRefund(
        amount_minor=amount, reason=reason[:500], by_user_id=by_user_id, created_at=utcnow()
    )
    if payment.method == "stripe":
        refund.provider_id = _card_refund(
            payment.provider_id, payment.id, amount, payment.refunded_minor
        )
    payment.refunds.append(refund)
    db.session.flush()
    recipient = owner_email(ticket)
    if recipient:
        _notify(
            ticket,
            to=recipient,
            subject=f"Refund for repair {ticket.reference}",
            template="repair_refunded",
            payment=payment,
            refund=refund,
        )
    return refund


def _card_refund(intent_id: str | None, payment_id: int, amount: int, refunded_after: int) -> str:
    if not intent_id:
        raise RepairError("That card payment has no Stripe payment to refund.")
    try:
        info = payments.refund_payment_intent(
            intent_id=intent_id,
            amount_minor=amount,
            idempotency_key=f"diadem-repair-refund-{payment_id}-{refunded_after}",
            metadata={"purpose": PURPOSE, "repair_payment_id": str(payment_id)},
        )
    except payments.PaymentProviderError as exc:
        raise RepairError(f"Stripe refused the refund: {exc}") from exc
    return info.id
