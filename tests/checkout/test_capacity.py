"""The commission queue read from the database, and what it promises: the product page's
delivery window, a commission's promised ship date and booking's latest safe date."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest

from app.booking import services as booking
from app.catalog.models import BenchCapacityChange, Product
from app.checkout import capacity
from app.checkout import services as checkout
from app.checkout.models import Order
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.checkout.support import item, make_shop, place
from tests.factories import make_product

H = 60


@pytest.fixture
def shop(app_ctx):
    return make_shop()


def _commission(product_id: int, *, status: str, stage: str | None = None) -> Order:
    """A commission order placed through checkout, then put in ``status`` (and its line at
    ``stage``) as the workshop would have left it."""
    order = place(item(product_id))
    with atomic():
        order = db.session.get(Order, order.id)
        order.status = status
        if status in capacity.QUEUED_STATUSES:
            order.paid_at = utcnow()
            order.lines[0].stage = stage or "deposit_paid"
        elif stage:
            order.lines[0].stage = stage
    return order


def _custom(slug: str, bench_hours: float) -> Product:
    product = make_product(slug, tier="custom")
    product.bench_minutes = round(bench_hours * H)
    db.session.commit()
    return product


def test_the_queue_counts_committed_commissions_not_yet_at_qc(shop):
    big = _custom("big-commission", 30)
    custom = db.session.get(Product, shop.custom_id)  # 10 h at the bench
    counted = [
        _commission(custom.id, status="deposit_paid"),
        _commission(big.id, status="paid", stage="casting"),
        _commission(custom.id, status="in_production", stage="hand_finishing"),
    ]
    not_counted = [
        _commission(custom.id, status="awaiting_payment"),
        _commission(custom.id, status="payment_failed"),
        _commission(custom.id, status="draft"),
        _commission(custom.id, status="shipped", stage="shipped"),
        _commission(custom.id, status="delivered", stage="shipped"),
        _commission(custom.id, status="cancelled"),
        _commission(custom.id, status="refunded"),
        _commission(custom.id, status="paid", stage="packed"),  # bench work done
        _commission(custom.id, status="in_production", stage="qc"),
    ]
    # A studio piece, even paid, is not a commission.
    studio_order = place(item(shop.tiara_id))
    with atomic():
        checkout.mark_paid(order_id=studio_order.id, reference="test")

    assert capacity.queue_minutes() == (10 + 30 + 10) * H
    today = date(2027, 3, 1)
    queue = capacity.commission_queue(today=today)
    assert [e.order_number for e in queue.entries] == [o.number for o in counted]
    assert [e.bench_minutes for e in queue.entries] == [10 * H, 30 * H, 10 * H]
    assert queue.hours == 50 and queue.hours_per_week == 40
    # 10 h, 40 h, 50 h of a 40 h week: 2, 7 and 9 days.
    assert [e.finish.finish_date for e in queue.entries] == [
        today + timedelta(days=2),
        today + timedelta(days=7),
        today + timedelta(days=9),
    ]
    awaiting = {number for number, _, _ in queue.awaiting}
    assert awaiting == {not_counted[0].number, not_counted[1].number}


def test_a_paid_deposit_puts_a_commission_in_the_queue(shop):
    order = place(item(shop.custom_id))
    assert capacity.queue_minutes() == 0
    with atomic():
        checkout.mark_paid(order_id=order.id, reference="deposit")
    assert db.session.get(Order, order.id).status == "deposit_paid"
    assert capacity.queue_minutes() == 10 * H


def test_capacity_is_the_newest_change_else_the_configured_default(app, shop):
    assert capacity.current_hours_per_week() == 40
    app.config["BENCH_HOURS_PER_WEEK"] = 32
    assert capacity.current_hours_per_week() == 32
    with atomic():
        capacity.set_hours_per_week(hours_per_week=20, by_user_id=None)
    with atomic():
        capacity.set_hours_per_week(hours_per_week=60, by_user_id=None)
    assert capacity.current_hours_per_week() == 60
    assert [c.hours_per_week for c in capacity.capacity_history()] == [60, 20]
    for bad in (0, -1, capacity.MAX_HOURS_PER_WEEK + 1, True, 2.5):
        with pytest.raises(capacity.CapacityError):
            capacity.set_hours_per_week(hours_per_week=bad, by_user_id=None)
    assert db.session.query(BenchCapacityChange).count() == 2


def test_window_of_a_product_moves_as_the_queue_fills(shop):
    custom = db.session.get(Product, shop.custom_id)
    empty = capacity.product_window(custom)
    assert (empty.earliest_weeks, empty.latest_weeks) == (1, 3)
    for _ in range(4):  # 40 h ahead + its own 10 h: two weeks of a 40 h bench
        _commission(shop.custom_id, status="deposit_paid")
    fuller = capacity.product_window(custom)
    assert (fuller.earliest_weeks, fuller.latest_weeks) == (2, 4)
    # A studio piece has no window; nor has a commission with no bench time recorded.
    assert capacity.product_window(db.session.get(Product, shop.tiara_id)) is None
    custom.bench_minutes = 0
    assert capacity.product_window(custom) is None


def test_a_commissions_promised_date_is_the_late_end_of_its_window(shop):
    today = utcnow().date()
    custom = db.session.get(Product, shop.custom_id)
    studio = db.session.get(Product, shop.tiara_id)
    assert checkout.promised_ship_date(products=[custom], today=today) == today + timedelta(weeks=3)
    for _ in range(8):  # 80 h ahead + 10 h: 3 weeks, margin 2
        _commission(shop.custom_id, status="in_production", stage="casting")
    assert checkout.promised_ship_date(products=[studio, custom], today=today) == today + timedelta(
        weeks=5
    )
    order = place(item(shop.custom_id))
    assert order.promised_ship_date == today + timedelta(weeks=5)
    # Studio pieces keep their dispatch days and ask nothing of the queue.
    assert checkout.promised_ship_date(products=[studio], today=today) == today + timedelta(days=5)
    # No bench time recorded: the fixed lead time is the fallback.
    custom.bench_minutes = 0
    assert checkout.promised_ship_date(products=[custom], today=today) == today + timedelta(weeks=8)


def test_booking_latest_safe_date_moves_when_the_queue_grows(shop):
    event = date(2027, 9, 4)
    shipping_and_safety = timedelta(days=5 + 7)
    plan = booking.lead_time_plan(event_date=event, product_id=shop.custom_id)
    assert plan.lead_time_weeks == 3
    assert plan.latest_safe_date == event - timedelta(weeks=3) - shipping_and_safety
    for _ in range(12):  # 120 h ahead + 10 h at 40 h a week: 4 weeks, margin 2
        _commission(shop.custom_id, status="deposit_paid")
    later = booking.lead_time_plan(event_date=event, product_id=shop.custom_id)
    assert later.lead_time_weeks == 6
    assert later.latest_safe_date == event - timedelta(weeks=6) - shipping_and_safety
    # A consultation about no particular piece: the studio default, unless the queue alone is
    # longer than it.
    assert booking.lead_time_plan(event_date=event).lead_time_weeks == 8
    with atomic():
        capacity.set_hours_per_week(hours_per_week=10, by_user_id=None)
    # 120 h ahead at 10 h a week: 12 weeks, margin 3.
    assert booking.lead_time_plan(event_date=event).lead_time_weeks == 15
    # A commission with no bench time recorded keeps its own lead time.
    db.session.get(Product, shop.custom_id).bench_minutes = 0
    db.session.commit()
    assert booking.lead_time_plan(event_date=event, product_id=shop.custom_id).lead_time_weeks == 8


# --- the product page -------------------------------------------------------------------------


def _page(client, slug: str) -> str:
    response = client.get(f"/shop/{slug}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_product_page_windows_for_studio_commission_and_sold_out(app, client):
    with app.app_context():
        make_product("free-crown", edition_size=10, sold=2)
        make_product("gone-crown", edition_size=10, sold=10)
        make_product("made-to-order", tier="custom")
    studio = _page(client, "free-crown")
    assert "Ships within 5 days" in studio and "Ready in" not in studio
    gone = _page(client, "gone-crown")
    assert 'data-delivery="sold_out"' in gone
    assert "Ships within" not in gone and "Ready in" not in gone
    commission = _page(client, "made-to-order")
    assert "Ready in 1–3 weeks" in commission and "Ships within" not in commission
    app.config["STUDIO_DISPATCH_DAYS"] = 3
    assert "Ships within 3 days" in _page(client, "free-crown")


def test_product_page_window_follows_the_queue_and_the_capacity(app, client):
    with app.app_context():
        product = make_product("made-to-order", tier="custom")
        product_id = product.id
        for _ in range(4):
            _commission(product_id, status="deposit_paid")
    assert "Ready in 2–4 weeks" in _page(client, "made-to-order")
    with app.app_context(), atomic():
        capacity.set_hours_per_week(hours_per_week=5, by_user_id=None)
    # 50 h at 5 h a week: 10 weeks, margin 3.
    assert "Ready in 10–13 weeks" in _page(client, "made-to-order")
    with app.app_context(), atomic():
        capacity.set_hours_per_week(hours_per_week=1, by_user_id=None)
    # 50 h at 1 h a week: 50 weeks, margin 13.
    assert "Ready in 50–63 weeks" in _page(client, "made-to-order")
    with app.app_context():
        db.session.get(Product, product_id).bench_minutes = 100 * H
        db.session.commit()
    # Four 100 h commissions ahead and its own 100 h at 1 h a week: past the two-year horizon,
    # so no date is quoted.
    page = _page(client, "made-to-order")
    assert "booked for more than 104 weeks" in page and "Ready in" not in page


def test_a_capacity_change_refreshes_the_cached_page_for_guests(app, client):
    app.config["PAGE_CACHE_SECONDS"] = 60
    with app.app_context():
        make_product("made-to-order", tier="custom")
    first = client.get("/shop/made-to-order")
    assert "Ready in 1–3 weeks" in html.unescape(first.get_data(as_text=True))
    assert client.get("/shop/made-to-order").headers.get("X-Page-Cache") == "hit"
    with app.app_context(), atomic():
        capacity.set_hours_per_week(hours_per_week=2, by_user_id=None)
    # 10 h at 2 h a week: 5 weeks, margin 2.
    assert "Ready in 5–7 weeks" in _page(client, "made-to-order")
