"""What the booking pages for customers and for staff both need."""

from __future__ import annotations

from datetime import date

from flask import abort, flash

from app.booking import forms, services
from app.booking.models import Consultation
from app.catalog import services as catalog
from app.common.forms import choices
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


def consultation_by_token(token: str) -> Consultation:
    """The consultation a signed manage link names, else 404."""
    try:
        return services.consultation_for_token(token=token)
    except services.InvalidManageLink:
        abort(404)


def fill_metal_choices(form: forms.ConsultationForm | forms.FitNotesForm) -> None:
    form.metal.choices = choices(
        [("", "Not decided yet")] + [(m.code, m.name) for m in catalog.all_metals()]
    )


def fit_notes_from(form: forms.ConsultationForm | forms.FitNotesForm) -> services.FitNotes:
    """The fit notes a validated booking or fit-notes form carries."""
    return services.FitNotes(
        head_circumference_mm=form.circumference_mm,
        circumference_unit=form.circumference_unit.data if form.circumference_mm else None,
        hairstyle=form.hairstyle.data or "",
        veil=form.veil.data or "",
        metal_code=form.metal.data or None,
        stone_preferences=form.stone_preferences.data or "",
        allergies=form.allergies.data or "",
        budget=form.budget.data or "",
        notes=form.notes.data or "",
    )
