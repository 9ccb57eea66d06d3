"""Return forms: input shape only (the policy's checks live in app.domain.returns)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.common.forms import choices
from app.domain import returns as policy
from app.domain.money import parse_major


class ReturnRequestForm(FlaskForm):
    """The pieces come as checkboxes named ``lines`` (checked against the order by the service)."""

    reason = RadioField(
        "Why are you returning it?",
        choices=choices((code, label) for code, label, _ in policy.REASONS),
        validators=[InputRequired(message="Choose the reason for the return.")],
    )
    details = TextAreaField(
        "Anything we should know (optional)",
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 4},
    )
    photos = MultipleFileField("Photos (optional: JPEG, PNG or WebP; up to 5)")


class ConfirmForm(FlaskForm):
    """A button-only form (CSRF token)."""


class RefuseForm(FlaskForm):
    reason = StringField(
        "Reason (the buyer reads it)", validators=[DataRequired(), Length(max=500)]
    )


class InspectionForm(FlaskForm):
    """The checklist comes as checkboxes named ``items`` (app.domain.returns.INSPECTION_ITEMS)."""

    verdict = RadioField(
        "Result",
        choices=choices([("pass", "Pass: back into its edition"), ("fail", "Fail: withhold")]),
        validators=[InputRequired(message="Choose pass or fail.")],
    )
    notes = TextAreaField("Notes (required for a fail)", validators=[Optional(), Length(max=1000)])


class RefundForm(FlaskForm):
    amount = StringField(
        "Amount (leave empty for the full value of the returned pieces)",
        validators=[Optional(), Length(max=20)],
    )
    bank_reference = StringField(
        "Bank transfer reference (for a refund by transfer)",
        validators=[Optional(), Length(max=120)],
    )

    currency = "USD"

    def validate_amount(self, field) -> None:
        if not (field.data or "").strip():
            return
        try:
            money = parse_major(field.data, self.currency)
        except ValueError as exc:
            raise ValidationError("Give the amount as a number, e.g. 1250.00.") from exc
        if money.minor <= 0:
            raise ValidationError("The amount must be more than zero.")

    def amount_minor(self) -> int | None:
        if not (self.amount.data or "").strip():
            return None
        return parse_major(self.amount.data, self.currency).minor
