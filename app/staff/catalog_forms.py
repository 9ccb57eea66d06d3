"""Staff forms for the catalogue: input shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

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
