from __future__ import annotations

import re

import pytest

from app.common.caching import CSRF_PLACEHOLDER, pages
from tests.helpers import login, make_user

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cached(seeded):
    seeded.config["PAGE_CACHE_SECONDS"] = 30
    pages.clear()
    yield seeded
    pages.clear()


def test_guest_pages_are_served_from_cache_with_their_own_token(cached):
    first_client, second_client = cached.test_client(), cached.test_client()
    first = first_client.get("/shop/aurelia-crown")
    second = second_client.get("/shop/aurelia-crown")
    assert first.headers["X-Page-Cache"] == "miss"
    assert second.headers["X-Page-Cache"] == "hit"
    first_html, second_html = first.get_data(as_text=True), second.get_data(as_text=True)
    assert CSRF_PLACEHOLDER not in first_html + second_html
    first_token = TOKEN.search(first_html).group(1)
    second_token = TOKEN.search(second_html).group(1)
    assert first_token != second_token
    # The token a cache hit carries works for that visitor's own session.
    response = second_client.post(
        "/cart/items",
        data={
            "csrf_token": second_token,
            "product_id": "1",
            "metal": "yellow-gold",
            "size": "M",
            "quantity": "1",
        },
    )
    assert response.status_code == 302
    assert "Form expired" not in second_client.get("/cart").get_data(as_text=True)


def test_cached_page_is_stale_only_until_it_expires(cached):
    client = cached.test_client()
    client.get("/shop")
    assert client.get("/shop").headers["X-Page-Cache"] == "hit"
    cached.config["PAGE_CACHE_SECONDS"] = 0
    assert "X-Page-Cache" not in client.get("/shop").headers


def test_signed_in_visitors_messages_and_errors_are_never_cached(cached):
    make_user(cached)
    client = cached.test_client()
    login(client)
    assert "X-Page-Cache" not in client.get("/shop/aurelia-crown").headers
    guest = cached.test_client()
    notice = guest.get("/shop?kind=spaceship")
    assert notice.headers.get("X-Page-Cache") != "miss"  # it flashed a notice
    assert "Ignored the unknown kind" in guest.get("/shop?kind=spaceship").get_data(as_text=True)
    assert guest.get("/shop/aurelia-crown?size=XXL").status_code == 400
    assert guest.get("/shop/aurelia-crown?size=XXL").status_code == 400
