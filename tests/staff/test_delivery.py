"""After shipping: tracking links, staff record the signed-for delivery, the buyer's dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.checkout.models import Order, OrderLine
from app.checkout.services.settings import studio_zone
from app.common.outbox import OutboxMessage
from app.common.transactions import atomic
from app.domain.aftersale import add_years, delivery_day
from app.domain.clock import utcnow
from app.extensions import db
from app.provenance import services as provenance
from app.staff import services as staff
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, only_line, paid_order, studio_to_packed

TRACKING = "RM 1234/56#GB"  # characters a URL must encode
TRACKED_AT = "https://www.royalmail.com/track-your-item#/tracking-results/RM%201234%2F56%23GB"


def fmt(day: date) -> str:
    """A day as every page and email writes it (app.common.dates): "1 Dec 2026"."""
    return f"{day.day} {day:%b %Y}"


def mails(template: str) -> list[OutboxMessage]:
    return list(
        db.session.execute(
            db.select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        ).scalars()
    )


@pytest.fixture
def shipped(app, atelier):
    """A studio piece shipped with Royal Mail 20 days ago; returns the order number."""
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        studio_to_packed(atelier, only_line(order).id)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="Royal Mail Special Delivery",
                tracking_number=TRACKING,
                insured_value_minor=None,
                by_user_id=atelier.checker_id,
            )
        with atomic():
            db.session.get(Order, order.id).shipped_at = utcnow() - timedelta(days=20)
        return order.number


def studio_today(app) -> date:
    with app.app_context():
        return delivery_day(delivered_at=utcnow(), zone=studio_zone())


def post_delivery(client, number: str, **data):
    token = csrf_token(client, f"/staff/orders/{number}")
    return client.post(f"/staff/orders/{number}/deliver", data={"csrf_token": token, **data})


def order_of(number: str) -> Order:
    db.session.expire_all()
    return db.session.execute(db.select(Order).where(Order.number == number)).scalar_one()


def test_shipped_email_links_tracking_order_and_passports(app, shipped):
    with app.app_context():
        [mail] = mails("order_shipped")
        order = order_of(shipped)
        code = staff.order_production(order)[0].passport.code
        for body in (mail.text_body, mail.html_body):
            assert TRACKED_AT in body
            assert f"http://diadem.test/account/orders/{shipped}" in body
            assert f"http://diadem.test/p/{code}" in body


def test_guests_sign_in_and_customers_are_refused(app, client, shipped):
    token = csrf_token(client, "/account/login")
    response = client.post(f"/staff/orders/{shipped}/deliver", data={"csrf_token": token})
    assert response.status_code == 302 and "/account/login" in response.location
    login(client, "bea@example.com", PASSWORD)
    token = csrf_token(client, "/account")
    response = client.post(
        f"/staff/orders/{shipped}/deliver",
        data={"csrf_token": token, "delivered_on": "2026-01-01", "signed_by": "Bea"},
    )
    assert response.status_code == 403
    with app.app_context():
        assert order_of(shipped).status == "shipped"


def test_staff_record_delivery_and_the_buyer_is_told_the_dates(app, client, shipped):
    delivered_on = studio_today(app) - timedelta(days=3)
    login(client, "mira@example.org", PASSWORD)
    response = post_delivery(
        client, shipped, delivered_on=delivered_on.isoformat(), signed_by="  Bea   Buyer "
    )
    assert response.status_code == 302
    returns_until, warranty_until = delivered_on + timedelta(days=14), add_years(delivered_on, 2)
    with app.app_context():
        order = order_of(shipped)
        assert order.status == "delivered" and order.delivered_signed_by == "Bea Buyer"
        assert delivery_day(delivered_at=order.delivered_at, zone=studio_zone()) == delivered_on
        assert order.events[-1].kind == "delivered" and "Bea Buyer" in order.events[-1].message
        # The passport reads on: delivered on that day, and never who signed for it.
        passport = provenance.passport_for_line(only_line(order))
        last = provenance.entries_of(passport.id)[-1]
        assert (last.kind, last.summary) == ("dispatch", "Delivered to its owner, signed for.")
        assert last.occurred_on == delivered_on and "Bea" not in str(last.details)
        [mail] = mails("order_delivered")
        assert mail.subject == f"Your Diadem order {shipped} has arrived"
        for body in (mail.text_body, mail.html_body):
            assert fmt(returns_until) in body and fmt(warranty_until) in body
            assert f"http://diadem.test/account/orders/{shipped}" in body
            assert "cannot be returned" not in body  # no commission in this order
    page = client.get(f"/staff/orders/{shipped}").get_data(as_text=True)
    assert "signed for by <strong>Bea Buyer</strong>" in page
    # The buyer's page: the tracking link, the delivery, the two dates.
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "bea@example.com", PASSWORD)
    page = client.get(f"/account/orders/{shipped}").get_data(as_text=True)
    assert TRACKED_AT in page
    assert f"Delivered {fmt(delivered_on)}" in page
    assert fmt(returns_until) in page and fmt(warranty_until) in page


def test_a_commission_is_not_returnable_but_has_the_warranty(app, client, shipped):
    with app.app_context(), atomic():
        line = db.session.execute(
            db.select(OrderLine).join(Order).where(Order.number == shipped)
        ).scalar_one()
        line.tier = "custom"
    login(client, "mira@example.org", PASSWORD)
    today = studio_today(app)
    assert (
        post_delivery(client, shipped, delivered_on=today.isoformat(), signed_by="Bea").status_code
        == 302
    )
    with app.app_context():
        [mail] = mails("order_delivered")
        assert "cannot be returned" in mail.text_body and "returned unworn" not in mail.text_body
        assert fmt(add_years(today, 2)) in mail.html_body
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "bea@example.com", PASSWORD)
    page = client.get(f"/account/orders/{shipped}").get_data(as_text=True)
    assert "made to your measurements and cannot be returned" in page
    # Only a fault may be reported within the window (app.domain.returns), and the page says so.
    assert "can be returned only for a fault" in page
    assert "You may ask to return a piece" not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delivered_on": "today", "signed_by": ""}, "Give the name of the person who signed"),
        ({"delivered_on": "today", "signed_by": "x" * 121}, "at most 120 characters"),
        ({"delivered_on": "", "signed_by": "Bea"}, "Give the date the parcel was delivered"),
        ({"delivered_on": "2026-13-40", "signed_by": "Bea"}, "Not a valid date"),
        ({"delivered_on": "tomorrow", "signed_by": "Bea"}, "cannot be in the future"),
        ({"delivered_on": "before", "signed_by": "Bea"}, "cannot be before the order shipped"),
    ],
)
def test_bad_delivery_input_is_refused_with_a_message(app, client, shipped, data, message):
    today = studio_today(app)
    named = {
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "before": today - timedelta(days=30),
    }
    if data["delivered_on"] in named:
        data = {**data, "delivered_on": named[data["delivered_on"]].isoformat()}
    login(client, "mira@example.org", PASSWORD)
    response = post_delivery(client, shipped, **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert order_of(shipped).status == "shipped" and mails("order_delivered") == []


def test_a_delivered_order_cannot_be_delivered_again(app, client, shipped):
    login(client, "mira@example.org", PASSWORD)
    today = studio_today(app).isoformat()
    assert post_delivery(client, shipped, delivered_on=today, signed_by="Bea").status_code == 302
    refused = pytest.raises(staff.ShippingError, match="Only a shipped order")
    with app.app_context(), refused, atomic():
        staff.record_delivery(
            order_id=order_of(shipped).id,
            delivered_on=studio_today(app),
            signed_by="Bea",
            by_user_id=1,
        )


def test_follow_shipments_lists_parcels_without_a_delivery(app, runner, client, shipped):
    result = runner.invoke(args=["follow-shipments"])
    assert result.exit_code == 0, result.output
    assert shipped in result.output and "Royal Mail Special Delivery" in result.output
    assert TRACKING in result.output and "20 day(s) ago" in result.output
    assert shipped not in runner.invoke(args=["follow-shipments", "--days", "30"]).output
    assert runner.invoke(args=["follow-shipments", "--days", "-1"]).exit_code == 2
    login(client, "mira@example.org", PASSWORD)
    today = studio_today(app).isoformat()
    post_delivery(client, shipped, delivered_on=today, signed_by="Bea")
    output = runner.invoke(args=["follow-shipments", "--days", "0"]).output
    assert shipped not in output and "No shipped order" in output
