"""The one way the shop writes dates and times, for pages and emails alike (Babel).

Stored instants are naive UTC (``app.domain.clock.utcnow``); an aware datetime is taken as it
is. Both are shown in the studio's zone (``STUDIO_TIMEZONE``), with the zone named once where a
time appears ("2 Dec 2026, 13:45 GMT"). Plain dates are calendar days and are never shifted.
The locale is ``SHOP_LOCALE`` (en_GB by default: "2 Dec 2026").

Templates use the filters registered by ``init_app``: ``|day`` (``|day('full')`` for "Wednesday,
2 December 2026"), ``|when`` (date and time), ``|clock`` (time of day) and ``|relative`` ("in 3
days", "2 hours ago"). ``|iso`` writes the machine form for ``<time datetime>``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, format_timedelta
from flask import Flask, current_app, has_app_context

from app.domain.clock import utcnow

DEFAULT_LOCALE = "en_GB"
DEFAULT_ZONE = "Europe/London"
DAY_STYLES = ("medium", "long", "full")


def _locale() -> str:
    if has_app_context():
        return current_app.config.get("SHOP_LOCALE", DEFAULT_LOCALE)
    return DEFAULT_LOCALE


def studio_zone() -> ZoneInfo:
    name = current_app.config.get("STUDIO_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)


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


def when(value: datetime | None) -> str:
    """An instant as the studio's date and time with its zone: "2 Dec 2026, 13:45 GMT"."""
    if value is None:
        return ""
    return format_datetime(
        _aware(value), "d MMM y, HH:mm z", tzinfo=studio_zone(), locale=_locale()
    )


def clock(value: datetime | time | None, *, zone: bool = False) -> str:
    """A time of day: "13:45" (in the studio's zone for an instant; "13:45 GMT" with zone)."""
    if value is None:
        return ""
    if isinstance(value, time):
        return format_time(value, "HH:mm", locale=_locale())
    pattern = "HH:mm z" if zone else "HH:mm"
    return format_datetime(_aware(value), pattern, tzinfo=studio_zone(), locale=_locale())


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
