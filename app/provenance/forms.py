from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.common.forms import choices

STAFF_ENTRY_KINDS = [
    ("step", "A making step (who did what)"),
    ("material", "Material: metal lot and its origin"),
    ("stone", "Stone: mine or lab, certificate"),
    ("document", "Document: assay report or certificate"),
    ("note", "Note or correction"),
]
ORIGINS = [
    ("", "—"),
    ("recycled", "Recycled"),
    ("mined", "Mined"),
    ("lab", "Lab-grown"),
    ("fairmined", "Fairmined"),
    ("heirloom", "Heirloom (customer's own)"),
]


class EntryForm(FlaskForm):
    kind = SelectField("What happened", choices=choices(STAFF_ENTRY_KINDS))
    summary = TextAreaField(
        "Summary (public)", validators=[DataRequired(), Length(max=500)], render_kw={"rows": 3}
    )
    occurred_on = DateField("On", validators=[Optional()])
    # Who did a making step: their published profile is credited, else "the atelier".
    made_by = SelectField("Who did the work", coerce=int, validate_choice=False, default=0)
    actor = StringField(
        "Source (public: a refiner, lab or assay office)", validators=[Length(max=120)]
    )
    origin = SelectField("Origin", choices=choices(ORIGINS), validators=[Optional()])
    source = StringField(
        "Mine, lab, refiner or assay office", validators=[Optional(), Length(max=200)]
    )
    files = MultipleFileField("Photos or PDF reports (optional)")
    file_label = StringField("Label for the files", validators=[Optional(), Length(max=120)])
