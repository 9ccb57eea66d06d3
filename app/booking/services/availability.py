"""Free slots, and claiming one safely while others book at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.exc import IntegrityError

from app.booking.models import (
    FREE_SLOT_STATUSES,
    Consultation,
    ConsultationDay,
    ConsultationStatus,
)
from app.booking.services.errors import SlotTaken, SlotUnavailable
from app.booking.services.settings import _insert, studio_rules
from app.common.transactions import atomic
from app.domain import scheduling
from app.domain.scheduling import BusyPeriod, Slot, StudioRules, local_date
from app.extensions import db


def occupies_slot(now: datetime) -> ColumnElement[bool]:
    """Consultations holding their time at ``now``: not cancelled or lapsed, nor a guest's hold
    past its expiry (which may not be marked lapsed yet)."""
    return and_(
        Consultation.status.not_in(FREE_SLOT_STATUSES),
        or_(
            Consultation.status != ConsultationStatus.PENDING.value,
            Consultation.hold_expires_at > now,
        ),
    )


def _busy_periods(
    *, start: datetime, end: datetime, now: datetime, exclude_id: int | None = None
) -> list[BusyPeriod]:
    """Consultations holding time in [start, end) (naive UTC), read fresh from the database."""
    stmt = db.select(Consultation.starts_at, Consultation.ends_at).where(
        occupies_slot(now),
        Consultation.starts_at < end,
        Consultation.ends_at > start,
    )
    if exclude_id is not None:
        stmt = stmt.where(Consultation.id != exclude_id)
    return [BusyPeriod(s, e) for s, e in db.session.execute(stmt)]


def available_slots(*, now: datetime, exclude_id: int | None = None) -> list[Slot]:
    """Free slots from now to the end of the booking horizon."""
    rules = studio_rules(now=now)
    horizon_end = now + timedelta(days=rules.horizon_days + 2)
    busy = _busy_periods(
        start=now - timedelta(days=1), end=horizon_end, now=now, exclude_id=exclude_id
    )
    return scheduling.free_slots(rules, now=now, busy=busy)


def _lock_days(starts_at: datetime, ends_at: datetime, buffer: timedelta, zone: str) -> None:
    """Serialise bookings around a slot: touch the calendar row of each studio day it reaches.

    The UPDATE takes a row lock on PostgreSQL (and the write lock on SQLite), so a second booking
    for the same day waits here until the first commits, then sees it. Days are locked in date
    order so two bookings never wait on each other in a cycle.
    """
    first = local_date(starts_at - buffer, zone)
    last = local_date(ends_at + buffer, zone)
    day = first
    while day <= last:
        db.session.execute(
            _insert(ConsultationDay).values(day=day, bookings_changed=0).on_conflict_do_nothing()
        )
        db.session.execute(
            update(ConsultationDay)
            .where(ConsultationDay.day == day)
            .values(bookings_changed=ConsultationDay.bookings_changed + 1)
        )
        day += timedelta(days=1)


def _slot_on_grid(rules: StudioRules, starts_at: datetime, now: datetime) -> Slot:
    """The grid slot starting at starts_at, bookable now; else SlotUnavailable."""
    day = local_date(starts_at, rules.zone)
    if day not in scheduling.bookable_days(rules, now=now):
        raise SlotUnavailable()
    for slot in scheduling.day_grid(rules, day):
        if slot.starts_at == starts_at:
            if slot.starts_at < now + timedelta(hours=rules.min_notice_hours):
                raise SlotUnavailable("That time is too soon to book; pick a later one.")
            return slot
    raise SlotUnavailable()


def _lapse_expired_holds(
    *, start: datetime, end: datetime, now: datetime, exclude_id: int | None = None
) -> int:
    """Mark guests' unconfirmed holds in [start, end) whose time ran out as lapsed.

    Called under the day lock, so a lapsed hold leaves the unique start index before the
    booking that replaces it is inserted.
    """
    table = Consultation.__table__
    stmt = (
        update(table)
        .where(
            table.c.status == ConsultationStatus.PENDING.value,
            table.c.hold_expires_at <= now,
            table.c.starts_at < end,
            table.c.ends_at > start,
        )
        .values(status=ConsultationStatus.LAPSED.value, updated_at=now)
    )
    if exclude_id is not None:
        stmt = stmt.where(table.c.id != exclude_id)
    return db.session.execute(stmt).rowcount


def _check_free(
    *,
    starts_at: datetime,
    ends_at: datetime,
    buffer: timedelta,
    now: datetime,
    exclude_id: int | None = None,
) -> None:
    """Under the day lock: release lapsed holds, then check nothing sits within the buffer."""
    start, end = starts_at - buffer, ends_at + buffer
    _lapse_expired_holds(start=start, end=end, now=now, exclude_id=exclude_id)
    if _busy_periods(start=start, end=end, now=now, exclude_id=exclude_id):
        raise SlotTaken()


def _claim_interval(
    *,
    starts_at: datetime,
    ends_at: datetime,
    buffer: timedelta,
    zone: str,
    now: datetime,
    exclude_id: int | None = None,
) -> None:
    """Lock the days around the interval and check nothing active sits within the buffer."""
    _lock_days(starts_at, ends_at, buffer, zone)
    _check_free(starts_at=starts_at, ends_at=ends_at, buffer=buffer, now=now, exclude_id=exclude_id)


def _is_slot_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_consultations_active_start" in text or "consultations.starts_at" in text


@contextmanager
def _writing_slot() -> Iterator[None]:
    """Write a consultation's time in a savepoint; the unique start index refusing it is SlotTaken.

    Call it after ``_claim_interval``, whose writes open the outer transaction: on SQLite a
    savepoint that opens the transaction would commit when released.
    """
    try:
        with atomic():
            yield
            db.session.flush()
    except IntegrityError as exc:
        if _is_slot_clash(exc):
            raise SlotTaken() from exc
        raise
