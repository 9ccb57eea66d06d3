"""Staff forms for artisans' calendars and for moving a booking."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from app.booking.forms import ExceptionForm, WeeklyHoursForm
from app.common.forms import choices


class ArtisanCalendarForm(WeeklyHoursForm):
    """Whether an artisan takes consultations, and their own week (or the studio's)."""

    takes_consultations = BooleanField("Takes consultations")
    own_hours = BooleanField("Keeps their own weekly hours (otherwise the studio's)")


class ArtisanExceptionForm(ExceptionForm):
    """An artisan's days off (blank hours) or special hours."""


class MoveForm(FlaskForm):
    """Staff move a booking: the artisan (blank: first free) and a free slot of theirs."""

    artisan = SelectField("Artisan", choices=choices([("", "Any artisan (first free)")]))
    slot = SelectField("New time", choices=choices([]))
