"""The bench capacity page: every member of staff sees the commission queue in hours; admins
set the capacity (a dated history, the newest row current); nobody else may."""

from __future__ import annotations

import html

from sqlalchemy import select

from app.accounts.models import Role
from app.catalog.models import BenchCapacityChange
from app.checkout.models import Order
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.checkout.support import item, place
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, make_fast_user

URL = "/staff/capacity"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _client(app, email: str, role: Role):
    with app.app_context():
        make_fast_user(email=email, name=f"{role.value.capitalize()} Person", role=role)
    client = app.test_client()
    login(client, email=email, password=PASSWORD)
    return client


def _set(client, hours) -> object:
    token = csrf_token(client, URL)
    return client.post(URL, data={"csrf_token": token, "hours_per_week": hours})


def _queue(app, atelier, count: int) -> list[str]:
    numbers = []
    with app.app_context():
        for _ in range(count):
            order = place(item(atelier.custom_product_id))
            with atomic():
                order = db.session.get(Order, order.id)
                order.status, order.paid_at = "deposit_paid", utcnow()
                order.lines[0].stage = "cad_design"
            numbers.append(order.number)
    return numbers


def test_guests_sign_in_customers_are_refused(app, atelier):
    guest = app.test_client()
    response = guest.get(URL)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    token = csrf_token(guest, "/account/login")
    response = guest.post(URL, data={"csrf_token": token, "hours_per_week": "10"})
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    customer = _client(app, "buyer@example.com", Role.CUSTOMER)
    assert customer.get(URL).status_code == 403
    token = csrf_token(customer, "/account/login")
    response = customer.post(URL, data={"csrf_token": token, "hours_per_week": "10"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.execute(select(BenchCapacityChange)).first() is None


def test_staff_see_the_queue_in_hours_but_cannot_change_the_capacity(app, atelier):
    numbers = _queue(app, atelier, 3)  # 3 × 10 h
    staff = _client(app, "bench@example.com", Role.STAFF)
    page = text(staff.get(URL))
    assert 'data-capacity="40"' in page and 'data-queue-hours="30"' in page
    assert "the configured default" in page
    assert [n for n in numbers if n in page] == numbers
    assert page.index(numbers[0]) < page.index(numbers[1]) < page.index(numbers[2])
    assert "Only an admin can change the capacity" in page and 'name="hours_per_week"' not in page
    assert _set(staff, "10").status_code == 403
    with app.app_context():
        assert db.session.execute(select(BenchCapacityChange)).first() is None


def test_an_admin_sets_the_capacity_and_the_history_keeps_every_change(app, atelier):
    _queue(app, atelier, 1)
    admin = _client(app, "owner@example.com", Role.ADMIN)
    assert _set(admin, "30").status_code == 302
    response = _set(admin, "45")
    assert response.status_code == 302 and response.headers["Location"].endswith(URL)
    page = text(admin.get(URL))
    assert "The bench now works 45 hours a week." in page
    assert 'data-capacity="45"' in page and "Admin Person" in page
    with app.app_context():
        rows = db.session.execute(
            select(BenchCapacityChange).order_by(BenchCapacityChange.id)
        ).scalars()
        assert [(r.hours_per_week, r.changed_by.name) for r in rows] == [
            (30, "Admin Person"),
            (45, "Admin Person"),
        ]


def test_bad_figures_and_missing_csrf_are_refused(app, atelier):
    admin = _client(app, "owner@example.com", Role.ADMIN)
    for bad in ("0", "-3", "abc", "", "1001", "2.5"):
        response = _set(admin, bad)
        assert response.status_code == 400, bad
        assert 'class="errors"' in text(response), bad
    assert admin.post(URL, data={"hours_per_week": "20"}).status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.execute(select(BenchCapacityChange)).first() is None
