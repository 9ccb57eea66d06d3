"""Consultation scheduling: the slot grid and scheduling back from the event date.

Pure Python. Instants are naive UTC datetimes (the form the database stores); opening hours are
wall-clock times in the studio's zone, turned into instants with zoneinfo, so a 10:00 slot stays
10:00 on the studio clock on both sides of a daylight-saving change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})")


class SchedulingError(ValueError):
    """Raised for opening hours, slot keys or zones that make no sense."""


@dataclass(frozen=True)
class OpeningInterval:
    """One stretch of opening on the studio clock, e.g. 10:00-13:00."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise SchedulingError(
                f"Closing time {self.closes:%H:%M} must be after opening time {self.opens:%H:%M}."
            )

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


def parse_hours(text: str) -> tuple[OpeningInterval, ...]:
    """Parse "10:00-13:00, 14:00-17:00" (blank means closed) into ordered, non-overlapping hours."""
    intervals = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = part.replace("–", "-").split("-")
        if len(pieces) != 2:
            raise SchedulingError(f"Write hours as 10:00-17:00, not {part!r}.")
        opens, closes = (_clock_time(p, part) for p in pieces)
        intervals.append(OpeningInterval(opens, closes))
    intervals.sort(key=lambda i: i.opens)
    for earlier, later in zip(intervals, intervals[1:], strict=False):
        if later.opens < earlier.closes:
            raise SchedulingError(f"Opening hours {earlier} and {later} overlap.")
    return tuple(intervals)


def _clock_time(text: str, part: str) -> time:
    match = _CLOCK.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise SchedulingError(f"Write hours as 10:00-17:00, not {part!r}.")
    return time(int(match[1]), int(match[2]))


def format_hours(intervals: Iterable[OpeningInterval]) -> str:
    return ", ".join(str(i) for i in intervals)


def studio_zone(name: str) -> ZoneInfo:
    """Return the zone called name; raise SchedulingError if it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SchedulingError(f"Unknown time zone {name!r}.") from exc


@dataclass(frozen=True)
class StudioRules:
    """Everything that decides which consultation slots exist."""

    timezone: str
    weekly_hours: Mapping[int, tuple[OpeningInterval, ...]]  # 0 = Monday
    consultation_minutes: int = 60
    buffer_minutes: int = 15
    horizon_days: int = 60
    min_notice_hours: int = 24
    # A date listed here replaces that weekday's hours; an empty tuple closes the studio.
    exceptions: Mapping[date, tuple[OpeningInterval, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        studio_zone(self.timezone)
        if self.consultation_minutes <= 0:
            raise SchedulingError("A consultation must last at least a minute.")
        if self.buffer_minutes < 0 or self.horizon_days < 0 or self.min_notice_hours < 0:
            raise SchedulingError("Buffers, horizon and notice cannot be negative.")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.consultation_minutes)

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    def hours_on(self, day: date) -> tuple[OpeningInterval, ...]:
        if day in self.exceptions:
            return tuple(self.exceptions[day])
        return tuple(self.weekly_hours.get(day.weekday(), ()))


@dataclass(frozen=True)
class BusyPeriod:
    """A consultation already booked (naive UTC)."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # naive UTC
    ends_at: datetime  # naive UTC
    local_start: datetime  # aware, on the studio clock

    @property
    def key(self) -> str:
        return slot_key(self.starts_at)

    @property
    def local_day(self) -> date:
        return self.local_start.date()


def slot_key(starts_at: datetime) -> str:
    """The form value naming a slot: its UTC start, e.g. "2027-04-01T09:00Z"."""
    return starts_at.strftime("%Y-%m-%dT%H:%MZ")


def parse_slot_key(key: str) -> datetime:
    """Return the naive UTC start a slot key names; raise SchedulingError if malformed."""
    try:
        parsed = datetime.strptime(key.strip(), "%Y-%m-%dT%H:%MZ")
    except (ValueError, AttributeError) as exc:
        raise SchedulingError("Pick one of the times offered.") from exc
    return parsed


def to_utc(local: datetime) -> datetime:
    """Aware datetime -> naive UTC."""
    return local.astimezone(UTC).replace(tzinfo=None)


def to_local(starts_at: datetime, zone: ZoneInfo | str) -> datetime:
    """Naive UTC -> aware datetime on the given zone's clock."""
    if isinstance(zone, str):
        zone = studio_zone(zone)
    return starts_at.replace(tzinfo=UTC).astimezone(zone)


def local_date(starts_at: datetime, zone: ZoneInfo | str) -> date:
    return to_local(starts_at, zone).date()


def overlaps(starts_at: datetime, ends_at: datetime, busy: BusyPeriod, buffer: timedelta) -> bool:
    """True when the two consultations sit closer together than the buffer allows."""
    return starts_at < busy.ends_at + buffer and busy.starts_at < ends_at + buffer


def day_grid(rules: StudioRules, day: date) -> list[Slot]:
    """Every slot the opening hours of one studio day allow, ignoring bookings.

    Slots start at opening time and step by length + buffer in real elapsed time, so two slots of
    the grid never sit closer than the buffer, even on the nights the clocks change.
    """
    zone = rules.zone
    step = rules.length + rules.buffer
    slots = []
    for interval in rules.hours_on(day):
        opens = to_utc(datetime.combine(day, interval.opens, tzinfo=zone))
        closes = to_utc(datetime.combine(day, interval.closes, tzinfo=zone))
        start = opens
        while start + rules.length <= closes:
            slots.append(Slot(start, start + rules.length, to_local(start, zone)))
            start += step
    return slots


def bookable_days(rules: StudioRules, *, now: datetime) -> list[date]:
    """Studio days from today to the end of the booking horizon."""
    today = local_date(now, rules.zone)
    return [today + timedelta(days=n) for n in range(rules.horizon_days + 1)]


def free_slots(
    rules: StudioRules,
    *,
    now: datetime,
    busy: Iterable[BusyPeriod] = (),
    days: Iterable[date] | None = None,
) -> list[Slot]:
    """Slots on the grid that are far enough ahead, inside the horizon and clear of bookings."""
    busy = list(busy)
    earliest = now + timedelta(hours=rules.min_notice_hours)
    horizon = set(bookable_days(rules, now=now))
    wanted = sorted(horizon if days is None else set(days) & horizon)
    slots = []
    for day in wanted:
        for slot in day_grid(rules, day):
            if slot.starts_at < earliest:
                continue
            if any(overlaps(slot.starts_at, slot.ends_at, b, rules.buffer) for b in busy):
                continue
            slots.append(slot)
    return slots


@dataclass(frozen=True)
class LeadTimePlan:
    """Scheduling back from the event: when the commission must start at the latest."""

    event_date: date
    lead_time_weeks: int
    shipping_days: int
    safety_days: int
    latest_safe_date: date

    def is_rush_on(self, day: date) -> bool:
        """Commissioning on day leaves less than the lead, shipping and safety time."""
        return day > self.latest_safe_date

    def too_close(self, today: date) -> bool:
        return self.is_rush_on(today)

    @property
    def total_days(self) -> int:
        return self.lead_time_weeks * 7 + self.shipping_days + self.safety_days


def latest_safe_commission_date(
    event_date: date, *, lead_time_weeks: int, shipping_days: int, safety_days: int
) -> date:
    """Event date minus the making time, the shipping time and a safety buffer."""
    if lead_time_weeks < 0 or shipping_days < 0 or safety_days < 0:
        raise SchedulingError("Lead, shipping and safety times cannot be negative.")
    return event_date - timedelta(weeks=lead_time_weeks, days=shipping_days + safety_days)


def plan_back_from_event(
    event_date: date, *, lead_time_weeks: int, shipping_days: int, safety_days: int
) -> LeadTimePlan:
    latest = latest_safe_commission_date(
        event_date,
        lead_time_weeks=lead_time_weeks,
        shipping_days=shipping_days,
        safety_days=safety_days,
    )
    return LeadTimePlan(event_date, lead_time_weeks, shipping_days, safety_days, latest)


def split_by_plan(slots: Iterable[Slot], plan: LeadTimePlan) -> tuple[list[Slot], list[Slot]]:
    """Slots early enough to make the event, then the ones that would make it a rush."""
    in_time, late = [], []
    for slot in slots:
        (late if plan.is_rush_on(slot.local_day) else in_time).append(slot)
    return in_time, late
