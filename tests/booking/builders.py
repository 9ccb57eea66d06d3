"""Builders for booking tests: a fixed "now" and booking requests."""

from __future__ import annotations

from datetime import date, datetime

from app.booking import services
from app.common.transactions import atomic
from app.domain.scheduling import slot_key

# Monday 1 March 2027, 09:00 GMT: four weeks before the clocks go forward (28 March).
NOW = datetime(2027, 3, 1, 9, 0)
# Studio defaults: Tuesday-Saturday 10:00-17:00, 60-minute consultations, 15-minute buffer.
TUESDAY_10 = datetime(2027, 3, 2, 10, 0)  # GMT, so also 10:00 UTC
TUESDAY_1115 = datetime(2027, 3, 2, 11, 15)


def make_request(starts_at: datetime = TUESDAY_10, **overrides) -> services.BookingRequest:
    fields = dict(
        name="Ada Lovelace",
        email="ada@example.com",
        event_kind="wedding",
        event_date=date(2027, 9, 4),
        mode="studio",
        starts_at=starts_at,
        fit=services.FitNotes(head_circumference_mm=560, circumference_unit="cm"),
    )
    fields.update(overrides)
    return services.BookingRequest(**fields)


def hold(
    starts_at: datetime = TUESDAY_10,
    *,
    now: datetime = NOW,
    user_id=None,
    session_key=None,
    **overrides,
):
    """Book as the booking view does: in one transaction, the mail sent once it commits (a
    guest's booking is then a hold awaiting confirmation)."""
    with atomic():
        return services.book_consultation(
            request=make_request(starts_at, **overrides),
            user_id=user_id,
            now=now,
            session_key=session_key,
        )


def book(starts_at: datetime = TUESDAY_10, *, now: datetime = NOW, user_id=None, **overrides):
    """A confirmed booking: a guest's hold confirmed at once, as by the emailed link."""
    consultation = hold(starts_at, now=now, user_id=user_id, **overrides)
    if consultation.is_pending:
        with atomic():
            services.confirm_booking(consultation_id=consultation.id, now=now)
    return consultation


def key(starts_at: datetime) -> str:
    return slot_key(starts_at)
