"""Staff forms for catalogue photos: input shape only (catalog.artwork_uploads checks the rest)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from app.catalog.artwork_uploads import MAX_ALT_LENGTH, MOVES
from app.common.forms import choices

ALT_HELP = (
    "What the picture shows, for people who cannot see it: the piece, the metal, the angle "
    "(e.g. “Aurelia Crown in yellow gold, from the front”)."
)


def metal_choices(metals) -> list:
    """The metal select's options: any metal, then each metal the product is made in."""
    return choices(
        [("", "Any metal (shown whichever is chosen)")] + [(m.code, m.name) for m in metals]
    )


class PhotoUploadForm(FlaskForm):
    photo = FileField(
        "Photo (JPEG, PNG or WebP)", validators=[FileRequired("Choose a photo to upload.")]
    )
    alt = StringField(
        "Description (alt text)",
        validators=[
            DataRequired("Describe the picture for people who cannot see it."),
            Length(max=MAX_ALT_LENGTH),
        ],
    )
    # Checked against the product's metals by the service, which names the metals it is made in.
    metal = SelectField("Shows the piece in", validate_choice=False)


class PhotoEditForm(FlaskForm):
    alt = StringField(
        "Description (alt text)",
        validators=[
            DataRequired("Describe the picture for people who cannot see it."),
            Length(max=MAX_ALT_LENGTH),
        ],
    )
    metal = SelectField("Shows the piece in", validate_choice=False)


class PhotoMoveForm(FlaskForm):
    move = StringField(validators=[DataRequired(), AnyOf(MOVES)])


class PhotoDeleteForm(FlaskForm):
    """Only the CSRF token: the picture is named by the URL."""
