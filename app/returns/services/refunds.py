"""Refunding an inspected return through checkout's refund path.

Card-paid orders are refunded by Stripe (checkout asks Stripe once the transaction commits and
records the outcome); bank-transfer orders as a recorded transfer with the bank's reference.
The return row is locked first and must still be "inspected", so two clicks refund once.
"""

from __future__ import annotations

from app.checkout import services as checkout
from app.checkout.models import Payment, Refund, RefundStatus
from app.common.locks import lock_row
from app.common.transactions import atomic, on_commit
from app.domain.clock import utcnow
from app.domain.money import Money
from app.extensions import db
from app.returns.models import ReturnRequest
from app.returns.services.errors import ReturnError
from app.returns.services.notifications import notify
from app.returns.services.workflow import _lock

REFERENCE_MAX = 120


def _refundable_payments(order_id: int) -> list[Payment]:
    payments = db.session.execute(
        db.select(Payment).where(Payment.order_id == order_id).order_by(Payment.id.desc())
    ).scalars()
    return [p for p in payments if p.refundable_minor > 0]


def refund_method_for(request: ReturnRequest) -> str:
    """ "card" when any refundable payment was by card (Stripe), else "bank"."""
    payments = _refundable_payments(request.order_id)
    return "card" if any(p.method == "stripe" for p in payments) else "bank"


def refundable_for(request: ReturnRequest) -> int:
    """The most this return can give back: its lines' value, within what is left to refund."""
    left = sum(p.refundable_minor for p in _refundable_payments(request.order_id))
    return min(request.amount_minor, left)


def refund_return(
    *,
    return_id: int,
    by_user_id: int,
    amount_minor: int | None = None,
    bank_reference: str = "",
) -> ReturnRequest:
    """Refund the return's value (or ``amount_minor`` of it) through checkout's refund path.

    Card refunds reach Stripe after the commit; if Stripe refuses, checkout raises RefundError
    from the commit and :func:`reopen_failed_refund` puts the return back to "inspected".
    """
    request = _lock(return_id, expected="inspected", step="refunded")
    limit = refundable_for(request)
    amount = limit if amount_minor is None else amount_minor
    currency = request.order.currency
    if limit <= 0:
        raise ReturnError("Nothing is left to refund on this order.")
    if amount <= 0 or amount > limit:
        raise ReturnError(
            f"A refund must be more than zero and at most {Money(limit, currency).format()}."
        )
    method = refund_method_for(request)
    bank_reference = " ".join(bank_reference.split())[:REFERENCE_MAX]
    if method == "bank" and not bank_reference:
        raise ReturnError("Give the bank transfer's reference for the refund.")
    refunds = _refund_payments(request, amount, by_user_id=by_user_id, ref=bank_reference)
    request.status = "refunded"
    request.refund_method = method
    request.refund_reference = bank_reference
    request.refunded_minor = amount
    request.refunded_by_id = by_user_id
    request.refunded_at = utcnow()
    request.refund_ids = [refund.id for refund in refunds]
    db.session.flush()
    if method == "bank":
        notify(request, "return_refunded")
    else:
        # Registered after checkout's own callbacks: it runs only if every Stripe refund went
        # through (a failure raises before it), so the buyer is told only of money on its way.
        on_commit(lambda: _notify_card_refund(return_id))
    return request


def _refund_payments(request: ReturnRequest, amount: int, *, by_user_id: int, ref: str):
    reason = f"Return {request.ra_number}" + (f", bank reference {ref}" if ref else "")
    refunds: list[Refund] = []
    for payment in _refundable_payments(request.order_id):
        if amount <= 0:
            break
        part = min(amount, payment.refundable_minor)
        refunds.append(
            checkout.refund_payment(
                order_id=request.order_id,
                payment_id=payment.id,
                amount_minor=part,
                reason=reason,
                by_user_id=by_user_id,
                notify_buyer=False,  # the return's own email says it, with the RA number
            )
        )
        amount -= part
    return refunds


def _notify_card_refund(return_id: int) -> None:
    with atomic():
        request = db.session.get(ReturnRequest, return_id)
        if request is not None and _refund_statuses(request) == {RefundStatus.SUCCEEDED.value}:
            notify(request, "return_refunded")


def _refund_statuses(request: ReturnRequest) -> set[str]:
    return {
        refund.status
        for refund in (db.session.get(Refund, refund_id) for refund_id in request.refund_ids)
        if refund is not None
    }


def reopen_failed_refund(*, return_id: int) -> ReturnRequest | None:
    """After Stripe refused: if none of the return's refunds went through, it is "inspected"
    again so staff can try later; returns the return when it was reopened."""
    request = lock_row(ReturnRequest, return_id)
    if request is None or request.status != "refunded" or request.refund_method != "card":
        return None
    if _refund_statuses(request) != {RefundStatus.FAILED.value}:
        return None
    request.status = "inspected"
    request.refund_method = ""
    request.refunded_minor = 0
    request.refunded_at = None
    request.refunded_by_id = None
    request.refund_ids = []
    db.session.flush()
    return request


def refunds_of(request: ReturnRequest) -> list[Refund]:
    return [r for r in (db.session.get(Refund, i) for i in request.refund_ids) if r is not None]
