"""What the booking pages for customers and for staff both need."""

from __future__ import annotations

from datetime import date

from flask import flash

from app.booking import services
from app.domain.clock import utcnow
from app.domain.scheduling import local_date


def studio_today() -> date:
    """Today on the studio's calendar."""
    return local_date(utcnow(), services.studio_timezone())


def show_error(form, exc: services.BookingError) -> None:
    """Put a booking error on the form field it names, else flash it."""
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None:
        target.errors = [*target.errors, str(exc)]
    else:
        flash(str(exc), "danger")
