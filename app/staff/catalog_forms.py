"""Staff forms for the catalogue: input shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.common.forms import choices

RATE_KINDS = ("metal", "stone", "bench", "certification", "shipping", "insurance")


class RateForm(FlaskForm):
    """One row of the rates table: which rate, its new value as typed, and why.

    The amount is parsed by the rates service, which names the rate in its messages. A post
    with ``metal`` and no ``kind`` sets that metal (the form this page had before other rates).
    """

    kind = HiddenField(validators=[Optional(), AnyOf(RATE_KINDS, message="No such rate.")])
    code = HiddenField(validators=[Optional(), Length(max=60)])
    metal = HiddenField(validators=[Optional(), Length(max=32)])
    rate = StringField(
        "New rate", validators=[DataRequired(message="Give the new rate."), Length(max=20)]
    )
    note = StringField("Why (e.g. the day's fixing)", validators=[Optional(), Length(max=200)])

    def rate_kind(self) -> str:
        return self.kind.data or "metal"

    def rate_code(self) -> str:
        if self.rate_kind() == "metal":
            return self.code.data or self.metal.data or ""
        return self.code.data or ""


RULES = (("share", "a share of the piece's price (%)"), ("fixed", "a fixed amount ($)"))


class CarePlanForm(FlaskForm):
    """A new care plan: its name, its term (blank: lifetime) and its price rule as typed."""

    name = StringField(
        "Name", validators=[DataRequired(message="Give the plan a name."), Length(max=80)]
    )
    years = StringField("Years from delivery (blank: lifetime)", validators=[Length(max=3)])
    rule = RadioField(
        "Priced as",
        choices=choices(RULES),
        default="share",
    )
    amount = StringField(
        "Figure", validators=[DataRequired(message="Give the share or amount."), Length(max=20)]
    )
    note = StringField("Why (optional)", validators=[Optional(), Length(max=200)])

    def term_years(self) -> int | None:
        """The term typed, None for lifetime; ValueError with a message when not a number."""
        text = (self.years.data or "").strip()
        if not text:
            return None
        if not text.isdigit():
            raise ValueError("The term is a whole number of years, or blank for lifetime.")
        return int(text)


class CarePlanChangeForm(FlaskForm):
    """Reprice an offered plan, or retire it."""

    rule = RadioField(
        "Priced as",
        choices=choices(RULES),
        validate_choice=False,  # not sent when retiring; the service names a wrong rule
    )
    amount = StringField("New figure", validators=[Optional(), Length(max=20)])
    note = StringField("Why (optional)", validators=[Optional(), Length(max=200)])
    retire = HiddenField(validators=[Optional(), AnyOf(("", "1"))])
