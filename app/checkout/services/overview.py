"""Staff lists of payments that need attention."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.checkout.models import Order, Payment, PaymentStatus, Refund, RefundStatus
from app.domain.orders import OrderStatus as S
from app.extensions import db


@dataclass(frozen=True)
class PaymentsOverview:
    awaiting_transfer: list[Order]
    balance_due: list[Order]
    failed_refunds: list[Refund]
    recent_payments: list[Payment]


def payments_overview() -> PaymentsOverview:
    awaiting = (
        select(Order)
        .where(Order.status == S.AWAITING_PAYMENT, Order.payment_method == "manual")
        .order_by(Order.reserved_until)
    )
    balance = (
        select(Order)
        .where(
            Order.status.in_((S.DEPOSIT_PAID, S.IN_PRODUCTION)),
            Order.balance_requested_at.is_not(None),
            Order.total_minor > Order.paid_minor,
        )
        .order_by(Order.balance_requested_at)
    )
    return PaymentsOverview(
        awaiting_transfer=list(db.session.execute(awaiting.limit(200)).scalars()),
        balance_due=list(db.session.execute(balance.limit(200)).scalars()),
        failed_refunds=list(
            db.session.execute(
                select(Refund)
                .where(Refund.status.in_((RefundStatus.FAILED, RefundStatus.PENDING)))
                .limit(200)
            ).scalars()
        ),
        recent_payments=list(
            db.session.execute(
                select(Payment)
                .where(Payment.status == PaymentStatus.SUCCEEDED)
                .order_by(Payment.settled_at.desc())
                .limit(50)
            ).scalars()
        ),
    )
