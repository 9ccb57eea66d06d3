"""A customer's addresses, as their orders keep them (there is no separate address table).

The account page lists each address the customer has shipped to, newest first, with the orders
that have not left the atelier yet: their delivery address can still be changed. Checkout starts
from the newest one. Shipping is priced the same everywhere, so a change never reprices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.checkout.models import Order
from app.checkout.services.errors import CheckoutError, OrderNotFound
from app.common.addresses import PostalAddress
from app.common.locks import lock_row
from app.domain.orders import OrderStatus
from app.extensions import db

# The parcel has not been handed to the courier: the label can still change.
CHANGEABLE = frozenset(
    {
        OrderStatus.DRAFT.value,
        OrderStatus.AWAITING_PAYMENT.value,
        OrderStatus.PAYMENT_FAILED.value,
        OrderStatus.PAID.value,
        OrderStatus.DEPOSIT_PAID.value,
        OrderStatus.IN_PRODUCTION.value,
    }
)


class AddressLocked(CheckoutError):
    """The order has shipped (or ended): its address is part of the record now."""


@dataclass
class SavedAddress:
    address: PostalAddress
    open_orders: list[str] = field(default_factory=list)  # numbers whose address may change
    order_count: int = 0


def _key(address: PostalAddress) -> tuple[str, ...]:
    return tuple(
        " ".join(part.split()).casefold()
        for part in (address.line1, address.line2, address.city, address.postal_code)
    ) + (address.country,)


def saved_addresses(*, user_id: int) -> list[SavedAddress]:
    """Each distinct address of the customer's orders, newest first, with its open orders."""
    orders = db.session.execute(
        select(Order).where(Order.user_id == user_id).order_by(Order.id.desc())
    ).scalars()
    found: dict[tuple[str, ...], SavedAddress] = {}
    for order in orders:
        address = PostalAddress.of(order)
        if address.is_blank:
            continue
        saved = found.setdefault(_key(address), SavedAddress(address=address))
        saved.order_count += 1
        if order.status in CHANGEABLE:
            saved.open_orders.append(order.number)
    return list(found.values())


def latest_address(*, user_id: int) -> PostalAddress | None:
    """The address of the customer's newest order that has one (checkout starts from it)."""
    saved = saved_addresses(user_id=user_id)
    return saved[0].address if saved else None


def order_address(*, user_id: int, number: str) -> Order:
    """The customer's own order whose address may still change.

    Raises:
        OrderNotFound: no such order for this customer.
        AddressLocked: it has shipped, been delivered, cancelled or refunded.
    """
    order = db.session.execute(
        select(Order).where(Order.number == number, Order.user_id == user_id)
    ).scalar_one_or_none()
    if order is None:
        raise OrderNotFound("No such order.")
    if order.status not in CHANGEABLE:
        raise AddressLocked(
            f"Order {order.number} is {order.status_label.lower()}: its delivery address can no "
            "longer change. Write to the atelier if something is wrong."
        )
    return order


def change_order_address(*, user_id: int, number: str, address: PostalAddress) -> Order:
    """Set the delivery address of an order that has not shipped (``address`` is validated).

    The order row is locked, so staff shipping it at the same moment either ship to the new
    address or make this fail with AddressLocked.
    """
    order = order_address(user_id=user_id, number=number)
    order = lock_row(Order, order.id)
    if order is None or order.status not in CHANGEABLE:
        raise AddressLocked(f"Order {number} has left the atelier: its address is kept as sent.")
    order.address_line1 = address.line1
    order.address_line2 = address.line2
    order.city = address.city
    order.region = address.region
    order.postal_code = address.postal_code
    order.country = address.country
    return order
