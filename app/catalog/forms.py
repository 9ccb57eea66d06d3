from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField


class OptionsForm(FlaskForm):
    """Size and metal choice on the product page (GET, so no CSRF token is needed)."""

    class Meta:
        csrf = False

    size = SelectField("Size", validate_choice=True)
    metal = SelectField("Metal", validate_choice=True)
