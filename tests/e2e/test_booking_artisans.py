"""In real Chromium: a customer books "any artisan" and then a named one, seeing only that
artisan's times; staff move the booking to the other artisan; the customer gets the new invite."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

import icalendar
import pytest

from app.booking import services
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.domain.clock import utcnow
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.test_views import confirm_link
from tests.e2e.conftest import screenshot
from tests.e2e.test_staff import press, sign_in
from tests.helpers import make_user

# Browser-only: the per-artisan guarantees have their PostgreSQL tests in tests/booking.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DIADEM_TEST_DATABASE_URL")), reason="run once, on SQLite"
)


def free_keys(app, artisan_id) -> list[str]:
    with app.app_context():
        return [s.key for s in services.available_slots(now=utcnow(), artisan_id=artisan_id)]


def book(page, base: str, *, email: str, artisan: str | None) -> None:
    page.goto(f"{base}/consultations/new")
    page.get_by_label("Your name").fill("Nadia Novak")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Event date").fill((date.today() + timedelta(days=300)).isoformat())
    if artisan:
        page.get_by_label("Who you would like to meet").select_option(label=artisan)
        press(page, "Show their times")
    page.locator("label.slot").first.click()
    press(page, "Book consultation")
    page.wait_for_url(re.compile(r"/consultations/manage/"))


def test_book_any_and_a_named_artisan_then_staff_move_it(app, live_server, browser):
    with app.app_context():
        mira = make_artisan("Mira", hours={day: "12:30-17:00" for day in range(7)})
        noor = make_artisan("Noor")
    make_user(app, email="owner@example.com", role="admin", name="Ada Owner")
    any_keys, mira_keys = free_keys(app, None), free_keys(app, mira)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/consultations/new")
        shown = page.locator("input[name=slot]")
        assert [shown.nth(i).get_attribute("value") for i in range(shown.count())] == any_keys
        book(page, live_server, email="any@example.com", artisan=None)
        with app.app_context():
            first = db.session.execute(
                db.select(Consultation).where(Consultation.email == "any@example.com")
            ).scalar_one()
            # The earliest free time of anyone's, on the first artisan (by id) who has it.
            assert first.starts_at.strftime("%Y-%m-%dT%H:%MZ") == any_keys[0]
            assert first.artisan_id == (mira if any_keys[0] in mira_keys else noor)

        page.goto(f"{live_server}/consultations/new")
        page.get_by_label("Who you would like to meet").select_option(label="Mira")
        press(page, "Show their times")
        assert "Pick a time with Mira" in page.locator("#slot").inner_text()
        shown = page.locator("input[name=slot]")
        mira_now = free_keys(app, mira)  # less the "any" booking if it went to Mira
        assert [shown.nth(i).get_attribute("value") for i in range(shown.count())] == mira_now
        assert set(mira_now) < set(any_keys)
        screenshot(page, "booking-named-artisan")
        book(page, live_server, email="named@example.com", artisan="Mira")
        page.goto(live_server + confirm_link(app, to="named@example.com"))
        press(page, "Confirm my consultation")
        assert page.get_by_role("link", name="Mira").get_attribute("href") == "/atelier/mira"
        with app.app_context():
            named = db.session.execute(
                db.select(Consultation).where(Consultation.email == "named@example.com")
            ).scalar_one()
            assert named.artisan_id == mira and named.is_active
            named_id = named.id
    finally:
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, "owner@example.com")
        page.goto(f"{live_server}/staff/consultations/{named_id}")
        page.get_by_label("Artisan", exact=True).select_option(label="Noor")
        press(page, "Show their free times")
        new_time = page.get_by_label("New time")
        # Noor's free times only (Mira's Sunday afternoons are not on Noor's week).
        offered = new_time.locator("option").evaluate_all("els => els.map(e => e.value)")
        assert set(offered) == set(free_keys(app, noor))
        new_time.select_option(value=offered[0])
        press(page, "Move booking")
        notice = page.locator("main").inner_text()
        assert "with Noor; the customer is emailed the new invite" in notice
        screenshot(page, "booking-staff-moved")
    finally:
        context.close()
    moved = read_outbox(app.config["MAIL_OUTBOX_DIR"])[-1]
    assert moved["To"] == "named@example.com" and "has moved" in moved["Subject"]
    [part] = [p for p in moved.iter_attachments() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert int(event["sequence"]) == 1 and "Noor of Diadem Atelier" in str(event["description"])
    with app.app_context():
        moved_row = db.session.get(Consultation, named_id)
        assert moved_row.artisan_id == noor
        assert moved_row.starts_at.strftime("%Y-%m-%dT%H:%MZ") == offered[0]
