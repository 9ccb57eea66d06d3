"""Forms of the bench: standards (admins), a sitting at the bench, passport choice, overrides."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from app.bench.records import MAX_SESSION_MINUTES
from app.bench.standards import MAX_MINUTES


def file_bytes(field) -> list[bytes]:
    """The chosen files' bytes (an empty file input sends one nameless part: skipped)."""
    return [f.read() for f in field.data or [] if f and f.filename]


class StandardForm(FlaskForm):
    min_minutes = IntegerField(
        "Minimum bench time (minutes)",
        validators=[
            InputRequired("Give the minimum in whole minutes."),
            NumberRange(0, MAX_MINUTES),
        ],
    )
    grade_a = StringField("Grade A means", validators=[Optional(), Length(max=300)])
    grade_b = StringField("Grade B means", validators=[Optional(), Length(max=300)])
    grade_c = StringField("Grade C means", validators=[Optional(), Length(max=300)])

    def grades(self) -> dict[str, str]:
        return {"A": self.grade_a.data, "B": self.grade_b.data, "C": self.grade_c.data}


class ReferencePhotoForm(FlaskForm):
    photo = FileField("Reference photo (JPEG, PNG or WebP)", validators=[FileRequired()])
    caption = StringField("Caption", validators=[Optional(), Length(max=200)])


class BenchSessionForm(FlaskForm):
    minutes = IntegerField(
        "Time at the bench (minutes)",
        validators=[
            InputRequired("Give the time in whole minutes."),
            NumberRange(1, MAX_SESSION_MINUTES),
        ],
    )
    tools = StringField(
        "Tools used", validators=[DataRequired("Name the tools used."), Length(max=500)]
    )
    files = MultipleFileField("Bench photos (JPEG, PNG, WebP) or a short MP4/WebM clip")


class PassportChoiceForm(FlaskForm):
    show = HiddenField(validators=[AnyOf(["1", "0"])])


class OverrideForm(FlaskForm):
    reason = TextAreaField(
        "Why may this piece pass below the minimum?",
        validators=[DataRequired("Give the reason."), Length(max=2000)],
        render_kw={"rows": 3},
    )
