"""Fixtures for returns: an atelier with people and products, and delivered orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.checkout import services as checkout
from app.checkout.models import Order
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.checkout.conftest import localstripe, stripe_app  # noqa: F401  (fixtures)
from tests.staff.builders import Atelier, build_atelier, make_fast_user, paid_order

GUEST_DETAILS = checkout.ShippingDetails(
    email="gil@example.com",
    name="Gil Guest",
    address_line1="2 Crown Street",
    city="London",
    postal_code="E1 6AN",
    country="GB",
)


@dataclass(frozen=True)
class ReturnsAtelier:
    atelier: Atelier
    admin_id: int


@pytest.fixture
def shop(app) -> ReturnsAtelier:
    with app.app_context():
        atelier = build_atelier()
        admin = make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
        return ReturnsAtelier(atelier=atelier, admin_id=admin)


def deliver(order_id: int, *, days_ago: int = 0) -> Order:
    """Ship and deliver an order; then move its delivery ``days_ago`` days into the past."""
    with atomic():
        checkout.mark_shipped(
            order_id=order_id, carrier="Royal Mail", tracking_number="RM123", by_user_id=None
        )
    with atomic():
        order = checkout.mark_delivered(order_id=order_id, signed_by="B Buyer", by_user_id=None)
    if days_ago:
        with atomic():
            order = db.session.get(Order, order_id)
            order.delivered_at = utcnow() - timedelta(days=days_ago)
            order.shipped_at = order.delivered_at - timedelta(days=1)
    return db.session.get(Order, order_id)


def delivered_order(
    shop: ReturnsAtelier, *, custom: bool = False, days_ago: int = 0, user_id: int | None = None
) -> Order:
    a = shop.atelier
    product = a.custom_product_id if custom else a.studio_product_id
    order = paid_order(user_id=user_id or a.customer_id, product_id=product)
    if custom:
        _settle_custom(order.id)
    return deliver(order.id, days_ago=days_ago)


def _settle_custom(order_id: int) -> None:
    order = db.session.get(Order, order_id)
    if order.outstanding_minor:
        with atomic():
            checkout.request_balance(order_id=order_id, by_user_id=None)
        with atomic():
            checkout.mark_paid(order_id=order_id, reference="balance")


def guest_delivered_order(shop: ReturnsAtelier) -> Order:
    owner = checkout.CartOwner(
        guest_items=(checkout.CartItem(shop.atelier.studio_product_id, "yellow-gold", "M", 1),)
    )
    with atomic():
        order = checkout.place_order(
            owner=owner, details=GUEST_DETAILS, payment_method="manual", policy_accepted=True
        )
    with atomic():
        checkout.mark_paid(order_id=order.id, reference="guest transfer")
    return deliver(order.id)
