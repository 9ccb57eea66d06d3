"""Consultation operations: availability, booking, changes by signed link, reminders, staff tools.

Every function that changes data commits (or rolls back) itself and raises a BookingError whose
message is for the person at the screen.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from flask import current_app, url_for
from flask_mail import Attachment
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.booking.invites import Invite, build_ics
from app.booking.models import (
    CalendarException,
    Consultation,
    ConsultationDay,
    ConsultationNote,
    ConsultationStatus,
    OpeningHours,
    StudioSettings,
    long_date,
)
from app.catalog import services as catalog_services
from app.catalog.models import Product, Tier
from app.common.mail import send_mail
from app.domain import scheduling
from app.domain.scheduling import (
    BusyPeriod,
    LeadTimePlan,
    OpeningInterval,
    Slot,
    StudioRules,
    local_date,
    to_local,
    to_utc,
)
from app.extensions import db
from app.tryon import services as tryon
from app.tryon.models import TryonSnapshot

TOKEN_SALT = "diadem.consultation"
SLOT_TAKEN_MESSAGE = "That slot was just taken — please pick another."
REMINDER_HOURS = 24
MAX_EVENT_YEARS_AHEAD = 3
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes

# New studios open Tuesday to Saturday, 10:00-17:00, until staff say otherwise.
DEFAULT_WEEKLY_HOURS: dict[int, tuple[OpeningInterval, ...]] = {
    weekday: (OpeningInterval(time(10), time(17)),) for weekday in (1, 2, 3, 4, 5)
}


class BookingError(Exception):
    """A consultation operation that cannot be done; the message is for the user."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class SlotTaken(BookingError):
    field = "slot"

    def __init__(self, message: str = SLOT_TAKEN_MESSAGE) -> None:
        super().__init__(message)


class SlotUnavailable(BookingError):
    field = "slot"

    def __init__(
        self, message: str = "That time is not open for booking; pick one of the times offered."
    ) -> None:
        super().__init__(message)


class InvalidBooking(BookingError):
    """A rule across fields (event date against the slot, rush not accepted...)."""


class ConsultationNotFound(BookingError):
    pass


class InvalidManageLink(BookingError):
    pass


class ChangesClosed(BookingError):
    pass


class SnapshotNotFound(BookingError):
    field = "snapshot"


class OrderDraftUnavailable(BookingError):
    pass


# ---------------------------------------------------------------- settings and the studio calendar


def studio_timezone() -> str:
    return current_app.config.get("STUDIO_TIMEZONE") or "Europe/London"


def _insert(model):
    """INSERT ... ON CONFLICT DO NOTHING for the session's database."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def get_settings() -> StudioSettings:
    """The studio's consultation settings, created with defaults (and default hours) if missing."""
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
    db.session.commit()
    return db.session.get(StudioSettings, 1)


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


def _busy_periods(
    *, start: datetime, end: datetime, exclude_id: int | None = None
) -> list[BusyPeriod]:
    """Active consultations touching [start, end) (naive UTC), read fresh from the database."""
    stmt = db.select(Consultation.starts_at, Consultation.ends_at).where(
        Consultation.status != ConsultationStatus.CANCELLED.value,
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
    busy = _busy_periods(start=now - timedelta(days=1), end=horizon_end, exclude_id=exclude_id)
    return scheduling.free_slots(rules, now=now, busy=busy)


def lead_time_plan(*, event_date: date, product_id: int | None = None) -> LeadTimePlan:
    """Schedule back from the event with the product's lead time (or the studio default)."""
    settings = get_settings()
    weeks = settings.default_lead_time_weeks
    if product_id is not None:
        product = db.session.get(Product, product_id)
        if product is not None and product.lead_time_weeks:
            weeks = product.lead_time_weeks
    return scheduling.plan_back_from_event(
        event_date,
        lead_time_weeks=weeks,
        shipping_days=settings.shipping_days,
        safety_days=settings.safety_days,
    )


def custom_products() -> list[Product]:
    return list(
        db.session.execute(
            db.select(Product).where(Product.tier == Tier.CUSTOM.value).order_by(Product.name)
        ).scalars()
    )


def product_by_slug(slug: str) -> Product | None:
    return db.session.execute(db.select(Product).where(Product.slug == slug)).scalar_one_or_none()


def snapshots_for_user(*, user_id: int) -> list[TryonSnapshot]:
    """The customer's saved try-on snapshots, newest first (the try-on feature's list)."""
    return tryon.list_snapshots(user_id=user_id)


def snapshot_for_user(*, snapshot_id: int, user_id: int | None) -> TryonSnapshot:
    """The user's own snapshot; raise SnapshotNotFound for anyone else's (or a guest)."""
    # Ownership is the try-on feature's rule; booking only words the refusal for its form.
    message = "We could not find that try-on snapshot in your account."
    if user_id is None:
        raise SnapshotNotFound(message)
    try:
        return tryon.get_snapshot(snapshot_id=snapshot_id, user_id=user_id)
    except tryon.SnapshotNotFound as exc:
        raise SnapshotNotFound(message) from exc


# ---------------------------------------------------------------------------------------- booking


@dataclass(frozen=True)
class FitNotes:
    head_circumference_mm: int | None = None
    circumference_unit: str | None = None
    hairstyle: str = ""
    veil: str = ""
    metal_code: str | None = None
    stone_preferences: str = ""
    allergies: str = ""
    budget: str = ""
    notes: str = ""


@dataclass(frozen=True)
class BookingRequest:
    name: str
    email: str
    event_kind: str
    event_date: date
    mode: str
    starts_at: datetime  # naive UTC, a slot of the grid
    fit: FitNotes = field(default_factory=FitNotes)
    product_id: int | None = None
    snapshot_id: int | None = None
    customer_timezone: str | None = None
    accept_rush: bool = False


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


def _claim_interval(
    *,
    starts_at: datetime,
    ends_at: datetime,
    buffer: timedelta,
    zone: str,
    exclude_id: int | None = None,
) -> None:
    """Lock the days around the interval and check nothing active sits within the buffer."""
    _lock_days(starts_at, ends_at, buffer, zone)
    busy = _busy_periods(start=starts_at - buffer, end=ends_at + buffer, exclude_id=exclude_id)
    if busy:
        raise SlotTaken()


def _is_slot_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_consultations_active_start" in text or "consultations.starts_at" in text


def _check_event(
    *, event_date: date, slot_day: date, today: date, plan: LeadTimePlan, accept_rush: bool
) -> bool:
    """Apply the rules between event and slot; return whether the booking is a rush."""
    if event_date < today:
        raise InvalidBooking("The event date is in the past.", field="event_date")
    if event_date > today + timedelta(days=366 * MAX_EVENT_YEARS_AHEAD):
        raise InvalidBooking(
            f"That is more than {MAX_EVENT_YEARS_AHEAD} years away; please write to us instead.",
            field="event_date",
        )
    if event_date < slot_day:
        raise InvalidBooking(
            f"Your event ({long_date(event_date)}) is before this consultation "
            f"({long_date(slot_day)}); pick an earlier time or check the event date.",
            field="event_date",
        )
    rush = plan.is_rush_on(slot_day)
    if rush and not accept_rush:
        raise InvalidBooking(
            f"To make your event we should start by {long_date(plan.latest_safe_date)}. "
            "Pick an earlier time, or tick the box to go ahead as a rush commission.",
            field="accept_rush",
        )
    return rush


def _new_reference() -> str:
    return "DC-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def book_consultation(
    *, request: BookingRequest, user_id: int | None, now: datetime
) -> Consultation:
    """Book a free slot; raise SlotTaken if someone else got it first."""
    zone = studio_timezone()
    rules = studio_rules(now=now)
    slot = _slot_on_grid(rules, request.starts_at, now)
    if request.product_id is not None and db.session.get(Product, request.product_id) is None:
        raise BookingError("We could not find that piece.", field="product")
    plan = lead_time_plan(event_date=request.event_date, product_id=request.product_id)
    rush = _check_event(
        event_date=request.event_date,
        slot_day=slot.local_day,
        today=local_date(now, zone),
        plan=plan,
        accept_rush=request.accept_rush,
    )
    fit = request.fit
    recommended_size = None
    if request.snapshot_id is not None:
        snapshot = snapshot_for_user(snapshot_id=request.snapshot_id, user_id=user_id)
        recommended_size = snapshot.recommended_size
        if fit.head_circumference_mm is None and snapshot.head_circumference_mm:
            fit = replace(
                fit, head_circumference_mm=snapshot.head_circumference_mm, circumference_unit="cm"
            )
    consultation = Consultation(
        reference=_new_reference(),
        manage_key=secrets.token_hex(16),
        user_id=user_id,
        name=request.name.strip(),
        email=request.email.strip().lower(),
        product_id=request.product_id,
        snapshot_id=request.snapshot_id,
        event_kind=request.event_kind,
        event_date=request.event_date,
        mode=request.mode,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        studio_timezone=zone,
        customer_timezone=request.customer_timezone,
        rush=rush,
        latest_safe_date=plan.latest_safe_date,
        lead_time_weeks=plan.lead_time_weeks,
        recommended_size=recommended_size,
        head_circumference_mm=fit.head_circumference_mm,
        circumference_unit=fit.circumference_unit,
        hairstyle=fit.hairstyle,
        veil=fit.veil,
        metal_code=fit.metal_code or None,
        stone_preferences=fit.stone_preferences.strip(),
        allergies=fit.allergies.strip(),
        budget=fit.budget,
        notes=fit.notes.strip(),
        created_at=now,
        updated_at=now,
    )
    try:
        _claim_interval(
            starts_at=slot.starts_at, ends_at=slot.ends_at, buffer=rules.buffer, zone=zone
        )
        db.session.add(consultation)
        db.session.commit()
    except SlotTaken:
        db.session.rollback()
        raise
    except IntegrityError as exc:
        db.session.rollback()
        if _is_slot_clash(exc):
            raise SlotTaken() from exc
        raise
    _notify(consultation, "consultation_confirmed", "Your Diadem consultation is booked", now)
    return consultation


# ------------------------------------------------------------------ reading, owners, signed links


def _with_details():
    return (
        selectinload(Consultation.product),
        selectinload(Consultation.snapshot),
        selectinload(Consultation.staff_notes).selectinload(ConsultationNote.author),
    )


def get_consultation(*, consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id, options=_with_details())
    if consultation is None:
        raise ConsultationNotFound("We could not find that consultation.")
    return consultation


def consultation_for_user(*, consultation_id: int, user_id: int) -> Consultation:
    """The consultation if it belongs to user_id; anyone else's is simply not found."""
    consultation = get_consultation(consultation_id=consultation_id)
    if consultation.user_id != user_id:
        raise ConsultationNotFound("We could not find that consultation.")
    return consultation


def consultations_for_user(*, user_id: int) -> list[Consultation]:
    return list(
        db.session.execute(
            db.select(Consultation)
            .where(Consultation.user_id == user_id)
            .order_by(Consultation.starts_at.desc())
        ).scalars()
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=TOKEN_SALT)


def manage_token(consultation: Consultation) -> str:
    return _serializer().dumps({"c": consultation.id, "k": consultation.manage_key})


def consultation_for_token(*, token: str) -> Consultation:
    """The consultation a signed manage link names; raise InvalidManageLink if forged or revoked."""
    try:
        data = _serializer().loads(token)
    except BadSignature as exc:
        raise InvalidManageLink("That link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise InvalidManageLink("That link is not valid.")
    consultation = db.session.get(Consultation, data["c"], options=_with_details())
    if consultation is None or not hmac.compare_digest(
        str(data.get("k", "")), consultation.manage_key
    ):
        raise InvalidManageLink("That link is not valid.")
    return consultation


def change_deadline(consultation: Consultation) -> datetime:
    """The last moment (naive UTC) the customer may reschedule or cancel online."""
    return consultation.starts_at - timedelta(hours=get_settings().change_cutoff_hours)


def can_change(consultation: Consultation, *, now: datetime) -> bool:
    return consultation.is_active and now < change_deadline(consultation)


def _check_can_change(consultation: Consultation, now: datetime) -> None:
    if not consultation.is_active:
        raise ChangesClosed(
            f"This consultation is {consultation.status_label.lower()}; it cannot be changed."
        )
    if now >= change_deadline(consultation):
        hours = get_settings().change_cutoff_hours
        raise ChangesClosed(
            f"Online changes close {hours} hours before the consultation. "
            "Please email or call the atelier instead."
        )


def cancel_consultation(*, consultation_id: int, now: datetime) -> Consultation:
    """Cancel before the cut-off; the slot becomes free again."""
    consultation = get_consultation(consultation_id=consultation_id)
    _check_can_change(consultation, now)
    consultation.status = ConsultationStatus.CANCELLED.value
    consultation.cancelled_at = now
    consultation.updated_at = now
    db.session.commit()
    _notify(consultation, "consultation_cancelled", "Your Diadem consultation is cancelled", now)
    return consultation


def reschedule_consultation(
    *, consultation_id: int, starts_at: datetime, now: datetime, accept_rush: bool = False
) -> Consultation:
    """Move a booking to another free slot before the cut-off; the old slot becomes free."""
    consultation = get_consultation(consultation_id=consultation_id)
    _check_can_change(consultation, now)
    zone = consultation.studio_timezone
    rules = studio_rules(now=now)
    slot = _slot_on_grid(rules, starts_at, now)
    plan = lead_time_plan(event_date=consultation.event_date, product_id=consultation.product_id)
    rush = _check_event(
        event_date=consultation.event_date,
        slot_day=slot.local_day,
        today=local_date(now, zone),
        plan=plan,
        accept_rush=accept_rush or consultation.rush,
    )
    try:
        _claim_interval(
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            buffer=rules.buffer,
            zone=zone,
            exclude_id=consultation.id,
        )
        consultation.starts_at = slot.starts_at
        consultation.ends_at = slot.ends_at
        consultation.rush = rush
        consultation.latest_safe_date = plan.latest_safe_date
        consultation.reschedule_count += 1
        consultation.reminder_sent_at = None  # the new time deserves its own reminder
        consultation.updated_at = now
        db.session.commit()
    except SlotTaken:
        db.session.rollback()
        raise
    except IntegrityError as exc:
        db.session.rollback()
        if _is_slot_clash(exc):
            raise SlotTaken() from exc
        raise
    _notify(consultation, "consultation_rescheduled", "Your Diadem consultation has moved", now)
    return consultation


# ------------------------------------------------------------------------------ invites and mail


def _external_url(endpoint: str, **values: object) -> str:
    """An absolute URL, also from the CLI (SERVER_NAME, else PUBLIC_BASE_URL)."""
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:
        base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000"
        with current_app.test_request_context("/", base_url=base):
            return url_for(endpoint, _external=True, **values)


def studio_address() -> str:
    return (
        current_app.config.get("STUDIO_ADDRESS")
        or "Diadem Atelier, 14 Hatton Garden, London EC1N 8AT"
    )


def atelier_email() -> str:
    """The atelier's address, from the mail sender ("Diadem Atelier <atelier@...>")."""
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "atelier@diadem.test"
    if isinstance(sender, tuple):
        sender = sender[1]
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()


def invite_ics(*, consultation: Consultation, now: datetime) -> bytes:
    """The consultation's calendar invite (times on the studio clock)."""
    organizer_email = atelier_email()
    manage_url = _external_url("booking.manage", token=manage_token(consultation))
    if consultation.mode == "video":
        location = "Video call: the atelier emails you the link the day before"
    else:
        location = studio_address()
    description = (
        f"Bespoke consultation {consultation.reference} with Diadem Atelier "
        f"({consultation.mode_label.lower()}).\n"
        f"Event: {consultation.event_kind_label} on {consultation.event_date:%d %B %Y}.\n"
        f"Reschedule or cancel: {manage_url}"
    )
    domain = organizer_email.rsplit("@", 1)[-1]
    return build_ics(
        Invite(
            uid=f"consultation-{consultation.id}-{consultation.manage_key[:8]}@{domain}",
            sequence=consultation.reschedule_count,
            summary="Diadem bespoke consultation",
            description=description,
            location=location,
            starts_at=consultation.starts_at,
            ends_at=consultation.ends_at,
            timezone=consultation.studio_timezone,
            organizer_email=organizer_email,
            organizer_name="Diadem Atelier",
            attendee_email=consultation.email,
            attendee_name=consultation.name,
            url=manage_url,
            cancelled=consultation.status == ConsultationStatus.CANCELLED.value,
        ),
        stamp=now,
    )


def invite_filename(consultation: Consultation) -> str:
    return f"diadem-consultation-{consultation.reference}.ics"


def _mail_context(consultation: Consultation) -> dict[str, object]:
    return {
        "consultation": consultation,
        "manage_url": _external_url("booking.manage", token=manage_token(consultation)),
        "book_url": _external_url("booking.new_consultation"),
        "fit_guide_url": _external_url("main.fit_guide"),
        "location": studio_address(),
        "cutoff_hours": get_settings().change_cutoff_hours,
    }


def _notify(consultation: Consultation, template: str, subject: str, now: datetime) -> None:
    """Email the customer; a mail failure is logged, never undoes the booking."""
    try:
        attachment = Attachment(
            filename=invite_filename(consultation),
            content_type="text/calendar; charset=utf-8",
            data=invite_ics(consultation=consultation, now=now),
        )
        send_mail(
            to=consultation.email,
            subject=f"{subject} ({consultation.reference})",
            template=template,
            attachments=[attachment],
            **_mail_context(consultation),
        )
    except Exception:  # noqa: BLE001 - the booking stands; staff see it in the calendar
        current_app.logger.exception("Could not email consultation %s", consultation.reference)


def send_due_reminders(*, now: datetime) -> int:
    """Email a reminder for each booking starting within 24 h that has not had one; return count.

    Each reminder is claimed by a conditional UPDATE of reminder_sent_at, in the same transaction
    that sends it: a second run (even a concurrent one) finds the column set and skips the row,
    and a failed send rolls the claim back so the next run tries again.
    """
    due_ids = list(
        db.session.execute(
            db.select(Consultation.id)
            .where(
                Consultation.status == ConsultationStatus.BOOKED.value,
                Consultation.reminder_sent_at.is_(None),
                Consultation.starts_at > now,
                Consultation.starts_at <= now + timedelta(hours=REMINDER_HOURS),
            )
            .order_by(Consultation.starts_at)
        ).scalars()
    )
    db.session.rollback()
    table = Consultation.__table__
    sent = 0
    for consultation_id in due_ids:
        claimed = db.session.execute(
            update(table)
            .where(
                table.c.id == consultation_id,
                table.c.reminder_sent_at.is_(None),
                table.c.status == ConsultationStatus.BOOKED.value,
            )
            .values(reminder_sent_at=now)
        ).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        consultation = db.session.get(Consultation, consultation_id, populate_existing=True)
        try:
            send_mail(
                to=consultation.email,
                subject=f"Reminder: your Diadem consultation ({consultation.reference})",
                template="consultation_reminder",
                **_mail_context(consultation),
            )
        except Exception:  # noqa: BLE001 - leave it unclaimed for the next run
            db.session.rollback()
            current_app.logger.exception("Reminder for %s failed", consultation.reference)
            continue
        db.session.commit()
        sent += 1
    return sent


# ------------------------------------------------------------------------------------------ staff


def _day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = scheduling.studio_zone(zone)
    start = to_utc(datetime.combine(day, time(0), tzinfo=tz))
    end = to_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
    return start, end


def consultations_on(day: date) -> list[Consultation]:
    """Consultations (not cancelled) on a studio day, in time order: for the staff dashboard."""
    start, end = _day_bounds(day, studio_timezone())
    return list(
        db.session.execute(
            db.select(Consultation)
            .options(selectinload(Consultation.product))
            .where(
                Consultation.status != ConsultationStatus.CANCELLED.value,
                Consultation.starts_at >= start,
                Consultation.starts_at < end,
            )
            .order_by(Consultation.starts_at)
        ).scalars()
    )


def staff_schedule(
    *, now: datetime, past: bool = False, days: int = 60, include_cancelled: bool = False
) -> list[Consultation]:
    """Upcoming consultations from the start of today (or the past ones, newest first)."""
    today_start, _ = _day_bounds(local_date(now, studio_timezone()), studio_timezone())
    stmt = db.select(Consultation).options(
        selectinload(Consultation.product),
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
        stmt = stmt.where(Consultation.status != ConsultationStatus.CANCELLED.value)
    return list(db.session.execute(stmt).scalars())


def mark_outcome(*, consultation_id: int, status: str, now: datetime) -> Consultation:
    """Mark a consultation done or no-show (once it has started)."""
    if status not in (ConsultationStatus.DONE.value, ConsultationStatus.NO_SHOW.value):
        raise BookingError("Mark a consultation done or no-show.")
    consultation = get_consultation(consultation_id=consultation_id)
    if consultation.status == ConsultationStatus.CANCELLED.value:
        raise BookingError("That consultation was cancelled.")
    if now < consultation.starts_at:
        raise BookingError("That consultation has not started yet.")
    consultation.status = status
    consultation.updated_at = now
    db.session.commit()
    return consultation


def add_staff_note(*, consultation_id: int, author_id: int, body: str) -> ConsultationNote:
    body = body.strip()
    if not body:
        raise BookingError("Write a note first.", field="body")
    consultation = get_consultation(consultation_id=consultation_id)
    note = ConsultationNote(consultation=consultation, author_id=author_id, body=body)
    db.session.add(note)
    db.session.commit()
    return note


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


def update_settings(*, changes: SettingsUpdate) -> StudioSettings:
    """Save the settings and replace the weekly hours; existing bookings keep their times."""
    settings = get_settings()
    for name in (
        "consultation_minutes",
        "buffer_minutes",
        "horizon_days",
        "min_notice_hours",
        "change_cutoff_hours",
        "default_lead_time_weeks",
        "shipping_days",
        "safety_days",
    ):
        setattr(settings, name, getattr(changes, name))
    db.session.execute(delete(OpeningHours))
    for weekday, intervals in sorted(changes.weekly_hours.items()):
        for interval in intervals:
            db.session.add(
                OpeningHours(weekday=weekday, opens_at=interval.opens, closes_at=interval.closes)
            )
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
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
    last_day = last_day or first_day
    if last_day < first_day:
        raise BookingError("The last day is before the first.", field="last_day")
    if (last_day - first_day).days > 366:
        raise BookingError("Set at most a year of exceptions at once.", field="last_day")
    if len(hours) > 1:
        raise BookingError("Give one stretch of hours, e.g. 12:00-16:00.", field="hours")
    opens, closes = (hours[0].opens, hours[0].closes) if hours else (None, None)
    day = first_day
    count = 0
    while day <= last_day:
        db.session.execute(delete(CalendarException).where(CalendarException.day == day))
        db.session.add(
            CalendarException(day=day, opens_at=opens, closes_at=closes, note=note.strip())
        )
        day += timedelta(days=1)
        count += 1
    db.session.commit()
    return count


def delete_exception(*, exception_id: int) -> None:
    db.session.execute(delete(CalendarException).where(CalendarException.id == exception_id))
    db.session.commit()


def bookings_clashing_with_exceptions(*, now: datetime) -> list[Consultation]:
    """Active bookings that now fall on a closed day, for staff to contact."""
    closed = [row.day for row in list_exceptions(since=local_date(now, studio_timezone()))]
    if not closed:
        return []
    clashes = []
    rules = studio_rules(now=now)
    for consultation in staff_schedule(now=now, days=400):
        if not consultation.is_active:
            continue
        day = local_date(consultation.starts_at, consultation.studio_timezone)
        hours = rules.hours_on(day)
        local_start = to_local(consultation.starts_at, consultation.studio_timezone)
        local_end = to_local(consultation.ends_at, consultation.studio_timezone)
        inside = any(i.opens <= local_start.time() and local_end.time() <= i.closes for i in hours)
        if not inside:
            clashes.append(consultation)
    return clashes


def _size_for(head_circumference_mm: int | None) -> str | None:
    """The fit size whose range holds the measurement, if any."""
    if head_circumference_mm is None:
        return None
    for size in catalog_services.all_sizes():
        if size.min_circumference_mm <= head_circumference_mm < size.max_circumference_mm:
            return size.code
    return None


def create_order_draft(
    *,
    consultation_id: int,
    now: datetime,
    product_id: int | None = None,
    metal_code: str | None = None,
    size_code: str | None = None,
) -> Consultation:
    """Turn a consultation into a custom order draft carrying its fit notes.

    The consultation is claimed first (a conditional UPDATE of order_drafted_at), so a double
    click or two staff at once make one draft; if checkout refuses, the claim is released.
    """
    if not order_drafts_available():
        raise OrderDraftUnavailable("Custom order drafts are not available yet.")
    from app.checkout import services as checkout

    consultation = get_consultation(consultation_id=consultation_id)
    product = db.session.get(Product, product_id or consultation.product_id or 0)
    if product is None or not product.is_custom:
        raise BookingError("Choose the custom piece this commission is for.", field="product")
    metal_code = metal_code or consultation.metal_code or product.default_metal.code
    size_code = (
        size_code or consultation.recommended_size or _size_for(consultation.head_circumference_mm)
    )
    if size_code is None:
        raise BookingError("Choose a size: the consultation has no measurement.", field="size")
    table = Consultation.__table__
    claimed = db.session.execute(
        update(table)
        .where(table.c.id == consultation_id, table.c.order_drafted_at.is_(None))
        .values(order_drafted_at=now)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        raise BookingError("This consultation already has an order draft.")
    try:
        order = checkout.create_custom_order_draft(
            user_id=consultation.user_id,
            email=consultation.email,
            name=consultation.name,
            product_id=product.id,
            metal_code=metal_code,
            size_code=size_code,
            notes=fit_notes_text(consultation),
            event_date=consultation.event_date,
        )
    except checkout.CheckoutError as exc:
        db.session.rollback()
        db.session.execute(
            update(table).where(table.c.id == consultation_id).values(order_drafted_at=None)
        )
        db.session.commit()
        raise BookingError(str(exc)) from exc
    consultation = db.session.get(Consultation, consultation_id, populate_existing=True)
    consultation.order_id = order.id
    consultation.order_number = order.number
    if consultation.product_id is None:
        consultation.product_id = product.id
    db.session.commit()
    return consultation


def fit_notes_text(consultation: Consultation) -> str:
    """The fit notes as plain text, as they travel onto the order."""
    lines = [
        f"From consultation {consultation.reference} ({consultation.event_kind_label}, "
        f"{consultation.event_date:%d %b %Y})."
    ]
    if consultation.head_circumference_mm:
        lines.append(f"Head circumference: {consultation.head_circumference_mm / 10:g} cm")
    if consultation.recommended_size:
        lines.append(f"Recommended size (try-on): {consultation.recommended_size}")
    for label, value in consultation.fit_note_items():
        lines.append(f"{label}: {value}")
    if consultation.rush:
        lines.append(f"RUSH: latest safe start was {consultation.latest_safe_date:%d %b %Y}")
    return "\n".join(lines)


def order_drafts_available() -> bool:
    """Whether checkout offers custom order drafts yet (it is built alongside booking)."""
    try:
        from app.checkout import services as checkout
    except ImportError:
        return False
    return hasattr(checkout, "create_custom_order_draft")
