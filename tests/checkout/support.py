"""Helpers for the checkout tests: a small shop, cart and checkout through the test client."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from flask.testing import FlaskClient

from app.checkout import services
from app.common.transactions import atomic
from tests.helpers import csrf_token

DETAILS = services.ShippingDetails(
    email="bea@example.com",
    name="Bea Buyer",
    address_line1="1 Crown Lane",
    city="London",
    postal_code="N1 1AA",
    country="GB",
)

CHECKOUT_FORM = {
    "email": "bea@example.com",
    "name": "Bea Buyer",
    "address_line1": "1 Crown Lane",
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "GB",
    "payment_method": "manual",
    "accept_policy": "y",
}

ORDER_URL = re.compile(r"/account/orders/(DIA-[A-Z0-9]{6})")


@dataclass(frozen=True)
class Shop:
    crown_id: int  # studio, yellow gold, edition of 10 with 7 sold: 08, 09, 10 free
    tiara_id: int  # studio, yellow gold and silver, editions of 10, all free
    custom_id: int  # custom tier, 40 % deposit, 8 weeks


def make_shop() -> Shop:
    """Create the test shop (inside an app context)."""
    from tests.factories import make_product

    crown = make_product("test-crown", edition_size=10, sold=7)
    tiara = make_product("test-tiara", kind="tiara", metals=("yellow-gold", "silver"))
    custom = make_product("test-bespoke", tier="custom")
    return Shop(crown_id=crown.id, tiara_id=tiara.id, custom_id=custom.id)


def item(product_id: int, metal: str = "yellow-gold", size: str = "M", quantity: int = 1):
    return services.CartItem(product_id, metal, size, quantity)


def guest(*items: services.CartItem) -> services.CartOwner:
    return services.CartOwner(guest_items=tuple(items))


_buyers = itertools.count(1)


def place(
    *items: services.CartItem,
    method: str = "manual",
    user_id: int | None = None,
    email: str | None = None,
):
    """Place an order for these cart items as a guest (or for user_id's saved cart).

    Each call is a different buyer (its own address) unless ``email`` says otherwise, so the
    per-buyer hold limit only speaks in the tests about it.
    """
    owner = services.CartOwner(user_id=user_id) if user_id else guest(*items)
    details = replace(DETAILS, email=email or f"buyer{next(_buyers)}@example.com")
    with atomic():
        return services.place_order(
            owner=owner, details=details, payment_method=method, policy_accepted=True
        )


def add_to_cart(
    client: FlaskClient,
    product_id: int,
    *,
    metal: str = "yellow-gold",
    size: str = "M",
    quantity: object = 1,
    extra: dict | None = None,
):
    token = csrf_token(client, "/account/login")
    data = {"csrf_token": token, "product_id": product_id, "metal": metal, "size": size}
    data["quantity"] = quantity
    data.update(extra or {})
    return client.post("/cart/items", data=data, follow_redirects=True)


def checkout(client: FlaskClient, **overrides):
    token = csrf_token(client, "/checkout")
    data = {**CHECKOUT_FORM, "csrf_token": token, **overrides}
    return client.post("/checkout", data={k: v for k, v in data.items() if v is not None})


def order_number(response) -> str:
    match = ORDER_URL.search(response.headers.get("Location", "") or response.get_data(True))
    assert match, "no order link in the response"
    return match.group(1)
