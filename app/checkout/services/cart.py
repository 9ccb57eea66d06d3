"""Carts: a signed-in buyer's saved cart or a guest's session cart, priced from the catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.catalog.models import Metal, Product
from app.catalog.reservations import free_piece_count
from app.catalog.services import UnknownOption, price_product
from app.checkout import capacity as bench_capacity
from app.checkout.models import MAX_LINE_QUANTITY, Cart, CartLine
from app.checkout.services.errors import CartError, CheckoutError, SoldOut
from app.checkout.services.holds import check_hold_limit, hold_room, studio_editions
from app.checkout.services.settings import setting
from app.common.visitors import Buyer
from app.domain.clock import utcnow
from app.domain.money import Money
from app.domain.pricing import Breakdown, deposit_split
from app.extensions import db


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
    # Who else the buyer is known as, for the per-buyer hold limit: the account's address
    # and the browser session's visitor key (app.common.visitors).
    email: str = ""
    session_key: str = ""

    def buyer(self, *, email: str | None = None) -> Buyer:
        return Buyer(
            user_id=self.user_id,
            email=self.email if email is None else email,
            session_key=self.session_key,
        )


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
    """Save a signed-in buyer's cart (the caller keeps a guest's in the session)."""
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
    return items


def _check_quantity(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise CartError("Choose how many pieces you would like.")
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise CartError(f"Choose between 1 and {MAX_LINE_QUANTITY} pieces.")
    return quantity


def _check_on_sale(product: Product | None) -> None:
    """Only a published product can be bought: a draft is staff's (and not named to buyers), a
    retired one is no longer offered, whatever a crafted request or an old cart says."""
    if product is not None and product.is_retired:
        raise CartError(f"{product.name} is no longer offered, so it cannot be ordered.")
    if product is None or not product.is_published:
        raise CartError("That piece is no longer in the shop.")


def _checked_option(item: CartItem) -> tuple[Product, Metal, CartItem, int | None]:
    """Check an item's piece and options against the catalogue; return them with how many
    numbered pieces are free (None: made to order). SoldOut when none is free."""
    _check_quantity(item.quantity)
    product = db.session.get(Product, item.product_id)
    _check_on_sale(product)
    try:
        priced = price_product(product, size_code=item.size_code, metal_code=item.metal_code)
    except UnknownOption as exc:
        raise CartError(str(exc)) from exc
    item = CartItem(product.id, priced.metal.code, priced.size.code, item.quantity)
    free = None
    if product.is_studio:
        free = free_piece_count(product_id=product.id, metal_id=priced.metal.id)
        if free == 0:
            raise SoldOut(f"{product.name} in {priced.metal.name} is sold out.")
    return product, priced.metal, item, free


def _only_left(free: int, product: Product, metal: Metal) -> str:
    pieces = "piece" if free == 1 else "pieces"
    verb = "is" if free == 1 else "are"
    return f"Only {free} numbered {pieces} of {product.name} in {metal.name} {verb} left"


def _validated_item(item: CartItem) -> tuple[Product, Metal, CartItem]:
    """Check an item against the catalogue and stock; return it with its product and metal."""
    product, metal, item, free = _checked_option(item)
    if free is not None and item.quantity > free:
        raise SoldOut(f"{_only_left(free, product, metal)}; choose {free} or fewer.")
    return product, metal, item


@dataclass(frozen=True)
class CartAddition:
    """What adding to the cart did: the cart as it now is, how many pieces were asked for and
    how many went in (fewer when fewer numbered pieces were left)."""

    items: list[CartItem]
    asked: int
    added: int
    notice: str = ""  # for the buyer, when fewer went in than were asked for

    @property
    def is_short(self) -> bool:
        return self.added < self.asked


def add_to_cart(
    *, owner: CartOwner, product_id: int, metal_code: str, size_code: str, quantity: int = 1
) -> CartAddition:
    """Add pieces to the cart (adding to an existing line); return what was added.

    Asking for more numbered pieces than are left adds the ones that are left and says so;
    none left raises SoldOut. Only a published product can be added: a draft is staff's (and
    not named to buyers), a retired one is no longer offered, whatever a crafted request says.
    The count is a courtesy: pieces are claimed under row locks only when the order is placed.
    """
    _check_quantity(quantity)
    items = cart_items(owner=owner)
    product, metal, wanted, free = _checked_option(
        CartItem(product_id, metal_code, size_code, quantity)
    )
    in_cart = next((item.quantity for item in items if item.key == wanted.key), 0)
    if in_cart + quantity > MAX_LINE_QUANTITY:
        raise CartError(
            f"At most {MAX_LINE_QUANTITY} of one piece per order; "
            f"you already have {in_cart} in your cart."
        )
    added, notice = quantity, ""
    if free is not None and in_cart + quantity > free:
        added = free - in_cart
        if added <= 0:
            raise SoldOut(
                f"{_only_left(free, product, metal)}, and your cart already holds "
                f"{'it' if free == 1 else 'them'}."
            )
        notice = f"{_only_left(free, product, metal)}: we added {added}"
        notice += f", so your cart holds all {free}." if in_cart else "."
    if free is not None:
        added, notice = _within_hold_limit(owner, items, product, metal, added, notice)
    merged = [
        CartItem(item.product_id, item.metal_code, item.size_code, in_cart + added)
        if item.key == wanted.key
        else item
        for item in items
    ]
    if not in_cart:
        merged.append(CartItem(wanted.product_id, wanted.metal_code, wanted.size_code, added))
    _check_holds(owner, merged)
    return CartAddition(items=_store(owner, merged), asked=quantity, added=added, notice=notice)


def _within_hold_limit(
    owner: CartOwner, items: list[CartItem], product: Product, metal: Metal, added: int, notice: str
) -> tuple[int, str]:
    """Add no more than the buyer may hold of this edition, and say so; with no room left at
    all, _check_holds refuses the cart with the rule's own message."""
    in_cart = sum(
        item.quantity
        for item in items
        if item.product_id == product.id and item.metal_code == metal.code
    )
    room = hold_room(owner.buyer(), (product.id, metal.id), now=utcnow()) - in_cart
    if 0 < room < added:
        limit = int(setting("EDITION_HOLD_LIMIT"))
        plural = "piece" if limit == 1 else "pieces"
        return room, (
            f"So that every collector has a chance, one buyer may reserve at most {limit} "
            f"{plural} of {product.name} in {metal.name}: we added {room}."
        )
    return added, notice


def _check_holds(owner: CartOwner, items: list[CartItem]) -> None:
    """Refuse a cart that would take the buyer past the per-buyer hold limit at checkout."""
    metals = {m.code: m.id for m in db.session.execute(select(Metal)).scalars()}
    studio = []
    for item in items:
        product = db.session.get(Product, item.product_id)
        if product is not None and product.is_studio and item.metal_code in metals:
            studio.append((item.product_id, metals[item.metal_code], item.quantity))
    check_hold_limit(owner.buyer(), studio_editions(studio), now=utcnow())


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
    _check_holds(owner, updated)
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
            added = add_to_cart(
                owner=owner,
                product_id=item.product_id,
                metal_code=item.metal_code,
                size_code=item.size_code,
                quantity=item.quantity,
            )
        except CheckoutError as exc:  # raised before anything is written: nothing to undo
            notices.append(str(exc))
        else:
            if added.notice:
                notices.append(added.notice)
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
    """When the atelier promises to ship: studio pieces within days; commissions at the late end
    of their window behind the bench queue (app.checkout.capacity), or after their fixed lead
    time when no window can be computed."""
    products = list(products)
    days = 0
    queued_weeks = bench_capacity.promised_weeks(products, today=today)
    for product in products:
        if product.is_custom:
            weeks = queued_weeks if queued_weeks is not None else product.lead_time_weeks
            days = max(days, 7 * (weeks or 0))
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
        if product is None or not product.is_published:
            name = product.name if product is not None and product.is_retired else "A piece"
            problems.append(f"{name} in your cart is no longer offered and was left out.")
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
