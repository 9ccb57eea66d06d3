"""The staff dashboard (/staff): production, repairs, reservations and today's consultations."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.accounts.access import staff_required
from app.booking.services import consultations_on
from app.dashboard import queries
from app.staff import forms

bp = Blueprint("dashboard", __name__, url_prefix="/staff")
bp.before_request(staff_required(lambda: None))


@bp.get("")
def index():
    return render_template(
        "dashboard/dashboard_show.html",
        board=queries.build(),
        consultations=consultations_on(queries.studio_today()),
        lookup=forms.OrderLookupForm(formdata=None),
        studio_time=queries.studio_time,
    )
