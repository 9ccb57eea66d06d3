"""Artisans' consultation calendars: who takes consultations, and each one's hours.

An artisan keeps the studio's weekly hours unless staff give them their own; the studio's
exceptions (a closed day, special hours) apply to every artisan, and an artisan's own exception
for a date wins over the studio's. Bookable artisans come in one fixed order (by profile id),
the order "any artisan" tries them in and the order their day rows are locked in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import delete

from app.accounts.artisans import ArtisanProfile
from app.booking.models import ArtisanCalendar, ArtisanException, ArtisanHours
from app.booking.services.errors import BookingError
from app.booking.services.settings import exception_days, studio_rules
from app.domain.scheduling import OpeningInterval, StudioRules, local_date
from app.extensions import db


def bookable_artisans() -> list[ArtisanProfile]:
    """Published artisans who take consultations, in the fixed order "any artisan" uses."""
    return list(
        db.session.execute(
            db.select(ArtisanProfile)
            .join(ArtisanCalendar, ArtisanCalendar.artisan_id == ArtisanProfile.id)
            .where(
                ArtisanProfile.published.is_(True),
                ArtisanCalendar.takes_consultations.is_(True),
            )
            .order_by(ArtisanProfile.id)
        ).scalars()
    )


def bookable_artisan(artisan_id: int) -> ArtisanProfile:
    """One bookable artisan; BookingError (on the artisan field) if they take no bookings."""
    for artisan in bookable_artisans():
        if artisan.id == artisan_id:
            return artisan
    raise BookingError("That artisan does not take consultations; pick another.", field="artisan")


def artisan_calendars() -> list[tuple[ArtisanProfile, ArtisanCalendar | None]]:
    """Every artisan profile with its calendar (None before staff first set it), for staff."""
    rows = db.session.execute(
        db.select(ArtisanProfile, ArtisanCalendar)
        .outerjoin(ArtisanCalendar, ArtisanCalendar.artisan_id == ArtisanProfile.id)
        .order_by(ArtisanProfile.id)
    ).all()
    return [(profile, calendar) for profile, calendar in rows]


def keeps_artisan(artisan_id: int | None) -> int | None:
    """The artisan a customer's reschedule stays with: theirs while they take bookings, else
    None (any artisan)."""
    if artisan_id is None or artisan_id not in {a.id for a in bookable_artisans()}:
        return None
    return artisan_id


def artisan_profile(artisan_id: int) -> ArtisanProfile | None:
    return db.session.get(ArtisanProfile, artisan_id)


def calendar_of(artisan_id: int) -> ArtisanCalendar:
    """The artisan's calendar; an unsaved default (no consultations, studio hours) if none."""
    calendar = db.session.get(ArtisanCalendar, artisan_id)
    if calendar is None:
        calendar = ArtisanCalendar(
            artisan_id=artisan_id, takes_consultations=False, own_hours=False
        )
    return calendar


def artisan_weekly_hours(artisan_id: int) -> dict[int, tuple[OpeningInterval, ...]]:
    rows = db.session.execute(
        db.select(ArtisanHours)
        .where(ArtisanHours.artisan_id == artisan_id)
        .order_by(ArtisanHours.weekday, ArtisanHours.opens_at)
    ).scalars()
    hours: dict[int, list[OpeningInterval]] = {}
    for row in rows:
        hours.setdefault(row.weekday, []).append(OpeningInterval(row.opens_at, row.closes_at))
    return {weekday: tuple(intervals) for weekday, intervals in hours.items()}


def list_artisan_exceptions(
    *, artisan_id: int, since: date | None = None
) -> list[ArtisanException]:
    stmt = (
        db.select(ArtisanException)
        .where(ArtisanException.artisan_id == artisan_id)
        .order_by(ArtisanException.day)
    )
    if since is not None:
        stmt = stmt.where(ArtisanException.day >= since)
    return list(db.session.execute(stmt).scalars())


def rules_for(artisan_id: int | None, *, base: StudioRules, now: datetime | None) -> StudioRules:
    """The studio's rules with one artisan's week and exceptions (the studio's for None)."""
    if artisan_id is None:
        return base
    calendar = db.session.get(ArtisanCalendar, artisan_id)
    weekly = base.weekly_hours
    if calendar is not None and calendar.own_hours:
        weekly = artisan_weekly_hours(artisan_id)
    since = local_date(now, base.zone) - timedelta(days=1) if now else None
    exceptions = dict(base.exceptions)
    for row in list_artisan_exceptions(artisan_id=artisan_id, since=since):
        exceptions[row.day] = () if row.closed else (OpeningInterval(row.opens_at, row.closes_at),)
    return replace(base, weekly_hours=weekly, exceptions=exceptions)


def artisan_rules(artisan_id: int | None, *, now: datetime | None = None) -> StudioRules:
    return rules_for(artisan_id, base=studio_rules(now=now), now=now)


def update_artisan_calendar(
    *,
    artisan_id: int,
    takes_consultations: bool,
    own_hours: bool,
    weekly_hours: Mapping[int, tuple[OpeningInterval, ...]],
) -> ArtisanCalendar:
    """Save whether the artisan takes consultations and their week; bookings keep their times."""
    if artisan_profile(artisan_id) is None:
        raise BookingError("We could not find that artisan.")
    calendar = calendar_of(artisan_id)
    db.session.add(calendar)
    calendar.takes_consultations = takes_consultations
    calendar.own_hours = own_hours
    db.session.execute(delete(ArtisanHours).where(ArtisanHours.artisan_id == artisan_id))
    if own_hours:
        for weekday, intervals in sorted(weekly_hours.items()):
            for interval in intervals:
                db.session.add(
                    ArtisanHours(
                        artisan_id=artisan_id,
                        weekday=weekday,
                        opens_at=interval.opens,
                        closes_at=interval.closes,
                    )
                )
    db.session.flush()
    return calendar


def set_artisan_exception(
    *,
    artisan_id: int,
    first_day: date,
    last_day: date | None,
    hours: tuple[OpeningInterval, ...],
    note: str,
) -> int:
    """Give the artisan days off (no hours) or special hours on each day of a range."""
    if artisan_profile(artisan_id) is None:
        raise BookingError("We could not find that artisan.")
    days, opens, closes = exception_days(first_day, last_day, hours)
    for day in days:
        db.session.execute(
            delete(ArtisanException).where(
                ArtisanException.artisan_id == artisan_id, ArtisanException.day == day
            )
        )
        db.session.add(
            ArtisanException(
                artisan_id=artisan_id, day=day, opens_at=opens, closes_at=closes, note=note.strip()
            )
        )
    return len(days)


def delete_artisan_exception(*, artisan_id: int, exception_id: int) -> None:
    db.session.execute(
        delete(ArtisanException).where(
            ArtisanException.id == exception_id, ArtisanException.artisan_id == artisan_id
        )
    )
