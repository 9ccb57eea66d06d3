"""Staff forms for the catalogue: input shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from app.domain.money import parse_major


def _amount(form, field) -> None:
    try:
        parse_major(field.data or "")
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class MetalRateForm(FlaskForm):
    metal = HiddenField(validators=[DataRequired(), Length(max=32)])
    rate = StringField("New price per gram", validators=[DataRequired(), Length(max=20), _amount])
    note = StringField("Why (e.g. the day's fixing)", validators=[Optional(), Length(max=200)])
