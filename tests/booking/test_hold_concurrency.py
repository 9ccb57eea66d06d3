"""The calendar-emptying and hoarding scenarios on PostgreSQL, with concurrent clients.

One buyer racing eight bookings at once gets two; holds that lapse give their slots back even
while others race for them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from app.booking import services
from app.booking.models import Consultation
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.builders import NOW, make_request
from tests.booking.test_concurrency import WORKERS, run_together
from tests.booking.test_views import slot_keys, valid_data
from tests.conftest import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)"),
]

# One slot on each of eight studio days (Tuesday-Saturday), so the per-day lock alone would
# let every one of them through.
EIGHT_DAYS = [datetime(2027, 3, d, 10, 0) for d in (2, 3, 4, 5, 6, 9, 10, 11)]


def rows(app) -> list[Consultation]:
    with app.app_context():
        return list(db.session.execute(db.select(Consultation).order_by(Consultation.id)).scalars())


def test_eight_simultaneous_bookings_by_one_email_make_two(pg_studio):
    spellings = ["ada@example.com", "ADA@example.com", "ada+1@example.com", " Ada@Example.com"]

    def attempt(i):
        request = make_request(EIGHT_DAYS[i], email=spellings[i % 4])
        with atomic():
            return services.book_consultation(request=request, user_id=None, now=NOW).id

    results = run_together(pg_studio, attempt)
    made = [r for r in results if isinstance(r, int)]
    assert len(made) == 2, results
    assert all(isinstance(r, services.TooManyUpcoming) for r in results if r not in made)
    assert sorted(c.id for c in rows(pg_studio)) == sorted(made)


def test_eight_simultaneous_requests_from_one_browser_with_different_emails_make_two(pg_studio):
    """Eight HTTP clients sharing one session cookie, each with its own address and slot."""
    app = pg_studio
    first = app.test_client()
    html = first.get("/consultations/new").get_data(as_text=True)
    keys = slot_keys(html)
    # The booking form's visitor key rides in the session: make it now, then share the cookie.
    with first.session_transaction() as session:
        session["visitor"] = "one-browser-visitor-key"
    cookie = first.get_cookie("session", domain="diadem.test")
    data = valid_data(first)
    clients = []
    for _ in range(WORKERS):
        browser = app.test_client()
        browser.set_cookie("session", cookie.value, domain="diadem.test")
        clients.append(browser)

    def attempt(i):
        form = dict(data, email=f"alias{i}@example{i}.com", slot=keys[i * 7])
        return clients[i].post("/consultations/new", data=form).status_code

    codes = run_together(app, attempt)
    assert sorted(codes) == [302, 302] + [409] * (WORKERS - 2), codes
    made = rows(app)
    assert len(made) == 2 and {c.session_key for c in made} == {"one-browser-visitor-key"}
    assert {c.status for c in made} == {"pending"}
    assert re.fullmatch(r"[\w.-]+@[\w.-]+", made[0].email_key)


def test_lapsed_holds_give_their_slots_back_while_others_race_for_them(pg_studio):
    """An anonymous client holds four slots with four addresses and never confirms; after the
    hold, eight customers race for those four slots: four win, four are told it was taken."""
    slots = EIGHT_DAYS[:4]

    with pg_studio.app_context():
        for i, starts_at in enumerate(slots):
            with atomic():
                services.book_consultation(
                    request=make_request(starts_at, email=f"hoarder{i}@example.com"),
                    user_id=None,
                    now=NOW,
                )
    later = NOW + timedelta(minutes=31)

    def attempt(i):
        request = make_request(slots[i % 4], email=f"customer{i}@example.com")
        with atomic():
            return services.book_consultation(request=request, user_id=None, now=later).id

    results = run_together(pg_studio, attempt)
    made = [r for r in results if isinstance(r, int)]
    assert len(made) == 4, results
    assert all(isinstance(r, services.SlotTaken) for r in results if r not in made), results
    by_status: dict[str, list[datetime]] = {}
    for c in rows(pg_studio):
        by_status.setdefault(c.status, []).append(c.starts_at)
    assert sorted(by_status["lapsed"]) == slots
    assert sorted(by_status["pending"]) == slots  # the customers' own fresh holds


def test_a_confirmation_racing_new_bookings_of_its_lapsed_slot_leaves_one_holder(pg_studio):
    with pg_studio.app_context(), atomic():
        held = services.book_consultation(
            request=make_request(EIGHT_DAYS[0]), user_id=None, now=NOW
        ).id
    later = NOW + timedelta(minutes=31)

    def attempt(i):
        with atomic():
            if i == 0:
                return services.confirm_booking(consultation_id=held, now=later).id
            request = make_request(EIGHT_DAYS[0], email=f"customer{i}@example.com")
            return services.book_consultation(request=request, user_id=None, now=later).id

    results = run_together(pg_studio, attempt, count=4)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(
        isinstance(r, (services.SlotTaken, services.HoldLapsed))
        for r in results
        if not isinstance(r, int)
    ), results
    holding = [c for c in rows(pg_studio) if c.status in ("pending", "booked")]
    assert len(holding) == 1
