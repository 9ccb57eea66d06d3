"""The rates page: one table of every rate (metals, stones, bench, certification, shipping,
insurance), set by admins through the page with a dated history; each change reprices the shop
at once, guests' cached pages follow, and orders keep what they were sold at."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.catalog.models import Metal, MetalRateChange, Product, ProductStone, RateChange
from app.checkout import services as checkout
from app.extensions import db
from tests.checkout.support import item, make_shop, place
from tests.conftest import POSTGRES_URL
from tests.helpers import csrf_token, login, make_user, race

RATES = "/staff/catalog/rates"
TOTAL = re.compile(r'data-total-minor="(\d+)"')


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _client(app: Flask, email: str, role: str):
    make_user(app, email=email, role=role, name=role.capitalize())
    client = app.test_client()
    login(client, email=email)
    return client


def _post(client, kind: str, code: str, rate: str, note: str = "", *, token: bool = True):
    data = {"kind": kind, "code": code, "rate": rate, "note": note}
    if token:
        data["csrf_token"] = csrf_token(client, RATES)
    return client.post(RATES, data=data)


def _state() -> dict[str, object]:
    """Every figure a rate change could touch, to show that a refused one touched none."""
    return {
        "metals": db.session.execute(
            select(Metal.code, Metal.rate_per_gram_minor).order_by(Metal.id)
        ).all(),
        "products": db.session.execute(
            select(
                Product.id,
                Product.labour_rate_per_hour_minor,
                Product.provenance_minor,
                Product.shipping_minor,
                Product.insurance_bp,
                Product.list_price_minor,
            ).order_by(Product.id)
        ).all(),
        "stones": db.session.execute(
            select(ProductStone.id, ProductStone.kind, ProductStone.unit_price_minor).order_by(
                ProductStone.id
            )
        ).all(),
        "history": db.session.execute(select(RateChange.id)).all()
        + db.session.execute(select(MetalRateChange.id)).all(),
    }


def _sold(number: str) -> dict[str, object]:
    order = checkout.get_order_by_number(number)
    return {
        "total": order.total_minor,
        "deposit": order.deposit_minor,
        "balance": order.balance_minor,
        "lines": [
            (line.product_id, line.breakdown, line.total_minor, line.deposit_minor)
            for line in order.lines
        ],
    }


EVERY_RATE = (
    # kind, code, typed, what the page then says
    ("stone", "diamond", "150.00", "Diamond is now $150.00 a stone (was $100.00)"),
    ("bench", "", "120.00", "Bench hourly rate is now $120.00 an hour (was $90.00)"),
    (
        "certification",
        "",
        "250",
        "Certification and provenance fee is now $250.00 a piece (was $150.00)",
    ),
    ("shipping", "", "80.00", "Flat shipping charge is now $80.00 a piece (was $60.00)"),
    (
        "insurance",
        "",
        "2.25",
        "Shipping insurance is now 2.25 % of the piece's value (was 1.00 %)",
    ),
    ("metal", "yellow-gold", "80.00", "18k yellow gold is now $80.00 a gram (was $74.50)"),
)


def test_each_rate_reprices_the_shop_at_once_and_orders_keep_their_price(app):
    with app.app_context():
        shop = make_shop()
        studio = place(item(shop.tiara_id)).number
        commission = place(item(shop.custom_id)).number
        sold = {number: _sold(number) for number in (studio, commission)}
    admin = _client(app, "owner@example.com", "admin")
    guest = app.test_client()
    price = "/shop/test-tiara/price.json?metal=yellow-gold&size=M"
    for kind, code, typed, message in EVERY_RATE:
        before = guest.get(price).get_json()
        with app.app_context():
            # The crown is made in yellow gold only, so its "from" price follows every rate.
            list_before = db.session.get(Product, shop.crown_id).list_price_minor
        response = _post(admin, kind, code, typed, note=f"{kind} review")
        assert response.status_code == 302, kind
        page = text(admin.get(RATES))
        assert message in page, kind
        assert "3 product(s) repriced" in page
        after = guest.get(price).get_json()
        assert after["total_minor"] > before["total_minor"], kind
        assert after["total_minor"] == sum(line["amount_minor"] for line in after["lines"])
        with app.app_context():
            assert db.session.get(Product, shop.crown_id).list_price_minor > list_before, kind
            # What was sold stays as it was sold, line by line.
            assert {number: _sold(number) for number in sold} == sold, kind
    with app.app_context():
        assert db.session.execute(select(Product.insurance_bp)).scalars().all() == [225] * 3
        assert set(db.session.execute(select(ProductStone.unit_price_minor)).scalars()) == {15_000}


def test_the_page_is_one_table_of_rates_and_one_history(app):
    with app.app_context():
        shop = make_shop()
        db.session.get(Product, shop.custom_id).labour_rate_per_hour_minor = 12_000
        db.session.commit()
    admin = _client(app, "owner@example.com", "admin")
    page = text(admin.get(RATES))
    assert page.count('<table class="list rates">') == 1
    for row in (
        'data-rate="metal:yellow-gold"',
        'data-rate="metal:platinum"',
        'data-rate="stone:diamond"',
        'data-rate="bench"',
        'data-rate="certification"',
        'data-rate="shipping"',
        'data-rate="insurance"',
    ):
        assert row in page
    assert "varies: $90.00 to $120.00" in page and "Set for all" in page
    assert "1.00 %" in page
    assert "No changes recorded yet" in page
    assert _post(admin, "bench", "", "100", "one rate").status_code == 302
    assert _post(admin, "metal", "silver", "1.50", "the fix").status_code == 302
    assert _post(admin, "insurance", "", "1.5").status_code == 302
    page = text(admin.get(RATES))
    history = page[page.index('id="history-title"') :]
    assert history.count("<tbody>") == 1  # one merged table
    rows = re.findall(r'<tr data-rate="(\w+)">', history)
    assert rows == ["insurance", "metal", "bench"]  # newest first
    # Products disagreed on the bench rate: its history row says from what spread.
    assert re.search(
        r'<td class="num">\$90\.00 to \$120\.00</td>.*<td>one rate</td>', history, re.S
    )
    assert "the fix" in history and "Admin" in history
    # The studio's clock (Europe/London by default), with its zone's abbreviation.
    assert "times are the studio's (Europe/London)" in history
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d (GMT|BST)</time>", history)
    assert "varies" not in page[: page.index('id="history-title"')]


def test_guests_sign_in_staff_may_look_and_only_admins_change(app):
    with app.app_context():
        make_shop()
        before = _state()
    guest = app.test_client()
    assert guest.get(RATES).status_code == 302
    token = csrf_token(guest, "/account/login")
    response = guest.post(
        RATES, data={"csrf_token": token, "kind": "bench", "code": "", "rate": "1.00"}
    )
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    staff = _client(app, "bench@example.com", "staff")
    page = text(staff.get(RATES))
    assert "Only an admin can change a rate" in page and 'name="rate"' not in page
    assert 'data-rate="stone:diamond"' in page and 'data-rate="insurance"' in page
    for kind, code, _, _ in EVERY_RATE:
        assert _post(staff, kind, code, "1.00").status_code == 403, kind
    customer = _client(app, "buyer@example.com", "customer")
    assert customer.get(RATES).status_code == 403
    with app.app_context():
        assert _state() == before
    admin = _client(app, "owner@example.com", "admin")
    assert 'name="rate"' in text(admin.get(RATES))
    assert _post(admin, "bench", "", "1.00").status_code == 302


def test_a_post_without_its_csrf_token_is_refused(app):
    with app.app_context():
        make_shop()
        before = _state()
    admin = _client(app, "owner@example.com", "admin")
    assert _post(admin, "bench", "", "100.00", token=False).status_code == 400
    response = admin.post(
        RATES, data={"csrf_token": "forged", "kind": "bench", "code": "", "rate": "100.00"}
    )
    assert response.status_code == 400 and "Form expired" in text(response)
    with app.app_context():
        assert _state() == before


@pytest.mark.parametrize(
    ("kind", "code", "typed", "message"),
    [
        ("bench", "", "-5", "The bench hourly rate cannot be negative"),
        ("bench", "", "0", "The bench hourly rate must be more than nothing"),
        ("bench", "", "99999999", "The bench hourly rate must be at most $10,000.00"),
        ("bench", "", "ninety", "The bench hourly rate: 'ninety' is not an amount of money"),
        ("certification", "", "1.005", "certification and provenance fee: '1.005' has more"),
        ("certification", "", "-0.01", "certification and provenance fee cannot be negative"),
        ("shipping", "", "abc", "The flat shipping charge: 'abc' is not an amount"),
        ("shipping", "", "1e999999", "far too large"),
        ("insurance", "", "1.255", "The shipping insurance: '1.255' has more than 2 decimal"),
        ("insurance", "", "101", "The shipping insurance must be at most 100.00 %"),
        ("insurance", "", "-1", "The shipping insurance cannot be negative"),
        ("insurance", "", "lots", "The shipping insurance: 'lots' is not a percentage"),
        ("stone", "diamond", "-3", "Diamond's price per stone cannot be negative"),
        ("stone", "diamond", "12.345", "Diamond's price per stone: '12.345' has more than"),
        ("stone", "opal", "10.00", "No stones called 'opal' in the catalogue"),
        ("stone", "", "10.00", "No stones called"),
        ("metal", "yellow-gold", "-1", "18k yellow gold's price per gram cannot be negative"),
        ("metal", "unobtainium", "10.00", "No such metal"),
        ("spice", "", "10.00", "No such rate"),
        ("bench", "", "", "Give the new rate"),
        ("bench", "", "90.00", "Bench hourly rate is already at $90.00"),
    ],
)
def test_bad_rates_are_refused_naming_the_rate_and_change_nothing(app, kind, code, typed, message):
    with app.app_context():
        make_shop()
        before = _state()
    admin = _client(app, "owner@example.com", "admin")
    response = _post(admin, kind, code, typed, "a slip")
    assert response.status_code == 400
    page = text(response)
    assert message in page
    if typed and (kind, code) in (("bench", ""), ("insurance", ""), ("stone", "diamond")):
        # The admin's typing stays in the row it was typed in, marked for assistive technology.
        assert re.search(rf'value="{re.escape(typed)}"[^>]*\s+aria-invalid="true"', page)
    with app.app_context():
        assert _state() == before


@pytest.fixture
def cached(seeded: Flask) -> Iterator[Flask]:
    seeded.config["PAGE_CACHE_SECONDS"] = 30
    yield seeded


def test_a_guests_cached_page_shows_the_new_price_right_after_a_change(cached):
    product = "/shop/aurelia-crown?size=M&metal=yellow-gold"
    guest = cached.test_client()
    admin = _client(cached, "owner@example.com", "admin")
    for kind, code, typed in (
        ("stone", "ruby", "400.00"),
        ("bench", "", "150.00"),
        ("certification", "", "300.00"),
        ("shipping", "", "100.00"),
        ("insurance", "", "3.00"),
    ):
        first = guest.get(product)
        assert guest.get(product).headers["X-Page-Cache"] == "hit"
        assert _post(admin, kind, code, typed).status_code == 302
        after = guest.get(product)
        assert after.headers["X-Page-Cache"] == "miss", kind
        total_before = int(TOTAL.search(first.get_data(as_text=True)).group(1))
        assert int(TOTAL.search(after.get_data(as_text=True)).group(1)) > total_before, kind


@pytest.mark.skipif(not POSTGRES_URL, reason="row and name locks are PostgreSQL's")
def test_admins_racing_on_rates_leave_a_history_whose_steps_join_up(app, database_url, tmp_path):
    """Six admins set the bench rate at once: each history row starts where the one before it
    ended, and the products hold the last one's rate."""
    with app.app_context():
        make_shop()
    from app.catalog import rates
    from app.common.transactions import atomic

    workers = 6
    racing = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": workers + 2, "max_overflow": 0},
            "MEDIA_ROOT": str(tmp_path / "media"),
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "SERVER_NAME": "diadem.test",
            "PUBLIC_BASE_URL": "http://diadem.test",
        }
    )

    def admin(number: int) -> None:
        with atomic():
            rates.set_rate(kind="bench", code="", value=10_000 + number, by_user_id=None)
            if number % 2:  # half of them change a stone in the same breath
                rates.set_rate(kind="stone", code="diamond", value=20_000 + number, by_user_id=None)

    try:
        race(workers, admin, app=racing)  # re-raises any racer's error
    finally:
        with racing.app_context():
            db.engine.dispose()
    with app.app_context():
        for subject, first in (("bench", 9_000), ("stone", 10_000)):
            steps = db.session.execute(
                select(RateChange.old_value, RateChange.new_value)
                .where(RateChange.subject == subject)
                .order_by(RateChange.id)
            ).all()
            assert len(steps) == (workers if subject == "bench" else workers // 2)
            assert steps[0][0] == first
            assert all(prev[1] == step[0] for prev, step in zip(steps, steps[1:], strict=False))
        last_bench = db.session.execute(
            select(RateChange.new_value)
            .where(RateChange.subject == "bench")
            .order_by(RateChange.id.desc())
        ).scalar()
        assert set(db.session.execute(select(Product.labour_rate_per_hour_minor)).scalars()) == {
            last_bench
        }
