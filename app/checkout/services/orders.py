"""Placing orders: from the cart, from a consultation draft, retrying payment; reading them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.catalog.models import Metal, Product
from app.catalog.services import UnknownOption, price_product
from app.checkout import payments
from app.checkout.models import Order, OrderLine, Payment, PaymentStatus, PriceRevision
from app.checkout.services import care_plans
from app.checkout.services.cart import (
    CartOwner,
    _user_cart,
    _validated_item,
    cart_items,
    promised_ship_date,
)
from app.checkout.services.errors import (
    CartError,
    CheckoutError,
    InvalidTransition,
    OrderNotFound,
    PaymentError,
    SoldOut,
)
from app.checkout.services.expiry import expire_if_lapsed
from app.checkout.services.holds import (
    buyer_of,
    check_hold_limit,
    lock_buyer,
    studio_editions,
)
from app.checkout.services.links import email_confirm_url, number_for_token
from app.checkout.services.notifications import notify
from app.checkout.services.pieces import _hold_until, _release_pieces, _reserve_lines
from app.checkout.services.records import (
    _event,
    _lock_order,
    _move,
    _new_payment,
    _pending,
    _recompute_totals,
    _unused_order_number,
    freeze_breakdown,
)
from app.common.transactions import atomic, on_commit
from app.common.visitors import email_key
from app.domain.clock import utcnow
from app.domain.orders import OrderAction, OrderStatus
from app.domain.pricing import Breakdown, deposit_split
from app.extensions import db


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
    order.email_key = email_key(order.email)
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


def place_order(
    *,
    owner: CartOwner,
    details: ShippingDetails,
    payment_method: str,
    policy_accepted: bool,
    care_plan_id: object = None,
) -> Order:
    """Turn the cart into an order: price it, reserve numbered pieces, open the payment.

    ``care_plan_id`` (optional) adds that care plan to every piece, as its own breakdown
    line; a plan that is not offered raises CarePlanError before anything is written.

    Raises CartError (empty cart, unknown piece), HoldLimitReached (the buyer would hold
    more of an edition than one buyer may), SoldOut (a run ran out: nothing is reserved),
    PaymentError (method unavailable; or, after the commit, Stripe unreachable: the order is
    then cancelled and its pieces released).
    """
    if not policy_accepted:
        raise CheckoutError("Please accept the returns and repairs policy.")
    method = _check_payment_method(payment_method)
    plan = care_plans.chosen_plan(care_plan_id)
    items = cart_items(owner=owner)
    if not items:
        raise CartError("Your cart is empty.")
    buyer = owner.buyer(email=details.email)
    lock_buyer(buyer)  # first of checkout's locks: see holds.py
    now = utcnow()
    order = Order(
        number=_unused_order_number(),
        user_id=owner.user_id,
        session_key=owner.session_key or None,
        status=OrderStatus.AWAITING_PAYMENT,
        payment_method=method,
        created_at=now,
        placed_at=now,
        policy_accepted_at=now,
        # An account holder's address is the account's; a guest confirms theirs by email.
        email_confirmed_at=now if owner.user_id is not None else None,
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
            breakdown = care_plans.with_plan(priced.breakdown, plan)
            for _ in range(item.quantity):
                line = _order_line(product, metal, priced.size.code, breakdown, now)
                if plan is not None:
                    care_plans.freeze_plan(line, plan)
                order.lines.append(line)
        check_hold_limit(buyer, _studio_pieces(order), now=now)
        db.session.add(order)
        order.reserved_until = _hold_until(order, now)
        _reserve_lines(order, now)
        order.promised_ship_date = promised_ship_date(products=products, today=now.date())
        _recompute_totals(order)
        _new_payment(order, kind="initial", method=method, amount_minor=order.due_at_checkout_minor)
        _event(order, "placed", _placed_message(order))
        if owner.user_id is not None:
            cart = _user_cart(owner.user_id, create=False)
            if cart is not None:
                cart.lines.clear()
        db.session.flush()  # the one-live-line-per-piece index speaks here
    except IntegrityError as exc:
        # The session must be rolled back: the SoldOut leaves the caller's atomic() block.
        current_app.logger.warning("Order not placed: %s", exc)
        raise SoldOut("Those pieces were just taken by another buyer; please try again.") from exc
    _after_opening(order)
    return order


def _studio_pieces(order: Order) -> Counter[tuple[int, int]]:
    """The numbered pieces the order's studio lines will hold, per edition."""
    return studio_editions(
        (line.product_id, line.metal_id, 1) for line in order.lines if not line.is_custom
    )


def _placed_message(order: Order) -> str:
    pieces = ", ".join(
        f"{line.product_name} {line.piece_label}".strip() for line in order.lines if line.piece_id
    )
    return f"Order placed ({order.payment_method})" + (f"; reserved {pieces}" if pieces else "")


def _after_opening(order: Order) -> None:
    """Once the order (or a retry) commits, open its card payment; or email instructions."""
    if order.payment_method == "stripe":
        payment = _pending(order, "initial")[-1]
        db.session.flush()  # the payment's id names the intent
        order_id, payment_id = order.id, payment.id
        on_commit(lambda: _start_card_payment(order_id, payment_id))
    elif order.email_confirmed_at is None and order.reserved_until is not None:
        notify(order, "order_placed", confirm_link=email_confirm_url(order))
    else:
        notify(order, "order_placed")


def _start_card_payment(order_id: int, payment_id: int) -> None:
    """Open the committed order's PaymentIntent; if Stripe fails, cancel the order."""
    try:
        with atomic():  # no row is locked while Stripe answers
            _open_intent(db.session.get_one(Payment, payment_id))
    except payments.PaymentProviderError as exc:
        with atomic():
            _abandon(order_id, reason=f"Card payment could not start: {exc}")
        raise PaymentError(
            "Card payments are unavailable right now; your pieces were released. "
            "Please try again, or choose bank transfer."
        ) from exc


def _open_intent(payment: Payment) -> None:
    """Create the Stripe PaymentIntent for a committed pending payment and save its id."""
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


def _abandon(order_id: int, *, reason: str) -> None:
    order = _lock_order(order_id)
    _release_pieces(order, utcnow())
    for payment in order.payments:
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.CANCELLED
    _move(order, OrderAction.CANCEL)
    order.cancel_reason = reason[:200]
    order.cancelled_at = utcnow()
    order.reserved_until = None
    _event(order, "cancelled", reason)


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
        status=OrderStatus.DRAFT,
        payment_method="manual",
        currency=priced.breakdown.currency,
        created_at=now,
    )
    order.lines.append(_order_line(product, priced.metal, priced.size.code, priced.breakdown, now))
    order.promised_ship_date = promised_ship_date(products=[product], today=now.date())
    _recompute_totals(order)
    _event(order, "draft", "Draft prepared from a consultation")
    db.session.add(order)
    db.session.flush()  # the caller (booking) links the draft by its id
    return order


def complete_draft(
    *,
    order_id: int,
    details: ShippingDetails,
    payment_method: str,
    policy_accepted: bool,
    care_plan_id: object = None,
) -> Order:
    """The buyer completes a drafted commission: address, policy, an optional care plan (on
    every piece, priced on the commission as drafted and following later revisions), and
    the deposit payment."""
    if not policy_accepted:
        raise CheckoutError("Please accept the returns and repairs policy.")
    method = _check_payment_method(payment_method)
    plan = care_plans.chosen_plan(care_plan_id)
    order = _lock_order(order_id)
    if order.status != OrderStatus.DRAFT:
        raise InvalidTransition("This order has already been placed.")
    if any(line.pending_revision for line in order.lines):
        raise InvalidTransition("Please accept or discuss the revised price first.")
    now = utcnow()
    _apply_details(order, details)
    _move(order, OrderAction.COMPLETE_DRAFT)
    order.payment_method = method
    order.placed_at = now
    order.policy_accepted_at = now
    order.promised_ship_date = promised_ship_date(
        products=[line.product for line in order.lines], today=now.date()
    )
    if plan is not None:
        care_plans.add_plan_to_draft(order, plan)
        _recompute_totals(order)
    _new_payment(order, kind="initial", method=method, amount_minor=order.due_at_checkout_minor)
    _event(order, "placed", _placed_message(order))
    _after_opening(order)
    return order


def retry_payment(*, order_id: int, payment_method: str) -> Order:
    """Try again after a failed card payment or a lapsed reservation: reserve pieces anew.

    Renewing counts against the per-buyer hold limit like a new order.
    """
    method = _check_payment_method(payment_method)
    unlocked = db.session.get(Order, order_id)
    if unlocked is None:
        raise OrderNotFound("No such order.")
    lock_buyer(buyer_of(unlocked))  # buyer names before the order row (see holds.py)
    order = _lock_order(order_id)
    if not order.can_retry_payment:
        raise InvalidTransition("This order cannot be paid again.")
    now = utcnow()
    check_hold_limit(buyer_of(order), _studio_pieces(order), now=now, exclude_order_id=order.id)
    order.payment_method = method
    order.reserved_until = _hold_until(order, now)
    _reserve_lines(order, now)
    for payment in _pending(order, "initial"):
        payment.status = PaymentStatus.CANCELLED
    _new_payment(order, kind="initial", method=method, amount_minor=order.due_at_checkout_minor)
    _move(order, OrderAction.RETRY)
    order.cancel_reason = ""
    order.cancelled_at = None
    _event(order, "retry", f"Payment retried ({method})")
    _after_opening(order)
    return order


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
