"""The one way the shop writes dates and times, for pages and emails alike (Babel).

Stored instants are naive UTC (``app.domain.clock.utcnow``); an aware datetime is taken as it
is. Both are shown in the studio's zone (``STUDIO_TIMEZONE``), with the zone named once where a
time appears ("2 Dec 2026, 13:45 GMT"). Plain dates are calendar days and are never shifted.
The locale is ``SHOP_LOCALE`` (en_GB by default: "2 Dec 2026").

Templates use the filters registered by ``init_app``: ``|day`` (``|day('full')`` for "Wednesday,
2 December 2026"), ``|when`` (date and time; ``|when('full')`` with the weekday), ``|clock`` (time
of day) and ``|relative`` ("in 3 days", "2 hours ago"). ``|iso`` writes the machine form for
``<time datetime>``. ``when`` and ``clock`` take ``tz=`` for another zone than the studio's (a
customer's own, "Tuesday, 30 March 2027, 18:00 Japan Time"). Python code that puts a date or a
time into a message (flashes, emails, calendar invites) calls these functions too; browsers
format slot times with the same pattern (``data-time-pattern`` for booking.js).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_timezone_location,
)
from flask import Flask, current_app, has_app_context

from app.domain.clock import utcnow

DEFAULT_LOCALE = "en_GB"
DEFAULT_ZONE = "Europe/London"
DAY_STYLES = ("medium", "long", "full")
WHEN_PATTERNS = {"medium": "d MMM y, HH:mm", "full": "EEEE, d MMMM y, HH:mm"}


def _locale() -> str:
    if has_app_context():
        return current_app.config.get("SHOP_LOCALE", DEFAULT_LOCALE)
    return DEFAULT_LOCALE


def studio_zone() -> ZoneInfo:
    name = current_app.config.get("STUDIO_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)


def _zone(zone: str | ZoneInfo | None) -> ZoneInfo:
    if zone is None:
        return studio_zone()
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def zone_name(value: datetime, zone: str | ZoneInfo | None = None) -> str:
    """The zone as people read it at that instant: "GMT", "BST", "CEST", else "Japan Time"."""
    tz = _zone(zone)
    short = format_datetime(_aware(value), "z", tzinfo=tz, locale=_locale())
    if short[:1] in "+-" or short.startswith("GMT+") or short.startswith("GMT-"):
        return get_timezone_location(tz, locale=_locale())
    return short


def _aware(value: datetime) -> datetime:
    """An instant: naive values are UTC, as the database keeps them."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local(value: datetime) -> datetime:
    """The instant in the studio's zone."""
    return _aware(value).astimezone(studio_zone())


def day(value: date | datetime | None, style: str = "medium") -> str:
    """A calendar day: "2 Dec 2026" (``long``: "2 December 2026"; ``full`` adds the weekday).

    A datetime is an instant: its day is the studio's day at that instant.
    """
    if value is None:
        return ""
    if style not in DAY_STYLES:
        raise ValueError(f"day style must be one of {DAY_STYLES}, not {style!r}")
    if isinstance(value, datetime):
        value = local(value).date()
    return format_date(value, style, locale=_locale())


def when(value: datetime | None, style: str = "medium", *, tz: str | ZoneInfo | None = None) -> str:
    """An instant as a date and time with its zone: "2 Dec 2026, 13:45 GMT".

    ``full`` names the weekday ("Tuesday, 30 March 2027, 10:00 BST"); ``tz`` is another zone
    than the studio's.
    """
    if value is None:
        return ""
    if style not in WHEN_PATTERNS:
        raise ValueError(f"when style must be one of {tuple(WHEN_PATTERNS)}, not {style!r}")
    shown = format_datetime(_aware(value), WHEN_PATTERNS[style], tzinfo=_zone(tz), locale=_locale())
    return f"{shown} {zone_name(value, tz)}"


def clock(
    value: datetime | time | None, *, zone: bool = False, tz: str | ZoneInfo | None = None
) -> str:
    """A time of day: "13:45" (in the studio's zone, or ``tz``, for an instant; "13:45 GMT" with
    zone)."""
    if value is None:
        return ""
    if isinstance(value, time):
        return format_time(value, "HH:mm", locale=_locale())
    shown = format_datetime(_aware(value), "HH:mm", tzinfo=_zone(tz), locale=_locale())
    return f"{shown} {zone_name(value, tz)}" if zone else shown


def relative(value: datetime | date | None, *, now: datetime | None = None) -> str:
    """How far off: "in 3 days", "2 hours ago" (a date counts from the studio's today)."""
    if value is None:
        return ""
    now = now or utcnow()
    if isinstance(value, datetime):
        delta = _aware(value) - _aware(now)
    else:
        delta = timedelta(days=(value - local(now).date()).days)
        if delta == timedelta(0):
            return "today"
    return format_timedelta(delta, add_direction=True, threshold=1.1, locale=_locale())


def iso(value: datetime | date | None) -> str:
    """The machine form for ``<time datetime>``: a date, or the instant in UTC with a Z."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def init_app(app: Flask) -> None:
    for name, function in (
        ("day", day),
        ("when", when),
        ("clock", clock),
        ("relative", relative),
        ("iso", iso),
    ):
        app.add_template_filter(function, name)
