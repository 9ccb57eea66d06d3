"""Bench capacity: when a new commission would be ready, from the queue of work ahead of it.

The atelier's bench works ``hours_per_week`` hours a week. Commissions already confirmed form
a queue of bench time ahead of a new one (``queue_minutes``); the new piece adds its own bench
time (``own_minutes``). Times are whole minutes so every figure here is exact integer arithmetic
(a product's bench time is kept in minutes).

**The rule for "ready in X–Y weeks"**

- ``X`` (earliest) is the queue ahead plus the piece's own time at full capacity, in whole
  weeks rounded up: ``X = ceil((queue + own) / (hours_per_week * 60))``, and at least 1 (a
  piece is never promised for this week).
- ``Y`` (latest) adds a margin for what a bench does not control (a CAD round with the buyer,
  a casting sent back, an artisan off sick): a quarter of ``X`` rounded up, and at least two
  weeks. ``Y = X + max(2, ceil(X / 4))``. So 1 week becomes 1–3, 8 becomes 8–10, 12 becomes
  12–15 and 40 becomes 40–50.
- Nothing is promised further out than ``HORIZON_WEEKS`` (two years): both ends are capped
  there and ``beyond_horizon`` says the queue reaches past it (the shop then asks the buyer to
  talk to the atelier rather than quote a date).

The dates are ``today`` plus those whole weeks. Capacity smaller than one piece is fine: the
piece simply takes several weeks of bench. A capacity of zero or less, or negative times, is
refused with :class:`CapacityError` (the caller falls back to a fixed lead time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

MINUTES_PER_HOUR = 60
DAYS_PER_WEEK = 7
# The latest end is the earliest plus a quarter of it (rounded up), and never less than this.
MARGIN_PERCENT = 25
MIN_MARGIN_WEEKS = 2
# No window reaches further than this; past it the queue is "beyond the horizon".
HORIZON_WEEKS = 104


class CapacityError(ValueError):
    """The figures cannot give a window (no capacity, negative bench time)."""


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _check(hours_per_week: int, *minutes: int) -> None:
    if isinstance(hours_per_week, bool) or not isinstance(hours_per_week, int):
        raise CapacityError("Bench capacity is a whole number of hours a week.")
    if hours_per_week <= 0:
        raise CapacityError("Bench capacity must be more than nothing.")
    for value in minutes:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CapacityError("Bench time is a whole, non-negative number of minutes.")


def margin_weeks(earliest_weeks: int) -> int:
    """The margin added to the earliest week: 25 % of it rounded up, at least two weeks."""
    return max(MIN_MARGIN_WEEKS, _ceil_div(earliest_weeks * MARGIN_PERCENT, 100))


@dataclass(frozen=True, slots=True)
class ReadyWindow:
    """When a new commission would be ready: between ``earliest_date`` and ``latest_date``."""

    earliest_weeks: int
    latest_weeks: int
    earliest_date: date
    latest_date: date
    queue_minutes: int
    own_minutes: int
    hours_per_week: int
    beyond_horizon: bool = False

    @property
    def queue_hours(self) -> int:
        """The queue ahead in whole hours, rounded up (for display)."""
        return _ceil_div(self.queue_minutes, MINUTES_PER_HOUR)


def ready_window(
    *, queue_minutes: int, hours_per_week: int, today: date, own_minutes: int
) -> ReadyWindow:
    """The window in which a commission of ``own_minutes`` would be ready (see the module)."""
    _check(hours_per_week, queue_minutes, own_minutes)
    weekly_minutes = hours_per_week * MINUTES_PER_HOUR
    earliest = max(1, _ceil_div(queue_minutes + own_minutes, weekly_minutes))
    latest = earliest + margin_weeks(earliest)
    beyond = latest > HORIZON_WEEKS
    earliest, latest = min(earliest, HORIZON_WEEKS), min(latest, HORIZON_WEEKS)
    return ReadyWindow(
        earliest_weeks=earliest,
        latest_weeks=latest,
        earliest_date=today + timedelta(weeks=earliest),
        latest_date=today + timedelta(weeks=latest),
        queue_minutes=queue_minutes,
        own_minutes=own_minutes,
        hours_per_week=hours_per_week,
        beyond_horizon=beyond,
    )


@dataclass(frozen=True, slots=True)
class QueuedFinish:
    """One piece of the queue: the bench time up to and including it, and when it is done."""

    minutes: int
    cumulative_minutes: int
    finish_date: date  # at full capacity, no margin; capped at the horizon
    beyond_horizon: bool = False


def queue_finishes(
    minutes: Iterable[int], *, hours_per_week: int, today: date
) -> list[QueuedFinish]:
    """The estimated finish date of each piece of the queue, in queue order, at full capacity.

    A piece is done once the bench has worked every minute ahead of it and its own: day
    ``ceil(cumulative * 7 / weekly minutes)`` from today. Dates past the horizon are capped.
    """
    pieces = list(minutes)
    _check(hours_per_week, *pieces)
    weekly_minutes = hours_per_week * MINUTES_PER_HOUR
    horizon_days = HORIZON_WEEKS * DAYS_PER_WEEK
    result: list[QueuedFinish] = []
    cumulative = 0
    for piece in pieces:
        cumulative += piece
        days = _ceil_div(cumulative * DAYS_PER_WEEK, weekly_minutes)
        result.append(
            QueuedFinish(
                minutes=piece,
                cumulative_minutes=cumulative,
                finish_date=today + timedelta(days=min(days, horizon_days)),
                beyond_horizon=days > horizon_days,
            )
        )
    return result
