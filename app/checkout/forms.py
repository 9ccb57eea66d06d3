"""Checkout forms: input shape only. None of them carries a price; the server prices everything."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.checkout.models import MAX_LINE_QUANTITY
from app.domain.clock import utcnow
from app.domain.money import parse_major

QUANTITY = [
    InputRequired("Choose how many pieces."),
    NumberRange(1, MAX_LINE_QUANTITY, f"Choose between 1 and {MAX_LINE_QUANTITY} pieces."),
]


# Babel's territories include groupings and placeholders that are not shipping destinations.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


@cache
def country_choices() -> list[tuple[str, str]]:
    """ISO 3166 countries by English name (Babel's territory list, two-letter codes only)."""
    territories = Locale("en").territories
    names = [
        (code, name)
        for code, name in territories.items()
        if code.isalpha() and code not in NOT_COUNTRIES
    ]
    return [("", "Choose a country")] + sorted(names, key=lambda item: item[1])


def country_name(code: str) -> str:
    """A two-letter country code as its English name ("GB" -> "United Kingdom")."""
    return dict(country_choices()).get(code, code)


class AddToCartForm(FlaskForm):
    product_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
    metal = HiddenField(validators=[DataRequired(), Length(max=32)])
    size = HiddenField(validators=[DataRequired(), Length(max=8)])
    quantity = IntegerField("Pieces", default=1, validators=QUANTITY)


class CartLineForm(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=60)])
    quantity = IntegerField(
        "Pieces",
        validators=[
            InputRequired("Choose how many pieces."),
            NumberRange(0, MAX_LINE_QUANTITY, f"Choose between 0 and {MAX_LINE_QUANTITY}."),
        ],
    )


class RemoveLineForm(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=60)])


class CheckoutForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    phone = TelField("Phone (for the courier)", validators=[Optional(), Length(max=40)])
    address_line1 = StringField("Address", validators=[DataRequired(), Length(max=200)])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("Town or city", validators=[DataRequired(), Length(max=100)])
    region = StringField("County, state or region", validators=[Optional(), Length(max=100)])
    postal_code = StringField("Postcode", validators=[DataRequired(), Length(max=20)])
    country = SelectField("Country", validators=[DataRequired("Choose a country.")])
    event_date = DateField(
        "Date of your event (optional)",
        validators=[Optional()],
        description="We check the piece can reach you in time.",
    )
    notes = TextAreaField("Notes for the atelier (optional)", validators=[Length(max=2000)])
    payment_method = RadioField("Payment", default="manual")
    accept_policy = BooleanField(
        "I accept the returns and repairs policy",
        validators=[DataRequired("Please accept the returns and repairs policy.")],
    )
    accept_late = BooleanField("I understand the piece may arrive after my event")

    def __init__(self, *args, payment_methods: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.payment_method.choices = payment_methods
        if not self.is_submitted():
            self.payment_method.data = payment_methods[0][0]

    def validate_event_date(self, field) -> None:
        if field.data is not None and field.data < utcnow().date():
            raise ValidationError("That date has passed.")


class PaymentMethodForm(FlaskForm):
    """Pay again after a failure, or pay a requested balance."""

    payment_method = RadioField("Payment")

    def __init__(self, *args, payment_methods: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.payment_method.choices = payment_methods
        if not self.is_submitted():
            self.payment_method.data = payment_methods[0][0]


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected button (accept a price, request the balance...)."""


class OrderLinkForm(FlaskForm):
    """Ask for a lost order link: the address the order was placed with."""

    email = EmailField(
        "Email address the order was placed with",
        validators=[DataRequired(message="Enter your email address."), Length(max=254)],
    )


# --- staff ---------------------------------------------------------------------------------


def major_text(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string for an input box ("1234.50"), no floats."""
    digits = get_currency_precision(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


def _money_field_check(form, field) -> None:
    if field.data:
        try:
            parse_major(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class MarkPaidForm(FlaskForm):
    reference = StringField(
        "Internal note: bank reference, checks made (staff only)",
        validators=[Optional(), Length(max=255)],
    )
    customer_note = StringField(
        "Note for the buyer (shown on their order and invoice)",
        validators=[Optional(), Length(max=255)],
    )


class RefundForm(FlaskForm):
    amount = StringField(
        "Amount (leave empty to refund everything left)",
        validators=[Optional(), Length(max=20), _money_field_check],
    )
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class CancelOrderForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])


class RevisionForm(FlaskForm):
    """A new amount for each line of the current breakdown (in order), and one optional extra."""

    amounts = FieldList(
        StringField("Amount", validators=[DataRequired(), Length(max=20), _money_field_check])
    )
    extra_label = StringField("Extra line (optional)", validators=[Optional(), Length(max=120)])
    extra_amount = StringField(
        "Extra amount (negative for a reduction)",
        validators=[Optional(), Length(max=20), _money_field_check],
    )
    note = TextAreaField("Note to the buyer", validators=[Optional(), Length(max=2000)])
