"""Admins keep the metal rates current: a dated history, the catalogue repriced at once, orders
frozen at the price they were sold at; plain staff may look, not change."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from sqlalchemy import select, update

from app.catalog import rates
from app.catalog.models import Metal, MetalRateChange, Product, ProductStone, RateChange
from app.catalog.services import price_product
from app.checkout import services as checkout
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.support import item, make_shop, place
from tests.factories import reference_data
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
    assert "Rates" in page and "Only an admin can change a rate" in page
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


# ------------------------------------------------------------- the other rates, as a service


def _bench_history() -> list[RateChange]:
    return list(
        db.session.execute(
            select(RateChange).where(RateChange.subject == "bench").order_by(RateChange.id)
        ).scalars()
    )


def test_percentages_are_parsed_to_basis_points_exactly():
    assert rates.parse_percent("1.25") == 125
    assert rates.parse_percent(" 1.5 % ") == 150
    assert rates.parse_percent("0") == 0
    assert rates.parse_percent("100") == 10_000
    assert rates.parse_percent("0.01") == 1
    assert rates.parse_percent("33.33") == 3333
    for bad, message in (
        ("abc", "is not a percentage"),
        ("", "is not a percentage"),
        ("nan", "is not a percentage"),
        ("1.255", "more than 2 decimal places"),
        ("1e999999", "far too large"),
    ):
        with pytest.raises(ValueError, match=message):
            rates.parse_percent(bad)
    assert rates.format_value(rates.RateKind.INSURANCE, 125) == "1.25 %"
    assert rates.format_value(rates.RateKind.INSURANCE, 5) == "0.05 %"
    assert rates.input_text(rates.RateKind.INSURANCE, 150) == "1.50"
    assert rates.input_text(rates.RateKind.BENCH, 9_000) == "90.00"


def test_a_bad_amount_is_refused_naming_the_rate(app_ctx):
    make_shop()
    with pytest.raises(rates.RateError, match="The bench hourly rate: 'x' is not an amount"):
        rates.parse_value(rates.RateKind.BENCH, "x")
    with pytest.raises(rates.RateError, match="Diamond's price per stone: .* decimal places"):
        rates.parse_value(rates.RateKind.STONE, "1.001", code="DIAMOND")
    with pytest.raises(rates.RateError, match="18k yellow gold's price per gram"):
        rates.parse_value(rates.RateKind.METAL, "gold", code="yellow-gold")
    with pytest.raises(rates.RateError, match="The shipping insurance: '2,5' is not a percentage"):
        rates.parse_value(rates.RateKind.INSURANCE, "2,5")


def test_every_rate_is_in_one_table(app_ctx):
    make_shop()
    table = {(rate.kind, rate.code): rate for rate in rates.current_rates()}
    assert [kind for kind, _ in table] == [
        "metal",
        "metal",
        "metal",
        "metal",
        "metal",
        "stone",
        "bench",
        "certification",
        "shipping",
        "insurance",
    ]
    diamond = table["stone", "diamond"]
    assert (diamond.name, diamond.value, diamond.products, diamond.text) == (
        "Diamond",
        10_000,
        3,
        "$100.00",
    )
    assert table["bench", ""].text == "$90.00" and table["bench", ""].per == "an hour"
    assert table["certification", ""].value == 15_000
    assert table["shipping", ""].value == 6_000
    insurance = table["insurance", ""]
    assert (insurance.text, insurance.input_value) == ("1.00 %", "1.00")


def test_stone_kinds_compare_case_insensitively(app_ctx):
    shop = make_shop()
    with atomic():
        tiara = db.session.get(Product, shop.tiara_id)
        tiara.stones[0].kind = "Diamond"
        tiara.stones.append(ProductStone(kind="  DIAMOND ", count=2, unit_price_minor=25_000))
        tiara.stones.append(ProductStone(kind="Pearl", count=3, unit_price_minor=5_000))
    stones = [rate for rate in rates.current_rates() if rate.kind == "stone"]
    assert [(s.code, s.name, s.products, s.varies) for s in stones] == [
        ("diamond", "Diamond", 3, True),  # "diamond" twice, "Diamond" and "DIAMOND" once each
        ("pearl", "Pearl", 1, False),
    ]
    assert stones[0].text == "varies: $100.00 to $250.00"
    with atomic():
        changed = rates.set_rate(
            kind=rates.RateKind.STONE, code="DiAmOnD", value=12_345, by_user_id=None
        )
    assert (changed.name, changed.old_text, changed.products_repriced) == (
        "Diamond",
        "$100.00 to $250.00",
        3,
    )
    prices = db.session.execute(
        select(ProductStone.kind, ProductStone.unit_price_minor).order_by(ProductStone.id)
    ).all()
    assert all(price == 12_345 for kind, price in prices if "diamond" in kind.lower())
    assert ("Pearl", 5_000) in prices  # another kind keeps its price
    [change] = db.session.execute(select(RateChange)).scalars()
    assert (change.subject, change.code, change.old_value, change.new_value) == (
        "stone",
        "diamond",
        10_000,
        12_345,
    )
    assert change.note.startswith("Was $100.00 to $250.00 across products.")


def test_a_rate_products_disagree_on_is_set_once_for_all(app_ctx):
    shop = make_shop()
    with atomic():
        db.session.get(Product, shop.custom_id).labour_rate_per_hour_minor = 12_000
    bench = next(rate for rate in rates.current_rates() if rate.kind == "bench")
    assert bench.varies and bench.value is None and bench.input_value == ""
    assert bench.text == "varies: $90.00 to $120.00"
    with atomic():
        rates.set_rate(
            kind=rates.RateKind.BENCH, code="", value=10_000, by_user_id=None, note="new year"
        )
    assert set(db.session.execute(select(Product.labour_rate_per_hour_minor)).scalars()) == {10_000}
    [change] = _bench_history()
    assert (change.old_value, change.new_value) == (9_000, 10_000)
    assert change.note == "Was $90.00 to $120.00 across products. new year"
    bench = next(rate for rate in rates.current_rates() if rate.kind == "bench")
    assert (bench.varies, bench.value, bench.products) == (False, 10_000, 3)


def test_each_shop_wide_rate_sets_its_column_and_reprices(app_ctx):
    shop = make_shop()
    for kind, column, value in (
        ("bench", "labour_rate_per_hour_minor", 11_000),
        ("certification", "provenance_minor", 20_000),
        ("shipping", "shipping_minor", 0),  # free shipping is a real policy
        ("insurance", "insurance_bp", 125),
    ):
        list_before = db.session.get(Product, shop.crown_id).list_price_minor
        with atomic():
            changed = rates.set_rate(kind=kind, code="", value=value, by_user_id=None)
        assert changed.products_repriced == 3
        assert set(db.session.execute(select(getattr(Product, column))).scalars()) == {value}
        assert db.session.get(Product, shop.crown_id).list_price_minor != list_before, kind
    subjects = db.session.execute(
        select(RateChange.subject, RateChange.old_value, RateChange.new_value).order_by(
            RateChange.id
        )
    ).all()
    assert subjects == [
        ("bench", 9_000, 11_000),
        ("certification", 15_000, 20_000),
        ("shipping", 6_000, 0),
        ("insurance", 100, 125),
    ]
    crown = db.session.get(Product, shop.crown_id)
    breakdown = price_product(crown).breakdown
    assert crown.list_price_minor == breakdown.total.minor  # smallest size costs no more
    lines = {line.code: line for line in breakdown.lines}
    assert lines["provenance"].amount.minor == 20_000
    assert "× $110.00/h" in lines["labour"].detail


def test_absurd_or_unchanged_rates_are_refused_and_nothing_changes(app_ctx):
    make_shop()
    for kind, code, value, message in (
        ("bench", "", -1, "The bench hourly rate cannot be negative"),
        ("bench", "", 0, "The bench hourly rate must be more than nothing"),
        ("bench", "", 1_000_001, "at most $10,000.00"),
        ("certification", "", -100, "certification and provenance fee cannot be negative"),
        ("shipping", "", 100_000_001, "The flat shipping charge must be at most"),
        ("insurance", "", 10_001, "The shipping insurance must be at most 100.00 %"),
        ("insurance", "", -5, "The shipping insurance cannot be negative"),
        ("stone", "diamond", 0, "Diamond's price per stone must be more than nothing"),
        ("stone", "opal", 1_000, "No stones called 'opal'"),
        ("stone", "", 1_000, "No stones called ''"),
        ("metal", "yellow-gold", -1, "18k yellow gold's price per gram cannot be negative"),
        ("bench", "", 9_000, "Bench hourly rate is already at $90.00"),
        ("insurance", "", 100, "Shipping insurance is already at 1.00 %"),
        ("stone", "Diamond", 10_000, "Diamond is already at $100.00"),
        ("spice", "", 1, "No such rate"),
    ):
        with pytest.raises(rates.RateError, match=re.escape(message)), atomic():
            rates.set_rate(kind=kind, code=code, value=value, by_user_id=None)
    assert db.session.execute(select(RateChange)).first() is None


def test_a_shop_without_products_has_nothing_to_set(app_ctx):
    with atomic():
        reference_data()
    table = {rate.kind: rate for rate in rates.current_rates() if rate.kind != "metal"}
    assert set(table) == {"bench", "certification", "shipping", "insurance"}  # no stones
    assert table["bench"].text == "not used yet" and table["bench"].products == 0
    with pytest.raises(rates.RateError, match="no products"), atomic():
        rates.set_rate(kind="bench", code="", value=100, by_user_id=None)


def test_the_history_merges_every_rate_newest_first_on_the_studio_clock(app_ctx):
    make_shop()
    user_id = make_user(app_ctx, email="owner@example.com", role="admin", name="Owner")
    with atomic():
        rates.set_rate(kind="metal", code="silver", value=150, by_user_id=user_id, note="fix")
    with atomic():
        rates.set_rate(kind="insurance", code="", value=250, by_user_id=None, note="courier")
    with atomic():
        rates.set_rate(kind="stone", code="diamond", value=9_900, by_user_id=user_id)
    with atomic():
        # Dated by hand so the order and the studio's clock are known: summer in London.
        db.session.execute(update(MetalRateChange).values(changed_at=datetime(2026, 7, 1, 9, 0)))
        db.session.execute(
            update(RateChange)
            .where(RateChange.subject == "insurance")
            .values(changed_at=datetime(2026, 7, 1, 23, 30))
        )
        db.session.execute(
            update(RateChange)
            .where(RateChange.subject == "stone")
            .values(changed_at=datetime(2026, 1, 5, 8, 0))
        )
    history = rates.rate_history(zone="Europe/London")
    assert [(h.kind, h.name, h.old_text, h.new_text, h.changed_by) for h in history] == [
        ("insurance", "Shipping insurance", "1.00 %", "2.50 %", "the atelier"),
        ("metal", "Sterling silver", "$1.45", "$1.50", "Owner"),
        ("stone", "Diamond", "$100.00", "$99.00", "Owner"),
    ]
    # 23:30 UTC on 1 July is past midnight in London (BST); January is on GMT.
    assert history[0].local_at.strftime("%d %b %Y %H:%M %Z") == "02 Jul 2026 00:30 BST"
    assert history[2].local_at.strftime("%d %b %Y %H:%M %Z") == "05 Jan 2026 08:00 GMT"
    assert len(rates.rate_history(limit=2)) == 2


def test_the_history_says_from_what_spread_a_rate_was_set_for_all(app_ctx):
    shop = make_shop()
    with atomic():
        db.session.get(Product, shop.custom_id).shipping_minor = 9_000
    with atomic():
        rates.set_rate(kind="shipping", code="", value=7_000, by_user_id=None, note="courier")
    with atomic():
        rates.set_rate(kind="shipping", code="", value=7_500, by_user_id=None, note="Was it?")
    newer, older = rates.rate_history()
    assert (older.name, older.old_text, older.new_text, older.note) == (
        "Flat shipping charge",
        "$60.00 to $90.00",
        "$70.00",
        "courier",
    )
    assert (newer.old_text, newer.note) == ("$70.00", "Was it?")
