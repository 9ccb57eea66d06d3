"""Staff forms for bench capacity and the policies admins edit: input shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.checkout.capacity import MAX_HOURS_PER_WEEK
from app.staff.policies import MAX_BODY, MAX_TITLE


class CapacityForm(FlaskForm):
    hours_per_week = IntegerField(
        "Bench hours a week",
        validators=[
            InputRequired("Give the bench's hours a week."),
            NumberRange(1, MAX_HOURS_PER_WEEK, f"Between 1 and {MAX_HOURS_PER_WEEK} hours a week."),
        ],
        render_kw={"inputmode": "numeric", "min": 1, "max": MAX_HOURS_PER_WEEK},
    )


class PolicyForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired("Give the policy a title."), Length(max=MAX_TITLE)]
    )
    body = TextAreaField(
        "Text",
        validators=[DataRequired("The policy cannot be empty."), Length(max=MAX_BODY)],
        render_kw={"rows": 18, "style": "max-width: 44rem; width: 100%"},
    )
