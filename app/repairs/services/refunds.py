"""Giving money back on a repair payment, from the staff page: a card refund through Stripe,
or a transfer staff send back from the bank and record here.

The amount and what is left come from the payment row, under the ticket's lock, so two refunds
racing cannot give back more than was paid (and the table's check stops it too): a refund
counts against the payment from the moment it is recorded, pending or done.

A card refund is recorded first: ``refund_repair_payment`` writes it "pending" with its
idempotency key and the entry point commits. Only then is Stripe asked (``complete_card_refund``,
no row locked meanwhile), and ``settle_refund`` marks it "succeeded" or "failed" in a second
transaction. If the process dies or that second commit fails, the row stays pending and
``settle_pending_refunds`` (a scheduled job) asks Stripe again with the same key, which cannot
refund twice, and settles it once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from app.checkout import payments
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs.models import RepairPayment, RepairRefund, RepairTicket
from app.repairs.services.common import RepairError, lock_ticket, money_text
from app.repairs.services.payments import PURPOSE
from app.repairs.services.tickets import _notify, owner_email

log = logging.getLogger(__name__)

# A pending refund younger than this is still in the hands of the request that recorded it.
SETTLE_AFTER = timedelta(minutes=5)
_Row = TypeVar("_Row", RepairPayment, RepairRefund)


def refund_repair_payment(
    *, ticket_id: int, payment_id: int, amount_minor: int | None, reason: str, by_user_id: int
) -> RepairRefund:
    """Record giving back all that is left of a settled payment (``amount_minor`` None) or part.

    A transfer sent back by bank is done at once and the owner emailed; a card refund is
    recorded pending, for ``complete_card_refund`` to ask Stripe after this commits. Either way
    the ticket's paid total drops by the refund now, so a quote refunded before work starts is
    due again and work cannot start on it.
    """
    ticket = lock_ticket(ticket_id)
    payment = _fresh(RepairPayment, payment_id)  # as the ticket's lock holder sees it
    if payment is None or payment.ticket_id != ticket.id:
        raise RepairError("That payment is not one of this repair's.")
    left = payment.refundable_minor  # pending refunds are already off it
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
    by_card = payment.method == "stripe"
    if by_card and not payment.provider_id:
        raise RepairError("That card payment has no Stripe payment to refund.")
    payment.refunded_minor += amount
    ticket.paid_minor -= amount
    now = utcnow()
    refund = RepairRefund(
        amount_minor=amount,
        reason=reason[:500],
        by_user_id=by_user_id,
        created_at=now,
        status="pending" if by_card else "succeeded",
        # Random, not the row id: ids restart in a rebuilt database, Stripe keeps keys a day.
        idempotency_key=f"diadem-repair-refund-{payment.id}-{secrets.token_hex(8)}"
        if by_card
        else None,
        settled_at=None if by_card else now,
    )
    payment.refunds.append(refund)
    db.session.flush()
    if not by_card:
        _tell_owner(ticket, payment, refund)
    return refund


def settle_refund(*, refund_id: int, provider_id: str = "", failure: str = "") -> RepairRefund:
    """Mark a pending card refund done (Stripe's ``provider_id``) or refused (``failure``).

    Only a pending refund changes, under its ticket's lock, so settling twice (the request and
    the sweep both heard Stripe) does it once. A refused refund gives its amount back to the
    payment and the ticket; a done one emails the owner.
    """
    ticket_id = db.session.execute(
        db.select(RepairPayment.ticket_id)
        .join(RepairRefund, RepairRefund.payment_id == RepairPayment.id)
        .where(RepairRefund.id == refund_id)
    ).scalar_one_or_none()
    if ticket_id is None:
        raise RepairError("No such refund.")
    ticket = lock_ticket(ticket_id)
    refund = _fresh(RepairRefund, refund_id)
    assert refund is not None  # refunds go only with their ticket, which we hold
    if refund.status != "pending":
        return refund
    payment = _fresh(RepairPayment, refund.payment_id)
    assert payment is not None
    refund.settled_at = utcnow()
    if failure:
        refund.status = "failed"
        refund.failure_message = failure[:500]
        payment.refunded_minor -= refund.amount_minor
        ticket.paid_minor += refund.amount_minor
    else:
        refund.status = "succeeded"
        refund.provider_id = provider_id
        _tell_owner(ticket, payment, refund)
    return refund


def _fresh(model: type[_Row], row_id: int) -> _Row | None:
    """The row as committed now, not as this session first loaded it (read under the lock)."""
    return db.session.execute(
        db.select(model).where(model.id == row_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class CardRefundRequest:
    """What Stripe is asked, read from the committed pending row."""

    refund_id: int
    intent_id: str
    payment_id: int
    amount_minor: int
    idempotency_key: str


@dataclass(frozen=True)
class Settled:
    """How a card refund stands after asking Stripe; ``message`` is for staff."""

    status: str  # "succeeded", "failed" or "pending"
    message: str = ""


def complete_card_refund(refund_id: int) -> Settled:
    """Ask Stripe for a recorded pending card refund, then settle it in its own transaction.

    Runs its own transactions (an entry point's helper, as a job is): call it after the row
    is committed, never inside ``atomic()``. A refund Stripe did not answer about, or whose
    settling failed to commit, stays pending for ``settle_pending_refunds``.
    """
    with atomic():
        request = _request_for(refund_id)
    if request is None:
        with atomic():
            return Settled(db.session.get(RepairRefund, refund_id).status)
    try:
        info = payments.refund_payment_intent(
            intent_id=request.intent_id,
            amount_minor=request.amount_minor,
            idempotency_key=request.idempotency_key,
            metadata={"purpose": PURPOSE, "repair_payment_id": str(request.payment_id)},
        )
    except payments.ProviderUnanswered as exc:
        log.warning("repair refund %s: no answer from Stripe (%s); left pending", refund_id, exc)
        return Settled("pending", str(exc))
    except payments.PaymentProviderError as exc:
        return _settle(refund_id, failure=str(exc) or "Stripe refused the refund.")
    return _settle(refund_id, provider_id=info.id)


def _request_for(refund_id: int) -> CardRefundRequest | None:
    refund = db.session.get(RepairRefund, refund_id)
    if refund is None or refund.status != "pending" or not refund.idempotency_key:
        return None
    payment: RepairPayment = refund.payment
    return CardRefundRequest(
        refund_id=refund.id,
        intent_id=payment.provider_id or "",
        payment_id=payment.id,
        amount_minor=refund.amount_minor,
        idempotency_key=refund.idempotency_key,
    )


def _settle(refund_id: int, *, provider_id: str = "", failure: str = "") -> Settled:
    try:
        with atomic():
            refund = settle_refund(refund_id=refund_id, provider_id=provider_id, failure=failure)
            settled = Settled(refund.status, refund.failure_message)
    except SQLAlchemyError:
        # Stripe has answered but its answer is not saved: the row is still pending, and the
        # sweep asks again with the same key (the same answer, no second refund).
        log.exception("repair refund %s: Stripe answered, settling it failed", refund_id)
        return Settled("pending", "Stripe has it; saving its answer failed and is retried.")
    return settled


def pending_refund_ids(*, older_than: datetime) -> list[int]:
    """Card refunds recorded before ``older_than`` and still waiting for Stripe's answer."""
    return list(
        db.session.execute(
            db.select(RepairRefund.id)
            .where(RepairRefund.status == "pending", RepairRefund.created_at < older_than)
            .order_by(RepairRefund.id)
        ).scalars()
    )


def settle_pending_refunds(*, now: datetime) -> str:
    """The scheduled job: settle card refunds left pending (a crash, a failed commit, no answer)."""
    with atomic():
        refund_ids = pending_refund_ids(older_than=now - SETTLE_AFTER)
    outcomes = [complete_card_refund(refund_id).status for refund_id in refund_ids]
    counts = ", ".join(f"{outcomes.count(s)} {s}" for s in ("succeeded", "failed", "pending"))
    return f"Settled {len(refund_ids)} pending repair refund(s): {counts}."


def _tell_owner(ticket: RepairTicket, payment: RepairPayment, refund: RepairRefund) -> None:
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
