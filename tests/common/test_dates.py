"""One way to write dates and times: Babel, the studio's zone, the shop's locale."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from flask import render_template_string

from app.common import dates


@pytest.fixture
def ctx(app):
    with app.app_context():
        app.config["STUDIO_TIMEZONE"] = "Europe/London"
        app.config["SHOP_LOCALE"] = "en_GB"
        yield app


def test_days_are_written_one_way_and_never_shifted(ctx):
    assert dates.day(date(2026, 12, 2)) == "2 Dec 2026"
    assert dates.day(date(2026, 12, 2), "long") == "2 December 2026"
    assert dates.day(date(2026, 12, 2), "full") == "Wednesday, 2 December 2026"
    with pytest.raises(ValueError):
        dates.day(date(2026, 12, 2), "%d %b")


def test_an_instant_is_shown_on_the_studios_calendar_and_clock(ctx):
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (summer time).
    summer = datetime(2026, 6, 30, 23, 30)
    assert dates.day(summer) == "1 Jul 2026"
    assert dates.when(summer) == "1 Jul 2026, 00:30 BST"
    assert dates.when(datetime(2026, 12, 2, 13, 45)) == "2 Dec 2026, 13:45 GMT"
    # An aware value is the same instant whatever zone it carries.
    tokyo = datetime(2026, 12, 2, 22, 45, tzinfo=timezone(timedelta(hours=9)))
    assert dates.when(tokyo) == "2 Dec 2026, 13:45 GMT"
    assert dates.clock(datetime(2026, 12, 2, 13, 45)) == "13:45"
    assert dates.clock(datetime(2026, 7, 2, 13, 45), zone=True) == "14:45 BST"
    assert dates.clock(time(9, 5)) == "09:05"


def test_another_studio_zone_and_locale(ctx):
    ctx.config["STUDIO_TIMEZONE"] = "America/New_York"
    ctx.config["SHOP_LOCALE"] = "en_US"
    assert dates.when(datetime(2026, 12, 2, 13, 45)) == "2 Dec 2026, 08:45 EST"
    assert dates.day(date(2026, 12, 2)) == "Dec 2, 2026"


def test_relative_times(ctx):
    now = datetime(2026, 12, 2, 12, 0)
    assert dates.relative(now + timedelta(days=3), now=now) == "in 3 days"
    assert dates.relative(now - timedelta(hours=2), now=now) == "2 hours ago"
    assert dates.relative(date(2026, 12, 2), now=now) == "today"
    assert dates.relative(date(2026, 12, 9), now=now) == "in 7 days"


def test_the_filters_in_a_template_and_nothing_for_none(ctx):
    html = render_template_string(
        "{{ d|day }}|{{ t|when }}|{{ t|clock }}|{{ t|iso }}|{{ none|day }}{{ none|when }}",
        d=date(2026, 12, 2),
        t=datetime(2026, 12, 2, 13, 45),
        none=None,
    )
    assert html == "2 Dec 2026|2 Dec 2026, 13:45 GMT|13:45|2026-12-02T13:45:00Z|"
    assert dates.iso(datetime(2026, 12, 2, 13, 45, tzinfo=UTC)) == "2026-12-02T13:45:00Z"


def test_a_full_instant_names_the_weekday_and_another_zone_by_its_name():
    start = datetime(2027, 3, 30, 9, 0)  # naive UTC: 10:00 BST in the studio
    assert dates.when(start, "full") == "Tuesday, 30 March 2027, 10:00 BST"
    assert dates.when(start, "full", tz="Asia/Tokyo") == "Tuesday, 30 March 2027, 18:00 Japan Time"
    assert dates.when(start, tz="Europe/Paris") == "30 Mar 2027, 11:00 CEST"
    assert dates.clock(start, zone=True, tz="America/New_York") == "05:00 Eastern Daylight Time"
    with pytest.raises(ValueError):
        dates.when(start, "%d %b")
