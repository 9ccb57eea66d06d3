"""The header's cart count: how many pieces the visitor has in their cart, on every page."""

from __future__ import annotations

from flask import session
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import bindparam, func, select

from app.checkout.models import Cart, CartLine
from app.checkout.services.cart import items_from_session
from app.extensions import db

GUEST_CART = "cart"  # the session key checkout.views keeps a guest's cart under

# Run on every page a signed-in buyer opens: built once, a plain number read without the ORM.
_PIECES_IN_SAVED_CART = (
    select(func.coalesce(func.sum(CartLine.quantity), 0))
    .join(Cart, Cart.id == CartLine.cart_id)
    .where(Cart.user_id == bindparam("user_id"))
)


def cart_count() -> int:
    """Pieces in the visitor's cart: a signed-in buyer's saved cart or a guest's session cart."""
    if current_user.is_authenticated:
        connection = db.session.connection()
        return connection.execute(_PIECES_IN_SAVED_CART, {"user_id": current_user.id}).scalar_one()
    return sum(item.quantity for item in items_from_session(session.get(GUEST_CART)))


def cart_badge() -> Markup:
    """The count as the header shows it; nothing when the cart is empty."""
    count = cart_count()
    if not count:
        return Markup("")
    noun = "piece" if count == 1 else "pieces"
    return Markup(
        '<span class="cart-count" data-cart-count="{n}">{n}'
        '<span class="visually-hidden"> {noun} in your cart</span></span>'
    ).format(n=count, noun=noun)
