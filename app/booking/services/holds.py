"""Guests' holds and the cap on upcoming consultations per buyer.

A guest's booking holds its slot only until the email address is confirmed (or
BOOKING_GUEST_HOLD_MINUTES pass); one buyer, known by email address, by session and by account,
holds at most BOOKING_MAX_UPCOMING upcoming consultations. Together they stop one anonymous
client from emptying the calendar.

Lock order, as in every booking path: the artisan's days (``_lock_days``), then consultation rows
on those days, then the buyer's names (``lock_names``). The expiry command updates one row per
transaction and takes nothing else.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import and_, func, or_, update

from app.booking.models import Consultation, ConsultationStatus
from app.booking.services.availability import (
    _check_free,
    _lock_days,
    _slot_on_grid,
    _writing_slot,
)
from app.booking.services.calendars import artisan_rules
from app.booking.services.errors import (
    ChangesClosed,
    HoldLapsed,
    SlotTaken,
    SlotUnavailable,
    TooManyUpcoming,
)
from app.booking.services.notifications import _notify
from app.booking.services.reading import get_consultation
from app.common.locks import lock_names, lock_row
from app.common.visitors import Buyer
from app.domain.scheduling import StudioRules
from app.extensions import db

DEFAULT_GUEST_HOLD_MINUTES = 30
DEFAULT_MAX_UPCOMING = 2


def guest_hold_minutes() -> int:
    """How long a guest's unconfirmed booking holds its slot."""
    return int(current_app.config.get("BOOKING_GUEST_HOLD_MINUTES", DEFAULT_GUEST_HOLD_MINUTES))


def max_upcoming() -> int:
    """How many upcoming consultations one buyer may hold at once."""
    return int(current_app.config.get("BOOKING_MAX_UPCOMING", DEFAULT_MAX_UPCOMING))


def holds_upcoming(now: datetime):
    """Consultations that count against the cap at ``now``: confirmed ones still to come and
    guests' holds that have not run out."""
    return and_(
        Consultation.starts_at > now,
        or_(
            Consultation.status == ConsultationStatus.BOOKED.value,
            and_(
                Consultation.status == ConsultationStatus.PENDING.value,
                Consultation.hold_expires_at > now,
            ),
        ),
    )


def check_upcoming_cap(
    *,
    email: str,
    session_key: str | None,
    user_id: int | None,
    now: datetime,
    exclude_id: int | None = None,
) -> None:
    """Raise TooManyUpcoming if this buyer already holds the most upcoming consultations.

    Locks the buyer's names first, so two bookings by one buyer count one after the other (call
    it after ``_lock_days``: on SQLite that write is what serialises the count).
    """
    buyer = Buyer(user_id=user_id, email=email, session_key=session_key or "")
    lock_names(*buyer.names("booking-buyer"))
    mine = buyer.matches(
        user_id=Consultation.user_id,
        email_key=Consultation.email_key,
        session_key=Consultation.session_key,
    )
    stmt = db.select(func.count(Consultation.id)).where(mine, holds_upcoming(now))
    if exclude_id is not None:
        stmt = stmt.where(Consultation.id != exclude_id)
    limit = max_upcoming()
    if db.session.execute(stmt).scalar_one() >= limit:
        raise TooManyUpcoming(
            f"You already have {limit} upcoming consultations booked with this email address "
            "or from this browser. Cancel one, or come to it, before booking another; or "
            "write to the atelier and we will gladly find you a time."
        )


# ---------------------------------------------------------------------------- confirming holds


def confirm_booking(*, consultation_id: int, now: datetime) -> Consultation:
    """Confirm a guest's booking from the emailed link; the invite is emailed once it commits.

    A hold that ran out takes its time again if that is still free and the buyer is within the
    cap; otherwise HoldLapsed. Confirming twice is harmless.
    """
    consultation = get_consultation(consultation_id=consultation_id)
    if consultation.status not in (
        ConsultationStatus.PENDING.value,
        ConsultationStatus.LAPSED.value,
    ):
        if consultation.is_active:
            return consultation
        raise ChangesClosed(
            f"This consultation is {consultation.status_label.lower()}; it cannot be confirmed."
        )
    rules = artisan_rules(consultation.artisan_id, now=now)
    _lock_days(
        consultation.starts_at,
        consultation.ends_at,
        rules.buffer,
        consultation.studio_timezone,
        consultation.artisan_id,
    )
    consultation = lock_row(Consultation, consultation_id)
    if consultation is None:
        raise HoldLapsed("We could not find that booking; please book again.")
    if consultation.is_active:
        return consultation
    if consultation.hold_lapsed(now):
        _take_again(consultation, rules=rules, now=now)
    with _writing_slot():  # a lapsed row re-enters the unique start index here
        consultation.status = ConsultationStatus.BOOKED.value
        consultation.hold_expires_at = None
        consultation.confirmed_at = now
        consultation.updated_at = now
    _notify(consultation, "consultation_confirmed", "Your Diadem consultation is booked", now)
    return consultation


def _take_again(consultation: Consultation, *, rules: StudioRules, now: datetime) -> None:
    """Under the day lock: check a lapsed hold's time is still bookable, free and within the cap."""
    lapsed = HoldLapsed(
        f"Your hold on {consultation.when()} lapsed: the booking was not confirmed within "
        f"{guest_hold_minutes()} minutes, and that time is no longer free. "
        "Please book again; we would love to see you."
    )
    try:
        _slot_on_grid(rules, consultation.starts_at, now)
        _check_free(
            starts_at=consultation.starts_at,
            ends_at=consultation.ends_at,
            buffer=rules.buffer,
            now=now,
            artisan_id=consultation.artisan_id,
            exclude_id=consultation.id,
        )
    except (SlotTaken, SlotUnavailable) as exc:
        raise lapsed from exc
    check_upcoming_cap(
        email=consultation.email,
        session_key=consultation.session_key,
        user_id=consultation.user_id,
        now=now,
        exclude_id=consultation.id,
    )


# ------------------------------------------------------------------------------ expiring holds


def lapsed_hold_ids(*, now: datetime) -> list[int]:
    """Guests' holds whose time ran out unconfirmed, oldest first."""
    return list(
        db.session.execute(
            db.select(Consultation.id)
            .where(
                Consultation.status == ConsultationStatus.PENDING.value,
                Consultation.hold_expires_at <= now,
            )
            .order_by(Consultation.hold_expires_at)
        ).scalars()
    )


def lapse_hold(*, consultation_id: int, now: datetime) -> bool:
    """Mark one hold lapsed if it is still pending and out of time; False if it is not.

    A conditional UPDATE of one row, so a confirmation racing it either wins (the row is no
    longer pending) or finds it lapsed and tries to take the time again.
    """
    table = Consultation.__table__
    return (
        db.session.execute(
            update(table)
            .where(
                table.c.id == consultation_id,
                table.c.status == ConsultationStatus.PENDING.value,
                table.c.hold_expires_at <= now,
            )
            .values(status=ConsultationStatus.LAPSED.value, updated_at=now)
        ).rowcount
        == 1
    )
