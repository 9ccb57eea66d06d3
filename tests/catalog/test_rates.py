"""Admins keep the metal rates current: a dated history, the catalogue repriced at once, orders
frozen at the price they were sold at; plain staff may look, not change."""

from __future__ import annotations

import html

from sqlalchemy import select

from app.catalog.models import Metal, MetalRateChange, Product
from app.catalog.services import price_product
from app.checkout import services as checkout
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.support import item, make_shop, place
from tests.helpers import csrf_token, login, make_user


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _client(app, email: str, role: str):
    make_user(app, email=email, role=role, name=role.capitalize())
    client = app.test_client()
    login(client, email=email)
    return client


def _set(client, metal: str, rate: str, note: str = ""):
    token = csrf_token(client, "/staff/catalog/rates")
    return client.post(
        "/staff/catalog/rates",
        data={"csrf_token": token, "metal": metal, "rate": rate, "note": note},
    )


def test_an_admin_changes_a_rate_and_the_catalogue_is_repriced_but_orders_are_not(app):
    with app.app_context():
        shop = make_shop()
        before = price_product(db.session.get(Product, shop.tiara_id), metal_code="yellow-gold")
        order = place(item(shop.tiara_id))
        sold_total = order.total_minor
        # The crown is made in yellow gold only: its "from" price follows the rate.
        list_before = db.session.get(Product, shop.crown_id).list_price_minor
        old_rate = db.session.execute(
            select(Metal.rate_per_gram_minor).where(Metal.code == "yellow-gold")
        ).scalar_one()
    admin = _client(app, "owner@example.com", "admin")
    response = _set(admin, "yellow-gold", "99.50", "the morning fix")
    assert response.status_code == 302
    page = text(admin.get("/staff/catalog/rates"))
    assert "$99.50 a gram" in page and "the morning fix" in page and "Admin" in page
    with app.app_context():
        metal = db.session.execute(select(Metal).where(Metal.code == "yellow-gold")).scalar_one()
        assert metal.rate_per_gram_minor == 9950
        [change] = db.session.execute(select(MetalRateChange)).scalars()
        assert (change.old_rate_minor, change.new_rate_minor) == (old_rate, 9950)
        product = db.session.get(Product, shop.tiara_id)
        after = price_product(product, metal_code="yellow-gold")
        assert after.breakdown.total != before.breakdown.total
        assert (
            sum(line.amount.minor for line in after.breakdown.lines) == after.breakdown.total.minor
        )
        crown = db.session.get(Product, shop.crown_id)
        assert crown.list_price_minor > list_before  # the catalogue's sort/filter price too
        assert checkout.get_order_by_number(order.number).total_minor == sold_total
    assert "$99.50" not in text(app.test_client().get(f"/account/orders/{order.number}"))


def test_plain_staff_see_the_rates_but_cannot_change_them(app):
    with app.app_context():
        make_shop()
    staff = _client(app, "bench@example.com", "staff")
    page = text(staff.get("/staff/catalog/rates"))
    assert "Metal rates" in page and "Only an admin can change a rate" in page
    assert 'name="rate"' not in page
    assert _set(staff, "yellow-gold", "1.00").status_code == 403
    customer = _client(app, "buyer@example.com", "customer")
    assert customer.get("/staff/catalog/rates").status_code == 403
    assert app.test_client().get("/staff/catalog/rates").status_code == 302


def test_bad_rates_are_refused_with_a_message(app):
    with app.app_context():
        make_shop()
    admin = _client(app, "owner@example.com", "admin")
    for metal, rate, message in (
        ("yellow-gold", "abc", "is not an amount of money"),
        ("yellow-gold", "0", "more than nothing"),
        ("yellow-gold", "1e999999", "far too large"),
        ("yellow-gold", "1.005", "decimal places"),
        ("unobtainium", "10.00", "No such metal"),
    ):
        response = _set(admin, metal, rate)
        assert response.status_code == 400, rate
        assert message in text(response), rate
    with app.app_context(), atomic():
        assert db.session.execute(select(MetalRateChange)).first() is None
