"""Staff forms for artisans' calendars and for moving a booking."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from app.booking.forms import ExceptionForm, SettingsForm
from app.common.forms import choices
from app.domain.scheduling import WEEKDAYS, SchedulingError, parse_hours


class ArtisanCalendarForm(FlaskForm):
    """Whether an artisan takes consultations, and their own week (or the studio's)."""

    takes_consultations = BooleanField("Takes consultations")
    own_hours = BooleanField("Keeps their own weekly hours (otherwise the studio's)")
    hours_0 = StringField(WEEKDAYS[0])
    hours_1 = StringField(WEEKDAYS[1])
    hours_2 = StringField(WEEKDAYS[2])
    hours_3 = StringField(WEEKDAYS[3])
    hours_4 = StringField(WEEKDAYS[4])
    hours_5 = StringField(WEEKDAYS[5])
    hours_6 = StringField(WEEKDAYS[6])

    hour_fields = SettingsForm.hour_fields

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.parsed_hours = {}
        for weekday, field in enumerate(self.hour_fields()):
            try:
                self.parsed_hours[weekday] = parse_hours(field.data or "")
            except SchedulingError as exc:
                field.errors = [*field.errors, str(exc)]
                ok = False
        return ok


class ArtisanExceptionForm(ExceptionForm):
    """An artisan's days off (blank hours) or special hours."""


class MoveForm(FlaskForm):
    """Staff move a booking: the artisan (blank: first free) and a free slot of theirs."""

    artisan = SelectField("Artisan", choices=choices([("", "Any artisan (first free)")]))
    slot = SelectField("New time", choices=choices([]))
