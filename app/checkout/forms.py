"""Checkout forms: input shape only. None of them carries a price; the server prices everything."""

from __future__ import annotations

from decimal import Decimal

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
from app.common import addresses
from app.domain.clock import utcnow
from app.domain.money import parse_major

QUANTITY = [
    InputRequired("Choose how many pieces."),
    NumberRange(1, MAX_LINE_QUANTITY, f"Choose between 1 and {MAX_LINE_QUANTITY} pieces."),
]


def country_choices() -> list[tuple[str, str]]:
    """The country menu: a prompt, then every country we ship to (app.common.addresses)."""
    return [("", "Choose a country"), *addresses.countries()]


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


class AddressForm(FlaskForm):
    """A delivery address; valid only as its country's post would read it (app.common.addresses).

    After ``validate()``, ``postal_address`` is the address as its country writes it.
    """

    address_line1 = StringField("Address", validators=[DataRequired(), Length(max=200)])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("Town or city", validators=[DataRequired(), Length(max=100)])
    region = StringField(
        "State, province or region",
        validators=[Optional(), Length(max=100)],
        description="Where your country's addresses have one (a US state, a Canadian province).",
    )
    postal_code = StringField("Postcode or ZIP code", validators=[Optional(), Length(max=20)])
    country = SelectField("Country", validators=[DataRequired("Choose a country.")])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.postal_address: addresses.PostalAddress | None = None

    def validate(self, extra_validators=None) -> bool:
        """The fields' own checks, then the address as its country's post would read it."""
        valid = super().validate(extra_validators)
        self.postal_address = None
        if self.country.errors or self.postal_code.errors or self.region.errors:
            return False
        try:
            self.postal_address = addresses.validate(self.entered_address())
        except addresses.AddressError as exc:
            for name, message in exc.errors.items():
                getattr(self, name).errors.append(message)
            return False
        return valid

    def entered_address(self) -> addresses.PostalAddress:
        return addresses.PostalAddress(
            line1=self.address_line1.data or "",
            line2=self.address_line2.data or "",
            city=self.city.data or "",
            region=self.region.data or "",
            postal_code=self.postal_code.data or "",
            country=self.country.data or "",
        )

    def fill(self, address: addresses.PostalAddress) -> None:
        """Start from a saved address (a GET: nothing was typed yet)."""
        self.address_line1.data = address.line1
        self.address_line2.data = address.line2
        self.city.data = address.city
        self.region.data = address.region
        self.postal_code.data = address.postal_code
        self.country.data = address.country


class CheckoutForm(AddressForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    phone = TelField("Phone (for the courier)", validators=[Optional(), Length(max=40)])
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
