"""The studio's consultation settings, weekly hours and calendar exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.booking.models import CalendarException, OpeningHours, StudioSettings
from app.booking.services.errors import BookingError
from app.catalog.models import Product
from app.checkout import capacity as bench_capacity
from app.common.transactions import atomic
from app.domain import scheduling
from app.domain.meeting_links import InvalidMeetingLink, clean_meeting_link
from app.domain.scheduling import LeadTimePlan, OpeningInterval, StudioRules, local_date
from app.extensions import db

SETTINGS_FIELDS = (
    "consultation_minutes",
    "buffer_minutes",
    "horizon_days",
    "min_notice_hours",
    "change_cutoff_hours",
    "default_lead_time_weeks",
    "shipping_days",
    "safety_days",
    "default_meeting_link",
)

DEFAULT_WEEKLY_HOURS: dict[int, tuple[OpeningInterval, ...]] = {
    weekday: (OpeningInterval(time(10), time(17)),) for weekday in (1, 2, 3, 4, 5)
}


def studio_timezone() -> str:
    return current_app.config.get("STUDIO_TIMEZONE") or "Europe/London"


def _insert(model):
    """INSERT ... ON CONFLICT DO NOTHING for the session's database."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def get_settings() -> StudioSettings:
    """The studio's consultation settings, created with defaults (and default hours) if missing.

    The row is only flushed: inside ``atomic()`` it commits with the caller's work; a plain read
    (a GET page) sees the defaults and leaves nothing behind. ON CONFLICT DO NOTHING lets two
    first readers race without an error; the loser reads the winner's row.
    """
    settings = db.session.get(StudioSettings, 1)
    if settings is not None:
        return settings
    created = db.session.execute(
        _insert(StudioSettings).values(id=1).on_conflict_do_nothing()
    ).rowcount
    if created:
        for weekday, intervals in DEFAULT_WEEKLY_HOURS.items():
            for interval in intervals:
                db.session.add(
                    OpeningHours(
                        weekday=weekday, opens_at=interval.opens, closes_at=interval.closes
                    )
                )
        db.session.flush()
    return db.session.get_one(StudioSettings, 1)


def weekly_hours() -> dict[int, tuple[OpeningInterval, ...]]:
    rows = db.session.execute(
        db.select(OpeningHours).order_by(OpeningHours.weekday, OpeningHours.opens_at)
    ).scalars()
    hours: dict[int, list[OpeningInterval]] = {}
    for row in rows:
        hours.setdefault(row.weekday, []).append(OpeningInterval(row.opens_at, row.closes_at))
    return {weekday: tuple(intervals) for weekday, intervals in hours.items()}


def list_exceptions(*, since: date | None = None) -> list[CalendarException]:
    stmt = db.select(CalendarException).order_by(CalendarException.day)
    if since is not None:
        stmt = stmt.where(CalendarException.day >= since)
    return list(db.session.execute(stmt).scalars())


def studio_rules(*, now: datetime | None = None) -> StudioRules:
    """The rules slot generation needs, read from the settings tables."""
    settings = get_settings()
    zone = studio_timezone()
    since = local_date(now, zone) - timedelta(days=1) if now else None
    exceptions = {
        row.day: (() if row.closed else (OpeningInterval(row.opens_at, row.closes_at),))
        for row in list_exceptions(since=since)
    }
    return StudioRules(
        timezone=zone,
        weekly_hours=weekly_hours(),
        consultation_minutes=settings.consultation_minutes,
        buffer_minutes=settings.buffer_minutes,
        horizon_days=settings.horizon_days,
        min_notice_hours=settings.min_notice_hours,
        exceptions=exceptions,
    )


def lead_time_plan(*, event_date: date, product_id: int | None = None) -> LeadTimePlan:
    """Schedule back from the event with the time a commission would take now: the late end of
    its window behind the bench queue (app.checkout.capacity). Without a piece, the studio
    default unless the queue alone is longer; a piece whose window cannot be computed keeps its
    own lead time (or the studio default)."""
    settings = get_settings()
    weeks = settings.default_lead_time_weeks
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product is None:
        queue_alone = bench_capacity.window_for_minutes(0)
        if queue_alone is not None:
            weeks = max(weeks, queue_alone.latest_weeks)
    elif (window := bench_capacity.product_window(product)) is not None:
        weeks = window.latest_weeks
    elif product.lead_time_weeks:
        weeks = product.lead_time_weeks
    return scheduling.plan_back_from_event(
        event_date,
        lead_time_weeks=weeks,
        shipping_days=settings.shipping_days,
        safety_days=settings.safety_days,
    )


@dataclass(frozen=True)
class SettingsUpdate:
    consultation_minutes: int
    buffer_minutes: int
    horizon_days: int
    min_notice_hours: int
    change_cutoff_hours: int
    default_lead_time_weeks: int
    shipping_days: int
    safety_days: int
    weekly_hours: Mapping[int, tuple[OpeningInterval, ...]]
    default_meeting_link: str | None = None  # blank: video only with an artisan's own link


def update_settings(*, changes: SettingsUpdate) -> StudioSettings:
    """Save the settings and replace the weekly hours; existing bookings keep their times."""
    try:
        link = clean_meeting_link(changes.default_meeting_link)
    except InvalidMeetingLink as exc:
        raise BookingError(str(exc), field="default_meeting_link") from exc
    changes = replace(changes, default_meeting_link=link)
    settings = get_settings()
    try:
        with atomic():  # a savepoint: the table's CHECK constraints may refuse the values
            for name in SETTINGS_FIELDS:
                setattr(settings, name, getattr(changes, name))
            db.session.execute(delete(OpeningHours))
            for weekday, intervals in sorted(changes.weekly_hours.items()):
                for interval in intervals:
                    db.session.add(
                        OpeningHours(
                            weekday=weekday, opens_at=interval.opens, closes_at=interval.closes
                        )
                    )
            db.session.flush()
    except IntegrityError as exc:
        raise BookingError("Those settings are out of range.") from exc
    return settings


def set_exception(
    *,
    first_day: date,
    last_day: date | None,
    hours: tuple[OpeningInterval, ...],
    note: str,
) -> int:
    """Close the studio (no hours) or set special hours on each day of a range; return days set."""
    days, opens, closes = exception_days(first_day, last_day, hours)
    for day in days:
        db.session.execute(delete(CalendarException).where(CalendarException.day == day))
        db.session.add(
            CalendarException(day=day, opens_at=opens, closes_at=closes, note=note.strip())
        )
    return len(days)


def exception_days(
    first_day: date, last_day: date | None, hours: tuple[OpeningInterval, ...]
) -> tuple[list[date], time | None, time | None]:
    """The days of an exception's range (a year at most) and its one stretch of hours (none: a
    day off); BookingError, naming the field, for a range or hours that make no sense."""
    last_day = last_day or first_day
    if last_day < first_day:
        raise BookingError("The last day is before the first.", field="last_day")
    if (last_day - first_day).days > 366:
        raise BookingError("Set at most a year of exceptions at once.", field="last_day")
    if len(hours) > 1:
        raise BookingError("Give one stretch of hours, e.g. 12:00-16:00.", field="hours")
    opens, closes = (hours[0].opens, hours[0].closes) if hours else (None, None)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    return days, opens, closes


def delete_exception(*, exception_id: int) -> None:
    db.session.execute(delete(CalendarException).where(CalendarException.id == exception_id))
