from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.common.forms import choices
from app.domain.money import parse_major


def major_text(minor: int, currency: str) -> str:
    """An amount as the plain decimal staff type into a form ("1234.50")."""
    digits = get_currency_precision(currency)
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


class MoveForm(FlaskForm):
    target = HiddenField(validators=[DataRequired(), Length(max=40)])
    expected_stage = HiddenField(validators=[Optional(), Length(max=40)])
    note = StringField("Note (optional)", validators=[Optional(), Length(max=500)])


class PackForm(FlaskForm):
    """The packing ritual: every item ticked and a photo of the packed piece (checked in
    app.domain.packing, which names what is missing)."""

    expected_stage = HiddenField(validators=[Optional(), Length(max=40)])
    photo = FileField("Photo of the packed piece")
    note = StringField("Note (optional)", validators=[Optional(), Length(max=500)])


class ConfirmForm(FlaskForm):
    """A button-only form (CSRF token)."""


class DesignRoundForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    # Hand-finish proofs may also be short videos (MP4, MOV, WebM); CAD renders may not.
    files = MultipleFileField("Images (JPEG, PNG, WebP) or PDF; videos for proofs")
    caption = StringField("Caption for the images", validators=[Optional(), Length(max=200)])
    message = TextAreaField(
        "Message to the customer",
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 3},
    )


class DesignDecisionForm(FlaskForm):
    decision = RadioField(
        "Your answer",
        choices=choices([("approve", "I approve"), ("changes", "I would like changes")]),
        validators=[DataRequired(message="Choose approve or changes.")],
    )
    comment = TextAreaField(
        "Comment (needed when you ask for changes)",
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 3},
    )


class ShipForm(FlaskForm):
    carrier = StringField("Carrier", validators=[DataRequired(), Length(max=60)])
    tracking_number = StringField("Tracking number", validators=[DataRequired(), Length(max=100)])
    insured_value = StringField("Insured value", validators=[DataRequired(), Length(max=20)])

    def validate_insured_value(self, field) -> None:
        try:
            amount = parse_major(field.data or "", self.currency)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if amount.minor < 0:
            raise ValidationError("The insured value cannot be negative.")
        self.insured_value_minor = amount.minor

    currency = "USD"


class DeliverForm(FlaskForm):
    delivered_on = DateField(
        "Date delivered",
        # InputRequired, not DataRequired: an unreadable date keeps its own "not a valid date".
        validators=[InputRequired(message="Give the date the parcel was delivered (YYYY-MM-DD).")],
    )
    signed_by = StringField(
        "Signed for by",
        validators=[
            DataRequired(message="Give the name of the person who signed for the parcel."),
            Length(max=120, message="The name of the signer is at most 120 characters."),
        ],
    )


class OrderLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search box

    number = StringField("Order number", validators=[Optional(), Length(max=20)])
