"""The header on every page: the visitor's own cart count (even on a shared cached page) and a
favicon that exists."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_login import login_user
from sqlalchemy import event

from app.accounts.models import User
from app.extensions import db
from tests.helpers import login, make_user, recorded_statements

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
COUNT = re.compile(r'data-cart-count="(\d+)"')
PRODUCT = "/shop/aurelia-crown"


@pytest.fixture
def cached(seeded: Flask) -> Iterator[Flask]:
    seeded.config["PAGE_CACHE_SECONDS"] = 30
    yield seeded


def _add(client, quantity: int = 1, size: str = "M") -> None:
    token = TOKEN.search(client.get(PRODUCT).get_data(as_text=True)).group(1)
    response = client.post(
        "/cart/items",
        data={
            "csrf_token": token,
            "product_id": "1",
            "metal": "yellow-gold",
            "size": size,
            "quantity": str(quantity),
        },
    )
    assert response.status_code == 302


def _count(response) -> int | None:
    found = COUNT.search(response.get_data(as_text=True))
    return int(found.group(1)) if found else None


def test_each_guest_sees_their_own_count_on_one_cached_page(cached):
    empty, buyer = cached.test_client(), cached.test_client()
    assert _count(empty.get(PRODUCT)) is None  # renders the shared copy
    _add(buyer, quantity=2)
    buyer.get("/cart")  # shows (and clears) the "added" message: the next page may be shared

    page = buyer.get(PRODUCT)

    assert page.headers["X-Page-Cache"] == "hit"
    assert _count(page) == 2
    assert "> pieces in your cart<" in page.get_data(as_text=True)
    again = empty.get(PRODUCT)
    assert again.headers["X-Page-Cache"] == "hit"
    assert _count(again) is None
    assert "__diadem_fragment_" not in again.get_data(as_text=True)


def test_a_signed_in_buyer_sees_the_count_of_their_saved_cart(seeded):
    make_user(seeded, email="header@example.com")
    client = seeded.test_client()
    login(client, "header@example.com")
    _add(client, quantity=1, size="M")
    _add(client, quantity=1, size="L")

    assert _count(client.get("/")) == 2
    assert "> piece in your cart" not in client.get("/").get_data(as_text=True)


def test_every_page_names_an_icon_that_is_served(seeded):
    client = seeded.test_client()
    html = client.get("/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)

    with client.get(icon) as response:
        assert response.status_code == 200
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_a_signed_in_page_from_the_cache_costs_one_statement(cached):
    # The sign-in check reads the cart count in the same statement, outside any transaction:
    # no BEGIN, no ROLLBACK, one round trip to the database for the whole page.
    make_user(cached, email="one@example.com")
    client = cached.test_client()
    login(client, "one@example.com")
    _add(client, quantity=1)
    client.get("/cart")  # shows (and clears) the "added" message
    client.get(PRODUCT)  # the shared copy, rendered if nobody has yet
    with cached.app_context():
        engine = db.engine
    isolation: list[str | None] = []

    def note_isolation(connection, *args) -> None:
        isolation.append(connection.get_execution_options().get("isolation_level"))

    event.listen(engine, "before_cursor_execute", note_isolation)
    try:
        with recorded_statements(cached) as statements:
            page = client.get(PRODUCT)
    finally:
        event.remove(engine, "before_cursor_execute", note_isolation)
    assert page.headers["X-Page-Cache"] == "hit"
    assert _count(page) == 1
    assert "/account/logout" in page.get_data(as_text=True)
    assert len(statements) == 1, statements
    assert "login_sessions" in statements[0] and "cart_lines" in statements[0]
    assert isolation == ["AUTOCOMMIT"]  # no transaction to begin and roll back


def test_a_post_counts_the_cart_afresh(seeded):
    # A POST may change the cart after the sign-in check read it: its page counts again.
    from app.checkout.cart_badge import SIGN_IN_READ, cart_count

    user_id = make_user(seeded, email="post@example.com")
    client = seeded.test_client()
    login(client, "post@example.com")
    _add(client, quantity=2)
    with seeded.test_request_context("/cart/items", method="POST"):
        signed = db.session.get(User, user_id)
        signed.sign_in_reads = {SIGN_IN_READ: 0}
        login_user(signed)
        assert cart_count() == 2
    with seeded.test_request_context("/shop", method="GET"):
        signed = db.session.get(User, user_id)
        signed.sign_in_reads = {SIGN_IN_READ: 7}
        login_user(signed)
        assert cart_count() == 7  # a GET trusts the count read with its sign-in check
