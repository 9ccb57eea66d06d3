"""A customer in New York books a consultation in real Chromium and downloads the invite."""

from __future__ import annotations

import re
from datetime import UTC, date, timedelta
from pathlib import Path

import icalendar

from app.demo.artisans import DEMO_ARTISANS
from app.domain.scheduling import parse_slot_key
from tests.booking.test_views import confirm_link
from tests.e2e.conftest import SCREENSHOTS, screenshot
from tests.helpers import make_user

NOTES = "<b>Low bun</b> & a cathedral veil"


def test_book_a_consultation_and_download_the_invite(seeded, live_server, browser, tmp_path):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        timezone_id="America/New_York",
        accept_downloads=True,
    )
    page = context.new_page()
    try:
        page.goto(live_server + "/shop/bespoke-bridal-tiara")
        page.get_by_role("link", name="Book a consultation for this piece").click()
        page.wait_for_url(re.compile(r"/consultations/new\?product=bespoke-bridal-tiara"))
        assert page.locator("#product option:checked").inner_text() == "Bespoke Bridal Tiara"
        # booking.js told the form our zone and shows slots in it (the studio's zone named once).
        assert page.locator("#tz").input_value() == "America/New_York"
        assert "your time zone (America/New_York)" in page.locator("#tz-note").inner_text()

        page.get_by_label("Your name").fill("Nadia Novak")
        page.get_by_label("Email").fill("nadia@example.com")
        page.get_by_label("Your event").select_option("wedding")
        # Too close first: the customer is told plainly and later slots are marked rush.
        with page.expect_response(re.compile(r"/consultations/lead-time")):
            page.get_by_label("Event date").fill((date.today() + timedelta(days=20)).isoformat())
            page.get_by_label("Event date").blur()
        # booking.js writes the answer after the response arrives: wait for the words.
        page.locator("#lead-time").get_by_text("too close for our usual timeline").wait_for()
        assert page.locator("label.slot.slot-rush").count() > 0
        page.locator("#lead-time").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "booking-rush-notice.png"))

        event = date.today() + timedelta(days=150)
        with page.expect_response(re.compile(r"/consultations/lead-time")):
            page.get_by_label("Event date").fill(event.isoformat())
            page.get_by_label("Event date").blur()
        headline = page.locator("#lead-time .lead-time-headline")
        # The tiara's 25 bench hours behind an empty queue (ready in 1-3 weeks) + 5 + 7 days.
        latest = event - timedelta(weeks=3, days=12)
        expected = f"latest safe date to commission is {latest.day} {latest:%B %Y}"
        headline.get_by_text(expected).wait_for()
        assert page.locator("label.slot.slot-rush").count() == 0

        page.get_by_label("Head circumference").fill("22.1")
        page.get_by_label("Unit").select_option("in")
        page.get_by_label("Hairstyle on the day").select_option("updo")
        page.get_by_label("Veil").select_option("veil")
        page.get_by_label("Allergies (e.g. nickel)").fill("Nickel")
        page.get_by_label("Anything else we should know").fill(NOTES)
        page.get_by_label("By video").check()

        first = page.locator("input[name=slot]").first
        slot_key = first.get_attribute("value")
        slot_label = page.locator("label.slot").first
        shown = slot_label.inner_text()
        # One format for every slot: New York's time, 24-hour, as the shop writes times.
        assert re.fullmatch(r"(\w{3} \d{1,2} \w{3}, )?\d{2}:\d{2}", shown.strip()), shown
        slot_label.click()
        screenshot(page, "booking-form")

        page.get_by_role("button", name="Book consultation").click()
        page.wait_for_url(re.compile(r"/consultations/manage/"))
        # A guest's time is only held until the emailed link confirms it.
        assert "Confirm within 30 minutes" in page.locator("main").inner_text()
        assert page.get_by_role("link", name="Add to calendar (.ics)").count() == 0
        page.goto(live_server + confirm_link(seeded, to="nadia@example.com"))
        page.get_by_role("button", name="Confirm my consultation").click()
        page.wait_for_url(re.compile(r"/consultations/manage/"))
        body = page.locator("main").inner_text()
        assert "Your consultation is booked" in body
        # The studio's time with its zone, and the customer's own beside it.
        assert re.search(r"\d{2}:\d{2} (GMT|BST)", body)
        assert re.search(r"Your time: \w+, \d{1,2} \w+ \d{4}, \d{2}:\d{2} Eastern", body)
        assert "56.1 cm (22.1 in)" in body
        assert NOTES in body  # shown as text, not markup
        assert page.locator("main b").count() == 0
        screenshot(page, "booking-confirmation")

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Add to calendar (.ics)").click()
        download = download_info.value
        assert download.suggested_filename.startswith("diadem-consultation-DC-")
        path = tmp_path / "invite.ics"
        download.save_as(path)
        calendar = icalendar.Calendar.from_ical(Path(path).read_bytes())
        event_ics = calendar.walk("VEVENT")[0]
        start = event_ics.decoded("dtstart")
        # Times travel in UTC, which every calendar converts alike (no TZID, no VTIMEZONE).
        assert "TZID" not in event_ics["dtstart"].params
        assert start.utcoffset() == timedelta(0)
        assert start.astimezone(UTC).replace(tzinfo=None) == parse_slot_key(slot_key)
        assert calendar.walk("VTIMEZONE") == []
        # A video consultation's invite carries the link to join: "any artisan" went to the
        # first demo artisan, who has her own.
        demo_link = DEMO_ARTISANS[0].meeting_link
        assert str(event_ics["location"]) == str(event_ics["url"]) == demo_link
    finally:
        context.close()


def test_staff_calendar_and_settings_pages(seeded, live_server, browser, client):
    # Book through the form (no browser needed), then look at the staff pages in Chromium.
    from tests.booking.test_views import post, valid_data

    assert post(client, valid_data(client, notes=NOTES)).status_code == 302  # held for 30 min
    make_user(seeded, email="maker@example.com", role="staff", name="Mira Maker")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(live_server + "/account/login?next=/staff/consultations")
        page.get_by_label("Email").fill("maker@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
        page.wait_for_url(re.compile(r"/staff/consultations$"))
        card = page.locator(".consultation-card").first
        assert "Grace Hopper" in card.inner_text() and NOTES in card.inner_text()
        screenshot(page, "booking-staff-calendar")
        card.get_by_role("link", name="Grace Hopper").click()
        page.get_by_label("Add a note").fill("Measure again with the updo.")
        page.get_by_role("button", name="Add note").click()
        assert "Measure again with the updo." in page.locator(".staff-note").inner_text()
        screenshot(page, "booking-staff-detail")
        page.goto(live_server + "/staff/consultations/settings")
        assert page.get_by_label("Tuesday").input_value() == "10:00-17:00"
        screenshot(page, "booking-staff-settings")
    finally:
        context.close()
