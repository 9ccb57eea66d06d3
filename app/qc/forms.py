"""The QC checklist form, used for order lines (staff) and repaired pieces (repairs)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.common.forms import choices
from app.domain.production import FINISH_GRADES, parse_grams

PASS_FAIL = [("pass", "Pass"), ("fail", "Fail")]


class QcForm(FlaskForm):
    artisan_id = SelectField("Artisan who finished the piece", coerce=int, validators=[Optional()])
    stone_tightness = RadioField(
        "Stone tightness", choices=choices(PASS_FAIL), validators=[DataRequired()]
    )
    solder_integrity = RadioField(
        "Solder integrity", choices=choices(PASS_FAIL), validators=[DataRequired()]
    )
    hallmark_present = RadioField(
        "Hallmark present", choices=choices(PASS_FAIL), validators=[DataRequired()]
    )
    measured_grams = StringField("Measured weight (grams)", validators=[DataRequired()])
    finish_grade = RadioField(
        "Finish grade", choices=choices(list(FINISH_GRADES.items())), validators=[DataRequired()]
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})

    def validate_measured_grams(self, field) -> None:
        try:
            self.measured_mg = parse_grams(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def results(self) -> dict[str, object]:
        return {
            "stone_tightness": self.stone_tightness.data == "pass",
            "solder_integrity": self.solder_integrity.data == "pass",
            "hallmark_present": self.hallmark_present.data == "pass",
            "measured_mg": self.measured_mg,
            "finish_grade": self.finish_grade.data,
            "notes": self.notes.data or "",
        }
