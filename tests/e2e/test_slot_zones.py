"""The slot picker in browsers of two languages and three zones: every slot is written one way
(the shop's 24-hour "13:45"), in the browser's own zone, with the studio's zone named once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.booking import services
from app.common.transactions import atomic
from tests.e2e.conftest import SCREENSHOTS

STUDIO = "Europe/London"
BROWSERS = [
    (locale, zone)
    for zone in ("America/New_York", "Europe/London", "Asia/Tokyo")
    for locale in ("en-US", "en-GB")
]


def _expected(key: str, zone: str, studio_day: str) -> str:
    """What the slot with this key should read in this zone (a day first when it differs)."""
    instant = datetime.strptime(key, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    local = instant.astimezone(ZoneInfo(zone))
    text = f"{local:%H:%M}"
    if local.date().isoformat() != studio_day:
        text = f"{local:%a} {local.day} {local:%b}, {text}"
    return text


@pytest.fixture
def studio(app):
    """The slot picker needs only the studio's settings: no demo catalogue to draw or load."""
    with app.app_context(), atomic():
        services.get_settings()
    return app


def test_slot_times_follow_the_browser_zone_in_one_format(studio, live_server, browser):
    for locale, zone in BROWSERS:
        width = 390 if zone == "Asia/Tokyo" and locale == "en-US" else 1280
        context = browser.new_context(
            viewport={"width": width, "height": 900}, locale=locale, timezone_id=zone
        )
        page = context.new_page()
        try:
            page.goto(live_server + "/consultations/new")
            assert page.locator("#tz").input_value() == zone
            note = page.locator("#tz-note").inner_text()
            if zone == STUDIO:
                assert note == f"Times are studio time ({STUDIO})."
            else:
                assert f"your time zone ({zone})" in note and note.count(STUDIO) == 1
            slots = page.locator("label.slot").evaluate_all(
                """labels => labels.map(l => [l.querySelector("input").value, l.dataset.day,
                                               l.querySelector("time").textContent.trim()])"""
            )
            assert len(slots) > 10, (locale, zone)
            for key, studio_day, shown in slots:
                assert shown == _expected(key, zone, studio_day), (locale, zone, key, shown)
                assert "AM" not in shown and "PM" not in shown
            if width == 390 or (zone == "America/New_York" and locale == "en-GB"):
                page.locator("#slot").screenshot(
                    path=str(SCREENSHOTS / f"slot-picker-{zone.split('/')[1]}-{locale}.png")
                )
        finally:
            context.close()
