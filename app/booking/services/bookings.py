"""Booking, rescheduling and cancelling a consultation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from app.booking.models import Consultation, ConsultationMode, ConsultationStatus
from app.booking.services.availability import _writing_slot, claim_slot
from app.booking.services.calendars import keeps_artisan
from app.booking.services.errors import BookingError, ChangesClosed, InvalidBooking
from app.booking.services.holds import check_upcoming_cap, guest_hold_minutes
from app.booking.services.meetings import check_video_choice, check_video_link
from app.booking.services.notifications import _notify, _notify_hold
from app.booking.services.pieces import snapshot_for_user
from app.booking.services.reading import get_consultation
from app.booking.services.settings import (
    get_settings,
    lead_time_plan,
    studio_timezone,
)
from app.catalog.models import Product
from app.common import dates
from app.common.references import new_reference
from app.common.visitors import email_key
from app.domain.scheduling import LeadTimePlan, Slot, local_date
from app.extensions import db

MAX_EVENT_YEARS_AHEAD = 3
REFERENCE_PREFIX = "DC-"  # DC-7K3QRT: app.common.references, read aloud on the phone


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
    artisan_id: int | None = None  # None: any artisan, the first free one


def apply_fit(consultation: Consultation, fit: FitNotes) -> None:
    """Write the fit notes onto the consultation, trimmed alike at booking and when changed."""
    consultation.head_circumference_mm = fit.head_circumference_mm
    consultation.circumference_unit = (
        fit.circumference_unit if fit.head_circumference_mm is not None else None
    )
    consultation.hairstyle = fit.hairstyle
    consultation.veil = fit.veil
    consultation.metal_code = fit.metal_code or None
    consultation.stone_preferences = fit.stone_preferences.strip()
    consultation.allergies = fit.allergies.strip()
    consultation.budget = fit.budget
    consultation.notes = fit.notes.strip()


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
            f"Your event ({dates.day(event_date, 'long')}) is before this consultation "
            f"({dates.day(slot_day, 'long')}); pick an earlier time or check the event date.",
            field="event_date",
        )
    rush = plan.is_rush_on(slot_day)
    if rush and not accept_rush:
        raise InvalidBooking(
            f"To make your event we should start by {dates.day(plan.latest_safe_date, 'long')}. "
            "Pick an earlier time, or tick the box to go ahead as a rush commission.",
            field="accept_rush",
        )
    return rush


def _new_consultation(
    request: BookingRequest,
    *,
    user_id: int | None,
    slot: Slot,
    zone: str,
    plan: LeadTimePlan,
    rush: bool,
    now: datetime,
    session_key: str | None,
    artisan_id: int | None,
) -> Consultation:
    """The consultation row for a checked request, carrying the try-on snapshot's measurement.

    A guest's booking is a hold until they confirm their address; an account's is booked.
    """
    fit = request.fit
    recommended_size = None
    if request.snapshot_id is not None:
        snapshot = snapshot_for_user(snapshot_id=request.snapshot_id, user_id=user_id)
        recommended_size = snapshot.recommended_size
        if fit.head_circumference_mm is None and snapshot.head_circumference_mm:
            fit = replace(
                fit, head_circumference_mm=snapshot.head_circumference_mm, circumference_unit="cm"
            )
    if user_id is None:
        status, hold_expires_at, confirmed_at = (
            ConsultationStatus.PENDING.value,
            now + timedelta(minutes=guest_hold_minutes()),
            None,
        )
    else:
        status, hold_expires_at, confirmed_at = ConsultationStatus.BOOKED.value, None, now
    consultation = Consultation(
        reference=new_reference(REFERENCE_PREFIX),
        manage_key=secrets.token_hex(16),
        user_id=user_id,
        name=request.name.strip(),
        email=request.email.strip().lower(),
        email_key=email_key(request.email),
        session_key=session_key,
        status=status,
        hold_expires_at=hold_expires_at,
        confirmed_at=confirmed_at,
        product_id=request.product_id,
        artisan_id=artisan_id,
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
        created_at=now,
        updated_at=now,
    )
    apply_fit(consultation, fit)
    return consultation


def book_consultation(
    *,
    request: BookingRequest,
    user_id: int | None,
    now: datetime,
    session_key: str | None = None,
) -> Consultation:
    """Book a free slot; raise SlotTaken if someone else got it first.

    A guest's booking holds the slot until they confirm by the emailed link (HoldLapsed once
    BOOKING_GUEST_HOLD_MINUTES pass); a signed-in customer's is booked at once. Either way the
    buyer (by email, ``session_key`` and account) may hold at most BOOKING_MAX_UPCOMING upcoming
    consultations, else TooManyUpcoming. Runs in the caller's ``atomic()``; mail goes once it
    commits.
    """
    zone = studio_timezone()
    if request.product_id is not None and db.session.get(Product, request.product_id) is None:
        raise BookingError("We could not find that piece.", field="product")
    plan = lead_time_plan(event_date=request.event_date, product_id=request.product_id)
    rush = _check_event(
        event_date=request.event_date,
        slot_day=local_date(request.starts_at, zone),
        today=local_date(now, zone),
        plan=plan,
        accept_rush=request.accept_rush,
    )
    check_video_choice(mode=request.mode, artisan_id=request.artisan_id)
    # "Any artisan" picks the first free one here, under the same locks the insert runs under.
    claim = claim_slot(
        starts_at=request.starts_at,
        now=now,
        artisan_id=request.artisan_id,
        video=request.mode == ConsultationMode.VIDEO.value,
    )
    consultation = _new_consultation(
        request,
        user_id=user_id,
        slot=claim.slot,
        zone=zone,
        plan=plan,
        rush=rush,
        now=now,
        session_key=session_key,
        artisan_id=claim.artisan_id,
    )
    check_upcoming_cap(email=request.email, session_key=session_key, user_id=user_id, now=now)
    check_video_link(consultation)
    with _writing_slot():
        db.session.add(consultation)
    if consultation.is_pending:
        _notify_hold(consultation, hold_minutes=guest_hold_minutes())
    else:
        _notify(consultation, "consultation_confirmed", "Your Diadem consultation is booked", now)
    return consultation


def change_deadline(consultation: Consultation) -> datetime:
    """The last moment (naive UTC) the customer may reschedule or cancel online."""
    return consultation.starts_at - timedelta(hours=get_settings().change_cutoff_hours)


def can_change(consultation: Consultation, *, now: datetime) -> bool:
    return consultation.is_active and now < change_deadline(consultation)


def check_can_change(consultation: Consultation, *, now: datetime) -> None:
    """Raise ChangesClosed, saying why, unless the customer may still change it online.

    The one rule for rescheduling, cancelling and changing fit notes: a booked consultation,
    before the studio's change cut-off.
    """
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
    check_can_change(consultation, now=now)
    consultation.status = ConsultationStatus.CANCELLED.value
    consultation.cancelled_at = now
    consultation.updated_at = now
    _notify(consultation, "consultation_cancelled", "Your Diadem consultation is cancelled", now)
    return consultation


def reschedule_consultation(
    *, consultation_id: int, starts_at: datetime, now: datetime, accept_rush: bool = False
) -> Consultation:
    """Move a booking to another free slot before the cut-off; the old slot becomes free."""
    consultation = get_consultation(consultation_id=consultation_id)
    check_can_change(consultation, now=now)
    return _move(
        consultation,
        starts_at=starts_at,
        artisan_id=keeps_artisan(consultation.artisan_id),
        now=now,
        accept_rush=accept_rush or consultation.rush,
    )


def move_consultation(
    *, consultation_id: int, starts_at: datetime, artisan_id: int | None, now: datetime
) -> Consultation:
    """Staff move a booking to another time and/or artisan (None: the first free artisan).

    No change cut-off applies; the customer is emailed the updated invite (same UID, higher
    SEQUENCE). A move that makes the event a rush is staff's call, so it is accepted.
    """
    consultation = get_consultation(consultation_id=consultation_id)
    if not consultation.is_active:
        raise ChangesClosed(
            f"This consultation is {consultation.status_label.lower()}; it cannot be moved."
        )
    if starts_at == consultation.starts_at and artisan_id == consultation.artisan_id:
        raise InvalidBooking("That is already its time and artisan.", field="slot")
    return _move(
        consultation, starts_at=starts_at, artisan_id=artisan_id, now=now, accept_rush=True
    )


def _move(
    consultation: Consultation,
    *,
    starts_at: datetime,
    artisan_id: int | None,
    now: datetime,
    accept_rush: bool,
) -> Consultation:
    """Claim the new slot (its own old time excluded) and move the booking there."""
    zone = consultation.studio_timezone
    plan = lead_time_plan(event_date=consultation.event_date, product_id=consultation.product_id)
    rush = _check_event(
        event_date=consultation.event_date,
        slot_day=local_date(starts_at, zone),
        today=local_date(now, zone),
        plan=plan,
        accept_rush=accept_rush,
    )
    claim = claim_slot(
        starts_at=starts_at,
        now=now,
        artisan_id=artisan_id,
        exclude_id=consultation.id,
        video=consultation.mode == ConsultationMode.VIDEO.value,
    )
    with _writing_slot():
        consultation.starts_at = claim.slot.starts_at
        consultation.ends_at = claim.slot.ends_at
        consultation.artisan_id = claim.artisan_id
        consultation.rush = rush
        consultation.latest_safe_date = plan.latest_safe_date
        consultation.reschedule_count += 1  # the invite's SEQUENCE: calendars replace the old one
        consultation.reminder_sent_at = None  # the new time deserves its own reminder
        consultation.updated_at = now
    db.session.expire(consultation, ["artisan"])  # artisan_id may have changed
    _notify(consultation, "consultation_rescheduled", "Your Diadem consultation has moved", now)
    return consultation
