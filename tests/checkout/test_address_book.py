"""A customer's delivery addresses: the account page lists those their orders went to, checkout
starts from the newest, and an order that has not shipped can be sent elsewhere (validated per
country; nothing saved when it is wrong)."""

from __future__ import annotations

import pytest

from app.checkout.models import Order
from app.domain.orders import OrderStatus
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, make_shop, order_number
from tests.helpers import csrf_token, login, make_user

US = {
    "address_line1": "1600 Main Street",
    "city": "Springfield",
    "region": "illinois",
    "postal_code": "62701",
    "country": "US",
}


@pytest.fixture
def shop(app):
    with app.app_context():
        return make_shop()


@pytest.fixture
def ordered(app, client, shop):
    """A signed-in customer with one order (the support form's London address): its number."""
    make_user(app)
    login(client)
    add_to_cart(client, shop.crown_id)
    return order_number(checkout(client))


def _order(app, number: str) -> Order:
    with app.app_context():
        return db.session.execute(db.select(Order).where(Order.number == number)).scalar_one()


def test_the_account_lists_the_address_and_checkout_starts_from_it(app, client, shop, ordered):
    page = client.get("/account").get_data(as_text=True)
    assert "1 Crown Lane<br>London<br>N1 1AA<br>United Kingdom" in page
    assert f"/account/orders/{ordered}/address" in page
    add_to_cart(client, shop.tiara_id)
    form = client.get("/checkout").get_data(as_text=True)
    assert 'value="1 Crown Lane"' in form and 'value="N1 1AA"' in form
    assert '<option selected value="GB">' in form


def test_an_unshipped_order_can_be_sent_elsewhere(app, client, ordered):
    url = f"/account/orders/{ordered}/address"
    bad = client.post(
        url, data={**US, "postal_code": "SW1A 1AA", "csrf_token": csrf_token(client, url)}
    )
    assert bad.status_code == 400
    assert "“SW1A 1AA” is not a ZIP code in United States" in bad.get_data(as_text=True)
    assert _order(app, ordered).country == "GB"
    done = client.post(url, data={**US, "csrf_token": csrf_token(client, url)})
    assert done.status_code == 302
    order = _order(app, ordered)
    assert (order.city, order.region, order.postal_code, order.country) == (
        "Springfield",
        "IL",
        "62701",
        "US",
    )
    page = client.get(f"/account/orders/{ordered}").get_data(as_text=True)
    assert "Springfield, IL 62701<br>United States" in page


def test_a_shipped_order_keeps_its_address_and_others_orders_are_not_found(app, client, ordered):
    url = f"/account/orders/{ordered}/address"
    with app.app_context():
        order = db.session.execute(db.select(Order).where(Order.number == ordered)).scalar_one()
        order.status = OrderStatus.SHIPPED.value
        db.session.commit()
    token = csrf_token(client, "/account")
    refused = client.post(url, data={**US, "csrf_token": token}, follow_redirects=True)
    assert "its delivery address can no longer change" in refused.get_data(as_text=True)
    assert _order(app, ordered).country == "GB"
    assert "Change the address" not in client.get("/account").get_data(as_text=True)
    client.get("/account/logout")
    make_user(app, email="other@example.com")
    login(client, email="other@example.com")
    assert client.get(url).status_code == 404
