from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.accounts.artisans import SLUG_PATTERN
from app.common.forms import MeetingLinkField


class ProfileForm(FlaskForm):
    display_name = StringField("Name customers see", validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        "Page address (/atelier/…)",
        validators=[
            Optional(),
            Length(max=80),
            Regexp(
                f"^{SLUG_PATTERN}$",
                message="Use lower-case letters, digits and single hyphens.",
            ),
        ],
    )
    bio = TextAreaField("Short bio", validators=[Length(max=2000)], render_kw={"rows": 4})
    specialities = StringField("Specialities (comma-separated)", validators=[Length(max=300)])
    portrait = FileField("Portrait (JPEG or PNG)")
    remove_portrait = BooleanField("Remove the portrait")
    signature = FileField("Signature (a PNG with a transparent background)")
    remove_signature = BooleanField("Remove the signature")
    meeting_link = MeetingLinkField("Video consultation link")
    published = BooleanField("Published: show this profile and credit its name on public pages")
