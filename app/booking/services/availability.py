"""Free slots, and claiming one safely while others book at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.exc import IntegrityError

from app.booking.models import (
    FREE_SLOT_STATUSES,
    ArtisanDay,
    Consultation,
    ConsultationDay,
    ConsultationStatus,
)
from app.booking.services.calendars import bookable_artisan, bookable_artisans, rules_for
from app.booking.services.errors import SlotTaken, SlotUnavailable
from app.booking.services.meetings import video_artisans
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


def on_calendar(artisan_id: int | None) -> ColumnElement[bool]:
    """Consultations on one artisan's calendar (the studio's own for None)."""
    if artisan_id is None:
        return Consultation.artisan_id.is_(None)
    return Consultation.artisan_id == artisan_id


def _busy_periods(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    artisan_id: int | None,
    exclude_id: int | None = None,
) -> list[BusyPeriod]:
    """One calendar's consultations holding time in [start, end) (naive UTC), read fresh."""
    stmt = db.select(Consultation.starts_at, Consultation.ends_at).where(
        occupies_slot(now),
        on_calendar(artisan_id),
        Consultation.starts_at < end,
        Consultation.ends_at > start,
    )
    if exclude_id is not None:
        stmt = stmt.where(Consultation.id != exclude_id)
    return [BusyPeriod(s, e) for s, e in db.session.execute(stmt)]


def calendars_for(artisan_id: int | None, *, video: bool = False) -> list[int | None]:
    """The calendars a booking may go on: the named artisan's; for None ("any artisan") every
    bookable artisan's in the fixed order, or the studio's own when no artisan takes bookings.

    By video, "any artisan" means those with a link to join by (every one when the studio has a
    default). Booking refuses video when there is none; a move of an older video booking then
    falls back to every artisan, its customer told the link will follow.
    """
    if artisan_id is not None:
        return [bookable_artisan(artisan_id).id]
    artisans = bookable_artisans()
    if video:
        artisans = video_artisans(artisans) or artisans
    return [artisan.id for artisan in artisans] or [None]


def available_slots(
    *,
    now: datetime,
    exclude_id: int | None = None,
    artisan_id: int | None = None,
    video: bool = False,
) -> list[Slot]:
    """Free slots from now to the end of the booking horizon: the named artisan's, or for None
    the union of the free slots of every artisan "any artisan" may go to (``calendars_for``)."""
    base = studio_rules(now=now)
    calendars = calendars_for(artisan_id, video=video)
    stmt = db.select(Consultation.artisan_id, Consultation.starts_at, Consultation.ends_at).where(
        occupies_slot(now),
        Consultation.starts_at < now + timedelta(days=base.horizon_days + 2),
        Consultation.ends_at > now - timedelta(days=1),
    )
    if exclude_id is not None:
        stmt = stmt.where(Consultation.id != exclude_id)
    busy: dict[int | None, list[BusyPeriod]] = {}
    for owner, starts_at, ends_at in db.session.execute(stmt):
        busy.setdefault(owner, []).append(BusyPeriod(starts_at, ends_at))
    by_start: dict[datetime, Slot] = {}
    for calendar in calendars:
        rules = rules_for(calendar, base=base, now=now)
        for slot in scheduling.free_slots(rules, now=now, busy=busy.get(calendar, ())):
            by_start.setdefault(slot.starts_at, slot)
    return [by_start[start] for start in sorted(by_start)]


def _lock_days(
    starts_at: datetime,
    ends_at: datetime,
    buffer: timedelta,
    zone: str,
    artisan_id: int | None = None,
) -> None:
    """Serialise bookings around a slot: touch the calendar row of each day it reaches.

    The rows are per artisan (ArtisanDay), or the studio's own (ConsultationDay) for bookings
    without one. The UPDATE takes a row lock on PostgreSQL (and the write lock on SQLite), so a
    second booking of the same artisan and day waits here until the first commits, then sees it.
    Rows are locked in (artisan id, date) order so two bookings never wait on each other in a
    cycle ("any artisan" tries artisans in ascending id order).
    """
    first = local_date(starts_at - buffer, zone)
    last = local_date(ends_at + buffer, zone)
    day = first
    while day <= last:
        if artisan_id is None:
            row, where = dict(day=day), ConsultationDay.day == day
            model, counter = ConsultationDay, ConsultationDay.bookings_changed
        else:
            row = dict(artisan_id=artisan_id, day=day)
            where = and_(ArtisanDay.artisan_id == artisan_id, ArtisanDay.day == day)
            model, counter = ArtisanDay, ArtisanDay.bookings_changed
        db.session.execute(
            _insert(model).values(**row, bookings_changed=0).on_conflict_do_nothing()
        )
        db.session.execute(update(model).where(where).values(bookings_changed=counter + 1))
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
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    artisan_id: int | None,
    exclude_id: int | None = None,
) -> int:
    """Mark guests' unconfirmed holds in [start, end) whose time ran out as lapsed.

    Called under the day lock of that artisan's calendar (and touches no other calendar's rows),
    so a lapsed hold leaves the unique start index before the booking that replaces it is
    inserted.
    """
    table = Consultation.__table__
    calendar = (
        table.c.artisan_id.is_(None) if artisan_id is None else table.c.artisan_id == artisan_id
    )
    stmt = (
        update(table)
        .where(
            calendar,
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
    artisan_id: int | None,
    exclude_id: int | None = None,
) -> None:
    """Under the day lock: release lapsed holds, then check nothing on the artisan's calendar
    sits within the buffer."""
    start, end = starts_at - buffer, ends_at + buffer
    _lapse_expired_holds(
        start=start, end=end, now=now, artisan_id=artisan_id, exclude_id=exclude_id
    )
    if _busy_periods(start=start, end=end, now=now, artisan_id=artisan_id, exclude_id=exclude_id):
        raise SlotTaken()


def _claim_interval(
    *,
    starts_at: datetime,
    ends_at: datetime,
    buffer: timedelta,
    zone: str,
    now: datetime,
    artisan_id: int | None,
    exclude_id: int | None = None,
) -> None:
    """Lock the artisan's days around the interval and check nothing active sits within the
    buffer."""
    _lock_days(starts_at, ends_at, buffer, zone, artisan_id)
    _check_free(
        starts_at=starts_at,
        ends_at=ends_at,
        buffer=buffer,
        now=now,
        artisan_id=artisan_id,
        exclude_id=exclude_id,
    )


@dataclass(frozen=True)
class Claim:
    """A slot locked and found free on one calendar, in the caller's transaction."""

    slot: Slot
    artisan_id: int | None
    rules: StudioRules


def claim_slot(
    *,
    starts_at: datetime,
    now: datetime,
    artisan_id: int | None,
    exclude_id: int | None = None,
    video: bool = False,
) -> Claim:
    """Claim the slot on the named artisan's calendar, or for None on the first bookable
    artisan's (in the fixed order) that has it on their grid and free.

    Each artisan tried stays locked until the caller's transaction ends, so the answer holds
    until it commits. SlotTaken if the slot is someone's but taken everywhere, else
    SlotUnavailable.
    """
    base = studio_rules(now=now)
    refusal: SlotTaken | SlotUnavailable | None = None
    for calendar in calendars_for(artisan_id, video=video):
        rules = rules_for(calendar, base=base, now=now)
        try:
            slot = _slot_on_grid(rules, starts_at, now)
            _claim_interval(
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                buffer=rules.buffer,
                zone=rules.timezone,
                now=now,
                artisan_id=calendar,
                exclude_id=exclude_id,
            )
        except (SlotTaken, SlotUnavailable) as exc:
            if refusal is None or isinstance(exc, SlotTaken):
                refusal = exc
            continue
        return Claim(slot=slot, artisan_id=calendar, rules=rules)
    raise refusal or SlotUnavailable()


def _is_slot_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return (
        "uq_consultations_active_start" in text
        or "uq_consultations_artisan_active_start" in text
        or "consultations.starts_at" in text
    )


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
