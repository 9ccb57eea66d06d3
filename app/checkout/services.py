"""Checkout operations: carts, orders, numbered-piece reservation, payments, refunds, emails.

Rules that must hold under concurrency are enforced by the database:

- a numbered piece changes status only while its row is locked: PostgreSQL takes the lowest
  free piece with ``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent buyers get different rows,
  nobody waits); SQLite, which has no row locks, claims it with a compare-and-set
  ``UPDATE ... WHERE <still free>`` (writers are serialised by the database lock);
- a partial UNIQUE index lets at most one live order line hold a piece;
- every Stripe event id is UNIQUE in ``stripe_events`` and is recorded in the same transaction
  that processes it, so each event is processed at most once.

Locks are always taken in the order *order row, then piece rows (by id), then order lines*,
and reservation uses SKIP LOCKED, so the paths below cannot deadlock one another.

Every function here owns its transaction: it commits on success and rolls back before raising.
Calls to Stripe happen outside transactions (after a commit), never while rows are locked.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.catalog.models import EditionRun, Metal, Piece, PieceStatus, Product, piece_is_free
from app.catalog.services import UnknownOption, price_product
from app.checkout import payments
from app.checkout.guest_access import guest_order_numbers as guest_order_numbers
from app.checkout.guest_access import remember_guest_order as remember_guest_order
from app.checkout.models import (
    EXPIRED_REASON,
    MAX_LINE_QUANTITY,
    Cart,
    CartLine,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PriceRevision,
    Refund,
    StripeEvent,
)
from app.common.mail import send_mail
from app.domain import orders
from app.domain.clock import utcnow
from app.domain.editions import format_piece_number
from app.domain.money import Money
from app.domain.orders import OrderAction
from app.domain.pricing import Breakdown, PriceLine, deposit_split
from app.extensions import db

ORDER_LINK_SALT = "diadem.order-link"
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud safely

# Defaults for settings a deployment may override in app.config.
DEFAULTS: dict[str, Any] = {
    # How long a card checkout holds its numbered pieces.
    "CHECKOUT_HOLD_MINUTES": 20,
    # Bank transfers take days: a manual-payment order holds its pieces this long instead.
    "MANUAL_PAYMENT_HOLD_HOURS": 72,
    # Studio pieces are finished and boxed; they leave the atelier within this many days.
    "STUDIO_DISPATCH_DAYS": 5,
    # A guest's signed order link stays valid this long (commissions take months).
    "ORDER_LINK_MAX_AGE_DAYS": 730,
    "BANK_TRANSFER_DETAILS": {
        "Account name": "Diadem Atelier Ltd",
        "Bank": "Example Bank plc, London",
        "IBAN": "GB00 EXMP 0000 0000 0000 00",
        "BIC / SWIFT": "EXMPGB2L",
    },
}


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


# --- errors -------------------------------------------------------------------------------


class CheckoutError(Exception):
    """Base of the checkout's errors; the message is for people."""


class CartError(CheckoutError):
    pass


class SoldOut(CheckoutError):
    pass


class OrderNotFound(CheckoutError):
    pass


class InvalidTransition(CheckoutError):
    """The order is not in a state where this can be done."""


class PaymentError(CheckoutError):
    pass


class RefundError(CheckoutError):
    pass


class RevisionError(CheckoutError):
    pass


class WebhookRejected(CheckoutError):
    pass


# --- small helpers ------------------------------------------------------------------------


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


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


def _lock_pieces(piece_ids: Iterable[int]) -> dict[int, Piece]:
    ids = sorted(set(piece_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Piece)
        .where(Piece.id.in_(ids))
        .order_by(Piece.id)
        .with_for_update(of=Piece)
        .execution_options(populate_existing=True)
    ).scalars()
    return {piece.id: piece for piece in rows}


def _refresh_lines(order: Order) -> None:
    db.session.execute(
        select(OrderLine)
        .where(OrderLine.order_id == order.id)
        .execution_options(populate_existing=True)
    ).scalars().all()


def _money(minor: int, currency: str) -> Money:
    return Money(minor, currency)


# --- cart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartItem:
    """One cart line: a product in a metal and size, and how many pieces of it."""

    product_id: int
    metal_code: str
    size_code: str
    quantity: int = 1

    @property
    def key(self) -> str:
        return f"{self.product_id}:{self.metal_code}:{self.size_code}"

    def as_session(self) -> dict[str, Any]:
        return {"p": self.product_id, "m": self.metal_code, "s": self.size_code, "q": self.quantity}


@dataclass(frozen=True)
class CartOwner:
    """Whose cart: a signed-in buyer's (kept in the database) or a guest's (kept in the session)."""

    user_id: int | None = None
    guest_items: tuple[CartItem, ...] = ()


def items_from_session(raw: object) -> list[CartItem]:
    """Read a guest cart from the session, dropping anything malformed."""
    items: list[CartItem] = []
    if not isinstance(raw, list):
        return items
    for entry in raw[:50]:
        if not isinstance(entry, dict):
            continue
        p, m, s, q = entry.get("p"), entry.get("m"), entry.get("s"), entry.get("q")
        if (
            isinstance(p, int)
            and isinstance(m, str)
            and isinstance(s, str)
            and isinstance(q, int)
            and 1 <= q <= MAX_LINE_QUANTITY
        ):
            items.append(CartItem(product_id=p, metal_code=m[:32], size_code=s[:8], quantity=q))
    return items


def items_to_session(items: Iterable[CartItem]) -> list[dict[str, Any]]:
    return [item.as_session() for item in items]


def _user_cart(user_id: int, *, create: bool) -> Cart | None:
    cart = db.session.execute(select(Cart).where(Cart.user_id == user_id)).scalar_one_or_none()
    if cart is None and create:
        cart = Cart(user_id=user_id)
        db.session.add(cart)
    return cart


def cart_items(*, owner: CartOwner) -> list[CartItem]:
    """The owner's cart lines, oldest first."""
    if owner.user_id is None:
        return list(owner.guest_items)
    cart = _user_cart(owner.user_id, create=False)
    if cart is None:
        return []
    metals = {m.id: m.code for m in db.session.execute(select(Metal)).scalars()}
    return [
        CartItem(
            product_id=line.product_id,
            metal_code=metals[line.metal_id],
            size_code=line.size_code,
            quantity=line.quantity,
        )
        for line in cart.lines
    ]


def _store(owner: CartOwner, items: list[CartItem]) -> list[CartItem]:
    """Save a signed-in buyer's cart (the caller keeps a guest's in the session); commit."""
    if owner.user_id is None:
        return items
    cart = _user_cart(owner.user_id, create=True)
    assert cart is not None
    metals = {m.code: m.id for m in db.session.execute(select(Metal)).scalars()}
    existing = {(line.product_id, line.metal_id, line.size_code): line for line in cart.lines}
    wanted = set()
    for item in items:
        key = (item.product_id, metals[item.metal_code], item.size_code)
        wanted.add(key)
        if key in existing:
            existing[key].quantity = item.quantity
        else:
            cart.lines.append(
                CartLine(
                    product_id=item.product_id,
                    metal_id=key[1],
                    size_code=item.size_code,
                    quantity=item.quantity,
                )
            )
    for key, line in existing.items():
        if key not in wanted:
            cart.lines.remove(line)
    cart.updated_at = utcnow()
    db.session.commit()
    return items


def free_piece_count(*, product_id: int, metal_id: int, now: datetime | None = None) -> int:
    """How many numbered pieces of this product in this metal can still be sold."""
    return db.session.execute(
        select(func.count(Piece.id))
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product_id,
            EditionRun.metal_id == metal_id,
            piece_is_free(now or utcnow()),
        )
    ).scalar_one()


def _check_quantity(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise CartError("Choose how many pieces you would like.")
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise CartError(f"Choose between 1 and {MAX_LINE_QUANTITY} pieces.")
    return quantity


def _validated_item(item: CartItem) -> tuple[Product, Metal, CartItem]:
    """Check an item against the catalogue and stock; return it with its product and metal."""
    _check_quantity(item.quantity)
    product = db.session.get(Product, item.product_id)
    if product is None:
        raise CartError("That piece is no longer in the shop.")
    try:
        priced = price_product(product, size_code=item.size_code, metal_code=item.metal_code)
    except UnknownOption as exc:
        raise CartError(str(exc)) from exc
    item = CartItem(product.id, priced.metal.code, priced.size.code, item.quantity)
    if product.is_studio:
        free = free_piece_count(product_id=product.id, metal_id=priced.metal.id)
        if free == 0:
            raise SoldOut(f"{product.name} in {priced.metal.name} is sold out.")
        if item.quantity > free:
            raise SoldOut(
                f"Only {free} numbered piece{'s' if free != 1 else ''} of {product.name} "
                f"in {priced.metal.name} {'are' if free != 1 else 'is'} still free."
            )
    return product, priced.metal, item


def add_to_cart(
    *, owner: CartOwner, product_id: int, metal_code: str, size_code: str, quantity: int = 1
) -> list[CartItem]:
    """Add pieces to the cart (adding to an existing line); return the updated cart."""
    _check_quantity(quantity)
    items = cart_items(owner=owner)
    _, _, wanted = _validated_item(CartItem(product_id, metal_code, size_code, quantity))
    merged: list[CartItem] = []
    found = False
    for item in items:
        if item.key == wanted.key:
            total = item.quantity + wanted.quantity
            if total > MAX_LINE_QUANTITY:
                raise CartError(
                    f"At most {MAX_LINE_QUANTITY} of one piece per order; "
                    f"you already have {item.quantity} in your cart."
                )
            _validated_item(CartItem(product_id, wanted.metal_code, wanted.size_code, total))
            merged.append(CartItem(item.product_id, item.metal_code, item.size_code, total))
            found = True
        else:
            merged.append(item)
    if not found:
        merged.append(wanted)
    return _store(owner, merged)


def set_quantity(*, owner: CartOwner, key: str, quantity: int) -> list[CartItem]:
    """Change a line's quantity (0 removes it); return the updated cart."""
    if isinstance(quantity, int) and quantity == 0:
        return remove_from_cart(owner=owner, key=key)
    _check_quantity(quantity)
    items = cart_items(owner=owner)
    updated: list[CartItem] = []
    for item in items:
        if item.key == key:
            _, _, item = _validated_item(
                CartItem(item.product_id, item.metal_code, item.size_code, quantity)
            )
        updated.append(item)
    if not any(item.key == key for item in items):
        raise CartError("That line is no longer in your cart.")
    return _store(owner, updated)


def remove_from_cart(*, owner: CartOwner, key: str) -> list[CartItem]:
    items = [item for item in cart_items(owner=owner) if item.key != key]
    return _store(owner, items)


def merge_guest_cart(*, user_id: int, items: Iterable[CartItem]) -> list[str]:
    """Fold a guest's session cart into the buyer's saved cart at sign-in; return notices."""
    notices: list[str] = []
    owner = CartOwner(user_id=user_id)
    for item in items:
        try:
            add_to_cart(
                owner=owner,
                product_id=item.product_id,
                metal_code=item.metal_code,
                size_code=item.size_code,
                quantity=item.quantity,
            )
        except CheckoutError as exc:
            db.session.rollback()
            notices.append(str(exc))
    return notices


@dataclass(frozen=True)
class PricedCartLine:
    item: CartItem
    product: Product
    metal: Metal
    size_label: str
    breakdown: Breakdown
    free_count: int | None  # studio: free numbered pieces; custom: None (made to order)

    @property
    def is_custom(self) -> bool:
        return self.product.is_custom

    @property
    def line_total(self) -> Money:
        return self.breakdown.total.times(self.item.quantity)

    @property
    def deposit_each(self) -> Money:
        if not self.is_custom:
            return self.breakdown.total
        return deposit_split(self.breakdown.total, self.product.deposit_percent or 100)[0]

    @property
    def due_now(self) -> Money:
        return self.deposit_each.times(self.item.quantity)


@dataclass(frozen=True)
class CartSummary:
    lines: tuple[PricedCartLine, ...]
    currency: str
    problems: tuple[str, ...] = ()
    ship_by: date | None = None

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def total(self) -> Money:
        result = Money.zero(self.currency)
        for line in self.lines:
            result = result + line.line_total
        return result

    @property
    def due_now(self) -> Money:
        result = Money.zero(self.currency)
        for line in self.lines:
            result = result + line.due_now
        return result

    @property
    def goods_value(self) -> Money:
        """The declared value for insured shipping: everything but packaging and shipping."""
        result = Money.zero(self.currency)
        for line in self.lines:
            result = result + line.breakdown.goods_value.times(line.item.quantity)
        return result

    @property
    def balance_later(self) -> Money:
        return self.total - self.due_now

    @property
    def piece_count(self) -> int:
        return sum(line.item.quantity for line in self.lines)


def promised_ship_date(*, products: Iterable[Product], today: date) -> date:
    """When the atelier promises to ship: studio pieces within days, commissions after lead time."""
    days = 0
    for product in products:
        if product.is_custom:
            days = max(days, 7 * (product.lead_time_weeks or 0))
        else:
            days = max(days, int(setting("STUDIO_DISPATCH_DAYS")))
    return today + timedelta(days=days)


def late_for_event(*, event_date: date | None, ship_by: date | None) -> bool:
    return event_date is not None and ship_by is not None and ship_by > event_date


def summarise_cart(*, owner: CartOwner, today: date | None = None) -> CartSummary:
    """Price every cart line from the server's catalogue (never from anything the browser sent)."""
    lines: list[PricedCartLine] = []
    problems: list[str] = []
    currency = None
    for item in cart_items(owner=owner):
        product = db.session.get(Product, item.product_id)
        if product is None:
            problems.append("A piece in your cart is no longer in the shop and was left out.")
            continue
        try:
            priced = price_product(product, size_code=item.size_code, metal_code=item.metal_code)
        except UnknownOption as exc:
            problems.append(str(exc))
            continue
        free = (
            None
            if product.is_custom
            else free_piece_count(product_id=product.id, metal_id=priced.metal.id)
        )
        if free is not None and free < item.quantity:
            problems.append(
                f"{product.name} in {priced.metal.name}: "
                + (f"only {free} still free." if free else "sold out.")
            )
        if currency is None:
            currency = priced.breakdown.currency
        elif currency != priced.breakdown.currency:
            problems.append(f"{product.name} is priced in another currency; order it separately.")
            continue
        lines.append(
            PricedCartLine(
                item=item,
                product=product,
                metal=priced.metal,
                size_label=f"{priced.size.code} — {priced.size.label}",
                breakdown=priced.breakdown,
                free_count=free,
            )
        )
    ship_by = (
        promised_ship_date(
            products=[line.product for line in lines], today=today or utcnow().date()
        )
        if lines
        else None
    )
    return CartSummary(
        lines=tuple(lines),
        currency=currency or "USD",
        problems=tuple(problems),
        ship_by=ship_by,
    )


# --- piece reservation --------------------------------------------------------------------


def _reserve_piece(
    *, product_id: int, metal_id: int, now: datetime, until: datetime
) -> Piece | None:
    """Reserve the lowest free numbered piece of this product in this metal, or return None."""
    candidates = (
        select(Piece)
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product_id,
            EditionRun.metal_id == metal_id,
            piece_is_free(now),
        )
        .order_by(EditionRun.id, Piece.number)
        .limit(1)
    )
    piece: Piece | None = None
    if _is_postgres():
        # Concurrent buyers skip each other's locked rows instead of queueing behind them,
        # so each gets a different piece (or none) at once.
        piece = db.session.execute(
            candidates.with_for_update(skip_locked=True, of=Piece).execution_options(
                populate_existing=True
            )
        ).scalar_one_or_none()
        if piece is None:
            return None
    else:
        # SQLite has no row locks: claim the row only if it is still free (compare-and-set);
        # the database's write lock serialises claimants, a loser simply tries the next one.
        for _ in range(25):
            candidate = db.session.execute(candidates.with_only_columns(Piece.id)).scalar()
            if candidate is None:
                return None
            claimed = db.session.execute(
                update(Piece)
                .where(Piece.id == candidate, piece_is_free(now))
                .values(status=PieceStatus.RESERVED.value, reserved_until=until)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                piece = db.session.get(Piece, candidate, populate_existing=True)
                break
        if piece is None:
            return None
    # A lapsed reservation may still sit on an unpaid order's line: end it, so the
    # one-live-line-per-piece index admits the new line. That order is expired lazily.
    db.session.execute(
        update(OrderLine)
        .where(OrderLine.piece_id == piece.id, OrderLine.piece_released_at.is_(None))
        .values(piece_released_at=now)
        .execution_options(synchronize_session="fetch")
    )
    piece.status = PieceStatus.RESERVED.value
    piece.reserved_until = until
    return piece


def _release_pieces(order: Order, now: datetime, *, restock_sold: bool = False) -> list[str]:
    """End the order's hold on its pieces (order row already locked); return their labels."""
    holding = [line for line in order.lines if line.is_holding_piece]
    pieces = _lock_pieces(line.piece_id for line in holding)
    _refresh_lines(order)  # another buyer may have taken a lapsed piece meanwhile
    released = []
    for line in order.lines:
        if not line.is_holding_piece:
            continue
        piece = pieces[line.piece_id]
        if piece.status == PieceStatus.RESERVED.value or (
            restock_sold and piece.status == PieceStatus.SOLD.value
        ):
            piece.status = PieceStatus.AVAILABLE.value
            piece.reserved_until = None
        line.piece_released_at = now
        released.append(line.piece_label)
    return released


def _hold_until(method: str, now: datetime) -> datetime:
    if method == "manual":
        return now + timedelta(hours=int(setting("MANUAL_PAYMENT_HOLD_HOURS")))
    return now + timedelta(minutes=int(setting("CHECKOUT_HOLD_MINUTES")))


def _reserve_lines(order: Order, now: datetime) -> None:
    """Reserve a piece for every studio line that holds none; SoldOut if any run is out."""
    until = order.reserved_until or _hold_until(order.payment_method, now)
    for line in order.lines:
        if line.is_custom or line.is_holding_piece:
            continue
        piece = _reserve_piece(
            product_id=line.product_id, metal_id=line.metal_id, now=now, until=until
        )
        if piece is None:
            raise SoldOut(
                f"Sorry — {line.product_name} in {line.metal_name} has just sold out; "
                "the last numbered pieces went to other buyers."
            )
        line.piece_id = piece.id
        line.piece = piece
        line.piece_released_at = None
        line.piece_label = format_piece_number(piece.number, piece.edition_size)
    order.reserved_until = until if any(not line.is_custom for line in order.lines) else None


def _secure_pieces(order: Order, now: datetime) -> bool:
    """Turn the order's pieces sold (order row locked); False if a piece could not be had.

    Normally each studio line still holds its reserved piece. If payment arrived after the
    reservation lapsed, the same piece is taken back when still free, else another free piece
    of the same edition; only if the edition has none left does this return False.
    """
    studio = [line for line in order.lines if not line.is_custom]
    pieces = _lock_pieces(line.piece_id for line in studio if line.piece_id)
    _refresh_lines(order)
    for line in studio:
        piece = pieces.get(line.piece_id) if line.piece_id else None
        if line.is_holding_piece and piece is not None:
            continue
        if piece is not None and piece.status in (
            PieceStatus.AVAILABLE.value,
            PieceStatus.RESERVED.value,
        ):
            lapsed = piece.status == PieceStatus.AVAILABLE.value or (
                piece.reserved_until is not None and piece.reserved_until < now
            )
            if lapsed:
                db.session.execute(
                    update(OrderLine)
                    .where(OrderLine.piece_id == piece.id, OrderLine.piece_released_at.is_(None))
                    .values(piece_released_at=now)
                    .execution_options(synchronize_session="fetch")
                )
                line.piece_released_at = None
                continue
        replacement = _reserve_piece(
            product_id=line.product_id, metal_id=line.metal_id, now=now, until=now
        )
        if replacement is None:
            return False
        _event(
            order,
            "piece_reassigned",
            f"{line.product_name}: piece {line.piece_label or '—'} was gone; "
            f"assigned {format_piece_number(replacement.number, replacement.edition_size)}",
        )
        line.piece_id = replacement.id
        line.piece = replacement
        line.piece_released_at = None
        line.piece_label = format_piece_number(replacement.number, replacement.edition_size)
        pieces[replacement.id] = replacement
    db.session.flush()
    for line in studio:
        piece = db.session.get(Piece, line.piece_id)
        piece.status = PieceStatus.SOLD.value
        piece.reserved_until = None
    return True


# --- placing orders -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShippingDetails:
    email: str
    name: str
    address_line1: str
    city: str
    postal_code: str
    country: str
    address_line2: str = ""
    region: str = ""
    phone: str = ""
    event_date: date | None = None
    notes: str = ""


def _apply_details(order: Order, details: ShippingDetails) -> None:
    order.email = details.email.strip().lower()
    order.name = details.name.strip()
    order.phone = details.phone.strip()
    order.address_line1 = details.address_line1.strip()
    order.address_line2 = details.address_line2.strip()
    order.city = details.city.strip()
    order.region = details.region.strip()
    order.postal_code = details.postal_code.strip()
    order.country = details.country.strip().upper()
    order.event_date = details.event_date
    if details.notes:
        order.notes = details.notes.strip()


def _check_payment_method(method: str) -> str:
    if method == "manual":
        return method
    if method == "stripe" and payments.stripe_enabled():
        return method
    raise PaymentError("That payment method is not available.")


def available_payment_methods() -> list[tuple[str, str]]:
    methods = [("manual", "Bank transfer")]
    if payments.stripe_enabled():
        methods.insert(0, ("stripe", "Card"))
    return methods


def _order_line(
    product: Product, metal: Metal, size_code: str, breakdown: Breakdown, now: datetime
) -> OrderLine:
    frozen = freeze_breakdown(breakdown)
    line = OrderLine(
        product_id=product.id,
        metal_id=metal.id,
        size_code=size_code,
        tier=product.tier,
        product_name=product.name,
        metal_name=metal.name,
        breakdown=frozen,
        breakdown_version=1,
        total_minor=breakdown.total.minor,
        deposit_minor=0,
    )
    if product.is_custom:
        line.deposit_minor = deposit_split(breakdown.total, product.deposit_percent or 100)[0].minor
        # Version 1 of a commission's price is the estimate the buyer agreed to at checkout.
        line.revisions.append(
            PriceRevision(
                version=1,
                breakdown=frozen,
                total_minor=breakdown.total.minor,
                note="Estimate at checkout",
                created_at=now,
                accepted_at=now,
            )
        )
    return line


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


def place_order(
    *,
    owner: CartOwner,
    details: ShippingDetails,
    payment_method: str,
    policy_accepted: bool,
) -> Order:
    """Turn the cart into an order: price it, reserve numbered pieces, open the payment.

    Raises CartError (empty cart, unknown piece), SoldOut (a run ran out: nothing is
    reserved), PaymentError (method unavailable, or Stripe unreachable: the order is
    cancelled and its pieces released).
    """
    if not policy_accepted:
        raise CheckoutError("Please accept the returns and repairs policy.")
    method = _check_payment_method(payment_method)
    items = cart_items(owner=owner)
    if not items:
        raise CartError("Your cart is empty.")
    now = utcnow()
    order = Order(
        number=_unused_order_number(),
        user_id=owner.user_id,
        status="awaiting_payment",
        payment_method=method,
        created_at=now,
        placed_at=now,
        policy_accepted_at=now,
    )
    _apply_details(order, details)
    products: list[Product] = []
    try:
        for item in items:
            product, metal, item = _validated_item(item)
            priced = price_product(product, size_code=item.size_code, metal_code=item.metal_code)
            if not order.lines:
                order.currency = priced.breakdown.currency
            elif priced.breakdown.currency != order.currency:
                raise CartError(f"{product.name} is priced in another currency.")
            products.append(product)
            for _ in range(item.quantity):
                order.lines.append(
                    _order_line(product, metal, priced.size.code, priced.breakdown, now)
                )
        db.session.add(order)
        order.reserved_until = _hold_until(method, now)
        _reserve_lines(order, now)
        order.promised_ship_date = promised_ship_date(products=products, today=now.date())
        _recompute_totals(order)
        _new_payment(order, kind="initial", method=method, amount_minor=order.due_at_checkout_minor)
        _event(order, "placed", _placed_message(order))
        if owner.user_id is not None:
            cart = _user_cart(owner.user_id, create=False)
            if cart is not None:
                cart.lines.clear()
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        current_app.logger.warning("Order not placed: %s", exc)
        raise SoldOut("Those pieces were just taken by another buyer; please try again.") from exc
    except Exception:
        db.session.rollback()
        raise
    _after_opening(order)
    return order


def _placed_message(order: Order) -> str:
    pieces = ", ".join(
        f"{line.product_name} {line.piece_label}".strip() for line in order.lines if line.piece_id
    )
    return f"Order placed ({order.payment_method})" + (f"; reserved {pieces}" if pieces else "")


def _after_opening(order: Order) -> None:
    """After an order (or a retry) is committed: open the card payment, or email instructions."""
    if order.payment_method == "stripe":
        payment = _pending(order, "initial")[-1]
        try:
            _open_intent(payment)
        except payments.PaymentProviderError as exc:
            _abandon(order.id, reason=f"Card payment could not start: {exc}")
            raise PaymentError(
                "Card payments are unavailable right now; your pieces were released. "
                "Please try again, or choose bank transfer."
            ) from exc
    else:
        notify(order, "order_placed")


def _open_intent(payment: Payment) -> None:
    """Create the Stripe PaymentIntent for a pending payment (after commit) and save its id."""
    if payment.provider_id:
        return
    info = payments.create_payment_intent(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        metadata={
            "order_number": payment.order.number,
            "payment_id": str(payment.id),
            "kind": payment.kind,
        },
        idempotency_key=f"diadem-payment-{payment.id}",
    )
    payment.provider_id = info.id
    payment.order.payment_reference = info.id
    db.session.commit()


def _abandon(order_id: int, *, reason: str) -> None:
    order = _lock_order(order_id)
    _release_pieces(order, utcnow())
    for payment in order.payments:
        if payment.status == "pending":
            payment.status = "cancelled"
    order.status = "cancelled"
    order.cancel_reason = reason[:200]
    order.cancelled_at = utcnow()
    order.reserved_until = None
    _event(order, "cancelled", reason)
    db.session.commit()


def create_custom_order_draft(
    *,
    user_id: int | None,
    email: str,
    name: str,
    product_id: int,
    metal_code: str,
    size_code: str,
    notes: str = "",
    event_date: date | None = None,
) -> Order:
    """Prepare a custom commission as a draft order the buyer completes (address and deposit).

    Used after a consultation (whose event date it keeps). The line is priced with the
    catalogue estimate; staff may revise it before the buyer checks out. Raises CartError for
    an unknown product/option or a studio product.
    """
    product = db.session.get(Product, product_id)
    if product is None or not product.is_custom:
        raise CartError("Only custom commissions can be drafted from a consultation.")
    try:
        priced = price_product(product, size_code=size_code, metal_code=metal_code)
    except UnknownOption as exc:
        raise CartError(str(exc)) from exc
    now = utcnow()
    order = Order(
        number=_unused_order_number(),
        user_id=user_id,
        email=email.strip().lower(),
        name=name.strip(),
        notes=notes.strip(),
        event_date=event_date,
        status="draft",
        payment_method="manual",
        currency=priced.breakdown.currency,
        created_at=now,
    )
    order.lines.append(_order_line(product, priced.metal, priced.size.code, priced.breakdown, now))
    order.promised_ship_date = promised_ship_date(products=[product], today=now.date())
    _recompute_totals(order)
    _event(order, "draft", "Draft prepared from a consultation")
    db.session.add(order)
    db.session.commit()
    return order


def complete_draft(
    *,
    order_id: int,
    details: ShippingDetails,
    payment_method: str,
    policy_accepted: bool,
) -> Order:
    """The buyer completes a drafted commission: address, policy, and the deposit payment."""
    if not policy_accepted:
        raise CheckoutError("Please accept the returns and repairs policy.")
    method = _check_payment_method(payment_method)
    order = _lock_order(order_id)
    if order.status != "draft":
        db.session.rollback()
        raise InvalidTransition("This order has already been placed.")
    if any(line.pending_revision for line in order.lines):
        db.session.rollback()
        raise InvalidTransition("Please accept or discuss the revised price first.")
    now = utcnow()
    _apply_details(order, details)
    order.status = "awaiting_payment"
    order.payment_method = method
    order.placed_at = now
    order.policy_accepted_at = now
    order.promised_ship_date = promised_ship_date(
        products=[line.product for line in order.lines], today=now.date()
    )
    _new_payment(order, kind="initial", method=method, amount_minor=order.due_at_checkout_minor)
    _event(order, "placed", _placed_message(order))
    db.session.commit()
    _after_opening(order)
    return order


def retry_payment(*, order_id: int, payment_method: str) -> Order:
    """Try again after a failed card payment or a lapsed reservation: reserve pieces anew."""
    method = _check_payment_method(payment_method)
    order = _lock_order(order_id)
    if not order.can_retry_payment:
        db.session.rollback()
        raise InvalidTransition("This order cannot be paid again.")
    now = utcnow()
    try:
        order.payment_method = method
        order.reserved_until = _hold_until(method, now)
        _reserve_lines(order, now)
        for payment in _pending(order, "initial"):
            payment.status = "cancelled"
        _new_payment(order, kind="initial", method=method, amount_minor=order.due_at_checkout_minor)
        order.status = "awaiting_payment"
        order.cancel_reason = ""
        order.cancelled_at = None
        _event(order, "retry", f"Payment retried ({method})")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _after_opening(order)
    return order


# --- reading orders -----------------------------------------------------------------------


def get_order_by_number(number: str) -> Order | None:
    """The order with this reference (case-insensitive), or None."""
    number = (number or "").strip().upper()[:16]
    return db.session.execute(select(Order).where(Order.number == number)).scalar_one_or_none()


def get_order(order_id: int) -> Order | None:
    return db.session.get(Order, order_id)


def orders_for_user(user_id: int) -> list[Order]:
    """A buyer's orders, newest first (drafts included); lapsed reservations are expired."""
    orders = list(
        db.session.execute(
            select(Order).where(Order.user_id == user_id).order_by(Order.id.desc())
        ).scalars()
    )
    for order in orders:
        expire_if_lapsed(order)
    return orders


def order_link_token(number: str) -> str:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=ORDER_LINK_SALT)
    return serializer.dumps(number)


def number_for_token(token: str) -> str | None:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=ORDER_LINK_SALT)
    max_age = int(setting("ORDER_LINK_MAX_AGE_DAYS")) * 86400
    try:
        number = serializer.loads(token, max_age=max_age)
    except BadSignature:
        return None
    return number if isinstance(number, str) else None


def order_for_viewer(
    *,
    number: str,
    user_id: int | None,
    guest_numbers: Collection[str] = (),
    token: str | None = None,
) -> Order:
    """The order if this visitor may see it, else OrderNotFound (so others learn nothing).

    A signed-in buyer sees their own orders. Guest orders (no account) are shown to whoever
    holds the signed link from the order emails, or placed the order in this browser session.
    Expired reservations are settled on the way (lazy expiry).
    """
    order = get_order_by_number(number)
    if order is None:
        raise OrderNotFound("No such order.")
    allowed = (user_id is not None and order.user_id == user_id) or (
        order.user_id is None
        and (order.number in guest_numbers or (token and number_for_token(token) == order.number))
    )
    if not allowed:
        raise OrderNotFound("No such order.")
    return expire_if_lapsed(order)


def expire_if_lapsed(order: Order) -> Order:
    if (
        order.status == "awaiting_payment"
        and order.reserved_until is not None
        and order.reserved_until < utcnow()
    ):
        intents = _expire(order.id)
        _cancel_intents(intents)
    return order


def order_url(order: Order) -> str:
    """The order page link for emails: signed for guests, plain (sign-in) for account holders."""
    if order.user_id is None:
        return url_for(
            "checkout.show_order",
            number=order.number,
            t=order_link_token(order.number),
            _external=True,
        )
    return url_for("checkout.show_order", number=order.number, _external=True)


# --- expiry -------------------------------------------------------------------------------


def _expire(order_id: int) -> list[str]:
    """Cancel an unpaid order whose reservation lapsed; return PaymentIntents to cancel."""
    order = _lock_order(order_id)
    now = utcnow()
    if not (
        order.status == "awaiting_payment"
        and order.reserved_until is not None
        and order.reserved_until < now
    ):
        db.session.rollback()
        return []
    released = _release_pieces(order, now)
    intents = []
    for payment in _pending(order, "initial"):
        payment.status = "cancelled"
        if payment.provider_id:
            intents.append(payment.provider_id)
    order.status = "cancelled"
    order.cancel_reason = EXPIRED_REASON
    order.cancelled_at = now
    order.reserved_until = None
    _event(order, "expired", "Reservation expired; released " + (", ".join(released) or "—"))
    db.session.commit()
    return intents


def _cancel_intents(intent_ids: Iterable[str]) -> None:
    # Best effort: an intent that already succeeded cannot be cancelled, and its webhook will
    # settle the order (taking the pieces back if still free, else refunding).
    if not payments.stripe_enabled():
        return
    for intent_id in intent_ids:
        payments.cancel_payment_intent(intent_id)


def expire_lapsed_orders(*, now: datetime | None = None) -> list[str]:
    """Cancel every unpaid order whose reservation lapsed and free its pieces; return numbers."""
    now = now or utcnow()
    ids = list(
        db.session.execute(
            select(Order.id).where(
                Order.status == "awaiting_payment",
                Order.reserved_until.is_not(None),
                Order.reserved_until < now,
            )
        ).scalars()
    )
    db.session.rollback()
    expired = []
    for order_id in ids:
        intents = _expire(order_id)
        order = db.session.get(Order, order_id)
        if order is not None and order.status == "cancelled":
            expired.append(order.number)
        _cancel_intents(intents)
    return expired


# --- settling payments --------------------------------------------------------------------


def _settle(
    order: Order,
    payment: Payment,
    *,
    now: datetime,
    by_user_id: int | None = None,
    reference: str = "",
) -> bool:
    """Record a received payment on a locked order; False if its pieces could not be had."""
    payment.status = "succeeded"
    payment.settled_at = now
    payment.recorded_by_id = by_user_id
    if reference:
        payment.note = reference[:255]
    order.paid_minor += payment.amount_minor
    if payment.kind == "initial":
        if not _secure_pieces(order, now):
            return False
        for other in _pending(order, "initial"):
            other.status = "cancelled"
        if order.status in ("awaiting_payment", "payment_failed", "cancelled"):
            order.status = "deposit_paid" if order.balance_minor > 0 else "paid"
            order.cancel_reason = ""
            order.cancelled_at = None
        order.reserved_until = None
        order.paid_at = order.paid_at or now
        for line in order.lines:
            if line.stage is None:
                line.stage = "deposit_paid" if line.is_custom else "paid"
        pieces = ", ".join(
            f"{line.product_name} {line.piece_label}" for line in order.lines if line.piece_id
        )
        _event(
            order,
            "paid",
            f"Payment of {Money(payment.amount_minor, payment.currency).format()} received"
            + (f"; sold {pieces}" if pieces else ""),
            by_user_id,
        )
    else:
        for other in _pending(order, "balance"):
            other.status = "cancelled"
        if order.status == "deposit_paid":
            order.status = "paid"
        _event(
            order,
            "balance_paid",
            f"Balance of {Money(payment.amount_minor, payment.currency).format()} received",
            by_user_id,
        )
    return True


def mark_paid(*, order_id: int, by_user_id: int | None = None, reference: str = "") -> Order:
    """Staff record a bank transfer (or other manual payment) for what is due now.

    Settles the pending payment (the first payment, or the requested balance). Raises
    InvalidTransition when nothing is due, SoldOut when the reservation lapsed and the
    edition has no piece left (return the money to the buyer instead).
    """
    order = _lock_order(order_id)
    now = utcnow()
    first_due = order.status in ("awaiting_payment", "payment_failed") or (
        order.status == "cancelled" and order.cancel_reason == EXPIRED_REASON
    )
    kind = "initial" if first_due else "balance"
    if order.status in ("draft", "refunded") or (order.status == "cancelled" and not first_due):
        db.session.rollback()
        raise InvalidTransition(f"A {order.status_label.lower()} order cannot be marked paid.")
    due = order.due_at_checkout_minor - order.paid_minor if first_due else order.outstanding_minor
    if due <= 0:
        db.session.rollback()
        raise InvalidTransition("Nothing is due on this order.")
    intents = [p.provider_id for p in _pending(order, kind) if p.provider_id]
    manual = [p for p in _pending(order, kind) if p.method == "manual" and p.amount_minor == due]
    payment = (
        manual[-1] if manual else _new_payment(order, kind=kind, method="manual", amount_minor=due)
    )
    if not _settle(order, payment, now=now, by_user_id=by_user_id, reference=reference):
        db.session.rollback()
        raise SoldOut(
            "The reservation lapsed and this edition has no piece left; return the transfer "
            "to the buyer and cancel the order."
        )
    db.session.commit()
    _cancel_intents(intents)
    notify(order, "payment_received")
    return order


def start_production(order: Order) -> None:
    """Move a paid order (locked by the caller) into production; other statuses stay."""
    if orders.can(order.status, OrderAction.START_PRODUCTION):
        order.status = orders.next_status(order.status, OrderAction.START_PRODUCTION)


def mark_shipped(
    *, order_id: int, carrier: str, tracking_number: str, by_user_id: int | None
) -> Order:
    """Record the insured shipment and email the buyer the tracking number."""
    carrier, tracking_number = carrier.strip()[:60], tracking_number.strip()[:100]
    if not carrier or not tracking_number:
        raise InvalidTransition("Give the carrier and the tracking number.")
    order = _lock_order(order_id)
    if order.status not in ("paid", "in_production", "shipped"):
        db.session.rollback()
        raise InvalidTransition(f"A {order.status_label.lower()} order cannot be shipped.")
    if order.outstanding_minor > 0:
        db.session.rollback()
        raise InvalidTransition("The balance is still due; request it before shipping.")
    order.status = "shipped"
    order.carrier = carrier
    order.tracking_number = tracking_number
    order.shipped_at = utcnow()
    _event(order, "shipped", f"Shipped with {carrier}, tracking {tracking_number}", by_user_id)
    db.session.commit()
    notify(order, "order_shipped")
    return order


def mark_delivered(*, order_id: int, by_user_id: int | None) -> Order:
    order = _lock_order(order_id)
    if order.status != "shipped":
        db.session.rollback()
        raise InvalidTransition("Only a shipped order can be marked delivered.")
    order.status = "delivered"
    order.delivered_at = utcnow()
    _event(order, "delivered", "Delivered", by_user_id)
    db.session.commit()
    return order


def cancel_order(*, order_id: int, by_user_id: int | None, reason: str) -> Order:
    """Staff cancel an order that holds no money, returning its pieces to sale."""
    order = _lock_order(order_id)
    if order.status in ("shipped", "delivered", "cancelled"):
        db.session.rollback()
        raise InvalidTransition(f"A {order.status_label.lower()} order cannot be cancelled.")
    if order.paid_minor - order.refunded_minor > 0:
        db.session.rollback()
        raise InvalidTransition("Refund what was paid before cancelling.")
    if any(r.status == "pending" for r in order.refunds):
        db.session.rollback()
        raise InvalidTransition("A refund is still being processed.")
    now = utcnow()
    released = _release_pieces(order, now, restock_sold=True)
    intents = []
    for payment in order.payments:
        if payment.status == "pending":
            payment.status = "cancelled"
            if payment.provider_id:
                intents.append(payment.provider_id)
    order.status = "cancelled"
    order.cancel_reason = (reason.strip() or "Cancelled by the atelier")[:200]
    order.cancelled_at = now
    order.reserved_until = None
    _event(
        order,
        "cancelled",
        order.cancel_reason + (f"; returned to sale: {', '.join(released)}" if released else ""),
        by_user_id,
    )
    db.session.commit()
    _cancel_intents(intents)
    return order


# --- card payments ------------------------------------------------------------------------


OPEN_INTENT_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class CardPayment:
    """What the Payment Element page needs."""

    order: Order
    payment: Payment
    client_secret: str = field(repr=False)
    publishable_key: str
    ready: bool  # False when the intent is already processing/succeeded (nothing to enter)


def card_payment(*, order_id: int) -> CardPayment:
    """The pending card payment of an order, with its intent's client secret."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    expire_if_lapsed(order)
    pending = [p for p in order.payments if p.method == "stripe" and p.status == "pending"]
    if not pending or not payments.stripe_enabled():
        raise InvalidTransition("There is no card payment to make on this order.")
    payment = pending[-1]
    try:
        _open_intent(payment)
        info = payments.retrieve_payment_intent(payment.provider_id)
    except payments.PaymentProviderError as exc:
        db.session.rollback()
        raise PaymentError(str(exc)) from exc
    if info.amount_minor != payment.amount_minor:
        raise PaymentError("This payment no longer matches the order; please contact us.")
    return CardPayment(
        order=order,
        payment=payment,
        client_secret=info.client_secret,
        publishable_key=payments.publishable_key(),
        ready=info.status in OPEN_INTENT_STATUSES,
    )


def start_balance_payment(*, order_id: int, payment_method: str) -> Payment:
    """The buyer pays the requested balance of a custom order (card or bank transfer)."""
    method = _check_payment_method(payment_method)
    order = _lock_order(order_id)
    if order.balance_requested_at is None or order.outstanding_minor <= 0:
        db.session.rollback()
        raise InvalidTransition("No balance is due on this order yet.")
    if order.status not in ("deposit_paid", "in_production"):
        db.session.rollback()
        raise InvalidTransition("No balance can be paid on this order.")
    amount = order.outstanding_minor
    reusable = [
        p for p in _pending(order, "balance") if p.method == method and p.amount_minor == amount
    ]
    stale = [p for p in _pending(order, "balance") if p not in reusable]
    for payment in stale:
        payment.status = "cancelled"
    payment = (
        reusable[-1]
        if reusable
        else _new_payment(order, kind="balance", method=method, amount_minor=amount)
    )
    if method == "stripe":
        order.payment_method = "stripe"
    _event(order, "balance_started", f"Balance payment started ({method})")
    db.session.commit()
    _cancel_intents(p.provider_id for p in stale if p.provider_id)
    if method == "stripe":
        try:
            _open_intent(payment)
        except payments.PaymentProviderError as exc:
            raise PaymentError(str(exc)) from exc
    return payment


def handle_stripe_webhook(*, payload: bytes, signature_header: str) -> str:
    """Verify, record and process one Stripe event at most once; return what happened.

    Raises WebhookRejected for a bad signature or payload (answer 400, Stripe will not
    retry a forged event). A duplicate delivery returns "duplicate" and changes nothing.
    """
    try:
        event = payments.parse_webhook(payload=payload, signature_header=signature_header)
    except payments.InvalidWebhook as exc:
        raise WebhookRejected(str(exc)) from exc
    record = StripeEvent(
        event_id=event.id[:255], type=event.type[:100], object_id=event.object_id[:255]
    )
    db.session.add(record)
    try:
        # The UNIQUE event id is claimed before processing, in the same transaction: a
        # concurrent duplicate waits here for our commit and then fails.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    after: list[tuple[str, Any]] = []
    try:
        if event.type == "payment_intent.succeeded":
            record.outcome = _intent_succeeded(event, after)
        elif event.type == "payment_intent.payment_failed":
            record.outcome = _intent_failed(event, after)
        else:
            record.outcome = "ignored"
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    for action, arg in after:
        if action == "notify":
            notify(*arg)
        elif action == "refund":
            _execute_refund(arg)
        elif action == "cancel":
            _cancel_intents(arg)
    return record.outcome


def _payment_for_intent(event: payments.WebhookEvent) -> Payment | None:
    payment = db.session.execute(
        select(Payment).where(Payment.provider_id == event.object_id)
    ).scalar_one_or_none()
    if payment is None and event.metadata.get("payment_id", "").isdigit():
        # The intent was created but saving its id failed: the metadata still names it.
        candidate = db.session.get(Payment, int(event.metadata["payment_id"]))
        if (
            candidate is not None
            and candidate.provider_id is None
            and candidate.order.number == event.metadata.get("order_number")
        ):
            candidate.provider_id = event.object_id
            payment = candidate
    return payment


def _intent_succeeded(event: payments.WebhookEvent, after: list[tuple[str, Any]]) -> str:
    payment = _payment_for_intent(event)
    if payment is None:
        current_app.logger.warning("Stripe: succeeded for unknown intent %s", event.object_id)
        return "unknown payment intent"
    order = _lock_order(payment.order_id)
    db.session.refresh(payment)
    if payment.status == "succeeded":
        return "already paid"
    if event.amount_minor != payment.amount_minor or event.currency != payment.currency:
        current_app.logger.error(
            "Stripe: %s paid %s %s but payment %s expects %s %s",
            event.object_id,
            event.amount_minor,
            event.currency,
            payment.id,
            payment.amount_minor,
            payment.currency,
        )
        _event(order, "amount_mismatch", f"Intent {event.object_id} amount does not match")
        return "amount mismatch"
    now = utcnow()
    if not _payment_needed(order, payment):
        # Money arrived that the order no longer needs: paid twice (card after a recorded
        # transfer, or two browser tabs), or the atelier cancelled the order meanwhile.
        payment.status = "succeeded"
        payment.settled_at = now
        order.paid_minor += payment.amount_minor
        refund = _open_refund(
            order,
            payment,
            amount_minor=payment.amount_minor,
            reason="Payment not needed (already paid or order cancelled)",
            by_user_id=None,
        )
        _event(order, "unneeded_payment", f"Card payment {event.object_id} is refunded")
        after.append(("refund", refund.id))
        return "refunding unneeded payment"
    superseded = [
        p.provider_id for p in _pending(order, payment.kind) if p is not payment and p.provider_id
    ]
    if _settle(order, payment, now=now):
        after.append(("cancel", superseded))
        after.append(("notify", (order, "payment_received")))
        return "paid"
    # Paid after the reservation lapsed and the edition sold out meanwhile: give the money back.
    _release_pieces(order, now)
    refund = _open_refund(
        order,
        payment,
        amount_minor=payment.amount_minor,
        reason="Payment arrived after the reservation expired and the edition sold out",
        by_user_id=None,
    )
    order.status = "cancelled"
    order.cancel_reason = "Paid too late: the edition sold out; the payment is refunded."
    order.cancelled_at = now
    order.reserved_until = None
    _event(order, "late_payment", order.cancel_reason)
    after.append(("refund", refund.id))
    return "refunding late payment"


def _payment_needed(order: Order, payment: Payment) -> bool:
    if order.status in ("refunded", "draft") or (
        order.status == "cancelled" and order.cancel_reason != EXPIRED_REASON
    ):
        return False
    if payment.kind == "initial":
        return order.paid_minor < order.due_at_checkout_minor
    return order.outstanding_minor > 0


def _intent_failed(event: payments.WebhookEvent, after: list[tuple[str, Any]]) -> str:
    payment = _payment_for_intent(event)
    if payment is None:
        return "unknown payment intent"
    order = _lock_order(payment.order_id)
    db.session.refresh(payment)
    if payment.status != "pending":
        # e.g. a failure delivered after the success of a later attempt: nothing to undo.
        return f"ignored ({payment.status})"
    payment.status = "failed"
    payment.failure_message = event.failure_message or "The card was declined."
    is_current = order.status == "awaiting_payment" and payment.kind == "initial"
    if is_current:
        released = _release_pieces(order, utcnow())
        order.status = "payment_failed"
        order.reserved_until = None
        _event(
            order,
            "payment_failed",
            f"{payment.failure_message} Released: {', '.join(released) or '—'}",
        )
    else:
        _event(order, "payment_failed", payment.failure_message)
    return "payment failed"


# --- refunds ------------------------------------------------------------------------------


def _open_refund(
    order: Order, payment: Payment, *, amount_minor: int, reason: str, by_user_id: int | None
) -> Refund:
    refund = Refund(
        payment=payment,
        amount_minor=amount_minor,
        currency=payment.currency,
        reason=reason[:500],
        status="pending" if payment.method == "stripe" else "succeeded",
        by_user_id=by_user_id,
        created_at=utcnow(),
    )
    order.refunds.append(refund)
    # Counted at once, so two refunds racing cannot exceed what was paid; undone on failure.
    payment.refunded_minor += amount_minor
    order.refunded_minor += amount_minor
    if refund.status == "succeeded":
        _refund_done(order)
    db.session.flush()
    return refund


def _refund_done(order: Order) -> None:
    if order.paid_minor > 0 and order.refunded_minor >= order.paid_minor:
        order.status = "refunded"


def refund_payment(
    *,
    order_id: int,
    payment_id: int,
    amount_minor: int | None,
    reason: str,
    by_user_id: int | None,
) -> Refund:
    """Refund all (amount None) or part of a received payment; recorded on the order."""
    order = _lock_order(order_id)
    payment = next((p for p in order.payments if p.id == payment_id), None)
    if payment is None:
        db.session.rollback()
        raise OrderNotFound("No such payment on this order.")
    refundable = payment.refundable_minor
    amount = refundable if amount_minor is None else amount_minor
    if refundable <= 0:
        db.session.rollback()
        raise RefundError("Nothing is left to refund on this payment.")
    if amount <= 0 or amount > refundable:
        db.session.rollback()
        limit = Money(refundable, payment.currency).format()
        raise RefundError(f"A refund must be more than zero and at most {limit}.")
    refund = _open_refund(order, payment, amount_minor=amount, reason=reason, by_user_id=by_user_id)
    label = Money(amount, payment.currency).format()
    _event(order, "refund", f"Refund of {label}: {reason}", by_user_id)
    db.session.commit()
    if refund.status == "pending":
        _execute_refund(refund.id)
        db.session.refresh(refund)
        if refund.status == "failed":
            raise RefundError("The card refund failed; nothing was refunded. Try again later.")
    else:
        notify(order, "order_refunded", refund=refund)
    return refund


def _execute_refund(refund_id: int) -> None:
    """Ask Stripe to refund a pending refund (after commit); record the outcome."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != "pending":
        return
    try:
        info = payments.refund_payment_intent(
            intent_id=refund.payment.provider_id or "",
            amount_minor=refund.amount_minor,
            idempotency_key=f"diadem-refund-{refund.id}",
            metadata={"order_number": refund.order.number, "refund_id": str(refund.id)},
        )
    except payments.PaymentProviderError as exc:
        order = _lock_order(refund.order_id)
        db.session.refresh(refund)
        refund.status = "failed"
        refund.payment.refunded_minor -= refund.amount_minor
        order.refunded_minor -= refund.amount_minor
        _event(order, "refund_failed", f"Refund failed: {exc}")
        db.session.commit()
        return
    order = _lock_order(refund.order_id)
    db.session.refresh(refund)
    refund.status = "succeeded"
    refund.provider_id = info.id
    _refund_done(order)
    db.session.commit()
    notify(order, "order_refunded", refund=refund)


# --- custom commissions: revised prices and the balance -----------------------------------


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
        db.session.rollback()
        raise RevisionError("Only a custom commission's price can be revised.")
    if order.status not in ("draft", "deposit_paid", "in_production"):
        db.session.rollback()
        raise RevisionError(
            "Prices are revised before checkout (draft) or after the deposit is paid."
        )
    current = line.frozen_breakdown()
    if len(amounts_minor) != len(current.lines):
        db.session.rollback()
        raise RevisionError("Give an amount for every line of the breakdown.")
    if any(amount < 0 for amount in amounts_minor):
        db.session.rollback()
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
    breakdown = Breakdown(lines=tuple(new_lines), currency=cur)
    floor = line.deposit_minor if order.status != "draft" else 0
    if breakdown.total.minor < max(floor, 1):
        db.session.rollback()
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
    db.session.commit()
    notify(order, "price_revised", revision=revision, line=line)
    return revision


def accept_revision(*, order_id: int, revision_id: int) -> Order:
    """The buyer accepts a revised price: it becomes the line's breakdown; totals follow."""
    order = _lock_order(order_id)
    revision = db.session.get(PriceRevision, revision_id)
    if revision is None or revision.line.order_id != order.id:
        db.session.rollback()
        raise OrderNotFound("No such price revision.")
    if revision.accepted_at is not None or revision.withdrawn_at is not None:
        db.session.rollback()
        raise RevisionError("That price is no longer open for acceptance.")
    if order.status not in ("draft", "deposit_paid", "in_production"):
        db.session.rollback()
        raise RevisionError("This order's price can no longer change.")
    line = revision.line
    now = utcnow()
    revision.accepted_at = now
    line.breakdown = revision.breakdown
    line.breakdown_version = revision.version
    line.total_minor = revision.total_minor
    if order.status == "draft":
        percent = line.product.deposit_percent or 100
        line.deposit_minor = deposit_split(Money(revision.total_minor, order.currency), percent)[
            0
        ].minor
    _recompute_totals(order)
    _event(order, "price_accepted", f"{line.product_name}: price v{revision.version} accepted")
    db.session.commit()
    return order


def request_balance(*, order_id: int, by_user_id: int | None) -> Order:
    """Staff ask the buyer for a commission's balance; the buyer pays from the order page."""
    order = _lock_order(order_id)
    if order.status not in ("deposit_paid", "in_production"):
        db.session.rollback()
        raise InvalidTransition("The balance is requested after the deposit is paid.")
    if any(line.pending_revision for line in order.lines):
        db.session.rollback()
        raise InvalidTransition("The buyer has not accepted the revised price yet.")
    if order.outstanding_minor <= 0:
        db.session.rollback()
        raise InvalidTransition("Nothing is left to pay on this order.")
    order.balance_requested_at = utcnow()
    amount = Money(order.outstanding_minor, order.currency).format()
    _event(order, "balance_requested", f"Balance of {amount} requested", by_user_id)
    db.session.commit()
    notify(order, "balance_requested")
    return order


# --- staff lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentsOverview:
    awaiting_transfer: list[Order]
    balance_due: list[Order]
    failed_refunds: list[Refund]
    recent_payments: list[Payment]


def payments_overview() -> PaymentsOverview:
    awaiting = (
        select(Order)
        .where(Order.status == "awaiting_payment", Order.payment_method == "manual")
        .order_by(Order.reserved_until)
    )
    balance = (
        select(Order)
        .where(
            Order.status.in_(("deposit_paid", "in_production")),
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
                select(Refund).where(Refund.status.in_(("failed", "pending"))).limit(200)
            ).scalars()
        ),
        recent_payments=list(
            db.session.execute(
                select(Payment)
                .where(Payment.status == "succeeded")
                .order_by(Payment.settled_at.desc())
                .limit(50)
            ).scalars()
        ),
    )


# --- emails -------------------------------------------------------------------------------

SUBJECTS = {
    "order_placed": "Your Diadem order {number}: bank transfer details",
    "payment_received": "Payment received for Diadem order {number}",
    "order_shipped": "Your Diadem order {number} is on its way",
    "balance_requested": "The balance for your Diadem commission {number}",
    "price_revised": "A revised price for your Diadem commission {number}",
    "order_refunded": "A refund on your Diadem order {number}",
}


def notify(order: Order, template: str, **context: Any) -> None:
    """Email the buyer about their order; a mail failure is logged, never undoes the order."""
    try:
        send_mail(
            to=order.email,
            subject=SUBJECTS[template].format(number=order.number),
            template=template,
            order=order,
            link=order_url(order),
            bank=setting("BANK_TRANSFER_DETAILS"),
            **context,
        )
    except Exception:  # SMTP down, template bug: the order stands; staff can resend
        current_app.logger.exception("Could not send %s for order %s", template, order.number)
