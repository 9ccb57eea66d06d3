"""The ready window of a new commission: the queue ahead plus its own bench time, with a margin."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.capacity import (
    HORIZON_WEEKS,
    CapacityError,
    margin_weeks,
    queue_finishes,
    ready_window,
)

TODAY = date(2027, 3, 1)
H = 60  # minutes in an hour


def window(queue_hours: float, capacity: int, own_hours: float):
    return ready_window(
        queue_minutes=round(queue_hours * H),
        hours_per_week=capacity,
        today=TODAY,
        own_minutes=round(own_hours * H),
    )


def test_an_empty_queue_is_the_pieces_own_time_plus_the_margin():
    w = window(0, 40, 25)
    assert (w.earliest_weeks, w.latest_weeks) == (1, 3)
    assert w.earliest_date == TODAY + timedelta(weeks=1)
    assert w.latest_date == TODAY + timedelta(weeks=3)
    assert w.queue_hours == 0 and not w.beyond_horizon


def test_nothing_at_all_is_still_at_least_a_week():
    w = window(0, 40, 0)
    assert (w.earliest_weeks, w.latest_weeks) == (1, 3)


def test_exactly_one_week_of_work_is_one_week_and_a_minute_more_is_two():
    assert window(30, 40, 10).earliest_weeks == 1
    over = ready_window(queue_minutes=40 * H, hours_per_week=40, today=TODAY, own_minutes=1)
    assert over.earliest_weeks == 2


def test_the_queue_ahead_pushes_the_window_out():
    # 300 h ahead + 20 h at 40 h a week: 8 weeks; margin max(2, 25 % of 8) = 2.
    w = window(300, 40, 20)
    assert (w.earliest_weeks, w.latest_weeks) == (8, 10)
    # 460 h + 20 h: 12 weeks; a quarter of 12 is 3.
    assert (window(460, 40, 20).earliest_weeks, window(460, 40, 20).latest_weeks) == (12, 15)
    # 40 weeks: + 10.
    assert window(1580, 40, 20).latest_weeks == 50


def test_capacity_smaller_than_one_piece_takes_several_weeks():
    # A 25 h piece on a bench of 10 h a week: three weeks at the earliest.
    w = window(0, 10, 25)
    assert (w.earliest_weeks, w.latest_weeks) == (3, 5)
    assert window(0, 1, 25).earliest_weeks == 25


def test_a_huge_queue_is_capped_at_the_horizon_and_says_so():
    w = window(10_000_000, 40, 25)  # far more work than two years of bench
    assert w.beyond_horizon
    assert w.earliest_weeks == w.latest_weeks == HORIZON_WEEKS
    assert w.latest_date == TODAY + timedelta(weeks=HORIZON_WEEKS)
    # Just inside: the earliest fits, the latest would not.
    edge = window((HORIZON_WEEKS - 1) * 40 - 25, 40, 25)
    assert edge.earliest_weeks == HORIZON_WEEKS - 1
    assert edge.latest_weeks == HORIZON_WEEKS and edge.beyond_horizon


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(queue_minutes=0, hours_per_week=0, own_minutes=60),
        dict(queue_minutes=0, hours_per_week=-5, own_minutes=60),
        dict(queue_minutes=-1, hours_per_week=40, own_minutes=60),
        dict(queue_minutes=0, hours_per_week=40, own_minutes=-60),
        dict(queue_minutes=0, hours_per_week=True, own_minutes=60),
        dict(queue_minutes=0.5, hours_per_week=40, own_minutes=60),
    ],
)
def test_impossible_figures_are_refused(kwargs):
    with pytest.raises(CapacityError):
        ready_window(today=TODAY, **kwargs)


def test_margin_is_a_quarter_rounded_up_and_at_least_two_weeks():
    assert [margin_weeks(x) for x in (1, 4, 8, 9, 12, 13, 40)] == [2, 2, 2, 3, 3, 4, 10]


@given(
    queue=st.integers(0, 10**9),
    own=st.integers(0, 10**6),
    capacity=st.integers(1, 5000),
)
def test_window_is_ordered_and_grows_with_the_queue(queue, own, capacity):
    w = ready_window(queue_minutes=queue, hours_per_week=capacity, today=TODAY, own_minutes=own)
    assert 1 <= w.earliest_weeks <= w.latest_weeks <= HORIZON_WEEKS
    assert w.earliest_date <= w.latest_date
    if not w.beyond_horizon:
        assert w.latest_weeks - w.earliest_weeks >= 2
        # At full capacity the bench can do the work ahead in the earliest number of weeks.
        assert w.earliest_weeks * capacity * H >= queue + own
    more = ready_window(
        queue_minutes=queue + 60 * capacity, hours_per_week=capacity, today=TODAY, own_minutes=own
    )
    assert more.earliest_weeks >= w.earliest_weeks and more.latest_weeks >= w.latest_weeks


def test_queue_finishes_accumulate_in_order():
    finishes = queue_finishes([20 * H, 20 * H, 40 * H], hours_per_week=40, today=TODAY)
    assert [f.cumulative_minutes for f in finishes] == [20 * H, 40 * H, 80 * H]
    # Half a week, a week, two weeks of a 40 h bench.
    assert [f.finish_date for f in finishes] == [
        TODAY + timedelta(days=4),  # 3.5 days, rounded up
        TODAY + timedelta(days=7),
        TODAY + timedelta(days=14),
    ]
    assert queue_finishes([], hours_per_week=40, today=TODAY) == []


def test_queue_finishes_cap_at_the_horizon():
    [near, far] = queue_finishes([10 * H, 10**9], hours_per_week=40, today=TODAY)
    assert not near.beyond_horizon
    assert far.beyond_horizon and far.finish_date == TODAY + timedelta(weeks=HORIZON_WEEKS)
    with pytest.raises(CapacityError):
        queue_finishes([60], hours_per_week=0, today=TODAY)
