"""The shop's public forms on product pages: input shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length


class WaitlistForm(FlaskForm):
    email = EmailField(
        "Your email",
        validators=[
            DataRequired("Enter your email address."),
            Email("Enter an email address we can write to."),
            Length(max=254),
        ],
    )


class LeaveWaitlistForm(FlaskForm):
    """One button: only this POST takes an address off the list, never opening the link."""
