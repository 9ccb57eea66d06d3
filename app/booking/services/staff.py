"""The staff calendar, outcomes and notes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import selectinload

from app.booking.models import (
    ArtisanException,
    Consultation,
    ConsultationNote,
    ConsultationStatus,
)
from app.booking.services.availability import occupies_slot
from app.booking.services.calendars import rules_for
from app.booking.services.errors import BookingError
from app.booking.services.reading import get_consultation
from app.booking.services.settings import list_exceptions, studio_rules, studio_timezone
from app.domain import scheduling
from app.domain.clock import utcnow
from app.domain.scheduling import StudioRules, local_date, to_local, to_utc
from app.extensions import db


def _day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = scheduling.studio_zone(zone)
    start = to_utc(datetime.combine(day, time(0), tzinfo=tz))
    end = to_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
    return start, end


def consultations_on(day: date, *, now: datetime | None = None) -> list[Consultation]:
    """Consultations holding their time on a studio day, in time order: for the staff dashboard.

    Cancelled ones and guests' holds that lapsed unconfirmed are left out.
    """
    now = now or utcnow()
    start, end = _day_bounds(day, studio_timezone())
    return list(
        db.session.execute(
            db.select(Consultation)
            .options(selectinload(Consultation.product))
            .where(
                occupies_slot(now),
                Consultation.starts_at >= start,
                Consultation.starts_at < end,
            )
            .order_by(Consultation.starts_at)
        ).scalars()
    )


def staff_schedule(
    *, now: datetime, past: bool = False, days: int = 60, include_cancelled: bool = False
) -> list[Consultation]:
    """Upcoming consultations from the start of today (or the past ones, newest first).

    Cancelled ones and lapsed holds only with ``include_cancelled``.
    """
    today_start, _ = _day_bounds(local_date(now, studio_timezone()), studio_timezone())
    stmt = db.select(Consultation).options(
        selectinload(Consultation.product),
        selectinload(Consultation.artisan),
        selectinload(Consultation.staff_notes).selectinload(ConsultationNote.author),
    )
    if past:
        stmt = stmt.where(
            Consultation.starts_at < today_start,
            Consultation.starts_at >= today_start - timedelta(days=days),
        ).order_by(Consultation.starts_at.desc())
    else:
        stmt = stmt.where(
            Consultation.starts_at >= today_start,
            Consultation.starts_at < today_start + timedelta(days=days),
        ).order_by(Consultation.starts_at)
    if not include_cancelled:
        stmt = stmt.where(occupies_slot(now))
    return list(db.session.execute(stmt).scalars())


def mark_outcome(*, consultation_id: int, status: str, now: datetime) -> Consultation:
    """Mark a consultation done or no-show (once it has started)."""
    if status not in (ConsultationStatus.DONE.value, ConsultationStatus.NO_SHOW.value):
        raise BookingError("Mark a consultation done or no-show.")
    consultation = get_consultation(consultation_id=consultation_id)
    if consultation.status == ConsultationStatus.CANCELLED.value:
        raise BookingError("That consultation was cancelled.")
    if consultation.status in (ConsultationStatus.PENDING.value, ConsultationStatus.LAPSED.value):
        raise BookingError("The guest never confirmed this booking.")
    if now < consultation.starts_at:
        raise BookingError("That consultation has not started yet.")
    consultation.status = status
    consultation.updated_at = now
    return consultation


def add_staff_note(*, consultation_id: int, author_id: int, body: str) -> ConsultationNote:
    """Add a staff note (not shown to the customer) to the consultation."""
    body = body.strip()
    if not body:
        raise BookingError("Write a note first.", field="body")
    consultation = get_consultation(consultation_id=consultation_id)
    note = ConsultationNote(consultation=consultation, author_id=author_id, body=body)
    db.session.add(note)
    return note


def bookings_clashing_with_exceptions(*, now: datetime) -> list[Consultation]:
    """Active bookings now outside their artisan's hours (after a closure, a day off or new
    hours), for staff to contact."""
    today = local_date(now, studio_timezone())
    if (
        not list_exceptions(since=today)
        and not db.session.execute(
            db.select(ArtisanException.id).where(ArtisanException.day >= today).limit(1)
        ).first()
    ):
        return []
    base = studio_rules(now=now)
    rules_by_artisan: dict[int | None, StudioRules] = {}
    clashes = []
    for consultation in staff_schedule(now=now, days=400):
        if not consultation.is_active:
            continue
        artisan_id = consultation.artisan_id
        if artisan_id not in rules_by_artisan:
            rules_by_artisan[artisan_id] = rules_for(artisan_id, base=base, now=now)
        rules = rules_by_artisan[artisan_id]
        day = local_date(consultation.starts_at, consultation.studio_timezone)
        hours = rules.hours_on(day)
        local_start = to_local(consultation.starts_at, consultation.studio_timezone)
        local_end = to_local(consultation.ends_at, consultation.studio_timezone)
        inside = any(i.opens <= local_start.time() and local_end.time() <= i.closes for i in hours)
        if not inside:
            clashes.append(consultation)
    return clashes
