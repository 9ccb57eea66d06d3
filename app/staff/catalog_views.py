"""Staff pages for the catalogue: the table of rates and their dated history (catalog.rates)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.catalog import rates
from app.checkout.services import studio_zone
from app.common.transactions import atomic
from app.staff import catalog_forms

bp = Blueprint("catalog_staff", __name__, url_prefix="/staff/catalog")


def _page(form: catalog_forms.RateForm | None = None, status: int = 200):
    zone = studio_zone()
    return (
        render_template(
            "staff/rates_show.html",
            rates=rates.current_rates(),
            history=rates.rate_history(zone=zone),
            zone_name=zone.key,
            form=form or catalog_forms.RateForm(formdata=None),
        ),
        status,
    )


@bp.get("/rates")
@staff_required
def show_rates():
    return _page()


@bp.post("/rates")
@staff_required
@permission_required(Permission.SET_RATES)
def set_rate():
    form = catalog_forms.RateForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
        return _page(form, 400)
    kind, code = rates.RateKind(form.rate_kind()), form.rate_code()
    try:
        value = rates.parse_value(kind, form.rate.data, code=code)
        with atomic():
            changed = rates.set_rate(
                kind=kind,
                code=code,
                value=value,
                by_user_id=current_user.id,
                note=form.note.data or "",
            )
    except rates.RateError as exc:
        flash(str(exc), "warning")
        return _page(form, 400)
    flash(
        f"{changed.name} is now {changed.new_text} {changed.per} (was {changed.old_text}); "
        f"{changed.products_repriced} product(s) repriced.",
        "success",
    )
    return redirect(url_for("catalog_staff.show_rates"))
