"""Staff forms for try-on overlays: input shape only (catalog.overlays checks the meaning)."""

from __future__ import annotations

import math

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FloatField, HiddenField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length

from app.catalog import overlays


def _finite(form, field) -> None:
    # float() reads "nan" and "inf"; no comparison refuses them afterwards.
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError("Enter a number.")


class OverlayUploadForm(FlaskForm):
    overlay = FileField(
        "Transparent PNG of the piece",
        validators=[FileRequired("Choose a PNG to upload.")],
        render_kw={"accept": "image/png"},
    )


def _coordinate(label: str) -> FloatField:
    return FloatField(
        label,
        validators=[InputRequired("Enter a number of pixels."), _finite],
        render_kw={"inputmode": "decimal", "step": "any", "min": "0", "type": "number"},
    )


class CalibrationForm(FlaskForm):
    """The band's two ends in the picture's pixels, and its real width."""

    # The stored picture the band was placed on: a replaced picture refuses the calibration.
    version = HiddenField(validators=[DataRequired(), Length(max=255)])
    band_left_x = _coordinate("Left end, x")
    band_left_y = _coordinate("Left end, y")
    band_right_x = _coordinate("Right end, x")
    band_right_y = _coordinate("Right end, y")
    width_mm = FloatField(
        "Band width, end to end (mm)",
        validators=[InputRequired("Enter the band's width in millimetres."), _finite],
        render_kw={
            "inputmode": "decimal",
            "step": "any",
            "type": "number",
            "min": f"{overlays.MIN_WIDTH_MM:g}",
            "max": f"{overlays.MAX_WIDTH_MM:g}",
        },
    )
    # Only for the preview: the staff member's own photo or a camera frame (never stored).
    photo = FileField(
        "Your own photo (for the preview only; not stored)",
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )

    @property
    def band_left(self) -> tuple[float, float]:
        return (self.band_left_x.data, self.band_left_y.data)

    @property
    def band_right(self) -> tuple[float, float]:
        return (self.band_right_x.data, self.band_right_y.data)
