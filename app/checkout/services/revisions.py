"""Custom commissions: revised prices the buyer accepts, and the balance request."""

from __future__ import annotations

from app.checkout.models import Order, PriceRevision
from app.checkout.services.care_plans import reprice_plan
from app.checkout.services.errors import InvalidTransition, OrderNotFound, RevisionError
from app.checkout.services.notifications import notify
from app.checkout.services.records import _event, _lock_order, _recompute_totals, freeze_breakdown
from app.domain.careplans import care_plan_amount
from app.domain.clock import utcnow
from app.domain.money import Money
from app.domain.orders import OrderStatus as S
from app.domain.pricing import Breakdown, PriceLine, deposit_split
from app.extensions import db

# A commission's price may change before checkout or while it is being made.
_REVISABLE = (S.DRAFT, S.DEPOSIT_PAID, S.IN_PRODUCTION)


def propose_revision(
    *,
    order_id: int,
    line_id: int,
    amounts_minor: list[int],
    extra_label: str = "",
    extra_minor: int = 0,
    note: str = "",
    by_user_id: int | None,
) -> PriceRevision:
    """Staff revise a commission's price as a new breakdown version the buyer must accept.

    ``amounts_minor`` gives a new amount for each line of the current breakdown, in order;
    an optional extra line (e.g. "Additional engraving", or a negative goodwill adjustment)
    is appended. The total may not fall below the deposit already paid.
    """
    order = _lock_order(order_id)
    line = next((x for x in order.lines if x.id == line_id), None)
    if line is None or not line.is_custom:
        raise RevisionError("Only a custom commission's price can be revised.")
    if order.status not in _REVISABLE:
        raise RevisionError(
            "Prices are revised before checkout (draft) or after the deposit is paid."
        )
    current = line.frozen_breakdown()
    if len(amounts_minor) != len(current.lines):
        raise RevisionError("Give an amount for every line of the breakdown.")
    if any(amount < 0 for amount in amounts_minor):
        raise RevisionError("Line amounts cannot be negative; use the adjustment line.")
    cur = current.currency
    new_lines = [
        PriceLine(code=old.code, label=old.label, detail=old.detail, amount=Money(amount, cur))
        for old, amount in zip(current.lines, amounts_minor, strict=True)
    ]
    if extra_minor:
        label = extra_label.strip()[:120] or "Adjustment"
        new_lines.append(
            PriceLine(
                code="adjustment",
                label=label,
                detail="Agreed at consultation",
                amount=Money(extra_minor, cur),
            )
        )
    # A care plan is priced on the final piece: its line follows the revised price.
    breakdown = reprice_plan(line, Breakdown(lines=tuple(new_lines), currency=cur))
    floor = line.deposit_minor if order.status != S.DRAFT else 0
    if breakdown.total.minor < max(floor, 1):
        raise RevisionError(
            f"The total cannot fall below the deposit paid ({Money(floor, cur).format()}); "
            "refund the difference instead."
        )
    now = utcnow()
    for pending in line.revisions:
        if pending.accepted_at is None and pending.withdrawn_at is None:
            pending.withdrawn_at = now
    version = max((r.version for r in line.revisions), default=0) + 1
    revision = PriceRevision(
        version=version,
        breakdown=freeze_breakdown(breakdown),
        total_minor=breakdown.total.minor,
        note=note.strip()[:2000],
        created_by_id=by_user_id,
        created_at=now,
    )
    line.revisions.append(revision)
    _event(
        order,
        "price_revised",
        f"{line.product_name}: price v{version} proposed, {breakdown.total.format()}",
        by_user_id,
    )
    notify(order, "price_revised", revision=revision, line=line)
    return revision


def accept_revision(*, order_id: int, revision_id: int) -> Order:
    """The buyer accepts a revised price: it becomes the line's breakdown; totals follow."""
    order = _lock_order(order_id)
    revision = db.session.get(PriceRevision, revision_id)
    if revision is None or revision.line.order_id != order.id:
        raise OrderNotFound("No such price revision.")
    if revision.accepted_at is not None or revision.withdrawn_at is not None:
        raise RevisionError("That price is no longer open for acceptance.")
    if order.status not in _REVISABLE:
        raise RevisionError("This order's price can no longer change.")
    line = revision.line
    now = utcnow()
    revision.accepted_at = now
    line.breakdown = revision.breakdown
    line.breakdown_version = revision.version
    line.total_minor = revision.total_minor
    line.care_plan_minor = care_plan_amount(revision.frozen_breakdown()).minor
    if order.status == S.DRAFT:
        percent = line.product.deposit_percent or 100
        line.deposit_minor = deposit_split(Money(revision.total_minor, order.currency), percent)[
            0
        ].minor
    _recompute_totals(order)
    _event(order, "price_accepted", f"{line.product_name}: price v{revision.version} accepted")
    return order


def request_balance(*, order_id: int, by_user_id: int | None) -> Order:
    """Staff ask the buyer for a commission's balance; the buyer pays from the order page."""
    order = _lock_order(order_id)
    if order.status not in (S.DEPOSIT_PAID, S.IN_PRODUCTION):
        raise InvalidTransition("The balance is requested after the deposit is paid.")
    if any(line.pending_revision for line in order.lines):
        raise InvalidTransition("The buyer has not accepted the revised price yet.")
    if order.outstanding_minor <= 0:
        raise InvalidTransition("Nothing is left to pay on this order.")
    order.balance_requested_at = utcnow()
    amount = Money(order.outstanding_minor, order.currency).format()
    _event(order, "balance_requested", f"Balance of {amount} requested", by_user_id)
    notify(order, "balance_requested")
    return order
