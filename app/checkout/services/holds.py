"""How many numbered pieces one buyer holds on unpaid orders, and the limit on it.

Without a limit one visitor could reserve most of an edition for days with bank-transfer
orders they never pay. A buyer is known by their account, their email address and their
browser session; each is counted on its own and the limit applies to whichever is reached
first. The cart checks it as a courtesy; placing or renewing an order checks it again while
holding an advisory lock on each of the buyer's names (``app.common.locks.lock_names``), so
concurrent requests from one buyer are counted one after the other.

Lock order (with the rest of checkout): buyer names, then the order row, then piece rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select

from app.catalog.models import Metal, Product
from app.checkout.models import Order, OrderLine
from app.checkout.services.errors import CartError
from app.checkout.services.settings import setting
from app.common.locks import lock_names
from app.common.visitors import Buyer
from app.domain.orders import OrderStatus
from app.extensions import db

Edition = tuple[int, int]  # (product id, metal id)


class HoldLimitReached(CartError):
    """The buyer already holds as many pieces of an edition as one buyer may."""


def buyer_of(order: Order) -> Buyer:
    return Buyer(user_id=order.user_id, email=order.email, session_key=order.session_key or "")


def lock_buyer(buyer: Buyer) -> None:
    """Serialise this buyer's placing and renewing until the transaction ends."""
    lock_names(*buyer.names("buyer"))


def held_by(
    buyer: Buyer, *, now: datetime, exclude_order_id: int | None = None
) -> Counter[Edition]:
    """Pieces this buyer holds on live unpaid reservations, per edition."""
    query = (
        select(OrderLine.product_id, OrderLine.metal_id, func.count())
        .join(Order, OrderLine.order_id == Order.id)
        .where(
            buyer.matches(
                user_id=Order.user_id, email_key=Order.email_key, session_key=Order.session_key
            ),
            Order.status == OrderStatus.AWAITING_PAYMENT,
            Order.reserved_until >= now,
            OrderLine.piece_id.is_not(None),
            OrderLine.piece_released_at.is_(None),
        )
        .group_by(OrderLine.product_id, OrderLine.metal_id)
    )
    if exclude_order_id is not None:
        query = query.where(Order.id != exclude_order_id)
    return Counter({(p, m): n for p, m, n in db.session.execute(query)})


def check_hold_limit(
    buyer: Buyer,
    wanted: Counter[Edition],
    *,
    now: datetime,
    exclude_order_id: int | None = None,
) -> None:
    """Raise HoldLimitReached if holding ``wanted`` more would take the buyer past the limit."""
    limit = int(setting("EDITION_HOLD_LIMIT"))
    if not wanted or all(n <= 0 for n in wanted.values()):
        return
    held = held_by(buyer, now=now, exclude_order_id=exclude_order_id)
    for edition, count in sorted(wanted.items()):
        if held[edition] + count > limit:
            raise HoldLimitReached(_message(edition, limit=limit, held=held[edition]))


def hold_room(buyer: Buyer, edition: Edition, *, now: datetime) -> int:
    """How many more pieces of ``edition`` the buyer may hold before reaching the limit."""
    return int(setting("EDITION_HOLD_LIMIT")) - held_by(buyer, now=now)[edition]


def _message(edition: Edition, *, limit: int, held: int) -> str:
    product = db.session.get(Product, edition[0])
    metal = db.session.get(Metal, edition[1])
    what = f"{product.name if product else 'this piece'} in {metal.name if metal else 'this metal'}"
    plural = "piece" if limit == 1 else "pieces"
    text = (
        f"So that every collector has a chance, one buyer may reserve at most {limit} {plural} "
        f"of {what} until they are paid for."
    )
    if held:
        text += f" You already hold {held} on an unpaid order; pay for it, or let it lapse."
    return text


def studio_editions(lines: Iterable[tuple[int, int, int]]) -> Counter[Edition]:
    """Count (product id, metal id, quantity) triples of studio pieces per edition."""
    wanted: Counter[Edition] = Counter()
    for product_id, metal_id, quantity in lines:
        wanted[(product_id, metal_id)] += quantity
    return wanted
