"""Small helpers on orders: numbers, events, the order lock, status moves, payments, totals.

``_move`` is the only place in Diadem that assigns ``order.status``; it asks the transition
table in ``app.domain.orders``. Callers check the conditions that depend on more than the
status (and raise InvalidTransition with a message for people) before they move.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.checkout.models import Order, OrderEvent, OrderLine, Payment, PaymentStatus
from app.checkout.services.errors import OrderNotFound
from app.common.locks import lock_row
from app.common.references import new_reference
from app.domain import orders
from app.domain.careplans import care_plan_amount
from app.domain.clock import utcnow
from app.domain.orders import OrderAction
from app.domain.pricing import Breakdown
from app.extensions import db


def freeze_breakdown(breakdown: Breakdown) -> dict[str, Any]:
    """Breakdown.as_dict() plus each line's code, so goods value and shipping can be rebuilt."""
    data = breakdown.as_dict()
    for line, frozen in zip(breakdown.lines, data["lines"], strict=True):
        frozen["code"] = line.code
    return data


def new_order_number() -> str:
    """A short random reference such as DIA-7K3P9Q (31**6 ≈ 887 million; never sequential)."""
    return new_reference("DIA-")


def _unused_order_number() -> str:
    # The UNIQUE constraint is the guarantee; checking first just avoids a failed commit.
    for _ in range(20):
        number = new_order_number()
        taken = db.session.execute(select(Order.id).where(Order.number == number)).first()
        if taken is None:
            return number
    raise RuntimeError("Could not find a free order number")


def _event(order: Order, kind: str, message: str = "", by_user_id: int | None = None) -> None:
    order.events.append(
        OrderEvent(kind=kind, message=message[:500], by_user_id=by_user_id, created_at=utcnow())
    )


def _lock_order(order_id: int) -> Order:
    order = lock_row(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    return order


def _move(order: Order, action: OrderAction) -> None:
    """Apply ``action`` to the order's status through the transition table."""
    order.status = orders.next_status(order.status, action)


def _refresh_lines(order: Order) -> None:
    db.session.execute(
        select(OrderLine)
        .where(OrderLine.order_id == order.id)
        .execution_options(populate_existing=True)
    ).scalars().all()


def _recompute_totals(order: Order) -> None:
    goods = shipping = total = studio = deposits = plans = 0
    for line in order.lines:
        breakdown = line.frozen_breakdown()
        plans += care_plan_amount(breakdown).minor
        total += breakdown.total.minor
        goods += breakdown.goods_value.minor
        shipping += breakdown.total.minor - breakdown.goods_value.minor
        if line.is_custom:
            deposits += line.deposit_minor
        else:
            studio += breakdown.total.minor
    order.total_minor = total
    order.goods_minor = goods
    order.shipping_minor = shipping
    # Insured shipping declares the goods' full value (not just what has been paid so far);
    # a care plan is a promise of repairs, not something in the parcel.
    order.insured_value_minor = goods - plans
    order.deposit_minor = deposits
    order.balance_minor = total - studio - deposits


def _new_payment(order: Order, *, kind: str, method: str, amount_minor: int) -> Payment:
    payment = Payment(
        kind=kind,
        method=method,
        status=PaymentStatus.PENDING,
        amount_minor=amount_minor,
        currency=order.currency,
        reference=order.number if kind == "initial" else f"{order.number}-BAL",
        created_at=utcnow(),
    )
    order.payments.append(payment)
    if method == "manual":
        order.payment_reference = payment.reference
    return payment


def _pending(order: Order, kind: str) -> list[Payment]:
    return [p for p in order.payments if p.kind == kind and p.status == PaymentStatus.PENDING]
