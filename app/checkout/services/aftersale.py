"""After delivery: what the buyer may still do (return, free repairs), and parcels to chase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.checkout.models import Order
from app.checkout.services.care_plans import PlanCover, plan_cover
from app.checkout.services.settings import studio_zone
from app.domain import aftersale
from app.domain.orders import OrderStatus
from app.extensions import db

SIGNED_BY_MAX = 120  # orders.delivered_signed_by


@dataclass(frozen=True)
class AftersaleTerms:
    """The dates a delivered order's buyer is told, on their order page and by email."""

    delivered_on: date
    return_last_day: date | None  # None when every piece is a made-to-measure commission
    warranty_until: date
    has_commissions: bool  # made to measure: no return, an adjustment is offered instead
    # (the product's name as sold, its plan) for each piece still the buyer's
    care_plans: tuple[tuple[str, PlanCover], ...] = ()


def aftersale_terms(order: Order) -> AftersaleTerms | None:
    """The return window and warranty of a delivered order, or None before delivery."""
    if order.delivered_at is None:
        return None
    zone = studio_zone()
    returnable = any(not line.is_custom for line in order.lines)
    window = aftersale.return_window(delivered_at=order.delivered_at, zone=zone)
    return AftersaleTerms(
        delivered_on=aftersale.delivery_day(delivered_at=order.delivered_at, zone=zone),
        return_last_day=window.last_day if returnable else None,
        warranty_until=aftersale.warranty_end(delivered_at=order.delivered_at, zone=zone),
        has_commissions=any(line.is_custom for line in order.lines),
        care_plans=tuple(
            (line.product_name, cover)
            for line in order.lines
            if (cover := plan_cover(line)) is not None and line.piece_released_at is None
        ),
    )


@dataclass(frozen=True)
class UnconfirmedShipment:
    """A shipped parcel with no delivery recorded, for staff to chase with the carrier."""

    number: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    days_since: int


def unconfirmed_shipments(*, now: datetime, days: int) -> list[UnconfirmedShipment]:
    """Shipped orders without a recorded delivery at least ``days`` days after shipping."""
    if days < 0:
        raise ValueError("The number of days cannot be negative.")
    orders = db.session.execute(
        db.select(Order)
        .where(
            Order.status == OrderStatus.SHIPPED.value,
            Order.delivered_at.is_(None),
            Order.shipped_at <= now - timedelta(days=days),
        )
        .order_by(Order.shipped_at, Order.id)
    ).scalars()
    return [
        UnconfirmedShipment(
            number=order.number,
            carrier=order.carrier,
            tracking_number=order.tracking_number,
            shipped_at=order.shipped_at,
            days_since=(now - order.shipped_at).days,
        )
        for order in orders
        if order.shipped_at is not None
    ]
