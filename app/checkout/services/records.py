"""Small helpers on orders: numbers, events, the order lock, payments, totals."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from app.checkout.models import Order, OrderEvent, OrderLine, Payment
from app.checkout.services.errors import OrderNotFound
from app.domain.clock import utcnow
from app.domain.money import Money
from app.domain.pricing import Breakdown
from app.extensions import db

ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud safely


def freeze_breakdown(breakdown: Breakdown) -> dict[str, Any]:
    """Breakdown.as_dict() plus each line's code, so goods value and shipping can be rebuilt."""
    data = breakdown.as_dict()
    for line, frozen in zip(breakdown.lines, data["lines"], strict=True):
        frozen["code"] = line.code
    return data


def new_order_number() -> str:
    """A short random reference such as DIA-7K3P9Q (31**6 ≈ 887 million; never sequential)."""
    return "DIA-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))


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
    order = db.session.execute(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if order is None:
        raise OrderNotFound("No such order.")
    return order


def _refresh_lines(order: Order) -> None:
    db.session.execute(
        select(OrderLine)
        .where(OrderLine.order_id == order.id)
        .execution_options(populate_existing=True)
    ).scalars().all()


def _money(minor: int, currency: str) -> Money:
    return Money(minor, currency)


def _recompute_totals(order: Order) -> None:
    goods = shipping = total = studio = deposits = 0
    for line in order.lines:
        breakdown = line.frozen_breakdown()
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
    # Insured shipping declares the goods' full value (not just what has been paid so far).
    order.insured_value_minor = goods
    order.deposit_minor = deposits
    order.balance_minor = total - studio - deposits


def _new_payment(order: Order, *, kind: str, method: str, amount_minor: int) -> Payment:
    payment = Payment(
        kind=kind,
        method=method,
        status="pending",
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
    return [p for p in order.payments if p.kind == kind and p.status == "pending"]
