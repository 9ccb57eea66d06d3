from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain.aftersale import (
    RETURN_DAYS,
    WARRANTY_YEARS,
    Cover,
    DeliveryDateError,
    add_years,
    delivery_day,
    delivery_instant,
    repair_cover,
    return_window,
    warranty_end,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")


def test_the_periods_are_the_published_policy():
    assert (RETURN_DAYS, WARRANTY_YEARS) == (14, 2)


def test_window_ends_at_the_end_of_the_fourteenth_studio_day():
    window = return_window(delivered_at=datetime(2027, 1, 4, 10, 0), zone=LONDON)
    assert window.last_day == date(2027, 1, 18)
    assert window.closes_at == datetime(2027, 1, 19, 0, 0)  # GMT: studio midnight is UTC
    assert window.is_open(now=datetime(2027, 1, 18, 23, 59, 59))
    assert not window.is_open(now=datetime(2027, 1, 19, 0, 0))


def test_late_evening_utc_is_already_the_next_day_in_summer_london():
    # 23:30 UTC on 10 June is 00:30 BST on 11 June: the studio counts from the 11th.
    delivered = datetime(2027, 6, 10, 23, 30)
    assert delivery_day(delivered_at=delivered, zone=LONDON) == date(2027, 6, 11)
    window = return_window(delivered_at=delivered, zone=LONDON)
    assert window.last_day == date(2027, 6, 25)
    assert window.closes_at == datetime(2027, 6, 25, 23, 0)  # midnight BST


def test_early_morning_utc_is_still_the_previous_day_west_of_greenwich():
    delivered = datetime(2027, 1, 10, 2, 0)  # 21:00 on 9 January in New York
    window = return_window(delivered_at=delivered, zone=NEW_YORK)
    assert window.last_day == date(2027, 1, 23)
    assert window.closes_at == datetime(2027, 1, 24, 5, 0)


def test_a_clock_change_inside_the_window_moves_the_closing_instant_not_the_day():
    # Delivered in GMT; British Summer Time starts on 28 March 2027, inside the window.
    window = return_window(delivered_at=datetime(2027, 3, 20, 12, 0), zone=LONDON)
    assert window.last_day == date(2027, 4, 3)
    assert window.closes_at == datetime(2027, 4, 3, 23, 0)
    # And back: summer time ends on 31 October 2027.
    autumn = return_window(delivered_at=datetime(2027, 10, 25, 12, 0), zone=LONDON)
    assert autumn.last_day == date(2027, 11, 8)
    assert autumn.closes_at == datetime(2027, 11, 9, 0, 0)


def test_window_crosses_the_year_and_leap_day():
    assert return_window(delivered_at=datetime(2026, 12, 25, 9), zone=LONDON).last_day == date(
        2027, 1, 8
    )
    assert return_window(delivered_at=datetime(2028, 2, 20, 9), zone=LONDON).last_day == date(
        2028, 3, 5
    )


def test_the_period_is_a_parameter():
    assert return_window(
        delivered_at=datetime(2027, 1, 4, 10), zone=LONDON, days=30
    ).last_day == date(2027, 2, 3)
    with pytest.raises(ValueError):
        return_window(delivered_at=datetime(2027, 1, 4, 10), zone=LONDON, days=-1)


def test_warranty_runs_two_calendar_years_from_the_delivery_day():
    assert warranty_end(delivered_at=datetime(2027, 5, 17, 15), zone=LONDON) == date(2029, 5, 17)
    # Counted on the studio calendar: 23:30 UTC on 31 Dec is already 1 Jan in Helsinki.
    assert warranty_end(delivered_at=datetime(2026, 12, 31, 23, 30), zone=HELSINKI) == date(
        2029, 1, 1
    )


@pytest.mark.parametrize(
    ("delivered", "years", "end"),
    [
        (date(2024, 2, 29), 2, date(2026, 2, 28)),  # no 29 February: the last day of February
        (date(2028, 2, 29), 4, date(2032, 2, 29)),  # a leap year again: the same day
        (date(2026, 2, 28), 2, date(2028, 2, 28)),  # into a leap year: still the 28th
        (date(2027, 3, 1), 1, date(2028, 3, 1)),
    ],
)
def test_add_years_around_leap_days(delivered, years, end):
    assert add_years(delivered, years) == end


def test_a_leap_day_delivery_in_the_studio_zone_only():
    # 23:30 UTC on 28 February 2024 is 29 February in Helsinki.
    assert warranty_end(delivered_at=datetime(2024, 2, 28, 23, 30), zone=HELSINKI) == date(
        2026, 2, 28
    )
    assert warranty_end(delivered_at=datetime(2024, 2, 28, 23, 30), zone=LONDON) == date(
        2026, 2, 28
    )
    assert warranty_end(delivered_at=datetime(2024, 2, 29, 12), zone=LONDON, years=4) == date(
        2028, 2, 29
    )


def test_a_delivery_day_is_recorded_at_studio_noon_between_shipping_and_now():
    shipped, now = datetime(2027, 6, 1, 9, 0), datetime(2027, 6, 10, 8, 0)
    day = date(2027, 6, 5)
    assert delivery_instant(day=day, zone=LONDON, shipped_at=shipped, now=now) == datetime(
        2027, 6, 5, 11, 0
    )
    # The shipping day and today are clamped so the instant stays inside both bounds.
    assert delivery_instant(
        day=date(2027, 6, 1), zone=LONDON, shipped_at=datetime(2027, 6, 1, 15), now=now
    ) == datetime(2027, 6, 1, 15)
    assert delivery_instant(day=date(2027, 6, 10), zone=LONDON, shipped_at=shipped, now=now) == now
    # 23:30 UTC on 10 June is already 11 June in London: the 11th is today, not the future.
    late = datetime(2027, 6, 10, 23, 30)
    assert delivery_instant(day=date(2027, 6, 11), zone=LONDON, shipped_at=shipped, now=late)


def test_a_delivery_day_in_the_future_or_before_shipping_is_refused():
    shipped, now = datetime(2027, 6, 1, 9, 0), datetime(2027, 6, 10, 8, 0)
    with pytest.raises(DeliveryDateError, match="future"):
        delivery_instant(day=date(2027, 6, 11), zone=LONDON, shipped_at=shipped, now=now)
    with pytest.raises(DeliveryDateError, match="before the order shipped \\(1 June 2027\\)"):
        delivery_instant(day=date(2027, 5, 31), zone=LONDON, shipped_at=shipped, now=now)
    with pytest.raises(DeliveryDateError):
        delivery_instant(day=date(1, 1, 1), zone=LONDON, shipped_at=shipped, now=now)


def test_repair_cover_within_the_warranty_says_until_when():
    cover = repair_cover(delivered_on=date(2026, 5, 12), today=date(2028, 5, 12))
    assert cover == Cover(
        True, "Covered: within the 2-year warranty until 12 May 2028.", date(2028, 5, 12)
    )


def test_repair_cover_after_the_warranty_must_be_paid():
    cover = repair_cover(delivered_on=date(2026, 5, 12), today=date(2028, 5, 13))
    assert not cover.covered and cover.until is None
    assert cover.reason == "Not covered: warranty ended 12 May 2028; quote must be paid."


def test_a_care_plan_covers_past_the_warranty_and_no_delivery_is_no_warranty():
    cover = repair_cover(
        delivered_on=date(2024, 2, 29), care_plan_ends_on=date(2029, 1, 31), today=date(2027, 3, 1)
    )
    assert cover == Cover(True, "Covered: by the care plan until 31 Jan 2029.", date(2029, 1, 31))
    lapsed = repair_cover(
        delivered_on=date(2024, 2, 29), care_plan_ends_on=date(2026, 1, 31), today=date(2027, 3, 1)
    )
    assert lapsed.reason == (
        "Not covered: warranty ended 28 Feb 2026, care plan ended 31 Jan 2026; quote must be paid."
    )
    walk_in = repair_cover(delivered_on=None, today=date(2027, 3, 1))
    assert not walk_in.covered and "no delivery on record" in walk_in.reason


def test_a_lifetime_care_plan_covers_for_ever_after_the_warranty():
    cover = repair_cover(
        delivered_on=date(2020, 2, 29), care_plan_ends_on=date.max, today=date(2070, 3, 1)
    )
    assert cover == Cover(True, "Covered: by the lifetime care plan.", date.max)
    inside = repair_cover(
        delivered_on=date(2026, 1, 5), care_plan_ends_on=date.max, today=date(2027, 1, 5)
    )
    assert inside.reason.startswith("Covered: within the 2-year warranty")
