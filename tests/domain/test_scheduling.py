from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.scheduling import (
    BusyPeriod,
    OpeningInterval,
    SchedulingError,
    StudioRules,
    day_grid,
    free_slots,
    latest_safe_commission_date,
    parse_hours,
    parse_slot_key,
    plan_back_from_event,
    slot_key,
    split_by_plan,
    to_local,
)

LONDON = "Europe/London"
TEN_TO_FIVE = (OpeningInterval(time(10), time(17)),)


def rules(**overrides) -> StudioRules:
    base = dict(
        timezone=LONDON,
        weekly_hours={d: TEN_TO_FIVE for d in range(7)},
        consultation_minutes=60,
        buffer_minutes=15,
        horizon_days=60,
        min_notice_hours=24,
    )
    base.update(overrides)
    return StudioRules(**base)


def local_times(slots) -> list[str]:
    return [f"{s.local_start:%H:%M}" for s in slots]


def test_grid_steps_by_length_plus_buffer_and_stays_inside_hours():
    slots = day_grid(rules(), date(2027, 3, 2))
    assert local_times(slots) == ["10:00", "11:15", "12:30", "13:45", "15:00"]
    # 16:15 would end at 17:15, after closing.
    assert all(s.ends_at - s.starts_at == timedelta(minutes=60) for s in slots)


def test_split_hours_and_closed_days():
    r = rules(
        weekly_hours={1: parse_hours("10:00-12:00, 13:00-15:00")},
        buffer_minutes=0,
    )
    assert local_times(day_grid(r, date(2027, 3, 2))) == ["10:00", "11:00", "13:00", "14:00"]
    assert day_grid(r, date(2027, 3, 3)) == []  # Wednesday: no hours


def test_exceptions_close_a_day_or_change_its_hours():
    r = rules(
        exceptions={
            date(2027, 3, 2): (),
            date(2027, 3, 3): (OpeningInterval(time(14), time(16)),),
        },
        buffer_minutes=0,
    )
    assert day_grid(r, date(2027, 3, 2)) == []
    assert local_times(day_grid(r, date(2027, 3, 3))) == ["14:00", "15:00"]


def test_free_slots_respect_notice_and_horizon():
    now = datetime(2027, 3, 1, 9, 0)  # 09:00 GMT
    r = rules(horizon_days=2, min_notice_hours=24)
    slots = free_slots(r, now=now)
    days = sorted({s.local_day for s in slots})
    assert days == [date(2027, 3, 2), date(2027, 3, 3)]
    assert slots[0].starts_at >= now + timedelta(hours=24)
    assert local_times(slots)[0] == "10:00"  # 2 March 10:00 is 25 h ahead


def test_busy_periods_block_their_slot_and_the_buffer_around_them():
    now = datetime(2027, 3, 1, 9, 0)
    r = rules(horizon_days=1, min_notice_hours=0, buffer_minutes=15)
    # Someone booked 11:00-12:00 (e.g. under an older grid): 10:00 ends 11:00, closer than the
    # 15-minute buffer, and 11:15 overlaps outright; 12:30 starts 30 minutes after, so it is free.
    busy = [BusyPeriod(datetime(2027, 3, 2, 11, 0), datetime(2027, 3, 2, 12, 0))]
    times = local_times([s for s in free_slots(r, now=now, busy=busy) if s.local_day.day == 2])
    assert times == ["12:30", "13:45", "15:00"]


@given(
    length=st.integers(15, 180),
    buffer=st.integers(0, 60),
    day_offset=st.integers(0, 400),
)
def test_grid_slots_never_sit_closer_than_the_buffer(length, buffer, day_offset):
    r = rules(consultation_minutes=length, buffer_minutes=buffer)
    slots = day_grid(r, date(2027, 1, 1) + timedelta(days=day_offset))
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert later.starts_at - earlier.ends_at >= timedelta(minutes=buffer)


def test_dst_booking_keeps_its_wall_clock_time():
    # Clocks go forward in London on 28 March 2027. Seen from 1 March (GMT), the 10:00 slot on
    # 30 March is 09:00 UTC, and it reads 10:00 on the studio clock, not 11:00.
    now = datetime(2027, 3, 1, 9, 0)
    slots = free_slots(rules(horizon_days=40), now=now)
    before = next(s for s in slots if s.local_day == date(2027, 3, 26))
    after = next(s for s in slots if s.local_day == date(2027, 3, 30))
    assert before.starts_at == datetime(2027, 3, 26, 10, 0)
    assert after.starts_at == datetime(2027, 3, 30, 9, 0)
    assert f"{to_local(after.starts_at, LONDON):%H:%M %Z}" == "10:00 BST"
    assert local_times(day_grid(rules(), date(2027, 3, 30))) == local_times(
        day_grid(rules(), date(2027, 3, 26))
    )


def test_dst_autumn_change_keeps_wall_clock_time_too():
    grid = day_grid(rules(), date(2027, 11, 2))  # GMT again after 31 October
    assert grid[0].starts_at == datetime(2027, 11, 2, 10, 0)
    grid = day_grid(rules(), date(2027, 10, 29))  # still BST
    assert grid[0].starts_at == datetime(2027, 10, 29, 9, 0)


def test_hours_spanning_the_night_the_clocks_change_give_real_hour_slots():
    # 00:00-04:00 on 28 March 2027 lasts only three real hours (01:00 GMT jumps to 02:00 BST).
    r = rules(weekly_hours={6: (OpeningInterval(time(0), time(4)),)}, buffer_minutes=0)
    slots = day_grid(r, date(2027, 3, 28))
    assert len(slots) == 3
    assert local_times(slots) == ["00:00", "02:00", "03:00"]
    # ...and on 31 October 2027 the same hours last five real hours, with 01:00 twice.
    slots = day_grid(r, date(2027, 10, 31))
    assert len(slots) == 5
    assert [s.starts_at.hour for s in slots] == [23, 0, 1, 2, 3]


def test_other_studio_zones_work_too():
    r = rules(timezone="America/New_York")
    first = day_grid(r, date(2027, 7, 1))[0]
    assert first.starts_at == datetime(2027, 7, 1, 14, 0)  # 10:00 EDT


def test_slot_keys_round_trip_and_reject_junk():
    start = datetime(2027, 3, 30, 9, 0)
    assert slot_key(start) == "2027-03-30T09:00Z"
    assert parse_slot_key(slot_key(start)) == start
    for junk in ("", "tomorrow", "2027-03-30 09:00", "2027-13-01T09:00Z", None):
        with pytest.raises(SchedulingError):
            parse_slot_key(junk)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ()),
        ("10:00-17:00", ("10:00-17:00",)),
        ("14:00-17:00, 9:30-12:00", ("09:30-12:00", "14:00-17:00")),
        ("10:00–13:00; 14:00-16:00", ("10:00-13:00", "14:00-16:00")),
    ],
)
def test_parse_hours(text, expected):
    assert tuple(str(i) for i in parse_hours(text)) == expected


@pytest.mark.parametrize(
    "text", ["10-5", "17:00-10:00", "10:00-12:00, 11:00-13:00", "ten to five", "10:00"]
)
def test_parse_hours_rejects_nonsense(text):
    with pytest.raises(SchedulingError):
        parse_hours(text)


def test_unknown_zone_is_refused():
    with pytest.raises(SchedulingError):
        rules(timezone="Mars/Olympus_Mons")


def test_latest_safe_date_counts_back_lead_shipping_and_safety():
    event = date(2027, 6, 19)
    latest = latest_safe_commission_date(event, lead_time_weeks=8, shipping_days=5, safety_days=7)
    assert latest == event - timedelta(days=56 + 5 + 7) == date(2027, 4, 12)


def test_plan_flags_rush_after_the_safe_date():
    plan = plan_back_from_event(
        date(2027, 6, 19), lead_time_weeks=8, shipping_days=5, safety_days=7
    )
    assert not plan.is_rush_on(date(2027, 4, 12))
    assert plan.is_rush_on(date(2027, 4, 13))
    assert plan.too_close(date(2027, 4, 20))
    assert not plan.too_close(date(2027, 3, 1))
    assert plan.total_days == 68


def test_split_by_plan_puts_early_enough_slots_first():
    now = datetime(2027, 3, 1, 9, 0)
    slots = free_slots(rules(horizon_days=30), now=now)
    plan = plan_back_from_event(
        date(2027, 5, 20), lead_time_weeks=8, shipping_days=0, safety_days=0
    )  # latest safe date: 25 March
    in_time, late = split_by_plan(slots, plan)
    assert in_time and late
    assert max(s.local_day for s in in_time) == date(2027, 3, 25)
    assert min(s.local_day for s in late) == date(2027, 3, 26)


def test_negative_lead_times_are_refused():
    with pytest.raises(SchedulingError):
        latest_safe_commission_date(
            date(2027, 1, 1), lead_time_weeks=-1, shipping_days=0, safety_days=0
        )
