"""The header's cart count: how many pieces the visitor has in their cart, on every page."""

from __future__ import annotations

from typing import Any

from flask import request, session
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ColumnElement, bindparam, func, select

from app.accounts.sessions import signed_in_read
from app.checkout.models import Cart, CartLine
from app.checkout.services.cart import items_from_session
from app.extensions import db

GUEST_CART = "cart"  # the session key checkout.views keeps a guest's cart under
SIGN_IN_READ = "cart_pieces"  # the count's name among the sign-in check's reads


def pieces_in_saved_cart(user_id: Any) -> ColumnElement[int]:
    """Pieces in the saved cart of the user ``user_id`` (a column or a bound value)."""
    return (
        select(func.coalesce(func.sum(CartLine.quantity), 0))
        .join(Cart, Cart.id == CartLine.cart_id)
        .where(Cart.user_id == user_id)
        .scalar_subquery()
    )


# Built once; only when the count was not read with the sign-in check.
_PIECES_IN_SAVED_CART = select(pieces_in_saved_cart(bindparam("user_id")))


def cart_count() -> int:
    """Pieces in the visitor's cart: a signed-in buyer's saved cart or a guest's session cart."""
    if current_user.is_authenticated:
        # A GET changes no cart, so the count read with this request's sign-in check stands.
        if request.method in ("GET", "HEAD"):
            try:
                return signed_in_read(current_user, SIGN_IN_READ)
            except KeyError:
                pass
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
