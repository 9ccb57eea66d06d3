"""Try-on forms: the page's photo upload and the JSON endpoints' multipart fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional


class PoseForm(FlaskForm):
    """A live frame; rate-limited and size-checked instead of CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    frame = FileField(validators=[FileRequired("No frame arrived.")])
    product = StringField(validators=[DataRequired("Say which piece to try on."), Length(max=80)])
    metal = StringField(validators=[Optional(), Length(max=32)])


class SnapshotForm(FlaskForm):
    """A camera frame or photo to composite at full size (CSRF token in the X-CSRFToken header)."""

    image = FileField(validators=[FileRequired("No picture arrived; choose a photo.")])
    product = StringField(validators=[DataRequired("Say which piece to try on."), Length(max=80)])
    metal = StringField(validators=[Optional(), Length(max=32)])
    save = BooleanField()


class PhotoForm(FlaskForm):
    """Photo mode without JavaScript: upload a photo, get it back with the piece on."""

    photo = FileField(
        "Your photo",
        validators=[FileRequired("Choose a photo to upload.")],
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    metal = HiddenField(validators=[Optional(), Length(max=32)])
    save = BooleanField("Also save the result to my account")


class DeleteSnapshotForm(FlaskForm):
    pass
