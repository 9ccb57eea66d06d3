from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.common.forms import choices
from app.domain.money import parse_major


def photo_bytes(field) -> list[bytes]:
    """The chosen files' bytes (an empty file input sends one nameless part: skipped)."""
    return [f.read() for f in field.data or [] if f and f.filename]


def _amount_minor(field, currency: str) -> int:
    """The field's amount in minor units; ValidationError when it is not an amount of money."""
    try:
        return parse_major(field.data or "", currency).minor
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class RepairRequestForm(FlaskForm):
    description = TextAreaField(
        "What needs repairing?",
        validators=[DataRequired(), Length(min=10, max=5000)],
        render_kw={"rows": 5},
    )
    preferred_return_on = DateField("Preferred return date (optional)", validators=[Optional()])
    photos = MultipleFileField("Photos (optional: JPEG, PNG or WebP)")


class WalkInForm(RepairRequestForm):
    contact_name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    contact_email = EmailField("Email", validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    passport_code = StringField(
        "Passport code (from the hangtag or certificate)", validators=[Optional(), Length(max=16)]
    )
    piece_description = StringField(
        "The piece (if it has no passport)", validators=[Optional(), Length(max=200)]
    )


class AssessForm(FlaskForm):
    assessment = TextAreaField(
        "Assessment", validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 4}
    )
    under_warranty = BooleanField("Covered by the free repair warranty")


class QuoteForm(FlaskForm):
    amount = StringField("Quote", validators=[DataRequired(), Length(max=20)])
    note = TextAreaField(
        "What the quote covers", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3}
    )

    currency = "USD"

    def validate_amount(self, field) -> None:
        minor = _amount_minor(field, self.currency)
        if minor < 0:
            raise ValidationError("A quote cannot be negative.")
        self.amount_minor = minor


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Your decision",
        choices=choices(
            [("accept", "Accept the quote"), ("decline", "Decline and have it returned")]
        ),
        validators=[DataRequired(message="Choose accept or decline.")],
    )
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=2000)])


class MoveForm(FlaskForm):
    target = HiddenField(validators=[DataRequired(), Length(max=16)])
    expected_status = HiddenField(validators=[DataRequired(), Length(max=16)])
    work_done = TextAreaField(
        "Work done (public: it goes into the piece's passport)",
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 3},
    )


class PhotosForm(FlaskForm):
    photos = MultipleFileField("Add photos")


class BankTransferForm(FlaskForm):
    amount = StringField("Amount received", validators=[DataRequired(), Length(max=20)])
    received_on = DateField("Day it arrived", validators=[DataRequired()])
    reference = StringField(
        "Reference on the transfer", validators=[DataRequired(), Length(max=255)]
    )

    currency = "USD"

    def validate_amount(self, field) -> None:
        minor = _amount_minor(field, self.currency)
        if minor <= 0:
            raise ValidationError("Enter the amount that arrived.")
        self.amount_minor = minor


class RefundForm(FlaskForm):
    amount = StringField("Amount to refund", validators=[Optional(), Length(max=20)])
    reason = TextAreaField(
        "Why (the owner is told)",
        validators=[DataRequired("Say why the money goes back."), Length(max=500)],
        render_kw={"rows": 2},
    )

    currency = "USD"
    amount_minor: int | None = None

    def validate_amount(self, field) -> None:
        if not (field.data or "").strip():
            self.amount_minor = None  # all that is left
            return
        minor = _amount_minor(field, self.currency)
        if minor <= 0:
            raise ValidationError("Enter an amount to refund, or leave it empty for all of it.")
        self.amount_minor = minor


class ShipBackForm(FlaskForm):
    expected_status = HiddenField(validators=[DataRequired(), Length(max=16)])
    carrier = StringField("Carrier", validators=[DataRequired(), Length(max=80)])
    tracking_number = StringField("Tracking number", validators=[DataRequired(), Length(max=80)])
